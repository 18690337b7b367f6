import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { missingTools } from '@stowage/testbed';

const savedPath = process.env.PATH;
let dir: string | undefined;
afterEach(async () => {
  process.env.PATH = savedPath;
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('missingTools', () => {
  it('says in one line which packages are missing when QEMU is not on PATH', async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-nobin-'));
    await symlink('/bin/sh', join(dir, 'sh'));
    process.env.PATH = dir;
    const reason = await missingTools();
    expect(reason).toMatch(/^testbed: qemu-system-x86, qemu-utils, openssh-client missing; .*apt-get install qemu-system-x86 qemu-utils openssh-client/);
    expect(reason).not.toContain('\n');
  });
});
