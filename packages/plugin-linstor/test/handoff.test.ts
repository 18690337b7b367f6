/**
 * The migration hand-off on LINSTOR through the manager, against the stand-in with three
 * satellites: prepare puts a diskless replica (stowage's) on the target, finish removes the
 * source's diskless replica and never a diskful one, abort removes the target's; each is
 * idempotent.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StorageManager } from '@stowage/core';
import { LinstorPlugin } from '../src/index.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';

const MiB = 1024 ** 2;
let cluster: Cluster;
let locks: string;
let storages: StorageManager;

beforeAll(async () => {
  cluster = await startCluster({ placeCount: 1 });
  locks = mkdtempSync(join(tmpdir(), 'stowage-handoff-locks-'));
  mkdirSync(join(locks, 'shared'));
  storages = await StorageManager.open({ plugins: [LinstorPlugin], config: [cluster.config()], lockDir: locks, sharedLockDir: join(locks, 'shared') });
});
afterAll(async () => {
  await storages?.close();
  await cluster?.close();
  rmSync(locks, { recursive: true, force: true });
});

/** Each node's replica of the volume's definition: `diskful`, `diskless` or absent. */
function replicas(): Record<string, string> {
  const d = [...cluster.model.definitions.values()].at(-1)!;
  return Object.fromEntries([...d.resources.values()].map((r) => [r.node, r.diskless ? 'diskless' : 'diskful']));
}

describe('migration hand-off on LINSTOR', () => {
  it('prepare, finish and abort add and remove only the diskless replicas stowage made, idempotently', async () => {
    const volid = await storages.allocImage('drbd', { vmid: 100, size: MiB });
    const [diskful] = Object.keys(replicas());
    const [source, target] = ['node-a', 'node-b', 'node-c'].filter((n) => n !== diskful);
    // the guest runs on `source` through a diskless replica stowage made there
    const onSource = await StorageManager.open({ plugins: [LinstorPlugin], config: [cluster.config({ node: source })], lockDir: locks, sharedLockDir: join(locks, 'shared') });
    try {
      await storages.prepareMigration(volid, { toNode: source! });
      expect(replicas()).toEqual({ [diskful!]: 'diskful', [source!]: 'diskless' });

      await onSource.prepareMigration(volid, { toNode: target! });
      await onSource.prepareMigration(volid, { toNode: target! });
      expect(replicas()).toEqual({ [diskful!]: 'diskful', [source!]: 'diskless', [target!]: 'diskless' });

      await onSource.finishMigration(volid);
      await onSource.finishMigration(volid);
      expect(replicas()).toEqual({ [diskful!]: 'diskful', [target!]: 'diskless' });

      // back: the abort removes the target's diskless replica, the diskful one never goes
      await storages.abortMigration(volid, { toNode: target! });
      await storages.abortMigration(volid, { toNode: target! });
      await storages.abortMigration(volid, { toNode: diskful! });
      expect(replicas()).toEqual({ [diskful!]: 'diskful' });
      const onDiskful = await StorageManager.open({ plugins: [LinstorPlugin], config: [cluster.config({ node: diskful })], lockDir: locks, sharedLockDir: join(locks, 'shared') });
      await onDiskful.finishMigration(volid).finally(() => onDiskful.close());
      expect(replicas()).toEqual({ [diskful!]: 'diskful' });
    } finally {
      await onSource.close();
    }
    await storages.freeImage(volid);
  });
});
