/**
 * Looking at processes through `/proc` (Linux), for tests that kill an operation's process and
 * then check that none of the commands it started lives on.
 *
 * @module
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** What `/proc/<pid>/stat` says about a process that matters here. */
interface ProcStat {
  readonly name: string;
  readonly ppid: number;
  readonly state: string;
}

/** A process, as {@link descendantProcesses} lists it. */
export interface ProcessEntry {
  /** Its pid. */
  readonly pid: number;
  /** Its command name (`/proc/<pid>/comm`, at most 15 characters), e.g. `qemu-img`. */
  readonly name: string;
}

function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields after the last ')'.
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { name: text.slice(text.indexOf('(') + 1, close), state: fields[0] ?? '', ppid: Number(fields[1]) };
}

/**
 * The processes started, directly or further down, by a process.
 *
 * @param pid - the ancestor
 * @returns its live descendants (zombies left out)
 */
export function descendantProcesses(pid: number): ProcessEntry[] {
  const children = new Map<number, ProcessEntry[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (!st || st.state === 'Z') continue;
    const list = children.get(st.ppid) ?? [];
    list.push({ pid: Number(entry), name: st.name });
    children.set(st.ppid, list);
  }
  const out: ProcessEntry[] = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(pid);
  return out;
}

/**
 * Tells whether a process has ended: it is gone from `/proc`, or a zombie waiting to be reaped.
 *
 * @param pid - the process
 */
export function processEnded(pid: number): boolean {
  const st = procStat(pid);
  return st === undefined || st.state === 'Z';
}

/**
 * Waits until every process of a list has ended, or the time is up.
 *
 * @param pids - the processes
 * @param timeoutMs - the most to wait
 * @returns the pids that still run when the time is up (empty when all ended)
 */
export async function waitForProcessesEnded(pids: readonly number[], timeoutMs = 10_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids.filter((p) => !processEnded(p));
  while (alive.length > 0 && Date.now() < deadline) {
    await sleep(20);
    alive = alive.filter((p) => !processEnded(p));
  }
  return alive;
}
