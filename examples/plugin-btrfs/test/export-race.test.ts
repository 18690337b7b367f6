/**
 * The export opens the disk it checked, not whatever took its name since: a `disk.raw` swapped
 * for a symbolic link to a file outside the storage between the check and the open is refused,
 * and nothing of that file is sent. (Plain directories stand in for the subvolumes: the check and
 * the open are file-system calls that btrfs answers like any other file system.)
 */
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { localFileSystem, type FileSystem } from '@stowage/core/plugin';
import { pluginContext } from '@stowage/core/testing';
import { BtrfsPlugin } from '../src/index.js';
import { btrfsConfigSchema } from '../src/config-schema.js';
import { volumeExport } from '../src/ops-transfer.js';

const plugin = new BtrfsPlugin();
let root = '';

describe('btrfs export against a swapped disk file', () => {
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-btrfs-race-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('a disk.raw replaced by a symbolic link after the check is CORRUPT, and nothing of the outside file is sent', async () => {
    const path = join(root, 'storage');
    const disk = join(path, 'images', '100', 'vm-100-disk-0', 'disk.raw');
    await mkdir(join(disk, '..'), { recursive: true });
    await writeFile(disk, Buffer.alloc(4096, 1));
    const outside = join(root, 'secret');
    await writeFile(outside, 'SECRET'.repeat(100));
    // someone who can write into the storage swaps the checked file just before it is opened
    const racing: FileSystem = {
      ...localFileSystem,
      open: async (file, flags, mode) => {
        if (file === disk) {
          await unlink(disk);
          await symlink(outside, disk);
        }
        return localFileSystem.open(file, flags, mode);
      },
    };
    const config = btrfsConfigSchema.parse({ type: 'btrfs', storage: 'bt', path });
    const ctx = { ...pluginContext({ config }), fs: racing };
    const output = new PassThrough();
    const sent: Buffer[] = [];
    output.on('data', (b: Buffer) => sent.push(b));
    const failure = await volumeExport(ctx, { volume: plugin.parseVolname('100/vm-100-disk-0.raw'), format: 'raw+size', output }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageError(failure, 'CORRUPT')).toBe(true);
    expect(Buffer.concat(sent).toString('latin1')).not.toContain('SECRET');
  });
});
