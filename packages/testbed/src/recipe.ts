/**
 * The guest recipe (the files the image is built from) and its hash, which names the cached image.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GUEST_DIR } from './paths.js';

/** The files whose content defines the image; any change to one of them means a new image. */
export const RECIPE_FILES = ['build-image.sh', 'init', 'base-packages.txt', 'chroot-packages.txt'] as const;

/** One recipe file: its name and its content. */
export interface RecipeFile {
  /** File name inside the recipe directory. */
  readonly name: string;
  /** The bytes of the file. */
  readonly content: string | Uint8Array;
}

/**
 * Hashes a recipe: SHA-256 over each file's name and content, in name order, so the result does
 * not depend on the order the files are given in. Pure.
 *
 * @param files - the recipe files
 * @returns 16 hex digits, used as the image's cache directory name
 * @throws TypeError when two files have the same name
 * @example
 * ```ts
 * recipeHash([{ name: 'init', content: '#!/bin/sh\n' }]); // e.g. '3f2a9c0d5b7e1a44'
 * ```
 */
export function recipeHash(files: readonly RecipeFile[]): string {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const hash = createHash('sha256');
  let previous: string | undefined;
  for (const file of sorted) {
    if (file.name === previous) throw new TypeError(`recipe file ${file.name} given twice`);
    previous = file.name;
    const content = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    // Length-prefixed, so that moving bytes between a name and a content changes the hash.
    hash.update(`${Buffer.byteLength(file.name)}:${file.name}:${content.byteLength}:`);
    hash.update(content);
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Reads the recipe files from a directory.
 *
 * @param dir - the recipe directory (default: the package's `guest/`)
 * @returns the files of {@link RECIPE_FILES}
 * @throws Error when a file is missing
 */
export async function readRecipe(dir: string = GUEST_DIR): Promise<RecipeFile[]> {
  return Promise.all(RECIPE_FILES.map(async (name) => ({ name, content: await readFile(join(dir, name)) })));
}
