/**
 * Argument vectors for the tools the `dir` plugin runs (`qemu-img`, `qemu-nbd`, `chattr`). Pure: they only
 * build arrays; the runner executes them, never through a shell.
 *
 * Every path is absolute (checked: {@link qemuPath}), so QEMU never reads a protocol prefix out
 * of one of our names; an existing image is given only as an {@link AdmittedPath}, which the
 * gate (`admitFile`) alone makes.
 *
 * @module
 */
import { StorageError, type VolumeFormat } from '@stowage/core';
import type { Preallocation } from './config.js';
import type { AdmittedPath } from './gate.js';
import { hasProtocol, isPlainName, qemuPath } from './qemu-names.js';

/**
 * The `preallocation=` value `qemu-img` gets for a new image: qcow2 defaults to `metadata`; raw
 * defaults to `off` and treats `metadata` as `off`; other formats get none.
 *
 * @param configured - the storage's `preallocation` option
 * @param format - the image format
 * @returns the mode, or `undefined` when the format takes none
 * @see Proxmox `PVE::Storage::Plugin::preallocation_cmd_opt`
 */
export function preallocationFor(configured: Preallocation | undefined, format: VolumeFormat): Preallocation | undefined {
  if (format === 'qcow2') return configured ?? 'metadata';
  if (format === 'raw') return configured === undefined || configured === 'metadata' ? 'off' : configured;
  return undefined;
}

/** Options of {@link qemuImgCreateArgs}. */
export interface QemuImgCreateOptions {
  /** The new image's format. */
  readonly format: VolumeFormat;
  /** Absolute path of the new image. */
  readonly path: string;
  /** Virtual size in bytes; omitted for an overlay, which takes its backing file's size. */
  readonly size?: number | undefined;
  /** `preallocation=` mode. */
  readonly preallocation?: Preallocation | undefined;
  /**
   * Backing file (as stored in the header, e.g. `../100/base-100-disk-0.qcow2`, relative to the
   * new image) and its format.
   */
  readonly backing?: { readonly file: string; readonly format: VolumeFormat } | undefined;
}

/** The layout of an overlay (a linked clone): extended L2 entries and 128 KiB clusters, as Proxmox makes them. */
const OVERLAY_OPTIONS = ['extended_l2=on', 'cluster_size=128k'];

/** A backing file reference as it goes into a header, refused unless QEMU reads it as a plain file name. */
function plainBackingName(file: string): string {
  if (hasProtocol(file) || !isPlainName(file)) {
    throw new StorageError('INTERNAL', `refusing backing file name '${file}': QEMU would not read it as a file`, { details: { backing: file } });
  }
  return file;
}

/**
 * `qemu-img create`. An overlay (with `backing`) is a qcow2 with extended L2 entries and 128 KiB
 * clusters, as Proxmox makes linked clones.
 *
 * @param o - format, path, size, preallocation, backing file
 * @returns the argv
 * @example
 * ```ts
 * qemuImgCreateArgs({ format: 'qcow2', path: '/d/images/100/vm-100-disk-0.qcow2', size: 1 << 30, preallocation: 'metadata' });
 * // ['qemu-img', 'create', '-f', 'qcow2', '-o', 'preallocation=metadata', '/d/images/100/vm-100-disk-0.qcow2', '1073741824']
 * ```
 * @see Proxmox `PVE::Storage::Common::qemu_img_create`, `qemu_img_create_qcow2_backed`
 */
export function qemuImgCreateArgs(o: QemuImgCreateOptions): string[] {
  const argv = ['qemu-img', 'create'];
  const opts: string[] = [];
  if (o.backing) {
    argv.push('-F', o.backing.format, '-b', plainBackingName(o.backing.file));
    opts.push(...OVERLAY_OPTIONS);
  }
  argv.push('-f', o.format);
  if (o.preallocation !== undefined) opts.push(`preallocation=${o.preallocation}`);
  if (opts.length > 0) argv.push('-o', opts.join(','));
  argv.push(qemuPath(o.path));
  if (o.size !== undefined) argv.push(String(o.size));
  return argv;
}

