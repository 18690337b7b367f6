import { describe, expect, it } from 'vitest';
import { formatTable, formatTime, memoized, renderOutput } from '../src/output.js';
import { createProgressBar, renderProgressLine } from '../src/progress.js';

describe('output', () => {
  it('aligns columns and right-aligns numbers', () => {
    const text = formatTable({ headers: ['Name', 'Size'], right: [1], rows: [['a', '1.0G'], ['long-name', '10G']] });
    expect(text).toBe('Name       Size\na          1.0G\nlong-name   10G\n');
  });
  it('lays out short rows, empty cells and a last column without trailing spaces', () => {
    const text = formatTable({ headers: ['A', 'B', 'C'], right: [1], rows: [['x'], ['', '22', ''], ['yyy', '', 'z']] });
    expect(text).toBe('A     B  C\nx\n     22\nyyy      z\n');
    expect(formatTable({ headers: ['Only'], rows: [] })).toBe('Only\n');
  });
  it('memoized computes each distinct argument once and answers the same', () => {
    const calls: unknown[] = [];
    const f = memoized((k: number | undefined) => {
      calls.push(k);
      return `v${k}`;
    });
    expect([1, 2, 1, undefined, undefined, Number.NaN, Number.NaN, 2].map(f)).toEqual(['v1', 'v2', 'v1', 'vundefined', 'vundefined', 'vNaN', 'vNaN', 'v2']);
    expect(calls).toEqual([1, 2, undefined, Number.NaN]);
  });
  it('prints JSON with --json and nothing when quiet', () => {
    expect(JSON.parse(renderOutput({ data: { volid: 'x:1' }, human: 'x:1' }, true))).toEqual({ volid: 'x:1' });
    expect(renderOutput({ data: { volid: 'x:1' }, human: 'x:1' }, false)).toBe('x:1\n');
    expect(renderOutput({ data: undefined, quiet: true }, true)).toBe('');
  });
  it('formats times in UTC', () => {
    expect(formatTime(0)).toBe('1970-01-01 00:00:00');
    expect(formatTime(1700000000.75)).toBe('2023-11-14 22:13:20');
    expect(formatTime(-1)).toBe('1969-12-31 23:59:59');
    // the last time a Date holds: a six-digit year with its sign
    expect(formatTime(8.64e12)).toBe('+275760-09-13 00:00:00');
    expect(formatTime(undefined)).toBe('-');
    expect(formatTime(Number.NaN)).toBe('-');
  });
});

describe('progress', () => {
  it('renders a bar with percentage and sizes', () => {
    const line = renderProgressLine('copy', { done: 512 * 1024 ** 2, total: 1024 ** 3 }, 80);
    expect(line).toMatch(/^copy \[#+\.+\]  50%  512M\/1\.0G$/);
  });
  it('renders bytes only when the total is unknown', () => {
    expect(renderProgressLine('import', { done: 2048, total: undefined }, 80)).toBe('import 2.0K');
  });
  it('draws nothing when the stream is not a terminal', () => {
    const written: string[] = [];
    const bar = createProgressBar({ write: (t: string) => written.push(t), isTTY: false }, 'export');
    expect(bar.onProgress).toBeUndefined();
    bar.finish();
    expect(written).toEqual([]);
  });
  it('draws and ends the line on a terminal', () => {
    const written: string[] = [];
    const bar = createProgressBar({ write: (t: string) => written.push(t), isTTY: true, columns: 60 }, 'export');
    bar.onProgress?.({ done: 1, total: 2 });
    bar.onProgress?.({ done: 2, total: 2 });
    bar.finish();
    expect(written.at(-1)).toBe('\n');
    expect(written.join('')).toContain('100%');
  });
});
