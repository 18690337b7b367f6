/**
 * Parsers of `qemu-img` JSON output. Pure.
 *
 * @module
 */
import { StorageError, type SnapshotInfo } from '@stowage/core';
import { z } from 'zod';

const snapshotSchema = z.object({
  id: z.string(),
  name: z.string(),
  'date-sec': z.number().int().nonnegative(),
  'date-nsec': z.number().int().nonnegative().optional(),
  'vm-state-size': z.number().int().nonnegative().optional(),
});

const infoSchema = z.object({
  'virtual-size': z.number().int().nonnegative(),
  format: z.string(),
  'actual-size': z.number().int().nonnegative().optional(),
  'backing-filename': z.string().optional(),
  'backing-filename-format': z.string().optional(),
  snapshots: z.array(snapshotSchema).optional(),
  'format-specific': z
    .object({
      type: z.string(),
      data: z
        .object({
          'data-file': z.string().optional(),
          corrupt: z.boolean().optional(),
          extents: z.array(z.object({ filename: z.string().optional() }).loose()).optional(),
        })
        .loose(),
    })
    .loose()
    .optional(),
});

/** The fields of `qemu-img info --output=json` this plugin uses. */
export interface QemuImgInfo {
  /** Virtual size in bytes. */
  readonly virtualSize: number;
  /** The format QEMU opened the image as. */
  readonly format: string;
  /** Bytes the image takes on disk, when reported. */
  readonly actualSize: number | undefined;
  /** The backing file name as stored. */
  readonly backingFile: string | undefined;
  /** The backing file's format. */
  readonly backingFormat: string | undefined;
  /** A qcow2 external data file, when set. */
  readonly dataFile: string | undefined;
  /** Number of vmdk extents, for vmdk. */
  readonly extentCount: number | undefined;
  /** Internal snapshots, in the image's table order (oldest first). */
  readonly snapshots: readonly SnapshotInfo[];
}

function bad(what: string, cause: unknown): never {
  throw new StorageError('COMMAND_FAILED', `could not parse ${what}`, { cause });
}

/**
 * Parses `qemu-img info --output=json` of one image.
 *
 * @param json - the command's standard output
 * @returns size, format, usage, backing file, data file, extent count and snapshots
 * @throws {@link @stowage/core!index.StorageError | StorageError} `COMMAND_FAILED` when the output is not the expected JSON
 * @example
 * ```ts
 * const info = parseQemuImgInfo((await ctx.run(qemuImgInfoArgs(path, 'qcow2'))).stdout);
 * info.snapshots.map((s) => s.name);
 * ```
 */
export function parseQemuImgInfo(json: string): QemuImgInfo {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    bad('qemu-img info output (not JSON)', e);
  }
  const r = infoSchema.safeParse(raw);
  if (!r.success) bad('qemu-img info output', r.error);
  const d = r.data;
  const specific = d['format-specific'];
  return {
    virtualSize: d['virtual-size'],
    format: d.format,
    actualSize: d['actual-size'],
    backingFile: d['backing-filename'],
    backingFormat: d['backing-filename-format'],
    dataFile: specific?.type === 'qcow2' ? specific.data['data-file'] : undefined,
    extentCount: specific?.type === 'vmdk' ? (specific.data.extents?.length ?? 0) : undefined,
    snapshots: (d.snapshots ?? []).map((s) => ({ name: s.name, id: s.id, timestamp: s['date-sec'] })),
  };
}

const checkSchema = z.object({
  corruptions: z.number().int().nonnegative().optional(),
  leaks: z.number().int().nonnegative().optional(),
  'check-errors': z.number().int().nonnegative(),
  'image-end-offset': z.number().int().nonnegative().optional(),
});

/** The result of `qemu-img check --output=json`. */
export interface QemuImgCheck {
  /** Corrupted clusters or tables found. */
  readonly corruptions: number;
  /** Leaked clusters (harmless, space only). */
  readonly leaks: number;
  /** Errors while checking (e.g. reads past the end of a truncated file). */
  readonly checkErrors: number;
  /** Where the image's data ends in the file, when reported. */
  readonly imageEndOffset: number | undefined;
}

/**
 * Parses `qemu-img check --output=json`.
 *
 * @param json - the command's standard output
 * @throws {@link @stowage/core!index.StorageError | StorageError} `COMMAND_FAILED` when the output is not the expected JSON
 */
export function parseQemuImgCheck(json: string): QemuImgCheck {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    bad('qemu-img check output (not JSON)', e);
  }
  const r = checkSchema.safeParse(raw);
  if (!r.success) bad('qemu-img check output', r.error);
  return {
    corruptions: r.data.corruptions ?? 0,
    leaks: r.data.leaks ?? 0,
    checkErrors: r.data['check-errors'],
    imageEndOffset: r.data['image-end-offset'],
  };
}

const PROGRESS_RE = /\((\d{1,3}(?:\.\d+)?)\/100%\)/g;

/**
 * The last percentage in `qemu-img -p` output: lines like `    (12.50/100%)`, each ended by a
 * carriage return rather than a newline.
 *
 * @param text - standard output, or the part of it received so far
 * @returns the last percentage (0–100), or `undefined` when the text holds none
 * @example
 * ```ts
 * parseQemuImgProgress('    (0.00/100%)\r    (12.50/100%)\r'); // 12.5
 * ```
 */
export function parseQemuImgProgress(text: string): number | undefined {
  let last: number | undefined;
  for (const m of text.matchAll(PROGRESS_RE)) last = Math.min(100, Number(m[1]));
  return last;
}
