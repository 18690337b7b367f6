import { defineConfig } from 'vitest/config';
import { alias } from './vitest.shared.js';

/** `pnpm test:real`: the conformance kit on real LVM-thin and ZFS in the testbed VM. */
export default defineConfig({
  resolve: { alias },
  test: {
    include: ['packages/*/test/**/*.real.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 900_000,
    fileParallelism: false,
    // Builds the image if needed, boots the guest, makes fresh pools; stops the guest at the end.
    globalSetup: ['packages/testbed/src/global-setup.ts'],
  },
});
