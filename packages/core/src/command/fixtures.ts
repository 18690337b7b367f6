/**
 * Recorded command runs ("fixtures") as data: their shape, their JSON file form, and the byte
 * encoding used for output that is not text.
 *
 * @module
 */
import { readFile, writeFile, rename } from 'node:fs/promises';
import { z } from 'zod';
import { StorageError } from '../errors.js';

/**
 * Bytes in a fixture: plain text when they are valid UTF-8, else `{ base64 }`.
 */
export type FixtureBytes = string | { readonly base64: string };

/** One recorded command run. */
export interface CommandFixture {
  /** The argv, program first; a replay matches it exactly. */
  readonly argv: readonly string[];
  /** What was fed to standard input, when anything was; a replay then requires the same bytes. */
  readonly stdin?: FixtureBytes;
  /** What the command wrote to standard output. */
  readonly stdout: FixtureBytes;
  /** What the command wrote to standard error. */
  readonly stderr: string;
  /** The exit code (0 for a command its input stopped, which has none). */
  readonly exitCode: number;
  /**
   * `true` when the command was stopped because its standard input stream failed (an import
   * whose stream was shorter than it announced): `stdin` holds what it had read by then, and a
   * replay fails the same way, through the stream's own error.
   */
  readonly stoppedByInput?: true;
}

const bytesSchema = z.union([z.string(), z.strictObject({ base64: z.base64() })]);
const fixtureSchema = z.strictObject({
  argv: z.array(z.string()).min(1),
  stdin: bytesSchema.optional(),
  stdout: bytesSchema.default(''),
  stderr: z.string().default(''),
  exitCode: z.number().int().min(0).max(255).default(0),
  stoppedByInput: z.literal(true).optional(),
});
const fileSchema = z.union([z.array(fixtureSchema), z.strictObject({ fixtures: z.array(fixtureSchema) })]);

/**
 * Encodes bytes for a fixture: text when they survive a UTF-8 round trip, base64 otherwise.
 *
 * @param bytes - raw bytes
 * @returns the fixture form
 */
export function encodeFixtureBytes(bytes: Uint8Array): FixtureBytes {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = buf.toString('utf8');
  return Buffer.from(text, 'utf8').equals(buf) ? text : { base64: buf.toString('base64') };
}

/**
 * Decodes fixture bytes.
 *
 * @param value - the fixture form
 * @returns the raw bytes
 */
export function decodeFixtureBytes(value: FixtureBytes): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value.base64, 'base64');
}

/**
 * Checks parsed JSON against the fixture shape: an array of fixtures, or `{ fixtures: [...] }`.
 * Missing `stdout`/`stderr` mean empty, a missing `exitCode` means 0.
 *
 * @param data - parsed JSON
 * @param source - where it came from, for the error message
 * @returns the fixtures
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` naming the first problem
 */
export function parseFixtures(data: unknown, source = 'fixtures'): CommandFixture[] {
  const parsed = fileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    throw new StorageError('INVALID_ARGUMENT', `${source}: not a fixture list${where}: ${issue?.message ?? 'invalid'}`, {
      details: { source, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message })) },
    });
  }
  return Array.isArray(parsed.data) ? parsed.data : parsed.data.fixtures;
}

/**
 * Reads a fixture file (JSON).
 *
 * @param path - the file
 * @returns the fixtures in file order
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the file does not exist; `INVALID_ARGUMENT`
 *   when it is not JSON or not a fixture list
 * @example
 * ```ts
 * const runner = new ReplayRunner(await loadFixtures('test/fixtures/lvs-thin.json'));
 * ```
 */
export async function loadFixtures(path: string): Promise<CommandFixture[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new StorageError('NOT_FOUND', `fixture file '${path}' does not exist`, { cause: e, details: { path } });
    throw new StorageError('INVALID_ARGUMENT', `cannot read fixture file '${path}'`, { cause: e, details: { path } });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new StorageError('INVALID_ARGUMENT', `fixture file '${path}' is not JSON`, { cause: e, details: { path } });
  }
  return parseFixtures(data, path);
}

/**
 * Writes fixtures to a JSON file (atomically: a temporary file, then a rename).
 *
 * @param path - the file
 * @param fixtures - what to write
 */
export async function saveFixtures(path: string, fixtures: readonly CommandFixture[]): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(fixtures, null, 2)}\n`, 'utf8');
  await rename(tmp, path);
}
