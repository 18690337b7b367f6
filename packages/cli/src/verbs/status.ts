/**
 * `status` and `list`: what the storages hold and how full they are.
 *
 * @module
 */
import type { StoragePluginClass } from '@stowage/core';
import { listRows } from '../list-rows.js';
import { formatTime } from '../output.js';
import type { VerbSpec } from '../verb.js';

/** One row of `status`. */
export interface StatusRow {
  /** The storage id. */
  readonly storage: string;
  /** The plugin type. */
  readonly type: string;
  /** `active`, `inactive`, `disabled`, `unavailable` (not for this node), `invalid` (its configuration cannot be used) or `error`. */
  readonly status: string;
  /** Total bytes (0 when unknown). */
  readonly total: number;
  /** Used bytes. */
  readonly used: number;
  /** Available bytes. */
  readonly available: number;
  /** The error code, when status is `error` or `unavailable`. */
  readonly error?: string;
}

/** `stowage status [storage]`. */
export const statusVerb: VerbSpec = {
  name: 'status',
  usage: '[storage]',
  summary: 'show capacity and state of every storage, or of one',
  description:
    'Status is active, inactive (configured but not reachable), disabled, unavailable (not for this node), invalid (its section of the configuration cannot be used: see storage list) or error.',
  positionals: { min: 0, max: 1 },
  async run(ctx) {
    const [{ isStorageError }, { formatSize }] = await Promise.all([import('@stowage/core'), import('../sizes.js')]);
    const m = await ctx.manager();
    const only = ctx.args.positionals[0];
    const ids = only === undefined ? m.storageIds() : [only];
    const rows: StatusRow[] = [];
    for (const id of ids) {
      const config = m.storageConfig(id);
      const type = String(config.type);
      if (config.disable === true) {
        rows.push({ storage: id, type, status: 'disabled', total: 0, used: 0, available: 0 });
        continue;
      }
      try {
        const s = await m.status(id);
        rows.push({ storage: id, type, status: s.active ? 'active' : 'inactive', total: s.total, used: s.used, available: s.available });
      } catch (e) {
        if (only !== undefined && !isStorageError(e, 'UNAVAILABLE')) throw e;
        const code = isStorageError(e) ? e.code : 'INTERNAL';
        rows.push({ storage: id, type, status: code === 'UNAVAILABLE' ? 'unavailable' : 'error', total: 0, used: 0, available: 0, error: code });
      }
    }
    if (only === undefined) {
      for (const bad of m.invalidStorages()) rows.push({ storage: bad.storage, type: bad.type, status: 'invalid', total: 0, used: 0, available: 0, error: 'CONFIG_INVALID' });
    }
    return {
      data: rows,
      human: {
        headers: ['Name', 'Type', 'Status', 'Total', 'Used', 'Available', '%'],
        right: [3, 4, 5, 6],
        rows: rows.map((r) => [
          r.storage,
          r.type,
          r.status,
          formatSize(r.total),
          formatSize(r.used),
          formatSize(r.available),
          r.total > 0 ? `${((r.used / r.total) * 100).toFixed(2)}%` : '-',
        ]),
      },
    };
  },
};

/** `stowage list <storage> [--vmid N] [--content images,iso]`. */
export const listVerb: VerbSpec = {
  name: 'list',
  usage: '<storage> [--vmid N] [--content images|iso|...]',
  summary: 'list the volumes of a storage',
  description:
    'Sorted by volume id (plain character order, the same in every locale). --content takes a comma-separated list of content types.\n' +
    'With --json, each volume has volid, volname, content, format, size, used, vmid, isBase, parent and ctime\n' +
    '(null where unknown or not applicable); see docs/json/list.schema.json.',
  positionals: { min: 1, max: 1 },
  options: {
    vmid: { type: 'string', valueName: 'N', description: "only this guest's volumes" },
    content: { type: 'string', valueName: 'TYPES', description: 'only these content types (images, rootdir, iso, vztmpl, backup, snippets, import)' },
  },
  async run(ctx) {
    const storage = ctx.args.positionals[0] ?? '';
    const [{ formatSize }, { parseContentList, parseVmid, stringOption }] = await Promise.all([import('../sizes.js'), import('../values.js')]);
    const vmidText = stringOption(ctx.args.options['vmid']);
    const contentText = stringOption(ctx.args.options['content']);
    const vmid = vmidText === undefined ? undefined : parseVmid(vmidText);
    const content = contentText === undefined ? undefined : parseContentList(contentText);
    const m = await ctx.manager();
    // images through listImages (lineage, usage), the rest through listVolumes: each listed once
    const caps = (m.pluginFor(storage).constructor as StoragePluginClass).capabilities;
    const types = content ?? m.storageConfig(storage).content ?? caps.defaultContent;
    const withImages = types.includes('images') && caps.content.includes('images');
    const others = types.filter((t) => !(withImages && t === 'images'));
    const images = withImages ? await m.listImages(storage, { vmid }) : [];
    const volumes = others.length > 0 ? await m.listVolumes(storage, { vmid, content: others }) : [];
    const rows = listRows(images, volumes);
    return {
      data: rows,
      human: {
        headers: ['Volid', 'Format', 'Type', 'Size', 'VMID', 'Created'],
        right: [3, 4],
        rows: rows.map((v) => [v.volid, v.format, v.content, formatSize(v.size), v.vmid === null ? '' : String(v.vmid), formatTime(v.ctime ?? undefined)]),
      },
    };
  },
};
