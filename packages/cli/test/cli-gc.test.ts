/**
 * `stowage gc` with the built binary on real directory storages: what a dead process left is
 * removed (or only listed with --dry-run), what a live process or another node writes is kept.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentOwner, formatOwner, processStart } from '@stowage/core/plugin';
import { EXIT_CODES } from '../src/exit-codes.js';
import type { GcRow } from '../src/verbs/gc.js';
import { assertBuilt } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

let s: Sandbox;
const node = hostname().split('.')[0] || 'localhost';

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('gc');
  await addDirStorages(s);
});
afterAll(() => s?.remove());

/** The owner token of a process that ran and has ended. */
async function deadOwner(): Promise<string> {
  const child = spawn('sleep', ['30']);
  const start = processStart(child.pid!);
  const token = formatOwner({ ...currentOwner(node), pid: child.pid!, start: start ?? 1 });
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return token;
}

describe('gc', () => {
  it("removes a dead process's temporaries, keeps a live one's and another node's, and --dry-run removes nothing", async () => {
    const dir = join(s.dir, 'local', 'images', '100');
    await mkdir(dir, { recursive: true });
    const dead = `.stowage-new~vm-100-disk-0.raw~${await deadOwner()}~a1b2c3`;
    const alive = `.stowage-new~vm-100-disk-1.raw~${formatOwner(currentOwner(node))}~a1b2c3`;
    const foreign = `.stowage-new~vm-100-disk-2.raw~${formatOwner({ ...currentOwner(node), node: 'elsewhere' })}~a1b2c3`;
    for (const name of [dead, alive, foreign]) await writeFile(join(dir, name), 'half-written');

    const rel = (name: string): string => `images/100/${name}`;
    const planned = await s.json<GcRow[]>(['gc', 'local', '--dry-run']);
    expect(planned.map((r) => [r.name, r.action, r.reason]).sort()).toEqual(
      [
        [rel(dead), 'would remove', 'owner-dead'],
        [rel(alive), 'kept', 'owner-alive'],
        [rel(foreign), 'kept', 'owner-unknown'],
      ].sort(),
    );
    expect((await readdir(dir)).sort()).toEqual([dead, alive, foreign].sort());

    const done = await s.json<GcRow[]>(['gc']);
    expect(done.filter((r) => r.action === 'removed').map((r) => r.name)).toEqual([rel(dead)]);
    expect((await readdir(dir)).sort()).toEqual([alive, foreign].sort());
    expect((await s.ok(['gc', 'local'])).trim().split('\n')[0]).toMatch(/^Storage\s+Name\s+Action\s+Reason\s+Owner/);
  });

  it('fails for a storage that does not exist', async () => {
    expect((await s.run(['gc', 'nosuch'])).code).toBe(EXIT_CODES.NOT_FOUND);
  });
});
