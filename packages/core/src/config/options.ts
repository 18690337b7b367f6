/**
 * Zod building blocks for storage options that read the same from a JavaScript object and from
 * a `storage.cfg` file (where every value is text).
 *
 * @module
 */
import { z } from 'zod';
import { CONTENT_TYPES, type ContentType } from '../capabilities.js';

/**
 * A boolean option: `true`/`false`, or in file form `1`/`0`, `yes`/`no`, `true`/`false`, `on`/`off`.
 */
export const boolOption = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off'].includes(s)) return false;
  return v;
}, z.boolean());

/**
 * A list option: an array of strings, or in file form a comma-separated list (`a,b,c`). An
 * empty list (`''`, `','`, `[]`) is refused: to mean "none given", leave the option out.
 *
 * @param item - schema of one item
 */
export function listOption<T extends z.ZodType<string>>(item: T) {
  return z.preprocess(
    (v) => (typeof v === 'string' ? v.split(/[,;\s]+/).map((s) => s.trim()).filter(Boolean) : v),
    z.array(item).min(1, 'needs at least one value'),
  );
}

/** A non-negative integer option: a number, or its decimal text in file form. */
export const intOption = z.preprocess((v) => (typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v), z.number().int().nonnegative());

/** The values of {@link contentTypeSchema}, keyed by themselves (the shape of a zod enum). */
export type ContentTypeValues = {
  /** Disk images of guests. */
  images: 'images';
  /** Container root directories. */
  rootdir: 'rootdir';
  /** ISO images. */
  iso: 'iso';
  /** Container templates. */
  vztmpl: 'vztmpl';
  /** Backups. */
  backup: 'backup';
  /** Snippets (hook scripts, cloud-init files). */
  snippets: 'snippets';
  /** Disk images waiting to be imported. */
  import: 'import';
};

/** A content type, e.g. `images`. */
export const contentTypeSchema: z.ZodEnum<ContentTypeValues> = z.enum(CONTENT_TYPES as [ContentType, ...ContentType[]]);

/** The `content` option: a list of content types (file form `images,iso`). */
export const contentOption = listOption(contentTypeSchema);

/** A node name as Proxmox accepts it. */
export const nodeNameSchema = z.string().regex(/^[a-zA-Z0-9]([a-zA-Z0-9\-.]*[a-zA-Z0-9])?$/, 'invalid node name');

export { FIXED_META_KEY, fixedKeys, fixedOption } from './fixed.js';
