/**
 * `status` and `list`: what the storages hold and how full they are.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { GuestTypes } from '@stowage/core';
import { lacksImageFacts, listRows } from '../list-rows.js';
import { formatTime, memoized } from '../output.js';
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

/** Reads `--guests`: inline `100=qemu,101=lxc`, or `@FILE` (Proxmox's `.vmlist` or `{ vmid: type }`). */
async function guestsOption(text: string | undefined, cwd: string): Promise<GuestTypes | undefined> {
  if (text === undefined) return undefined;
  const { parseGuestFile, parseGuestList } = await import('../values.js');
  if (!text.startsWith('@')) return parseGuestList(text);
  const path = resolve(cwd, text.slice(1));
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (e) {
    const { fsError } = await import('@stowage/core/plugin');
    throw fsError(e, `cannot read ${path}`, { path });
  }
  return parseGuestFile(json);
}

/** `stowage list <storage> [--vmid N] [--content images,iso] [--guests 100=qemu,101=lxc|@FILE]`. */
export const listVerb: VerbSpec = {
  name: 'list',
  usage: '<storage> [--vmid N] [--content images|iso|...] [--guests LIST|@FILE] [--include-hidden]',
  description:
    'Sorted by volume id (plain character order, the same in every locale). --content takes a comma-separated list of content types.\n' +
    '--guests says which guests are containers: their images are listed as rootdir (without it, every image is images).\n' +
    "It takes vmid=qemu|lxc pairs (100=qemu,101=lxc) or @FILE, a JSON file such as Proxmox's /etc/pve/.vmlist.\n" +
    'Hidden templates (freed with --when-unused while clones use them) are listed only with --include-hidden, marked hidden.\n' +
    'With --json, each volume has volid, volname, content, format, size, used, vmid, isBase, parent, backingFile,\n' +
    'ctime and subtype (null where unknown or not applicable); see docs/json/list.schema.json.',
  positionals: { min: 1, max: 1 },
  options: {
    vmid: { type: 'string', valueName: 'N', description: "only this guest's volumes" },
    content: { type: 'string', valueName: 'TYPES', description: 'only these content types (images, rootdir, iso, vztmpl, backup, snippets, import)' },
    guests: { type: 'string', valueName: 'LIST', description: 'which guests are containers: 100=qemu,101=lxc or @/etc/pve/.vmlist' },
    'include-hidden': { type: 'boolean', description: 'also list hidden templates' },
  },
  async run(ctx) {
    const storage = ctx.args.positionals[0] ?? '';
    const [{ formatSize }, { parseContentList, parseVmid, stringOption }] = await Promise.all([import('../sizes.js'), import('../values.js')]);
    const vmidText = stringOption(ctx.args.options['vmid']);
    const contentText = stringOption(ctx.args.options['content']);
    const vmid = vmidText === undefined ? undefined : parseVmid(vmidText);
    const content = contentText === undefined ? undefined : parseContentList(contentText);
    const guests = await guestsOption(stringOption(ctx.args.options['guests']), ctx.io.cwd);
    const m = await ctx.manager();
    const volumes = await m.listVolumes(storage, { vmid, content, guests });
    // one listing, unless the plugin's leaves out the image facts: then listImages has them
    const images = volumes.some(lacksImageFacts) ? await m.listImages(storage, { vmid, includeHidden: true }) : [];
    const rows = listRows(volumes, images).filter((r) => r.hidden !== true || ctx.args.options['include-hidden'] === true);
    // sizes and times repeat across the rows of a storage: each distinct one is formatted once
    const size = memoized(formatSize);
    const time = memoized(formatTime);
    return {
      data: rows,
      human: {
        headers: ['Volid', 'Format', 'Type', 'Size', 'VMID', 'Created'],
        right: [3, 4],
        rows: rows.map((v) => [v.hidden === true ? `${v.volid} (hidden)` : v.volid, v.format, v.content, size(v.size), v.vmid === null ? '' : String(v.vmid), time(v.ctime ?? undefined)]),
      },
    };
  },
};
