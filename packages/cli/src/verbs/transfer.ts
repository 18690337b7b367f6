/**
 * `export`, `import` and `copy`: volumes as byte streams, with a progress bar on a terminal.
 *
 * @module
 */
import type { OptionSpec } from '../args.js';
import type { VerbSpec } from '../verb.js';

const streamOptions: Readonly<Record<string, OptionSpec>> = {
  snapshot: { type: 'string', valueName: 'S', description: 'the state of this snapshot' },
  base: { type: 'string', valueName: 'S', description: 'incremental: only what changed since this snapshot' },
  'with-snapshots': { type: 'boolean', description: 'carry the snapshots too (formats that can)' },
};

/** `stowage export <volid> <format> <file|->`. */
export const exportVerb: VerbSpec = {
  name: 'export',
  usage: '<volid> <format> <file|-> [--snapshot S] [--base S] [--with-snapshots]',
  description:
    "Formats: raw+size, qcow2+size, vmdk+size, tar+size, zfs, btrfs (what the storage offers). '-' writes to standard output;\na file must not exist yet, and is removed if the export fails.",
  positionals: { min: 3, max: 3 },
  options: streamOptions,
  async run(ctx) {
    const [volid = '', formatText = '', target = ''] = ctx.args.positionals;
    const [{ openExportTarget }, { parseStreamFormat, stringOption }] = await Promise.all([import('../streams.js'), import('../values.js')]);
    const format = parseStreamFormat(formatText);
    const m = await ctx.manager();
    const out = await openExportTarget(target, ctx.io);
    const bar = ctx.progress('export');
    let bytes = 0;
    try {
      await m.volumeExport(volid, {
        format,
        output: out.stream,
        snapshot: stringOption(ctx.args.options['snapshot']),
        baseSnapshot: stringOption(ctx.args.options['base']),
        withSnapshots: ctx.args.options['with-snapshots'] === true,
        onProgress: (p) => {
          bytes = p.done;
          bar.onProgress?.(p);
        },
        signal: ctx.io.signal,
      });
      await out.commit();
    } catch (e) {
      await out.discard();
      throw e;
    } finally {
      bar.finish();
    }
    if (target === '-') return { data: undefined, human: undefined, quiet: true };
    return { data: { volid, format, file: target, bytes }, human: `exported ${volid} to ${target}` };
  },
};

/** `stowage import <volid> <format> <file|->`. */
export const importVerb: VerbSpec = {
  name: 'import',
  usage: '<volid> <format> <file|-> [--snapshot S] [--base S] [--with-snapshots] [--allow-rename]',
  description:
    "The volume id names the new volume (storage:volname). '-' reads standard input. A failed import leaves no volume behind.\nPrints the volume id written (another free name with --allow-rename when the name is taken).",
  positionals: { min: 3, max: 3 },
  options: { ...streamOptions, 'allow-rename': { type: 'boolean', description: 'pick a free name when the volume exists' } },
  async run(ctx) {
    const [volid = '', formatText = '', source = ''] = ctx.args.positionals;
    const [{ openImportSource }, { parseStreamFormat, stringOption }] = await Promise.all([import('../streams.js'), import('../values.js')]);
    const format = parseStreamFormat(formatText);
    const m = await ctx.manager();
    const input = await openImportSource(source, ctx.io);
    const bar = ctx.progress('import');
    let written: string;
    try {
      written = await m.volumeImport(volid, {
        format,
        input: input.stream,
        snapshot: stringOption(ctx.args.options['snapshot']),
        baseSnapshot: stringOption(ctx.args.options['base']),
        withSnapshots: ctx.args.options['with-snapshots'] === true,
        allowRename: ctx.args.options['allow-rename'] === true,
        onProgress: bar.onProgress && ((p) => bar.onProgress?.({ done: p.done, total: p.total ?? input.size })),
        signal: ctx.io.signal,
      });
    } finally {
      bar.finish();
      if (source !== '-') input.stream.destroy();
    }
    return { data: { volid: written, format }, human: written };
  },
};

/** `stowage copy <volid> <storage>`. */
export const copyVerb: VerbSpec = {
  name: 'copy',
  usage: '<volid> <storage> [--vmid N] [--with-snapshots]',
  description:
    'Streams the volume in the first format the source exports and the target imports (NOT_SUPPORTED when there is none).\nA failed copy leaves nothing on the target. Prints the new volume id.',
  positionals: { min: 2, max: 2 },
  options: {
    vmid: { type: 'string', valueName: 'N', description: 'the guest that owns the copy (default: the same)' },
    'with-snapshots': { type: 'boolean', description: 'carry the snapshots too (formats that can)' },
  },
  async run(ctx) {
    const [volid = '', storage = ''] = ctx.args.positionals;
    const { parseVmid, stringOption } = await import('../values.js');
    const vmidText = stringOption(ctx.args.options['vmid']);
    const vmid = vmidText === undefined ? undefined : parseVmid(vmidText);
    const m = await ctx.manager();
    const bar = ctx.progress('copy');
    let copied: string;
    try {
      copied = await m.copyVolume(volid, storage, {
        vmid,
        withSnapshots: ctx.args.options['with-snapshots'] === true,
        onProgress: bar.onProgress,
        signal: ctx.io.signal,
      });
    } finally {
      bar.finish();
    }
    return { data: { volid: copied, from: volid }, human: copied };
  },
};