/**
 * `qemu-img info --output=json` with the format given (never probed) and `-U`, so that an image a
 * running guest holds can still be read.
 *
 * @param path - the image
 * @param format - its format
 */
export function qemuImgInfoArgs(path: AdmittedPath, format: VolumeFormat): string[] {
  return ['qemu-img', 'info', '--output=json', '-U', '-f', format, qemuPath(path)];
}

/** What {@link qemuImgSnapshotArgs} does: create (`-c`), apply (`-a`) or delete (`-d`). */
export type SnapshotAction = 'create' | 'apply' | 'delete';

const SNAPSHOT_FLAG: Record<SnapshotAction, string> = { create: '-c', apply: '-a', delete: '-d' };

/**
 * A `--image-opts` description of a qcow2 file, so that `qemu-img` opens it as qcow2 and never
 * probes the format (commas in the path are doubled, as QEMU's option syntax wants).
 *
 * @param path - the image
 */
export function qcow2ImageOpts(path: AdmittedPath): string {
  return `driver=qcow2,file.driver=file,file.filename=${qemuPath(path).replaceAll(',', ',,')}`;
}

/**
 * `qemu-img snapshot` on a qcow2 image (internal snapshots). `qemu-img snapshot` has no `-f`,
 * so the image is described with `--image-opts` and its format is never probed.
 *
 * @param action - create, apply (roll back) or delete
 * @param path - the image
 * @param snapshot - the snapshot name
 * @see Proxmox `PVE::Storage::Plugin::volume_snapshot`, `volume_snapshot_rollback`, `volume_snapshot_delete`
 */
export function qemuImgSnapshotArgs(action: SnapshotAction, path: AdmittedPath, snapshot: string): string[] {
  return ['qemu-img', 'snapshot', '--image-opts', SNAPSHOT_FLAG[action], snapshot, qcow2ImageOpts(path)];
}

/**
 * `qemu-img resize` to an absolute size in bytes.
 *
 * @param o - path, format, new size, preallocation of the new space, `shrink` to allow a smaller size
 * @see Proxmox `PVE::Storage::Common::qemu_img_resize`
 */
export function qemuImgResizeArgs(o: { path: AdmittedPath; format: VolumeFormat; size: number; preallocation?: Preallocation | undefined; shrink?: boolean }): string[] {
  const argv = ['qemu-img', 'resize'];
  if (o.shrink === true) argv.push('--shrink');
  if (o.preallocation !== undefined) argv.push(`--preallocation=${o.preallocation}`);
  argv.push('-f', o.format, qemuPath(o.path), String(o.size));
  return argv;
}

/** Options of {@link qemuImgConvertArgs}. */
export interface QemuImgConvertOptions {
  /** The image read, admitted by the gate. */
  readonly source: AdmittedPath;
  /** Its format (never probed). */
  readonly sourceFormat: VolumeFormat;
  /** The file written (absolute). */
  readonly target: string;
  /** The format written. */
  readonly targetFormat: VolumeFormat;
  /** `preallocation=` of the target. */
  readonly preallocation?: Preallocation | undefined;
  /** Read this internal snapshot of the source instead of its current state (`-l snapshot.name=`). */
  readonly snapshot?: string | undefined;
  /**
   * The target is an overlay of this backing file (as stored in the header, relative to the
   * target) and format (`-B`, `-F`), laid out as a linked clone: only what the source holds
   * above its own backing file is copied, so the source's backing file must hold the same data.
   */
  readonly backing?: { readonly file: string; readonly format: VolumeFormat } | undefined;
  /** Report progress on standard output (`-p`, see `parseQemuImgProgress`). */
  readonly progress?: boolean | undefined;
}

