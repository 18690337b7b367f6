/**
 * The zod schema of a `zfspool` storage's config (`@stowage/plugin-zfs/config-schema`). The plugin
 * class gives it as a loader of this module, so zod is loaded only when a config is validated.
 *
 * @module
 */
import { baseStorageConfigSchema, boolOption, contentOption, fixedOption } from '@stowage/core/config';
import { z } from 'zod';

/** One component of a ZFS dataset name: what `zfs create` accepts, without `@`, `#`, `%` or `/`. */
const COMPONENT_RE = /^[A-Za-z0-9_.:-]+$/;

/** Names ZFS reserves for vdev types, which a pool cannot take. */
const RESERVED_POOL_NAMES = ['mirror', 'spare', 'log', 'cache', 'special', 'dedup'];

/**
 * Tells why a string is not a pool or `pool/dataset` name, or returns `undefined` when it is one:
 * components of `[A-Za-z0-9_.:-]`, not `.` or `..`, separated by single `/`; the pool (first
 * component) starts with a letter and is not a reserved vdev word (`mirror`, `raidz…`, …); at
 * most 200 characters, so that volume and snapshot names still fit ZFS's 255.
 *
 * @param name - the candidate
 * @returns the reason, or `undefined`
 * @example
 * ```ts
 * poolNameProblem('tank/vmdata'); // undefined
 * poolNameProblem('tank//x');     // 'empty, "." or ".." component'
 * ```
 */
export function poolNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 200) return 'must be 1 to 200 characters';
  const parts = name.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..')) return 'empty, "." or ".." component';
  if (parts.some((p) => !COMPONENT_RE.test(p))) return 'only [A-Za-z0-9_.:-] in each component';
  const pool = parts[0]!;
  if (!/^[A-Za-z]/.test(pool)) return 'the pool name must start with a letter';
  if (RESERVED_POOL_NAMES.includes(pool) || pool.startsWith('raidz') || pool.startsWith('draid')) {
    return `'${pool}' is reserved by ZFS`;
  }
  if (/^c[0-9]/.test(pool)) return 'a pool name may not look like a disk (c0…)';
  return undefined;
}

/**
 * A pool or `pool/dataset` name: components of `[A-Za-z0-9_.:-]` separated by single `/`, the
 * pool starting with a letter and not a word ZFS reserves, at most 200 characters.
 */
export const zfsPoolNameSchema = z.string().superRefine((name, ctx) => {
  const problem = poolNameProblem(name);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `invalid ZFS pool or dataset name: ${problem}` });
});

/**
 * Parses a block size as Proxmox takes it (`<n>`, `<n>k`, `<n>m`, case-insensitive) to bytes.
 *
 * @param text - e.g. `16k`
 * @returns the size in bytes, or `undefined` when the text is not a size
 * @example
 * ```ts
 * blockSizeBytes('16k'); // 16384
 * ```
 */
export function blockSizeBytes(text: string): number | undefined {
  const m = /^([1-9][0-9]{0,8})([kKmM]?)$/.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 * 1024 : 1);
}

/**
 * The `blocksize` option: a power of two from 512 bytes to 16 MiB, written `<n>`, `<n>k` or
 * `<n>m` (a number in a JavaScript config is taken as bytes). Kept as text and handed to
 * `zfs create -b` as written; the pool may accept less (ZFS 2.1: up to 1 MiB without `large_blocks`).
 */
export const blockSizeSchema = z.preprocess(
  (v) => (typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : v),
  z.string().superRefine((text, ctx) => {
    const bytes = blockSizeBytes(text);
    if (bytes === undefined || bytes < 512 || bytes > 16 * 1024 * 1024 || (bytes & (bytes - 1)) !== 0) {
      ctx.addIssue({ code: 'custom', message: 'blocksize must be a power of two from 512 to 16M, e.g. 16k' });
    }
  }),
);

/**
 * The schema of a `zfspool` storage: the base options plus
 *
 * - `pool` (fixed): the pool, or a dataset in it (`tank/vmdata`), whose direct children are the
 *   volumes;
 * - `blocksize`: the `volblocksize` of new zvols (`zfs create -b`); the pool's default when unset;
 * - `sparse`: create zvols thin (`zfs create -s`, no reservation);
 * - `mountpoint`: where the pool's datasets are mounted, for the paths of container volumes
 *   (`/<pool>` when unset);
 * - `content`: `images` (zvols) and `rootdir` (datasets with a `refquota`).
 *
 * A pool is local to one node, so `shared` may only be left out or `false`.
 *
 * @example
 * ```ts
 * zfsPoolConfigSchema.parse({ type: 'zfspool', storage: 'tank', pool: 'tank/vmdata', sparse: '1', blocksize: '16k' });
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::options`, `properties`
 */
export const zfsPoolConfigSchema = baseStorageConfigSchema.extend({
  /** The storage type id. */
  type: z.literal('zfspool'),
  /** The pool or `pool/dataset` holding the volumes (fixed). */
  pool: fixedOption(zfsPoolNameSchema),
  /** Block size of new zvols (`volblocksize`). */
  blocksize: blockSizeSchema.optional(),
  /** Create zvols without a reservation (`zfs create -s`). */
  sparse: boolOption.optional(),
  /** Mount point of `pool`, for paths of container volumes. */
  mountpoint: z.string().regex(/^\/[-/a-zA-Z0-9_.@:]*$/, 'an absolute path of [-/a-zA-Z0-9_.@:]').optional(),
  /** `images` and/or `rootdir`. */
  content: contentOption
    .refine((list) => list.every((c) => c === 'images' || c === 'rootdir'), 'a zfspool storage holds only images and rootdir')
    .optional(),
  /** Always local: `true` is refused. */
  shared: boolOption.refine((v) => !v, 'a zfspool storage is local to one node and cannot be shared').optional(),
});

/** A validated `zfspool` storage config. */
export type ZfsPoolConfig = z.infer<typeof zfsPoolConfigSchema>;
