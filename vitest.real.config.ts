import { configDefaults, defineConfig } from 'vitest/config';
import { alias } from './vitest.shared.js';

/** The conformance kits: each on a pool of its own, so the two run at the same time. */
const KITS = ['packages/plugin-lvmthin/test/conformance.real.test.ts', 'packages/plugin-zfs/test/conformance.real.test.ts'];

/**
 * `pnpm test:real`: the conformance kit on real LVM-thin and ZFS in the testbed VM, and the other
 * real-storage tests. The two kits run side by side first (each spends most of its time waiting
 * for one command at a time in the guest, which has two CPUs); the rest run one file at a time
 * afterwards, since some of them recreate the pools or start and stop guests.
 */
export default defineConfig({
  resolve: { alias },
  test: {
    testTimeout: 600_000,
    hookTimeout: 900_000,
    fileParallelism: false,
    // Builds the image if needed, boots the guest, makes fresh pools; stops the guest at the end
    // (once for the whole run, not per project).
    globalSetup: ['packages/testbed/src/global-setup.ts'],
    projects: [
      { extends: true, test: { name: 'kits', include: KITS, fileParallelism: true, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'storage', include: ['packages/*/test/**/*.real.test.ts'], exclude: [...configDefaults.exclude, ...KITS], sequence: { groupOrder: 1 } } },
    ],
  },
});
