import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import {
  chattrImmutableArgs,
  preallocationFor,
  qemuImgCheckArgs,
  qemuImgConvertArgs,
  qemuImgCreateArgs,
  qemuImgInfoArgs,
  qemuImgResizeArgs,
  qemuImgSnapshotArgs,
} from '../src/commands.js';
import type { AdmittedPath } from '../src/gate.js';
import { parseQemuImgCheck, parseQemuImgInfo } from '../src/parse.js';
import { hasProtocol, qemuRelativeTo } from '../src/qemu-names.js';

const fixtures = join(import.meta.dirname, 'fixtures');
/** A path as the gate would hand it over (the gate itself is tested on real images). */
const at = (path: string): AdmittedPath => path as AdmittedPath;

describe('argv builders', () => {
  it('preallocation defaults as Proxmox: qcow2 metadata, raw off (metadata means off), vmdk none', () => {
    expect(preallocationFor(undefined, 'qcow2')).toBe('metadata');
    expect(preallocationFor('full', 'qcow2')).toBe('full');
    expect(preallocationFor(undefined, 'raw')).toBe('off');
    expect(preallocationFor('metadata', 'raw')).toBe('off');
    expect(preallocationFor('falloc', 'raw')).toBe('falloc');
    expect(preallocationFor('full', 'vmdk')).toBeUndefined();
  });

  it('qemu-img create for a plain image and for a linked clone', () => {
    expect(qemuImgCreateArgs({ format: 'qcow2', path: '/s/images/100/vm-100-disk-0.qcow2', size: 1 << 30, preallocation: 'metadata' })).toEqual([
      'qemu-img', 'create', '-f', 'qcow2', '-o', 'preallocation=metadata', '/s/images/100/vm-100-disk-0.qcow2', '1073741824',
    ]);
    expect(qemuImgCreateArgs({ format: 'vmdk', path: '/s/x.vmdk', size: 1024 })).toEqual(['qemu-img', 'create', '-f', 'vmdk', '/s/x.vmdk', '1024']);
    expect(
      qemuImgCreateArgs({ format: 'qcow2', path: '/s/images/101/vm-101-disk-0.qcow2', preallocation: 'off', backing: { file: '../100/base-100-disk-0.raw', format: 'raw' } }),
    ).toEqual([
      'qemu-img', 'create', '-F', 'raw', '-b', '../100/base-100-disk-0.raw', '-f', 'qcow2',
      '-o', 'extended_l2=on,cluster_size=128k,preallocation=off', '/s/images/101/vm-101-disk-0.qcow2',
    ]);
  });

  it('info, snapshot, resize, convert, check, chattr', () => {
    expect(qemuImgInfoArgs(at('/s/a.qcow2'), 'qcow2')).toEqual(['qemu-img', 'info', '--output=json', '-U', '-f', 'qcow2', '/s/a.qcow2']);
    expect(qemuImgSnapshotArgs('create', at('/s/a.qcow2'), 's1')).toEqual([
      'qemu-img', 'snapshot', '--image-opts', '-c', 's1', 'driver=qcow2,file.driver=file,file.filename=/s/a.qcow2',
    ]);
    expect(qemuImgSnapshotArgs('apply', at('/s/a,b.qcow2'), 's1')).toEqual([
      'qemu-img', 'snapshot', '--image-opts', '-a', 's1', 'driver=qcow2,file.driver=file,file.filename=/s/a,,b.qcow2',
    ]);
    expect(qemuImgSnapshotArgs('delete', at('/s/a.qcow2'), 's1')[3]).toBe('-d');
    expect(qemuImgResizeArgs({ path: at('/s/a.raw'), format: 'raw', size: 2048, preallocation: 'off' })).toEqual([
      'qemu-img', 'resize', '--preallocation=off', '-f', 'raw', '/s/a.raw', '2048',
    ]);
    expect(qemuImgConvertArgs({ source: at('/t'), sourceFormat: 'raw', target: '/s/a.qcow2', targetFormat: 'qcow2', preallocation: 'metadata' })).toEqual([
      'qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', '-o', 'preallocation=metadata', '/t', '/s/a.qcow2',
    ]);
    expect(qemuImgCheckArgs(at('/s/a.qcow2'), 'qcow2')).toEqual(['qemu-img', 'check', '--output=json', '-f', 'qcow2', '/s/a.qcow2']);
    expect(chattrImmutableArgs(true, '/s/b')).toEqual(['chattr', '+i', '/s/b']);
    expect(chattrImmutableArgs(false, '/s/b')).toEqual(['chattr', '-i', '/s/b']);
  });

  it('every builder refuses a path that is not absolute, so QEMU never reads a protocol out of one of our names', () => {
    for (const bad of ['vm-100-disk-0.qcow2', 'file:/etc/shadow', 'json:{}', 'nbd:localhost:10809', './a', '']) {
      const admitted = bad as AdmittedPath;
      const builders: Record<string, () => unknown> = {
        create: () => qemuImgCreateArgs({ format: 'qcow2', path: bad, size: 1024 }),
        info: () => qemuImgInfoArgs(admitted, 'qcow2'),
        snapshot: () => qemuImgSnapshotArgs('create', admitted, 's1'),
        resize: () => qemuImgResizeArgs({ path: admitted, format: 'raw', size: 2048 }),
        convertSource: () => qemuImgConvertArgs({ source: admitted, sourceFormat: 'raw', target: '/s/a.qcow2', targetFormat: 'qcow2' }),
        convertTarget: () => qemuImgConvertArgs({ source: '/s/a.raw' as AdmittedPath, sourceFormat: 'raw', target: bad, targetFormat: 'qcow2' }),
        check: () => qemuImgCheckArgs(admitted, 'qcow2'),
        chattr: () => chattrImmutableArgs(true, bad),
      };
      for (const [name, build] of Object.entries(builders)) {
        let err: unknown;
        try {
          build();
        } catch (e) {
          err = e;
        }
        expect(isStorageError(err, 'INTERNAL'), `${name} with '${bad}'`).toBe(true);
      }
    }
  });

  it('a linked clone\'s backing name must be a file name QEMU reads as one', () => {
    for (const backing of ['file:/x', 'json:{"file":{}}', 'nbd:h:1', 'http://h/x', 'caf\u00e9.raw']) {
      expect(() => qemuImgCreateArgs({ format: 'qcow2', path: '/s/a.qcow2', backing: { file: backing, format: 'raw' } }), backing).toThrow();
    }
  });
});

