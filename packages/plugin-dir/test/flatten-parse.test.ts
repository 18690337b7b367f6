/**
 * The pieces of flattening that read or build text, on output captured from the real qemu-img
 * (fixtures/capture.sh): `qemu-img convert -p` progress, the qcow2 snapshot table, and the
 * convert/resize argv.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { qemuImgConvertArgs, qemuImgResizeArgs } from '../src/commands.js';
import { parseQcow2SnapshotTable } from '../src/formats/qcow2-snapshots.js';
import type { AdmittedPath } from '../src/gate.js';
import { parseQemuImgProgress } from '../src/parse.js';

const fixtures = join(import.meta.dirname, 'fixtures');
const at = (path: string): AdmittedPath => path as AdmittedPath;
const MiB = 1024 * 1024;

describe('qemu-img convert -p output', () => {
  it('reads the last percentage of carriage-return separated progress lines', async () => {
    const text = await readFile(join(fixtures, 'qemu-img-convert-progress.txt'), 'latin1');
    expect(parseQemuImgProgress(text)).toBe(100);
    const lines = text.split('\r').filter((l) => l !== '');
    expect(lines.map((l) => parseQemuImgProgress(l))).toEqual([...lines.map((l) => parseQemuImgProgress(l))].sort((a, b) => a! - b!));
    expect(parseQemuImgProgress(lines[1] ?? '')).toBeGreaterThan(0);
    expect(parseQemuImgProgress('')).toBeUndefined();
    expect(parseQemuImgProgress('    (12.')).toBeUndefined();
  });
});

describe('the qcow2 snapshot table', () => {
  it('v3: names and ids as qemu-img info lists them, and the virtual size each snapshot was taken at', async () => {
    const table = await readFile(join(fixtures, 'qcow2-snapshots-v3.table'));
    const info = JSON.parse(await readFile(join(fixtures, 'qcow2-snapshots-v3.info.json'), 'utf8')) as { snapshots: { id: string; name: string }[] };
    const r = parseQcow2SnapshotTable(table, 2);
    expect(r).toEqual({
      status: 'ok',
      snapshots: [
        { id: '1', name: 'first', diskSize: 16 * MiB },
        { id: '2', name: 'second, with comma', diskSize: 32 * MiB },
      ],
    });
    expect(r.status === 'ok' && r.snapshots.map((s) => [s.id, s.name])).toEqual(info.snapshots.map((s) => [s.id, s.name]));
  });

  it('v2 (compat=0.10) as qemu-img 7.2 writes it', async () => {
    const r = parseQcow2SnapshotTable(await readFile(join(fixtures, 'qcow2-snapshots-v2.table')), 1);
    expect(r).toEqual({ status: 'ok', snapshots: [{ id: '1', name: 'old', diskSize: 16 * MiB }] });
  });

  it('a table cut inside an entry asks for more bytes; an entry without the size field has none', async () => {
    const table = await readFile(join(fixtures, 'qcow2-snapshots-v3.table'));
    expect(parseQcow2SnapshotTable(table.subarray(0, 20), 1)).toEqual({ status: 'short', need: 40 });
    expect(parseQcow2SnapshotTable(table.subarray(0, 60), 1)).toEqual({ status: 'short', need: 70 });
    // the first entry with its extra data cut to 8 bytes (no disk size), id and name moved up
    const entry = Buffer.concat([table.subarray(0, 48), table.subarray(64, 70)]);
    entry.writeUInt32BE(8, 36);
    expect(parseQcow2SnapshotTable(entry, 1)).toEqual({ status: 'ok', snapshots: [{ id: '1', name: 'first', diskSize: undefined }] });
  });
});

describe('flatten argv', () => {
  it('convert of a snapshot into a linked clone of the same base, with progress; resize --shrink', () => {
    expect(
      qemuImgConvertArgs({
        source: at('/s/images/101/vm-101-disk-0.qcow2'),
        sourceFormat: 'qcow2',
        target: '/s/images/101/.t',
        targetFormat: 'qcow2',
        preallocation: 'metadata',
        snapshot: 'a,b',
        backing: { file: '../100/base-100-disk-0.qcow2', format: 'qcow2' },
        progress: true,
      }),
    ).toEqual([
      'qemu-img', 'convert', '-p', '-f', 'qcow2', '-O', 'qcow2', '-l', 'snapshot.name=a,,b',
      '-B', '../100/base-100-disk-0.qcow2', '-F', 'qcow2', '-o', 'extended_l2=on,cluster_size=128k,preallocation=metadata',
      '/s/images/101/vm-101-disk-0.qcow2', '/s/images/101/.t',
    ]);
    expect(() => qemuImgConvertArgs({ source: at('/s/a'), sourceFormat: 'qcow2', target: '/s/b', targetFormat: 'qcow2', backing: { file: 'nbd:x', format: 'raw' } })).toThrow();
    expect(qemuImgResizeArgs({ path: at('/s/a.qcow2'), format: 'qcow2', size: 4096, shrink: true })).toEqual(['qemu-img', 'resize', '--shrink', '-f', 'qcow2', '/s/a.qcow2', '4096']);
  });
});
