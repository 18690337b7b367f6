import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const coreDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = fileURLToPath(new URL('../../..', import.meta.url));
const worker = fileURLToPath(new URL('./support/alloc-worker.ts', import.meta.url));

type Outcome = { volid?: string; error?: string };

describe('allocImage across OS processes', () => {
  let root: string;

  beforeAll(async () => {
    // The workers import the built package (dist): build it from the current sources.
    await run(process.execPath, [join(repoDir, 'node_modules/typescript/bin/tsc'), '-b', coreDir], { cwd: repoDir });
    root = await mkdtemp(join(tmpdir(), 'stowage-procs-'));
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  for (const mode of ['fresh listing under the lock', 'exclusiveCreate'] as const) {
    it(`4 processes x 25 concurrent allocations on one storage get 100 distinct names and no error (${mode})`, async () => {
      const dir = join(root, `store-${mode === 'exclusiveCreate' ? 'x' : 'f'}`);
      await mkdir(dir);
      const lockDir = join(root, `locks-${mode === 'exclusiveCreate' ? 'x' : 'f'}`);
      const args = [worker, dir, lockDir, '25', '100', ...(mode === 'exclusiveCreate' ? ['exclusive'] : [])];
      const outputs = await Promise.all(Array.from({ length: 4 }, () => run(process.execPath, args, { cwd: coreDir, maxBuffer: 1 << 20 })));
      const outcomes = outputs.flatMap((o) => JSON.parse(o.stdout) as Outcome[]);
      expect(outcomes.filter((o) => o.error !== undefined)).toEqual([]);
      const volids = outcomes.map((o) => o.volid);
      expect(volids.length).toBe(100);
      expect(new Set(volids).size).toBe(100);
      // The names are exactly the 100 lowest free indexes, and each is a file on the storage.
      expect([...volids].sort()).toEqual(Array.from({ length: 100 }, (_, i) => `one:vm-100-disk-${i}`).sort());
      expect((await readdir(dir)).length).toBe(100);
    });
  }
});
