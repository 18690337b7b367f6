/**
 * `--in-use FILE|-`: the volumes the caller's guests use, for `prune`, `free` and `flatten`.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { text } from 'node:stream/consumers';
import { parseVolidList, stringOption } from './values.js';
import type { VerbContext } from './verb.js';

/**
 * Reads the `--in-use` option: a file (relative to the working directory) or `-` for standard
 * input, with one volume id per line or a JSON array.
 *
 * @param ctx - the verb's context
 * @returns the volids, or `undefined` without the option
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not a list of volume ids); the
 *   file's read errors as Node throws them
 */
export async function readInUse(ctx: VerbContext): Promise<string[] | undefined> {
  const source = stringOption(ctx.args.options['in-use']);
  if (source === undefined) return undefined;
  return parseVolidList(source === '-' ? await text(ctx.io.stdin) : await readFile(resolve(ctx.io.cwd, source), 'utf8'));
}
