/**
 * The built `stowage` binary against a real 3-member etcd cluster: --cluster, $STOWAGE_CLUSTER
 * and cluster.cfg; `cluster status`, `cluster locks`, `cluster init`; a shared storage locked
 * and announced through etcd.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@stowage/cluster-etcd';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from '../../cluster-etcd/test/support/etcd-cluster.js';
import { assertBuilt, jsonError } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

describe('stowage cluster, on a real etcd', () => {
  let etcd: EtcdCluster;
  let s: Sandbox;
  let url: string;
  beforeAll(async () => {
    assertBuilt();
    etcd = await startEtcdCluster();
    url = `etcd://${etcd.endpoints.join(',')}`;
    s = makeSandbox('cluster');
  });
  afterAll(async () => {
    s?.remove();
    await etcd?.stop();
  });

  it('cluster status shows the members, the leader, this node and health (--cluster, $STOWAGE_CLUSTER, cluster.cfg)', async () => {
    const viaFlag = await s.json<{ healthy: boolean; leader: string; node: string; members: { name: string; reachable: boolean; leader: boolean }[] }>(
      ['--cluster', url, 'cluster', 'status'],
      { env: { STOWAGE_NODE: 'pve1' } },
    );
    expect(viaFlag).toMatchObject({ healthy: true, node: 'pve1', leader: expect.stringMatching(/^m[012]$/) });
    expect(viaFlag.members.map((m) => m.name).sort()).toEqual(['m0', 'm1', 'm2']);
    expect(viaFlag.members.filter((m) => m.leader)).toHaveLength(1);
    expect(await s.json(['cluster', 'status'], { env: { STOWAGE_CLUSTER: url } })).toMatchObject({ healthy: true });
    const dir = join(s.dir, 'etc');
    mkdirSync(dir);
    writeFileSync(join(dir, 'cluster.cfg'), `# the etcd cluster\n${url}\n`);
    expect(await s.json(['cluster', 'status', '--config', join(dir, 'storage.cfg')])).toMatchObject({ healthy: true });
    expect(await s.ok(['cluster', 'status', '--cluster', url])).toMatch(/healthy: +yes/);
  });

  it('cluster locks shows who holds what', async () => {
    const other = await connect({ endpoints: etcd.endpoints, node: 'pve2' });
    try {
      const held = await other.locks.acquire({ storeId: 'nfs', shared: true, operation: 'cloneImage' });
      expect(await s.json(['cluster', 'locks', '--cluster', url])).toEqual([
        { storeId: 'nfs', node: 'pve2', pid: process.pid, operation: 'cloneImage', since: expect.any(Number) },
      ]);
      expect(await s.ok(['cluster', 'locks', '--cluster', url])).toMatch(/nfs +- +pve2 +\d+ +cloneImage/);
      await held.release();
      expect(await s.json(['cluster', 'locks', '--cluster', url])).toEqual([]);
    } finally {
      await other.close();
    }
  });

  it('cluster init seeds the cluster storage.cfg only when it is empty', async () => {
    const file = join(s.dir, 'seed.cfg');
    writeFileSync(file, 'dir: shared1\n\tpath /srv/shared\n\tcontent images\n\tshared 1\n');
    const res = await s.json<{ revision: string }>(['cluster', 'init', '--from', file, '--cluster', `${url}/seedtest/`]);
    expect(res.revision).toMatch(/^\d+$/);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      expect(await raw.get('seedtest/config/storage.cfg').string()).toBe('dir: shared1\n\tpath /srv/shared\n\tcontent images\n\tshared 1\n');
    } finally {
      raw.close();
    }
    const again = await s.run(['cluster', 'init', '--from', file, '--cluster', `${url}/seedtest/`, '--json']);
    expect(again.code).toBe(12);
    expect(jsonError(again.stderr).code).toBe('ALREADY_EXISTS');
    writeFileSync(join(s.dir, 'bad.cfg'), 'this is not a storage.cfg\n');
    const bad = await s.run(['cluster', 'init', '--from', join(s.dir, 'bad.cfg'), '--cluster', `${url}/other/`, '--json']);
    expect(jsonError(bad.stderr).code).toBe('CONFIG_INVALID');
  });

  it('alloc on a shared storage takes its lock in etcd and announces the change there', async () => {
    await s.ok(['storage', 'add', 'dir', 'shared1', '--path', join(s.dir, 'shared1'), '--content', 'images', '--shared', '1', '--cluster', url]);
    const volid = (await s.ok(['alloc', 'shared1', '100', '-', '1M', '--format', 'raw', '--cluster', url])).trim();
    expect(volid).toBe('shared1:100/vm-100-disk-0.raw');
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      expect(JSON.parse((await raw.get('stowage/changes/shared1').string()) ?? '{}')).toMatchObject({ node: expect.any(String) });
    } finally {
      raw.close();
    }
  });

  it("with a cluster and no file named, storage add and list use the cluster's storage.cfg, from any process", async () => {
    const prefix = `${url}/cfgtest/`;
    const node = (name: string) => {
      const cwd = join(s.dir, name); // no storage.cfg here, none named: the cluster's is used
      mkdirSync(cwd, { recursive: true });
      return { cwd, env: { STOWAGE_CONFIG: undefined, STOWAGE_NODE: name } };
    };
    const [pve1, pve2] = [node('pve1'), node('pve2')];
    const added = await s.json<{ config: string }>(['--cluster', prefix, 'storage', 'add', 'dir', 'nfs', '--path', join(s.dir, 'nfs'), '--content', 'images', '--shared', '1'], pve1);
    expect(added.config).toMatch(/^etcd:\/\/.*\/cfgtest\/config\/storage\.cfg$/);
    await s.ok(['storage', 'add', 'dir', 'iso', '--path', join(s.dir, 'iso'), '--content', 'iso'], { ...pve2, env: { ...pve2.env, STOWAGE_CLUSTER: prefix } });
    const listed = await s.json<{ storage: string; shared?: boolean }[]>(['--cluster', prefix, 'storage', 'list'], pve2);
    expect(listed.map((r) => r.storage)).toEqual(['nfs', 'iso']);
    expect(existsSync(join(pve1.cwd, 'storage.cfg')) || existsSync(join(pve2.cwd, 'storage.cfg'))).toBe(false);
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      expect(await raw.get('cfgtest/config/storage.cfg').string()).toMatch(/^dir: nfs\n[^]*\ndir: iso\n/);
    } finally {
      raw.close();
    }
    // a file named with --config is still the one used, cluster or not
    const named = await s.run(['--cluster', prefix, '--config', join(s.dir, 'none.cfg'), 'storage', 'list', '--json'], pve2);
    expect(jsonError(named.stderr).code).toBe('NOT_FOUND');
    // a storage.cfg found in the working directory is not read with a cluster: a cluster without one says how to seed it
    writeFileSync(join(pve1.cwd, 'storage.cfg'), 'dir: local\n\tpath /srv/local\n');
    const empty = await s.run(['--cluster', `${url}/emptycfg/`, 'storage', 'list', '--json'], pve1);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout)).toEqual([]);
    expect(empty.stderr).toMatch(/the cluster's storage\.cfg is empty .*stowage cluster init --from .*storage\.cfg/);
  });

  it('fails with UNAVAILABLE when etcd cannot be reached, INVALID_ARGUMENT for a bad address, CONFIG_INVALID without a cluster', async () => {
    const down = await s.run(['cluster', 'locks', '--cluster', 'etcd://127.0.0.1:1', '--json']);
    expect(down.code).toBe(27);
    expect(jsonError(down.stderr).code).toBe('UNAVAILABLE');
    const bad = await s.run(['cluster', 'locks', '--cluster', 'http://x', '--json']);
    expect(jsonError(bad.stderr).code).toBe('INVALID_ARGUMENT');
    const none = await s.run(['cluster', 'locks', '--json']);
    expect(jsonError(none.stderr).code).toBe('CONFIG_INVALID');
  });
});
