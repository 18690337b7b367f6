/**
 * `formats`, `checksum` and `receive`: what another node's stowage asks this one before and after
 * it sends a volume here, or runs here to send one (with `--json`); a person can ask the first two.
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';

/** `stowage formats <volid> [--import]`. */
export const formatsVerb: VerbSpec = {
  name: 'formats',
  usage: '<volid> [--import] [--snapshot S] [--base S] [--with-snapshots]',
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

/** `stowage receive <volid> --offer F,... [--need BYTES]`. */
export const receiveVerb: VerbSpec = {
  name: 'receive',
  usage: '<volid> --offer F[,F...] [--need BYTES] [--snapshot S] [--base S] [--with-snapshots]',
  description: [
    'What a migrating node runs here over ssh (with --json). Checks the storage (it exists, is active, has BYTES',
    'free), takes the first format of the offer (the sender\'s, best first) that the volume can be imported from,',
    'prints {"ready":{"format":F}} on one line, then imports standard input (a failed import leaves no volume)',
    'and reads the new volume back: prints the volume id, format and size, and for raw+size the checksum of its',
    'data (as `stowage checksum`), which the sender compares with its source\'s. A failed read-back frees the copy.',
  ].join('\n'),
  positionals: { min: 1, max: 1 },
  options: {
    offer: { type: 'string', valueName: 'F,...', description: 'the stream formats the sender can write, best first' },
    need: { type: 'string', valueName: 'BYTES', description: 'free bytes the storage must have' },
    snapshot: { type: 'string', valueName: 'S', description: 'the state of this snapshot' },
    base: { type: 'string', valueName: 'S', description: 'incremental: only what changed since this snapshot' },
    'with-snapshots': { type: 'boolean', description: 'carry the snapshots too' },
  },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const [{ LocalNode }, { hostname }, { UsageError }, { parseStreamFormat, stringOption }, { standardInput }] = await Promise.all([
      import('@stowage/core'),
      import('node:os'),
      import('../args.js'),
      import('../values.js'),
      import('../streams.js'),
    ]);
    const offerText = stringOption(ctx.args.options['offer']);
    if (!offerText) throw new UsageError('--offer F[,F...] is required', 'receive');
    const offer = offerText.split(',').map(parseStreamFormat);
    const needText = stringOption(ctx.args.options['need']);
    const need = needText === undefined ? undefined : Number(needText);
    if (need !== undefined && !(Number.isSafeInteger(need) && need >= 0)) throw new UsageError(`--need takes a byte count, not '${needText}'`, 'receive');
    const node = new LocalNode(hostname(), await ctx.manager());
    const received = await node.receiveVolume(volid, {
      offer,
      need,
      snapshot: stringOption(ctx.args.options['snapshot']),
      baseSnapshot: stringOption(ctx.args.options['base']),
      withSnapshots: ctx.args.options['with-snapshots'] === true,
      open: (format) => {
        ctx.io.stdout.write(`${JSON.stringify({ ready: { format } })}\n`);
        return standardInput(ctx.io);
      },
      signal: ctx.io.signal,
    });
    return { data: received, human: received.volid };
  },
};
