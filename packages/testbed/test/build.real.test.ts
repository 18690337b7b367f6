import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureImage } from '@stowage/testbed';

describe('the real image build', () => {
  it('is a no-op the second time: the cached image is returned untouched', async () => {
    const image = await ensureImage(); // built (or found) by the global setup already
    const files = await readdir(image.dir);
    const mtimes = await Promise.all(files.map(async (f) => (await stat(join(image.dir, f))).mtimeMs));
    const again = await ensureImage();
    expect(again.built).toBe(false);
    expect(again.dir).toBe(image.dir);
    expect(await readdir(again.dir)).toEqual(files);
    expect(await Promise.all(files.map(async (f) => (await stat(join(again.dir, f))).mtimeMs))).toEqual(mtimes);
    expect(again.kernelVersion).toMatch(/^\d+\.\d+\.\d+-\d+-amd64$/);
  });
});