/**
 * `qemu-img convert` from one file to another: a raw stream into qcow2/vmdk through a temporary
 * file (`qemu-img` cannot read a pipe), and the flattening of a linked clone or of a snapshot
 * into a new file. Zeroed areas stay sparse (`qemu-img`'s default `-S 4k`).
 *
 * @param o - source and target, formats, preallocation, snapshot, backing file, progress
 * @returns the argv
 * @example
 * ```ts
 * qemuImgConvertArgs({ source: admitted, sourceFormat: 'qcow2', target: '/d/images/101/.stowage-swap~…', targetFormat: 'qcow2', progress: true });
 * // ['qemu-img', 'convert', '-p', '-f', 'qcow2', '-O', 'qcow2', '/d/images/101/vm-101-disk-0.qcow2', '/d/images/101/.stowage-swap~…']
 * ```
 */
export function qemuImgConvertArgs(o: QemuImgConvertOptions): string[] {
  const argv = ['qemu-img', 'convert'];
  if (o.progress === true) argv.push('-p');
  argv.push('-f', o.sourceFormat, '-O', o.targetFormat);
  // QEMU's option syntax: a comma in a value is written twice
  if (o.snapshot !== undefined) argv.push('-l', `snapshot.name=${o.snapshot.replaceAll(',', ',,')}`);
  const opts: string[] = [];
  if (o.backing) {
    argv.push('-B', plainBackingName(o.backing.file), '-F', o.backing.format);
    opts.push(...OVERLAY_OPTIONS);
  }
  if (o.preallocation !== undefined) opts.push(`preallocation=${o.preallocation}`);
  if (opts.length > 0) argv.push('-o', opts.join(','));
  argv.push(qemuPath(o.source), qemuPath(o.target));
  return argv;
}

/**
 * `qemu-img check --output=json`: consistency of a qcow2 image (exit 2 = corruptions, 3 = leaks only).
 *
 * @param path - the image
 * @param format - its format
 */
export function qemuImgCheckArgs(path: AdmittedPath, format: VolumeFormat): string[] {
  return ['qemu-img', 'check', '--output=json', '-f', format, qemuPath(path)];
}

/**
 * `chattr +i` / `chattr -i`: set or clear the immutable flag (not every filesystem has one).
 *
 * @param set - `true` for `+i`
 * @param path - the file
 * @see Proxmox `PVE::Storage::Plugin::create_base`, `free_image`
 */
export function chattrImmutableArgs(set: boolean, path: string): string[] {
  return ['chattr', set ? '+i' : '-i', qemuPath(path)];
}

/** Options of {@link qemuNbdArgs}. */
export interface QemuNbdOptions {
  /** The image, admitted by the gate. */
  readonly path: AdmittedPath;
  /** Its format (never probed). */
  readonly format: VolumeFormat;
  /** The Unix socket to listen on. */
  readonly socket: string;
  /** Where the server writes its pid once the socket is ready. */
  readonly pidFile: string;
}

/**
 * `qemu-nbd` serving an image read-only to one client on a Unix socket; it exits when that
 * client disconnects. The pid file appears only once the socket listens.
 *
 * @param o - image, format, socket, pid file
 * @returns the argv
 * @example
 * ```ts
 * qemuNbdArgs({ path: admitted, format: 'qcow2', socket: '/tmp/x/s', pidFile: '/tmp/x/pid' }); // admitted: '/d/images/100/vm-100-disk-0.qcow2'
 * // ['qemu-nbd', '--read-only', '--shared=1', '--format=qcow2', '--socket=/tmp/x/s', '--pid-file=/tmp/x/pid', '/d/images/100/vm-100-disk-0.qcow2']
 * ```
 */
export function qemuNbdArgs(o: QemuNbdOptions): string[] {
  return ['qemu-nbd', '--read-only', '--shared=1', `--format=${o.format}`, `--socket=${o.socket}`, `--pid-file=${o.pidFile}`, qemuPath(o.path)];
}