describe('QEMU\'s reading of names', () => {
  it('a protocol is what comes before a ":" that precedes every "/"', () => {
    const cases: [string, boolean][] = [
      ['file:/x', true],
      ['json:{"file":{"driver":"file","filename":"/x"}}', true],
      ['nbd:127.0.0.1:10809', true],
      ['nbd+unix:///e?socket=/s', true],
      ['http://h/x', true],
      ['https://h/x', true],
      ['x:y', true],
      [':x', true],
      ['/abs/a:b', false],
      ['./a:b', false],
      ['../100/base-100-disk-0.qcow2', false],
      ['vm-100-disk-0.raw', false],
      ['', false],
    ];
    for (const [name, expected] of cases) expect(hasProtocol(name), name).toBe(expected);
  });

  it('a relative name is joined to the image\'s directory as text, leaving ".." to the kernel', () => {
    expect(qemuRelativeTo('/s/images/101/vm-101-disk-0.qcow2', '../100/base.qcow2')).toBe('/s/images/101/../100/base.qcow2');
    expect(qemuRelativeTo('/s/images/101/../100/base.qcow2', 'b.raw')).toBe('/s/images/101/../100/b.raw');
    expect(qemuRelativeTo('/s/a.qcow2', '/abs/b.raw')).toBe('/abs/b.raw');
  });
});

describe('parsers of recorded qemu-img output', () => {
  it('qemu-img info with snapshots', async () => {
    const info = parseQemuImgInfo(await readFile(join(fixtures, 'qemu-img-info-snapshots.json'), 'utf8'));
    expect(info).toMatchObject({ virtualSize: 16 << 20, format: 'qcow2', backingFile: undefined, dataFile: undefined });
    expect(info.snapshots.map((s) => [s.name, s.id])).toEqual([
      ['first', '1'],
      ['second', '2'],
    ]);
    expect(info.snapshots.every((s) => Number.isInteger(s.timestamp) && (s.timestamp ?? 0) > 1_600_000_000)).toBe(true);
  });

  it('qemu-img info of a linked clone, a data-file image and a multi-extent vmdk', async () => {
    const clone = parseQemuImgInfo(await readFile(join(fixtures, 'qcow2-v3-backing.info.json'), 'utf8'));
    expect(clone).toMatchObject({ backingFile: '../100/base-100-disk-1.qcow2', backingFormat: 'qcow2', snapshots: [] });
    expect(parseQemuImgInfo(await readFile(join(fixtures, 'qcow2-v3-data-file.info.json'), 'utf8')).dataFile).toBe('data.raw');
    expect(parseQemuImgInfo(await readFile(join(fixtures, 'vmdk-two-extents.info.json'), 'utf8')).extentCount).toBe(2);
  });

  it('qemu-img check, clean and truncated', async () => {
    expect(parseQemuImgCheck(await readFile(join(fixtures, 'qemu-img-check-clean.json'), 'utf8'))).toMatchObject({ corruptions: 0, checkErrors: 0 });
    expect((await readFile(join(fixtures, 'qemu-img-check-truncated.json'), 'utf8')).length).toBeGreaterThan(0);
    expect(parseQemuImgCheck(await readFile(join(fixtures, 'qemu-img-check-truncated.json'), 'utf8')).corruptions).toBeGreaterThan(0);
  });

  it('refuses output that is not the expected JSON with COMMAND_FAILED', () => {
    for (const text of ['', 'not json', '{"format":"qcow2"}', '[]', '{"virtual-size":-1,"format":"raw"}']) {
      let err: unknown;
      try {
        parseQemuImgInfo(text);
      } catch (e) {
        err = e;
      }
      expect(isStorageError(err, 'COMMAND_FAILED')).toBe(true);
    }
    expect(() => parseQemuImgCheck('{}')).toThrow();
  });
});
