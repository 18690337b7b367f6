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
  const widths = table.headers.map((h, c) => Math.max(h.length, ...table.rows.map((r) => (r[c] ?? '').length)));
  const right = new Set(table.right ?? []);
  const line = (cells: readonly string[]): string =>
    widths
      .map((w, c) => {
        const cell = cells[c] ?? '';
        return right.has(c) ? cell.padStart(w) : cell.padEnd(w);
      })
      .join('  ')
      .trimEnd();
  return [line(table.headers), ...table.rows.map(line)].join('\n') + '\n';
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
