import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Logger, StorageErrorCode } from '@stowage/core';
import { LocalRunner, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { outcomeOf, pluginContext, RecordingLog } from '@stowage/core/testing';
import type { DirConfig } from '@stowage/plugin-dir';
import { dirConfigSchema } from '@stowage/plugin-dir/config-schema';

const exec = promisify(execFile);

/** Clears the immutable flag of every file below `dir`, so that a test can remove it. */
export async function releaseImmutable(dir: string): Promise<void> {
  const walk = async (d: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) out.push(...(await walk(p)));
      else if (e.isFile()) out.push(p);
    }
    return out;
  };
  const files = await walk(dir);
  for (let i = 0; i < files.length; i += 200) await exec('chattr', ['-i', ...files.slice(i, i + 200)]).catch(() => undefined);
}

export { RecordingLog as MemoryLog } from '@stowage/core/testing';

/** A plugin context for calling DirPlugin methods directly. */
export function dirContext(
  options: Record<string, unknown> & { path: string },
  runner: CommandRunner = new LocalRunner(),
  log: Logger = new RecordingLog(),
): PluginContext<DirConfig> {
  const config = dirConfigSchema.parse({ type: 'dir', storage: 'test', ...options }) as DirConfig;
  return pluginContext({ config, runner, log });
}

/** Runs a program and returns its standard output. */
export async function sh(file: string, args: string[]): Promise<string> {
  return (await exec(file, args, { env: { ...process.env, LC_ALL: 'C' } })).stdout;
}

/** What a promise settles to: `ok`, or the StorageError code (anything else fails the test). */
export function code(p: Promise<unknown>): Promise<StorageErrorCode | 'ok'> {
  return outcomeOf(p, 'a dir plugin call');
}
