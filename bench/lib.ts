/**
 * Shared helpers for the benchmarks: timing, percentiles, tables, ratios, peak memory, and
 * temporary directories. Every bench prints its figures next to the raw tool's, measured in
 * the same run, so that the ratio (not the absolute time of this machine) is what counts.
 */
import { fork } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';

/** Summary of a list of durations in milliseconds. */
export interface Stats {
  n: number;
  min: number;
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

/** The current time in milliseconds, sub-millisecond resolution. */
export const now = (): number => performance.now();

/**
 * Nearest-rank percentile of sorted samples.
 * @param sorted - samples in ascending order
 * @param p - 0..100
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

/** Summarizes durations (ms). */
export function summarize(samples: readonly number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    min: sorted[0] ?? Number.NaN,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sum / sorted.length,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * Times `fn` `iterations` times in a row after `warmup` untimed runs.
 * @returns one duration (ms) per timed run
 */
export async function sample(iterations: number, fn: () => Promise<unknown>, warmup = Math.min(50, iterations)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = now();
    await fn();
    out.push(now() - t0);
  }
  return out;
}

/**
 * Times several contenders `rounds` times each, interleaved: every round runs each once, starting
 * with a different one each round, so that drift (load from other processes, a growing volume
 * group) hits them all alike.
 * @param rounds - how many times each runs
 * @param contenders - each gets the round number
 * @returns the durations (ms) of each contender, in the order given
 */
export async function interleaved<T extends readonly ((round: number) => Promise<unknown>)[]>(rounds: number, ...contenders: T): Promise<{ [K in keyof T]: number[] }> {
  const times = contenders.map((): number[] => []);
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < contenders.length; k++) {
      const c = (i + k) % contenders.length;
      const t0 = now();
      await contenders[c]!(i);
      times[c]!.push(now() - t0);
    }
  }
  return times as { [K in keyof T]: number[] };
}

/** Formats milliseconds with 3 significant decimals for small values. */
export function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value < 1 ? value.toFixed(3) : value < 100 ? value.toFixed(2) : value.toFixed(0);
}

/** `x1.23`: how many times `ours` takes of `raw`. */
export function ratio(ours: number, raw: number): string {
  if (!(raw > 0) || !Number.isFinite(ours)) return '-';
  return `x${(ours / raw).toFixed(2)}`;
}

/** Formats bytes per second as MiB/s. */
export function mibPerSec(bytes: number, millis: number): string {
  return millis > 0 ? `${(bytes / 1024 / 1024 / (millis / 1000)).toFixed(1)} MiB/s` : '-';
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/**
 * Prints an aligned text table: a title line, a header row, a rule, and the rows. Numbers are
 * right-aligned, text left-aligned.
 */
export function printTable(title: string, header: readonly string[], rows: readonly (readonly (string | number)[])[]): void {
  const cells = [header, ...rows].map((r) => r.map((c) => (typeof c === 'number' ? ms(c) : c)));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number' || /^[x\d.-]/.test(String(r[i] ?? ''))));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(`\n${title}`);
  console.log(line(cells[0]!));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of cells.slice(1)) console.log(line(r));
}

/** A table row of a named measurement: name, n, p50, p99, mean, max. */
export function statsRow(name: string, s: Stats): (string | number)[] {
  return [name, String(s.n), s.p50, s.p99, s.mean, s.max];
}

/** The header matching {@link statsRow}. */
export const STATS_HEADER = ['measurement', 'n', 'p50 ms', 'p99 ms', 'mean ms', 'max ms'] as const;

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `stowage-bench-${prefix}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** `BENCH_QUICK=1` shrinks iteration counts (for a smoke run); returns `full` or `quick`. */
export function iterations(full: number, quick = Math.max(1, Math.floor(full / 10))): number {
  return process.env['BENCH_QUICK'] === '1' ? quick : full;
}

/** Prints the closing line of a bench: its peak memory. */
export function printFooter(name: string): void {
  console.log(`\n${name}: peak RSS ${peakRssMiB().toFixed(1)} MiB`);
}

/** A sink that counts and drops what it is given (`bytes` so far). */
export function countingSink(): Writable & { bytes: number } {
  const w = new Writable({
    highWaterMark: 4 * 1024 * 1024,
    write(chunk: Buffer, _encoding, callback) {
      w.bytes += chunk.length;
      callback();
    },
  }) as Writable & { bytes: number };
  w.bytes = 0;
  return w;
}

/**
 * Starts `procs` copies of a worker (run through tsx) with `argv`, waits until each says it is
 * ready, tells them all to go, and gathers the durations (ms) each sends back.
 * @returns the samples of all workers and the operations per second over the run
 */
export async function runContenders(worker: string, argv: readonly string[], procs: number): Promise<{ stats: Stats; opsPerSec: number }> {
  const children = Array.from({ length: procs }, () => fork(worker, [...argv], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  await Promise.all(children.map((c) => new Promise((resolve) => c.once('message', resolve))));
  const t0 = now();
  const results = children.map(
    (c) =>
      new Promise<number[]>((resolve, reject) => {
        c.once('message', (m: { samples: number[] }) => resolve(m.samples));
        c.once('exit', (code) => (code === 0 ? undefined : reject(new Error(`${worker} exited with ${code}`))));
      }),
  );
  for (const c of children) c.send('go');
  const all = (await Promise.all(results)).flat();
  return { stats: summarize(all), opsPerSec: all.length / ((now() - t0) / 1000) };
}
