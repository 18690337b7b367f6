/**
 * Access to the captured fixtures for parser and error tests: every recorded command of every
 * scenario file, searchable by argv.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadFixtures, type CommandFixture } from '@stowage/core/testing';
import { SCENARIO_DIR } from '../capture.js';

/** One recorded command with the file it came from. */
export interface Recorded extends CommandFixture {
  readonly file: string;
  readonly stdoutText: string;
}

/** Every recorded command of every fixture file, in file order. */
export async function allRecorded(): Promise<Recorded[]> {
  const files = readdirSync(SCENARIO_DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.outcomes.json')).sort();
  const out: Recorded[] = [];
  for (const file of files) {
    for (const f of await loadFixtures(join(SCENARIO_DIR, file))) {
      out.push({ ...f, file, stdoutText: typeof f.stdout === 'string' ? f.stdout : Buffer.from(f.stdout.base64, 'base64').toString('utf8') });
    }
  }
  return out;
}

/** The recorded commands whose argv starts with `prefix`. */
export function withPrefix(all: readonly Recorded[], ...prefix: string[]): Recorded[] {
  return all.filter((f) => prefix.every((p, i) => f.argv[i] === p));
}
