/**
 * The names of the plugin's temporaries, and what a directory's entries hold or reserve. Pure.
 *
 * Everything the plugin writes before it is whole lives under a hidden name in the directory of
 * the file it becomes:
 *
 * ```
 * .stowage-<purpose>~<final name>~<owner>~<nonce>
 * .stowage-new~vm-100-disk-0.qcow2~pve1:3f9a1c07:4711:123456~a1b2c3
 * ```
 *
 * - `purpose`: `new` (a volume being made; published under the final name when whole),
 *   `conv` (the raw data of a `raw+size` import on its way into a qcow2/vmdk image),
 *   `attr` (an attribute file being replaced), `swap` (the new content of an existing image,
 *   flattened; renamed over the image when whole, see ops-flatten.ts);
 * - `final name`: the file it becomes or belongs to (volume names never hold `~`);
 * - `owner`: the owner token of the process that made it (`formatOwner` of the core:
 *   `node:boot:pid:start`), which tells a live writer from a dead one;
 * - `nonce`: 6 hex digits, so that one process can make several at once.
 *
 * Listings skip every name that starts with a dot. A `new`, `conv` or `swap` temporary of a live (or
 * another node's) owner reserves its final name: the free-name search and the checks of
 * allocation, clone, import and rename count it as taken.
 *
 * @module
 */
import { parseOwner } from '@stowage/core/plugin';

/** What a temporary is for. */
export type TempPurpose = 'new' | 'conv' | 'attr' | 'swap';

/** The parts of a temporary's name. */
export interface TempName {
  /** What it is for. */
  readonly purpose: TempPurpose;
  /** The file it becomes or belongs to (no directory). */
  readonly final: string;
  /** The owner token of the process that made it. */
  readonly owner: string;
  /** Distinguishes temporaries of one owner. */
  readonly nonce: string;
}

/** The prefix every temporary's name starts with. */
export const TEMP_PREFIX = '.stowage-';

const TEMP_RE = /^\.stowage-(new|conv|attr|swap)~([A-Za-z0-9_.+@=-]+)~([A-Za-z0-9._:-]+)~([0-9a-f]{6})$/;
const FINAL_RE = /^[A-Za-z0-9_.+@=-]+$/;

/**
 * Formats a temporary's name.
 *
 * @param parts - purpose, final name, owner token, nonce (6 hex digits)
 * @returns `.stowage-<purpose>~<final>~<owner>~<nonce>`
 * @throws TypeError when a part would make the name unreadable (a programming error)
 * @example
 * ```ts
 * formatTempName({ purpose: 'new', final: 'vm-100-disk-0.raw', owner: 'pve1:3f9a1c07:4711:123456', nonce: 'a1b2c3' });
 * // '.stowage-new~vm-100-disk-0.raw~pve1:3f9a1c07:4711:123456~a1b2c3'
 * ```
 */
export function formatTempName(parts: TempName): string {
  const name = `${TEMP_PREFIX}${parts.purpose}~${parts.final}~${parts.owner}~${parts.nonce}`;
  if (!FINAL_RE.test(parts.final) || parseTempName(name) === undefined) throw new TypeError(`cannot make a temporary name for '${parts.final}'`);
  return name;
}

/**
 * Reads a temporary's name.
 *
 * @param name - a directory entry's name
 * @returns its parts, or `undefined` when it is not a temporary of this plugin
 */
export function parseTempName(name: string): TempName | undefined {
  const m = TEMP_RE.exec(name);
  if (!m || parseOwner(m[3] ?? '') === undefined) return undefined;
  return { purpose: m[1] as TempPurpose, final: m[2] ?? '', owner: m[3] ?? '', nonce: m[4] ?? '' };
}

/**
 * The final names a directory's entries hold or reserve: every entry that is not a temporary
 * (whatever its type: a file, a directory, a symlink leading anywhere), and the final name of
 * each `new`, `conv` or `swap` temporary whose owner may still run.
 *
 * @param entries - the names in one directory
 * @param mayRun - whether an owner token's process may still run (`ownerState` is not `dead`)
 * @returns the names in use
 * @example
 * ```ts
 * namesInUse(['vm-100-disk-0.raw', '.stowage-new~vm-100-disk-1.qcow2~pve1:3f9a1c07:4711:9~a1b2c3'], () => true);
 * // Set { 'vm-100-disk-0.raw', 'vm-100-disk-1.qcow2' }
 * ```
 */
export function namesInUse(entries: Iterable<string>, mayRun: (owner: string) => boolean): Set<string> {
  const out = new Set<string>();
  for (const entry of entries) {
    const temp = parseTempName(entry);
    if (!temp) {
      if (!entry.startsWith(TEMP_PREFIX)) out.add(entry);
    } else if (temp.purpose !== 'attr' && mayRun(temp.owner)) {
      out.add(temp.final);
    }
  }
  return out;
}
