/**
 * `formats` and `checksum`: what another node's stowage asks this one before and after it sends
 * a volume here (with `--json`), and what a person can ask too.
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';

/** `stowage formats <volid> [--import]`. */
export const formatsVerb: VerbSpec = {
  name: 'formats',
  usage: '<volid> [--import] [--snapshot S] [--base S] [--with-snapshots]',
  summary: 'list the stream formats a volume can be exported in, or imported into',
  description:
    'Best first. With --import the volume need not exist: the formats a new volume of that id accepts.\nA migrating node asks this (with --json) to choose the format it sends.',
  positionals: { min: 1, max: 1 },
  options: {
    import: { type: 'boolean', description: 'the formats an import into the volume accepts' },
    snapshot: { type: 'string', valueName: 'S', description: 'the state of this snapshot' },
    base: { type: 'string', valueName: 'S', description: 'incremental: only what changed since this snapshot' },
    'with-snapshots': { type: 'boolean', description: 'carry the snapshots too' },
  },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const { stringOption } = await import('../values.js');
    const direction = ctx.args.options['import'] === true ? 'import' : 'export';
    const options = {
      snapshot: stringOption(ctx.args.options['snapshot']),
      baseSnapshot: stringOption(ctx.args.options['base']),
      withSnapshots: ctx.args.options['with-snapshots'] === true,
    };
    const m = await ctx.manager();
    const formats = direction === 'import' ? await m.volumeImportFormats(volid, options) : await m.volumeExportFormats(volid, options);
    return { data: { volid, direction, formats }, human: formats.join('\n') };
  },
};

/** `stowage checksum <volid>`. */
export const checksumVerb: VerbSpec = {
  name: 'checksum',
  usage: '<volid>',
  summary: "print the SHA-256 of a volume's data",
  description:
    "Taken over the volume's raw+size stream (the 8-byte size header, then the raw data), as a migration sends it;\na migration asks the target node for it to check the copy. Reads the whole volume.",
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const { volumeChecksum } = await import('@stowage/core');
    const sum = await volumeChecksum(await ctx.manager(), volid, { signal: ctx.io.signal });
    return { data: sum, human: `${sum.sha256}  ${volid}` };
  },
};
