/**
 * Unfinished volumes: an import (or allocation, or clone) creates its definition already marked
 * with its owner token (`Aux/stowage/incomplete`, in the create request itself), reserves the
 * name, and clears the mark only when the volume is whole. Listings hide marked definitions,
 * the free-name search counts them, a failure deletes only the definition this call made
 * (checked by uuid), and `collectGarbage` removes those whose owner is dead.
 */
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { currentOwner, encodeSizeHeader, formatOwner, type PluginContext } from '@stowage/core/plugin';
import type { LinstorConfig } from '../src/config.js';
import { LinstorPlugin } from '../src/index.js';
import { PROP_INCOMPLETE, PROP_NAME, PROP_VMID } from '../src/names.js';
import { pluginContext } from './plugin-context.js';
import { RESOURCE_GROUP, startCluster, type Cluster } from './stand-in/cluster.js';
import type { DefinitionState } from './stand-in/model.js';

const MiB = 1024 * 1024;
let cluster: Cluster;
const plugin = new LinstorPlugin();
const vol = (volname: string) => plugin.parseVolname(volname);

function ctx(nameReserved: () => void = () => undefined): PluginContext<LinstorConfig> {
  return { ...pluginContext(cluster.config(), cluster.node), nameReserved };
}

function definitionNamed(name: string): DefinitionState | undefined {
  return [...cluster.model.definitions.values()].find((d) => d.props[PROP_NAME] === name);
}

/** A definition as a process left it, marked with `owner`. */
function leftover(name: string, vmid: number, owner: string): DefinitionState {
  const rd = `stowage-${Math.random().toString(16).slice(2, 10).padEnd(8, '0')}`;
  return cluster.model.createDefinition(rd, RESOURCE_GROUP, { [PROP_NAME]: name, [PROP_VMID]: String(vmid), [PROP_INCOMPLETE]: owner }, 1024);
}

/** An owner of this node from an earlier boot: dead for certain. */
function deadOwner(): string {
  const self = currentOwner(cluster.node);
  const boot = (self.boot[0] === 'f' ? '0' : 'f') + self.boot.slice(1);
  return formatOwner({ ...self, boot });
}

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await plugin.deactivateStorage(ctx());
  await cluster.close();
});
afterEach(() => {
  expect(cluster.validator?.violations ?? []).toEqual([]);
  for (const d of [...cluster.model.definitions.values()]) cluster.model.deleteDefinition(d);
});

