import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureImage, findImage, RECIPE_FILES } from '@stowage/testbed';

// A small recipe with the real interface (build-image.sh OUT WORK DOWNLOADS) that builds in
// milliseconds, so the cache logic is tested for real without the minutes-long guest build.
const QUICK_BUILD = `#!/bin/sh
set -eu
out=$1 work=$2 downloads=$3
mkdir -p "$out" "$work" "$downloads"
echo run >> "$downloads/runs"
printf root > "$out/root.img"
printf kernel > "$out/vmlinuz"
printf initrd > "$out/initrd.img"
printf key > "$out/id_ed25519"
printf pub > "$out/id_ed25519.pub"
echo 6.1.0-test-amd64 > "$out/kernel-version"
[ -z "\${FAIL_AFTER_OUTPUT:-}" ] || { echo "build broke half-way" >&2; exit 7; }
`;

const dirs: string[] = [];
async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
async function recipe(build: string): Promise<string> {
  const dir = await tempDir('stowage-recipe-');
  for (const name of RECIPE_FILES) await writeFile(join(dir, name), name === 'build-image.sh' ? build : `# ${name}\n`);
  return dir;
}
afterEach(async () => {
  delete process.env.FAIL_AFTER_OUTPUT;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

describe('ensureImage', () => {
  it('builds once, then returns the cached image without running the build again', async () => {
    const recipeDir = await recipe(QUICK_BUILD);
    const cache = await tempDir('stowage-cache-');
    expect(await findImage({ cache, recipeDir })).toBeUndefined();

    const first = await ensureImage({ cache, recipeDir, verbose: false });
    expect(first.built).toBe(true);
    expect(first.kernelVersion).toBe('6.1.0-test-amd64');
    expect(first.dir).toBe(join(cache, 'images', first.hash));
    const record = await stat(join(first.dir, 'build.json'));

    const second = await ensureImage({ cache, recipeDir, verbose: false });
    expect(second.built).toBe(false);
    expect(second.dir).toBe(first.dir);
    expect((await stat(join(second.dir, 'build.json'))).mtimeMs).toBe(record.mtimeMs);
    expect((await readFile(join(cache, 'downloads', 'runs'), 'utf8')).trim().split('\n')).toHaveLength(1);
    expect((await readdir(join(cache, 'images'))).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('builds a new image when the recipe changes', async () => {
    const recipeDir = await recipe(QUICK_BUILD);
    const cache = await tempDir('stowage-cache-');
    const first = await ensureImage({ cache, recipeDir, verbose: false });
    await writeFile(join(recipeDir, 'base-packages.txt'), 'lvm2\n');
    const second = await ensureImage({ cache, recipeDir, verbose: false });
    expect(second.built).toBe(true);
    expect(second.hash).not.toBe(first.hash);
  });

  it('leaves nothing that passes for an image when the build fails half-way', async () => {
    const recipeDir = await recipe(QUICK_BUILD);
    const cache = await tempDir('stowage-cache-');
    process.env.FAIL_AFTER_OUTPUT = '1';
    await expect(ensureImage({ cache, recipeDir, verbose: false })).rejects.toThrow(/image build failed \(exit 7\)[\s\S]*broke half-way/);
    expect(await readdir(join(cache, 'images'))).toEqual([]);
    expect(await findImage({ cache, recipeDir })).toBeUndefined();

    delete process.env.FAIL_AFTER_OUTPUT;
    expect((await ensureImage({ cache, recipeDir, verbose: false })).built).toBe(true);
  });

  it('removes the leftovers of a killed build and builds again', async () => {
    const recipeDir = await recipe(QUICK_BUILD);
    const cache = await tempDir('stowage-cache-');
    const dead = spawnSync('true').pid!;
    const leftover = join(cache, 'images', '.build-0123456789abcdef-x1');
    await mkdir(join(leftover, 'out'), { recursive: true });
    await writeFile(join(leftover, 'owner'), String(dead));
    await writeFile(join(leftover, 'out', 'root.img'), 'half');

    const image = await ensureImage({ cache, recipeDir, verbose: false });
    expect(image.built).toBe(true);
    expect(await readdir(join(cache, 'images'))).toEqual([image.hash]);
  });

  it('does not take an incomplete image directory for a built one', async () => {
    const recipeDir = await recipe(QUICK_BUILD);
    const cache = await tempDir('stowage-cache-');
    const image = await ensureImage({ cache, recipeDir, verbose: false });
    await rm(join(image.dir, 'initrd.img'));
    expect(await findImage({ cache, recipeDir })).toBeUndefined();
    const rebuilt = await ensureImage({ cache, recipeDir, verbose: false });
    expect(rebuilt.built).toBe(true);
    expect(await readFile(join(rebuilt.dir, 'initrd.img'), 'utf8')).toBe('initrd');
  });
});
