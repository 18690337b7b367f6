import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GUEST_DIR, readRecipe, RECIPE_FILES, recipeHash } from '@stowage/testbed';

describe('recipeHash', () => {
  const base = [
    { name: 'build-image.sh', content: '#!/bin/sh\necho build\n' },
    { name: 'base-packages.txt', content: 'lvm2\nudev\n' },
  ];

  it('is stable, 16 hex digits, and independent of the order the files come in', () => {
    const hash = recipeHash(base);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(recipeHash([...base].reverse())).toBe(hash);
    expect(recipeHash(base.map((f) => ({ ...f, content: Buffer.from(f.content) })))).toBe(hash);
  });

  it('changes when any byte of any file changes, when a file is added, or renamed', () => {
    const hash = recipeHash(base);
    expect(recipeHash([base[0]!, { name: 'base-packages.txt', content: 'lvm2\nudev \n' }])).not.toBe(hash);
    expect(recipeHash([base[0]!, { name: 'base-packages.txt', content: 'lvm2\nudev\nzfsutils-linux\n' }])).not.toBe(hash);
    expect(recipeHash([...base, { name: 'init', content: '' }])).not.toBe(hash);
    expect(recipeHash([base[0]!, { name: 'chroot-packages.txt', content: base[1]!.content }])).not.toBe(hash);
  });

  it('cannot be fooled by moving bytes between a name and its content', () => {
    expect(recipeHash([{ name: 'ab', content: 'c' }])).not.toBe(recipeHash([{ name: 'a', content: 'bc' }]));
  });

  it('refuses the same file twice', () => {
    expect(() => recipeHash([base[0]!, base[0]!])).toThrow(TypeError);
  });
});

describe('the real recipe', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('reads every recipe file of the package', async () => {
    const files = await readRecipe();
    expect(files.map((f) => f.name)).toEqual([...RECIPE_FILES]);
    expect(files.every((f) => f.content.length > 0)).toBe(true);
  });

  it('hashes differently after any one recipe file is edited', async () => {
    const original = recipeHash(await readRecipe());
    for (const name of RECIPE_FILES) {
      const dir = await mkdtemp(join(tmpdir(), 'stowage-recipe-'));
      dirs.push(dir);
      await cp(GUEST_DIR, dir, { recursive: true });
      expect(recipeHash(await readRecipe(dir))).toBe(original);
      await writeFile(join(dir, name), `${await readFile(join(dir, name), 'utf8')}\n# edited\n`);
      expect(recipeHash(await readRecipe(dir))).not.toBe(original);
    }
  });

  it('does not depend on the pool script, which is not part of the image', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-recipe-'));
    dirs.push(dir);
    await cp(GUEST_DIR, dir, { recursive: true });
    await writeFile(join(dir, 'fresh-pools.sh'), '# changed\n');
    expect(recipeHash(await readRecipe(dir))).toBe(recipeHash(await readRecipe()));
  });
});
