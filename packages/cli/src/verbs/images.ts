/**
 * `alloc`, `free`, `path`, `volid`, `template`, `clone`, `resize` and `rename`: one volume at a time.
 *
 * @module
 */
import { resolve } from 'node:path';
import type { VerbSpec } from '../verb.js';

/** `stowage alloc <storage> <vmid> <name|-> <size> [--format F]`. */
export const allocVerb: VerbSpec = {
  name: 'alloc',
  usage: '<storage> <vmid> <name|-> <size> [--format F]',
  description:
    "Name '-' picks the next free vm-<vmid>-disk-<n> name. Size is bytes, or a number with K, M, G, T or P (binary units).\nPrints the new volume id.",
  positionals: { min: 4, max: 4 },
  options: { format: { type: 'string', valueName: 'F', description: "image format (raw, qcow2, vmdk, subvol); the storage's default when omitted" } },
  async run(ctx) {
    const [storage = '', vmidText = '', name = '', sizeText = ''] = ctx.args.positionals;
    const [{ parseSize }, { parseVmid, parseVolumeFormat, stringOption }] = await Promise.all([import('../sizes.js'), import('../values.js')]);
    const vmid = parseVmid(vmidText);
    const size = parseSize(sizeText);
    const formatText = stringOption(ctx.args.options['format']);
    const format = formatText === undefined ? undefined : parseVolumeFormat(formatText);
    const m = await ctx.manager();
    const volid = await m.allocImage(storage, { vmid, size, format, name: name === '-' ? undefined : name });
    return { data: { volid, size }, human: volid };
  },
};

/** `stowage free <volid> [--when-unused] [--in-use FILE|-]`. */
export const freeVerb: VerbSpec = {
  name: 'free',
  usage: '<volid> [--when-unused] [--in-use FILE|-]',
  description:
    'A template that linked clones still use is refused (IN_USE), unless --when-unused: then it is hidden (not listed,\n' +
    'not cloned again) and freed with its last clone. A protected volume is refused (PROTECTED).\n' +
    'Freeing the last clone of a hidden template frees the template too. A volume that does not exist (a second free,\n' +
    'a mistyped volid) is NOT_FOUND. --in-use names the volumes your guests use (one volume id per line, or a JSON\n' +
    'array): one of them is not freed (IN_USE), a template among them is hidden with --when-unused (prune frees it\n' +
    'once it is no longer named), and a hidden template among them outlives its last clone.',
  positionals: { min: 1, max: 1 },
  options: {
    'when-unused': { type: 'boolean', description: 'hide a template that clones or guests still use, and free it with its last clone' },
    'in-use': { type: 'string', valueName: 'FILE', description: 'the volumes your guests use, one per line or a JSON array; - for standard input' },
  },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const inUse = ctx.args.options['in-use'] === undefined ? undefined : await (await import('../in-use.js')).readInUse(ctx);
    const r = await (await ctx.manager()).freeImage(volid, { whenUnused: ctx.args.options['when-unused'] === true, inUse });
    const also = r.alsoFreed.length > 0 ? ` (and its hidden template ${r.alsoFreed.join(', ')})` : '';
    const human = r.outcome === 'hidden' ? `hid ${volid}: clones still use it; it goes with the last of them` : `freed ${volid}${also}`;
    return { data: { volid, freed: r.outcome === 'freed', outcome: r.outcome, alsoFreed: r.alsoFreed }, human };
  },
};

/** `stowage path <volid> [--snapshot S]`. */
export const pathVerb: VerbSpec = {
  name: 'path',
  usage: '<volid> [--snapshot S]',
  positionals: { min: 1, max: 1 },
  options: { snapshot: { type: 'string', valueName: 'S', description: 'the path of this snapshot' } },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const { stringOption } = await import('../values.js');
    const snapshot = stringOption(ctx.args.options['snapshot']);
    const p = await (await ctx.manager()).path(volid, { snapshot });
    return { data: { volid, path: p.path, vmid: p.vmid, vtype: p.vtype }, human: p.path };
  },
};

/** `stowage volid <path>`. */
export const volidVerb: VerbSpec = {
  name: 'volid',
  usage: '<path>',
  description:
    'The first storage that holds the path names it: an image (a linked clone with its base), a container subvolume, an ISO image, template, backup, snippet or import source.\nA relative path is taken from the working directory; a volume id is printed as it is. A path no storage holds is NOT_FOUND.',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const arg = ctx.args.positionals[0] ?? '';
    const path = /^[^/]+:/.test(arg) ? arg : resolve(ctx.io.cwd, arg);
    const found = await (await ctx.manager()).pathToVolumeId(path);
    if (!found) {
      const { StorageError } = await import('@stowage/core');
      throw new StorageError('NOT_FOUND', `no storage holds '${path}'`, { details: { path } });
    }
    return { data: { path, volid: found.volid, vtype: found.vtype }, human: found.volid };
  },
};

/** `stowage template <volid>`. */
export const templateVerb: VerbSpec = {
  name: 'template',
  usage: '<volid>',
  description: 'Prints the new volume id (vm-<vmid>-disk-<n> becomes base-<vmid>-disk-<n>).',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const base = await (await ctx.manager()).createBase(volid);
    return { data: { volid: base, from: volid }, human: base };
  },
};

/** `stowage clone <volid> <vmid> [--snapshot S]`. */
export const cloneVerb: VerbSpec = {
  name: 'clone',
  usage: '<volid> <vmid> [--snapshot S]',
  description: 'Prints the new volume id.',
  positionals: { min: 2, max: 2 },
  options: { snapshot: { type: 'string', valueName: 'S', description: 'clone from this snapshot instead of from a template' } },
  async run(ctx) {
    const [volid = '', vmidText = ''] = ctx.args.positionals;
    const { parseVmid, stringOption } = await import('../values.js');
    const vmid = parseVmid(vmidText);
    const snapshot = stringOption(ctx.args.options['snapshot']);
    const clone = await (await ctx.manager()).cloneImage(volid, { vmid, snapshot });
    return { data: { volid: clone, from: volid }, human: clone };
  },
};

/** `stowage resize <volid> <size>`. */
export const resizeVerb: VerbSpec = {
  name: 'resize',
  usage: '<volid> <size|+size>',
  description: 'Size as for alloc; +1G grows by 1 GiB. Shrinking is refused (CANNOT_SHRINK) unless the storage can shrink.',
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [volid = '', sizeText = ''] = ctx.args.positionals;
    const { parseSizeSpec } = await import('../sizes.js');
    const spec = parseSizeSpec(sizeText);
    const m = await ctx.manager();
    const size = spec.relative ? (await m.volumeSizeInfo(volid)).size + spec.bytes : spec.bytes;
    await m.volumeResize(volid, size);
    return { data: { volid, size }, human: `resized ${volid} to ${size} bytes` };
  },
};

/** `stowage rename <volid> <vmid>`. */
export const renameVerb: VerbSpec = {
  name: 'rename',
  usage: '<volid> <vmid>',
  description: 'Prints the new volume id.',
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [volid = '', vmidText = ''] = ctx.args.positionals;
    const { parseVmid } = await import('../values.js');
    const vmid = parseVmid(vmidText);
    const renamed = await (await ctx.manager()).renameVolume(volid, vmid);
    return { data: { volid: renamed, from: volid }, human: renamed };
  },
};
