/**
 * Builds the guest image once per recipe and machine. The image is assembled in a temporary
 * directory and renamed into `<cacheRoot>/images/<recipe-hash>/` only when the build succeeded,
 * so a failed or killed build leaves nothing that a later run would take for a good image.
 *
 * @module
 */
import { access, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { withPidLock } from './lock.js';
import { cacheRoot, GUEST_DIR } from './paths.js';
import { isAlive, runProgram } from './proc.js';
import { readRecipe, recipeHash } from './recipe.js';

/** A built guest image. */
export interface TestbedImage {
  /** The image directory: `root.img`, `vmlinuz`, `initrd.img`, `id_ed25519`, `build.json`. */
  readonly dir: string;
  /** The recipe hash that names it. */
  readonly hash: string;
  /** The guest kernel's version, e.g. `6.1.0-56-amd64`. */
  readonly kernelVersion: string;
  /** Whether this call built it (false: it was already cached). */
  readonly built: boolean;
  /** Seconds the build took (when this call built it, else the cached build's figure). */
  readonly buildSeconds: number;
}

/** Options of {@link ensureImage}. */
export interface EnsureImageOptions {
  /** The testbed cache root (default {@link cacheRoot}). */
  readonly cache?: string;
  /** The recipe directory (default: the package's `guest/`). */
  readonly recipeDir?: string;
  /** Print build progress on standard error (default true). */
  readonly verbose?: boolean;
}

/** The contents of `build.json`, written last into a finished image. */
interface BuildRecord {
  readonly hash: string;
  readonly kernelVersion: string;
  readonly builtAt: string;
  readonly buildSeconds: number;
}

const IMAGE_FILES = ['root.img', 'vmlinuz', 'initrd.img', 'id_ed25519', 'id_ed25519.pub', 'build.json'];

/**
 * The cached image for the current recipe, if it is complete.
 *
 * @param options - cache root and recipe directory
 * @returns the image, or `undefined` when it has not been built
 */
export async function findImage(options: EnsureImageOptions = {}): Promise<TestbedImage | undefined> {
  const hash = recipeHash(await readRecipe(options.recipeDir ?? GUEST_DIR));
  return readImage(join(options.cache ?? cacheRoot(), 'images', hash), hash);
}

/**
 * Returns the guest image for the current recipe, building it first if it is not cached. The
 * build needs root (debootstrap, chroot) and Debian's package mirror; it takes several minutes.
 *
 * @param options - cache root, recipe directory, verbosity
 * @returns the image
 * @throws Error when the build fails (nothing is left in the image cache then), for example
 *   when it is needed and we are not root
 * @example
 * ```ts
 * const image = await ensureImage();
 * console.log(image.dir, image.built ? `built in ${image.buildSeconds} s` : 'cached');
 * ```
 */
export async function ensureImage(options: EnsureImageOptions = {}): Promise<TestbedImage> {
  const recipeDir = options.recipeDir ?? GUEST_DIR;
  const hash = recipeHash(await readRecipe(recipeDir));
  const root = options.cache ?? cacheRoot();
  const images = join(root, 'images');
  const dir = join(images, hash);
  const cached = await readImage(dir, hash);
  if (cached) return cached;
  await mkdir(images, { recursive: true });
  return withPidLock(join(images, `.${hash}.lock`), async () => {
    const again = await readImage(dir, hash);
    if (again) return again;
    await removeStaleBuilds(images);
    const started = Date.now();
    const tmp = await mkdtemp(join(images, `.build-${hash}-`));
    try {
      await writeFile(join(tmp, 'owner'), String(process.pid));
      const result = await runProgram(
        'sh',
        [join(recipeDir, 'build-image.sh'), join(tmp, 'out'), join(tmp, 'work'), join(root, 'downloads')],
        { echoStderr: options.verbose ?? true },
      );
      if (result.code !== 0) {
        throw new Error(`testbed: image build failed (exit ${result.code ?? result.signal}); last lines:\n${lastLines(result.stderr, 15)}`);
      }
      const kernelVersion = (await readFile(join(tmp, 'out', 'kernel-version'), 'utf8')).trim();
      const record: BuildRecord = {
        hash,
        kernelVersion,
        builtAt: new Date().toISOString(),
        buildSeconds: Math.round((Date.now() - started) / 100) / 10,
      };
      await writeFile(join(tmp, 'out', 'build.json'), `${JSON.stringify(record, null, 2)}\n`);
      // Only a damaged image (a file deleted by hand) can be in the way here: replace it.
      await rm(dir, { recursive: true, force: true });
      await rename(join(tmp, 'out'), dir);
      return { dir, hash, kernelVersion, built: true, buildSeconds: record.buildSeconds };
    } finally {
      await removeBuildDir(tmp);
    }
  });
}

/** Reads a finished image; anything incomplete counts as absent. */
async function readImage(dir: string, hash: string): Promise<TestbedImage | undefined> {
  try {
    await Promise.all(IMAGE_FILES.map((name) => access(join(dir, name))));
    const record = JSON.parse(await readFile(join(dir, 'build.json'), 'utf8')) as BuildRecord;
    if (record.hash !== hash) return undefined;
    return { dir, hash, kernelVersion: record.kernelVersion, built: false, buildSeconds: record.buildSeconds };
  } catch {
    return undefined;
  }
}

/** Removes the temporary directories of builds whose process is gone (killed runs). */
async function removeStaleBuilds(images: string): Promise<void> {
  for (const name of await readdir(images)) {
    if (!name.startsWith('.build-')) continue;
    const owner = Number((await readFile(join(images, name, 'owner'), 'utf8').catch(() => '')).trim());
    if (!(await isAlive(owner))) await removeBuildDir(join(images, name));
  }
}

/**
 * Removes a build directory. A killed build may have left kernel filesystems mounted inside it
 * (proc, sysfs, the private /dev): those are unmounted first, and nothing is deleted while any
 * mount remains below it.
 */
async function removeBuildDir(dir: string): Promise<void> {
  for (const mount of (await mountsBelow(dir)).reverse()) {
    await runProgram('umount', ['-l', mount]);
  }
  const left = await mountsBelow(dir);
  if (left.length > 0) throw new Error(`testbed: cannot remove ${dir}: still mounted: ${left.join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}

/** Mount points at or below `dir`, shallowest first. */
async function mountsBelow(dir: string): Promise<string[]> {
  const table = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const points = table
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((point): point is string => point !== undefined)
    .map((point) => point.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))))
    .filter((point) => point === dir || point.startsWith(`${dir}/`));
  return points.sort((a, b) => a.length - b.length);
}

/**
 * The last lines of a text.
 *
 * @param text - any text
 * @param count - how many lines
 * @returns those lines joined by newlines
 */
export function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}