describe('unfinished linstor volumes', () => {
  it('an import is marked in its create request, reserves the name, stays hidden while data flows, and is unmarked when whole', async () => {
    const input = new PassThrough();
    const seen: string[] = [];
    let reserved: (() => void) | undefined;
    const reservedNow = new Promise<void>((resolve) => (reserved = resolve));
    const importing = plugin.volumeImport(
      ctx(() => {
        const d = definitionNamed('vm-900-disk-0');
        seen.push(`mark=${d?.props[PROP_INCOMPLETE] === formatOwner(currentOwner(cluster.node))}`);
        seen.push(`puts before=${cluster.controllers[0]!.requests.filter((r) => r.method === 'PUT' && d && r.path.includes(d.name)).length}`);
        reserved!();
      }),
      { volume: vol('vm-900-disk-0'), format: 'raw+size', input },
    );
    input.write(encodeSizeHeader(2 * MiB));
    input.write(Buffer.alloc(MiB, 7));
    await reservedNow;
    expect(seen, 'at ctx.nameReserved(): marked with our owner by the create request, no PUT yet').toEqual(['mark=true', 'puts before=0']);
    expect(await plugin.listImages(ctx(), {}), 'listed while the import runs').toEqual([]);
    expect(await plugin.findFreeDiskname(ctx(), { vmid: 900 }), 'free name while the import runs').toBe('vm-900-disk-1');
    await expect(plugin.freeImage(ctx(), { volume: vol('vm-900-disk-0') }), 'freeing the unfinished volume').rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(plugin.allocImage(ctx(), { vmid: 900, format: 'raw', name: 'vm-900-disk-0', size: MiB }), 'allocating its name').rejects.toMatchObject({
      code: 'ALREADY_EXISTS',
    });
    input.end(Buffer.alloc(MiB, 7));
    expect(await importing).toBe('vm-900-disk-0');
    expect(definitionNamed('vm-900-disk-0')?.props[PROP_INCOMPLETE], 'the mark once whole').toBeUndefined();
    expect((await plugin.listImages(ctx(), {})).map((i) => i.volname)).toEqual(['vm-900-disk-0']);
  });

  it('a failed import deletes its own definition, and not another one that took its LINSTOR name', async () => {
    const input = new PassThrough();
    let made: DefinitionState | undefined;
    const importing = plugin.volumeImport(
      ctx(() => {
        made = definitionNamed('vm-901-disk-0');
      }),
      { volume: vol('vm-901-disk-0'), format: 'raw+size', input },
    );
    importing.catch(() => undefined);
    input.write(encodeSizeHeader(2 * MiB));
    input.write(Buffer.alloc(MiB, 1));
    await expect.poll(() => made !== undefined).toBe(true);
    // someone deletes the definition and makes another under the same LINSTOR name
    cluster.model.deleteDefinition(made!);
    const impostor = cluster.model.createDefinition(made!.name, RESOURCE_GROUP, { [PROP_NAME]: 'vm-999-disk-0', [PROP_VMID]: '999' }, 1024);
    input.on('error', () => undefined);
    input.destroy(new Error('the sender died'));
    await expect(importing).rejects.toThrow();
    expect(cluster.model.findDefinition(made!.name)?.uuid, 'the other definition under that LINSTOR name').toBe(impostor.uuid);
  });

  it('a failed import removes what it made', async () => {
    const input = new PassThrough();
    const importing = plugin.volumeImport(ctx(), { volume: vol('vm-902-disk-0'), format: 'raw+size', input });
    importing.catch(() => undefined);
    input.end(Buffer.concat([encodeSizeHeader(2 * MiB), Buffer.alloc(1000)]));
    await expect(importing).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('allocations and clones are unmarked when whole', async () => {
    await plugin.allocImage(ctx(), { vmid: 903, format: 'raw', name: 'vm-903-disk-0', size: MiB });
    const base = await plugin.createBase(ctx(), { volume: vol('vm-903-disk-0') });
    const clone = await plugin.cloneImage(ctx(), { volume: vol(base), vmid: 904, name: 'vm-904-disk-0' });
    expect([...cluster.model.definitions.values()].map((d) => d.props[PROP_INCOMPLETE])).toEqual([undefined, undefined]);
    expect((await plugin.listImages(ctx(), {})).map((i) => i.volname).sort()).toEqual([base, clone]);
  });

  it('an unfinished clone keeps its base from being freed', async () => {
    await plugin.allocImage(ctx(), { vmid: 905, format: 'raw', name: 'base-905-disk-0', size: MiB });
    const base = definitionNamed('base-905-disk-0')!;
    const d = leftover('vm-906-disk-0', 906, formatOwner(currentOwner(cluster.node)));
    d.props['Aux/stowage/base'] = base.name;
    await expect(plugin.freeImage(ctx(), { volume: vol('base-905-disk-0') })).rejects.toMatchObject({ code: 'IN_USE' });
  });

  it('collectGarbage removes unfinished volumes of dead owners, and keeps live and foreign ones', async () => {
    const dead = leftover('vm-910-disk-0', 910, deadOwner());
    const alive = leftover('vm-910-disk-1', 910, formatOwner(currentOwner(cluster.node)));
    const foreign = leftover('vm-910-disk-2', 910, formatOwner({ ...currentOwner('another-node'), pid: 1 }));
    await plugin.allocImage(ctx(), { vmid: 910, format: 'raw', name: 'vm-910-disk-3', size: MiB });
    const dry = await plugin.collectGarbage(ctx(), { dryRun: true });
    expect(dry.removed.map((i) => [i.name, i.reason])).toEqual([[dead.name, 'owner-dead']]);
    expect(cluster.model.findDefinition(dead.name), 'after a dry run').toBeDefined();
    const report = await plugin.collectGarbage(ctx(), {});
    expect(report.removed.map((i) => i.name)).toEqual([dead.name]);
    expect(report.kept.map((i) => [i.name, i.reason]).sort()).toEqual(
      [
        [alive.name, 'owner-alive'],
        [foreign.name, 'owner-unknown'],
      ].sort(),
    );
    expect(cluster.model.findDefinition(dead.name)).toBeUndefined();
    expect([...cluster.model.definitions.values()].map((d) => d.props[PROP_NAME]).sort()).toEqual(['vm-910-disk-1', 'vm-910-disk-2', 'vm-910-disk-3']);
  });

  it('freeing a volume that does not exist is NOT_FOUND', async () => {
    await expect(plugin.freeImage(ctx(), { volume: vol('vm-920-disk-0') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
