/**
 * What a verb prints: JSON for `--json`, else a table or a few lines for people.
 *
 * @module
 */

/** A table for people: a header row and rows of cells. */
export interface Table {
  /** Column titles. */
  readonly headers: readonly string[];
  /** The rows, one text per column. */
  readonly rows: ReadonlyArray<readonly string[]>;
  /** Columns to right-align (numbers, sizes), by index. */
  readonly right?: readonly number[];
}

/** What a verb returns: the data for `--json`, and how to show it to people. */
export interface VerbOutput {
  /** Printed as JSON with `--json`. */
  readonly data: unknown;
  /** Printed for people: a table, lines of text, or nothing. */
  readonly human?: Table | string | undefined;
  /** Print nothing, even with `--json` (standard output carried the data itself). */
  readonly quiet?: boolean;
}

/**
 * Lays a table out in aligned columns separated by two spaces, with no trailing spaces.
 *
 * @param table - headers, rows and right-aligned columns
 * @returns the text, ending with a newline
 */
export function formatTable(table: Table): string {
  // index loops and one join per line: a listing lays out thousands of rows in a fresh process
  const rows = table.rows;
  const widths = table.headers.map((h) => h.length);
  const right = widths.map((_, c) => table.right?.includes(c) === true);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r] as readonly string[];
    for (let c = 0; c < widths.length; c++) {
      const n = (row[c] ?? '').length;
      if (n > (widths[c] as number)) widths[c] = n;
    }
  }
  const line = (cells: readonly string[]): string => {
    const parts = new Array<string>(widths.length);
    for (let c = 0; c < widths.length; c++) {
      const cell = cells[c] ?? '';
      parts[c] = right[c] === true ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number);
    }
    return parts.join('  ').trimEnd();
  };
  const lines = new Array<string>(rows.length + 1);
  lines[0] = line(table.headers);
  for (let r = 0; r < rows.length; r++) lines[r + 1] = line(rows[r] as readonly string[]);
  return lines.join('\n') + '\n';
}

/**
 * Renders a verb's output as text for stdout.
 *
 * @param output - what the verb returned
 * @param json - `true` for `--json`
 * @returns the text (possibly empty)
 */
export function renderOutput(output: VerbOutput, json: boolean): string {
  if (output.quiet) return '';
  if (json) return JSON.stringify(output.data, null, 2) + '\n';
  const human = output.human;
  if (human === undefined || human === '') return '';
  if (typeof human === 'string') return human.endsWith('\n') ? human : human + '\n';
  return formatTable(human);
}

/**
 * Formats seconds since the epoch as `YYYY-MM-DD HH:MM:SS` (UTC), or `-` when unknown.
 *
 * @param seconds - a time in seconds since the epoch
 */
export function formatTime(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '-';
  return new Date(seconds * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, '');
}

/**
 * A function of one argument that computes each distinct argument's result once, for the
 * formatting of a long table whose cells repeat (sizes, times).
 *
 * @param fn - a pure function
 * @returns `fn`, remembering its results by argument (`SameValueZero`, as a `Map`)
 */
export function memoized<K, V>(fn: (key: K) => V): (key: K) => V {
  const seen = new Map<K, V>();
  return (key) => {
    if (seen.has(key)) return seen.get(key) as V;
    const value = fn(key);
    seen.set(key, value);
    return value;
  };
}
