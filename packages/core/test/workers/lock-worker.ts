/**
 * A child process for the lock tests, run with `node --import tsx`. Modes:
 * - `count <lockDir> <storeId> <jobs> <counterFile> <staleMs>`: runs <jobs> concurrent locked
 *   increments of a counter file, failing if two holders are ever inside at once.
 * - `hold <lockDir> <storeId> <staleMs>`: takes the lock, prints `held`, and waits forever.
 */
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageLocks } from '../../src/lock/storage-locks.js';

const [mode, lockDir, storeId, ...rest] = process.argv.slice(2);

async function count(jobs: number, counterFile: string, staleMs: number): Promise<void> {
  const locks = new StorageLocks({ lockDir: lockDir!, staleMs, acquireTimeoutMs: 60_000 });
  const inside = `${counterFile}.inside`;
  await Promise.all(
    Array.from({ length: jobs }, () =>
      locks.withLock({ storeId: storeId! }, async () => {
        // 'wx' fails if another holder, in any process, is inside right now.
        const marker = await open(inside, 'wx');
        await marker.close();
        const n = Number(await readFile(counterFile, 'utf8').catch(() => '0'));
        await sleep(1);
        await writeFile(counterFile, String(n + 1));
        await rm(inside);
      }),
    ),
  );
  process.stdout.write('done\n');
}

async function hold(staleMs: number): Promise<void> {
  const locks = new StorageLocks({ lockDir: lockDir!, staleMs });
  await locks.withLock({ storeId: storeId! }, async () => {
    process.stdout.write('held\n');
    await new Promise(() => setInterval(() => undefined, 1000));
  });
}

if (mode === 'count') await count(Number(rest[0]), rest[1]!, Number(rest[2]));
else if (mode === 'hold') await hold(Number(rest[0]));
else throw new Error(`unknown mode ${mode}`);
