/**
 * Hostile files for the confinement tests: FIFOs, qcow2 headers patched by hand where
 * `qemu-img` refuses to write a name, vmdk descriptors, and a rescuer that unblocks an `open()`
 * stuck on a FIFO so that a test of broken code fails instead of hanging its worker.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { KitHostileFiles } from '@stowage/core/testing';
import { sh } from './helpers.js';

/** Makes a FIFO with the real `mkfifo` command. */
export async function mkfifo(path: string): Promise<void> {
  await sh('mkfifo', [path]);
}

/**
 * Starts a process that, after `delaySeconds`, keeps opening and closing each FIFO for writing:
 * an `open()` blocked on one of them then returns (and its reads see end of file). Code that
 * never blocks never meets it; code that blocks finishes late with a wrong result instead of
 * hanging the test worker for ever. Stop it with {@link stopRescuer}.
 */
export function fifoRescuer(fifos: readonly string[], delaySeconds = 20): ChildProcess {
  const script = `sleep ${delaySeconds}; while :; do for f in "$@"; do exec 3<>"$f"; exec 3>&-; done; sleep 0.2; done`;
  return spawn('sh', ['-c', script, 'rescuer', ...fifos], { stdio: 'ignore' });
}

/** Stops a process this test started, by its pid, and waits for it to exit. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  await exited;
}

/**
 * Replaces a name stored in a qcow2 header (the data file name of the `DATA` extension, or the
 * backing file name) by another of the same length or shorter, padded with NUL bytes (QEMU and
 * our reader both stop at the first NUL). `qemu-img` would try to create or open such names.
 */
export async function patchHeaderName(path: string, from: string, to: string): Promise<void> {
  if (Buffer.byteLength(to) > Buffer.byteLength(from)) throw new Error('the new name must not be longer');
  const buf = await readFile(path);
  const at = buf.indexOf(Buffer.from(from));
  if (at < 0 || at > 65536) throw new Error(`'${from}' is not in the header of '${path}'`);
  buf.fill(0, at, at + Buffer.byteLength(from));
  buf.write(to, at);
  await writeFile(path, buf);
}

/**
 * A vmdk descriptor file with the given extent lines (and optional extra lines), laid out as
 * `qemu-img` writes one. (A blank line right before an extent line would make QEMU read that
 * extent twice: its `sscanf` skips the newline.)
 */
export function vmdkDescriptor(extents: readonly string[], extra: readonly string[] = []): string {
  return ['# Disk DescriptorFile', 'version=1', 'CID=12345678', 'parentCID=ffffffff', 'createType="monolithicFlat"', ...extra, '', '# Extent description', ...extents, '', '# The Disk Data Base', '#DDB', ''].join('\n');
}

/** A writable that keeps what it is given. */
export class Collect extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    done();
  }
  /** Everything written so far. */
  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/**
 * The conformance kit's hostile files on a directory storage at `root`, each made with the real
 * `qemu-img` (or by hand where it would touch the outside file: a data file it would create).
 */
export function dirHostileFiles(root: string): KitHostileFiles {
  return {
    place: async ({ kind, vmid, outside }) => {
      const dir = join(root, 'images', String(vmid));
      await mkdir(dir, { recursive: true });
      const name = (ext: string): string => `vm-${vmid}-disk-0.${ext}`;
      const volid = (ext: string): string => `kit:${vmid}/${name(ext)}`;
      const qcow2 = join(dir, name('qcow2'));
      switch (kind) {
        case 'backing-outside':
        case 'backing-protocol':
          await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', kind === 'backing-outside' ? outside : `file:${outside}`, '-u', qcow2, '1M']);
          return volid('qcow2');
        case 'data-file-outside': {
          const placeholder = join(root, `placeholder-${'p'.repeat(Math.max(0, outside.length - root.length))}`);
          await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${placeholder},data_file_raw=on`, qcow2, '1M']);
          await patchHeaderName(qcow2, placeholder, outside);
          await rm(placeholder);
          return volid('qcow2');
        }
        case 'extent-outside':
          await writeFile(join(dir, name('vmdk')), vmdkDescriptor([`RW 2048 FLAT "${outside}" 0`]));
          return volid('vmdk');
        case 'fifo':
          await mkfifo(qcow2);
          return volid('qcow2');
        case 'symlink-outside':
          await symlink(outside, join(dir, name('raw')));
          return volid('raw');
        case 'symlink-to-fifo':
          await mkfifo(join(dir, 'fifo-target'));
          await symlink('fifo-target', qcow2);
          return volid('qcow2');
      }
    },
  };
}
