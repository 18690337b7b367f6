/**
 * Makes a directory storage with many real qcow2 images fast: a few templates are written by
 * `qemu-img create` itself, then each image is a distinct file holding a template's non-zero
 * blocks (the rest stays a hole), with the owner's vmid patched into a clone's backing file name.
 * `qemu-img info` reads every file as a valid image.
 */
import { execFile } from 'node:child_process';
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const BLOCK = 4096;

/** The non-zero 4 KiB blocks of a file, and its length. */
interface Template {
  readonly length: number;
  readonly blocks: { offset: number; data: Buffer }[];
}

async function template(path: string): Promise<Template> {
  const buf = await readFile(path);
  const blocks: Template['blocks'] = [];
  const zero = Buffer.alloc(BLOCK);
  for (let off = 0; off < buf.length; off += BLOCK) {
    const b = buf.subarray(off, Math.min(off + BLOCK, buf.length));
    if (!b.equals(zero.subarray(0, b.length))) blocks.push({ offset: off, data: Buffer.from(b) });
  }
  return { length: buf.length, blocks };
}

async function writeFromTemplate(path: string, t: Template, patch?: (block: Buffer, offset: number) => Buffer): Promise<void> {
  const fh = await open(path, 'wx', 0o640);
  try {
    for (const b of t.blocks) await fh.write(patch ? patch(b.data, b.offset) : b.data, 0, b.data.length, b.offset);
    await fh.truncate(t.length);
  } finally {
    await fh.close();
  }
}

/** What was made. */
export interface ImageSet {
  readonly images: number;
  readonly bases: number;
  readonly clones: number;
  readonly plain: number;
  readonly vmids: number;
  /** A few files of each kind, for sampling `qemu-img info`. */
  readonly files: string[];
}

/**
 * Makes `vmids` guest directories with `perVmid` qcow2 images each (1 GiB virtual): the first
 * tenth of the guests hold a base (`base-<vmid>-disk-0.qcow2`) and plain images, the others
 * half linked clones of those bases (`../<basevmid>/base-<basevmid>-disk-0.qcow2`), half plain.
 * Vmids are 4 digits so that every backing file name has the same length.
 *
 * @param root - the storage path (images go to `<root>/images/<vmid>/`)
 */
export async function makeImageSet(root: string, vmids = 500, perVmid = 20): Promise<ImageSet> {
  const first = 1000;
  const baseVmids = Math.max(1, Math.floor(vmids / 10));
  const scratch = join(root, 'templates');
  await mkdir(join(scratch, String(first)), { recursive: true });
  await mkdir(join(scratch, String(first + 1)), { recursive: true });
  const basePath = join(scratch, String(first), `base-${first}-disk-0.qcow2`);
  const clonePath = join(scratch, String(first + 1), 'vm-clone.qcow2');
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', basePath, '1G']);
  await exec('qemu-img', ['create', '-q', '-F', 'qcow2', '-b', `../${first}/base-${first}-disk-0.qcow2`, '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=128k', clonePath]);
  const plainT = await template(basePath);
  const cloneT = await template(clonePath);
  const marker = Buffer.from(`../${first}/base-${first}-disk-0.qcow2`);

  let bases = 0;
  let clones = 0;
  let plain = 0;
  const files: string[] = [];
  for (let i = 0; i < vmids; i++) {
    const vmid = first + i;
    const dir = join(root, 'images', String(vmid));
    await mkdir(dir, { recursive: true });
    const jobs: Promise<void>[] = [];
    for (let n = 0; n < perVmid; n++) {
      let path: string;
      if (i < baseVmids && n === 0) {
        path = join(dir, `base-${vmid}-disk-0.qcow2`);
        jobs.push(writeFromTemplate(path, plainT));
        bases++;
      } else if (i >= baseVmids && n < perVmid / 2) {
        const baseVmid = first + (i % baseVmids);
        const ref = Buffer.from(`../${baseVmid}/base-${baseVmid}-disk-0.qcow2`);
        path = join(dir, `vm-${vmid}-disk-${n}.qcow2`);
        jobs.push(
          writeFromTemplate(path, cloneT, (block) => {
            const at = block.indexOf(marker);
            if (at < 0) return block;
            const copy = Buffer.from(block);
            ref.copy(copy, at);
            return copy;
          }),
        );
        clones++;
      } else {
        path = join(dir, `vm-${vmid}-disk-${n}.qcow2`);
        jobs.push(writeFromTemplate(path, plainT));
        plain++;
      }
      if (n < 2) files.push(path);
    }
    await Promise.all(jobs);
  }
  return { images: bases + clones + plain, bases, clones, plain, vmids, files };
}
