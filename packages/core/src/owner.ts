/**
 * Who owns a temporary or an unfinished volume: the node, the boot, the process and the
 * process's start time. Plugins write an owner token beside everything they make before it is
 * whole (a hidden file name, an LV tag, a ZFS user property, a LINSTOR property), so that the
 * next operation can tell a live writer's work from a dead writer's leftovers, and remove only
 * the latter.
 *
 * @module
 */
import { readFileSync } from 'node:fs';

/** The owner of a temporary: one process of one boot of one node. */
export interface OperationOwner {
  /** The node name (as the manager knows it). */
  readonly node: string;
  /** The first 8 hex digits of the kernel's boot id; a reboot makes every older owner dead. */
  readonly boot: string;
  /** The process id. */
  readonly pid: number;
  /** The process's start time in clock ticks since boot (Linux `/proc/<pid>/stat` field 22), `0` when unknown. */
  readonly start: number;
}

/** What is known of an owner from this node: `alive`, `dead`, or `unknown` (another node's). */
export type OwnerState = 'alive' | 'dead' | 'unknown';

const TOKEN_RE = /^([A-Za-z0-9][A-Za-z0-9._-]{0,62}):([0-9a-f]{8}):([1-9][0-9]{0,9}):([0-9]{1,20})$/;

let selfCache: { boot: string; start: number } | undefined;

function readBoot(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').replace(/-/g, '').trim().slice(0, 8).toLowerCase().padEnd(8, '0');
  } catch {
    return '00000000';
  }
}

/**
 * The start time of a process in clock ticks since boot, from `/proc/<pid>/stat`.
 *
 * @param pid - the process
 * @returns the start time, `undefined` when there is no such process, `0` when it cannot be read
 */
export function processStart(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return undefined;
    return 0;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : 0;
}

/**
 * The owner that stands for this process on `node`.
 *
 * @param node - this node's name (the manager's `node`)
 * @returns the owner
 * @example
 * ```ts
 * formatOwner(currentOwner('pve1')); // 'pve1:3f9a1c07:4711:123456'
 * ```
 */
export function currentOwner(node: string): OperationOwner {
  selfCache ??= { boot: readBoot(), start: processStart(process.pid) ?? 0 };
  return { node, boot: selfCache.boot, pid: process.pid, start: selfCache.start };
}

/**
 * Writes an owner as a token made only of `[A-Za-z0-9._:-]`, which fits a file name, an LVM
 * tag, a ZFS property value and a LINSTOR property alike.
 *
 * @param owner - the owner
 * @returns `node:boot:pid:start`
 * @throws TypeError when the node name has characters outside `[A-Za-z0-9._-]`
 */
export function formatOwner(owner: OperationOwner): string {
  const token = `${owner.node}:${owner.boot}:${owner.pid}:${owner.start}`;
  if (!TOKEN_RE.test(token)) throw new TypeError(`cannot make an owner token of node '${owner.node}'`);
  return token;
}

/**
 * Reads a token written by {@link formatOwner}.
 *
 * @param token - the token
 * @returns the owner, or `undefined` when the text is not a token
 */
export function parseOwner(token: string): OperationOwner | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  return { node: m[1]!, boot: m[2]!, pid: Number(m[3]), start: Number(m[4]) };
}

/**
 * Tells whether an owner still runs, as far as this node can know: an owner of another node
 * is `unknown` (its temporaries are left alone), an owner of an earlier boot is `dead`, and a
 * process that is gone, or whose start time differs (its pid was reused), is `dead`.
 *
 * @param owner - the owner, or a token
 * @param node - this node's name
 * @returns `alive`, `dead` or `unknown`; an unreadable token is `unknown`
 */
export function ownerState(owner: OperationOwner | string, node: string): OwnerState {
  const o = typeof owner === 'string' ? parseOwner(owner) : owner;
  if (!o || o.node !== node) return 'unknown';
  const self = currentOwner(node);
  if (o.boot !== self.boot) return 'dead';
  if (o.pid === self.pid) return o.start === self.start ? 'alive' : 'dead';
  const start = processStart(o.pid);
  if (start === undefined) return 'dead';
  if (start === 0 || o.start === 0) return 'alive';
  return start === o.start ? 'alive' : 'dead';
}
