/**
 * A pid lock file, so that two `build`, `up` or `down` runs on one machine never race. A lock
 * whose holder is gone (a killed run) is taken over.
 *
 * @module
 */
import { open, readFile, rm } from 'node:fs/promises';
import { isAlive, sleep } from './proc.js';

/**
 * Runs `fn` while holding the lock file `path` (created with O_EXCL, containing our pid).
 *
 * @param path - the lock file
 * @param fn - the work to do under the lock
 * @param timeoutMs - how long to wait for a live holder (default 30 minutes: a build is long)
 * @returns what `fn` returns
 * @throws Error when a live holder keeps the lock past the timeout
 */
export async function withPidLock<T>(path: string, fn: () => Promise<T>, timeoutMs = 30 * 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const readHolder = async () => Number((await readFile(path, 'utf8').catch(() => '')).trim());
      let holder = await readHolder();
      if (!holder) {
        // Just created by someone who has not written its pid yet: give it a moment.
        await sleep(200);
        holder = await readHolder();
      }
      if (!(await isAlive(holder))) {
        // A killed run's lock (or an empty one it had no time to fill in): take it over.
        await rm(path, { force: true });
        continue;
      }
      if (Date.now() >= deadline) throw new Error(`testbed: ${path} is held by pid ${holder}`);
      await sleep(500);
    }
  }
  try {
    return await fn();
  } finally {
    await rm(path, { force: true });
  }
}
