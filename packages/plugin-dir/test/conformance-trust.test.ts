import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe } from 'vitest';
import { concurrencySuite, crashSuite, useStorageKit } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = fileURLToPath(new URL('../../..', import.meta.url));

// The kit's crash cases run the operation in a child process that imports the built packages.
beforeAll(async () => {
  await promisify(execFile)(process.execPath, [join(repoDir, 'node_modules/typescript/bin/tsc'), '-b', packageDir], { cwd: repoDir });
}, 300_000);

// The kit's trust groups, until they join the full suite (then conformance.test.ts runs them).
describe('dir: overlapping and killed operations (the kit\'s trust groups)', () => {
  let dir: string | undefined;
  const kit = useStorageKit({
    name: 'dir trust',
    plugin: DirPlugin,
    setup: async () => {
      dir = await mkdtemp(join(tmpdir(), 'stowage-dir-trust-'));
      return {
        config: { type: 'dir', storage: 'kit', path: dir, content: 'images' },
        sizeUnit: 1024 * 1024,
        child: {
          pluginModule: pathToFileURL(join(packageDir, 'dist/index.js')).href,
          pluginExport: 'DirPlugin',
          coreModule: pathToFileURL(join(repoDir, 'packages/core/dist/index.js')).href,
        },
      };
    },
    teardown: async () => {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  });
  concurrencySuite(kit);
  crashSuite(kit);
});
