import { describe, expect, it } from 'vitest';
import { formatTempName, namesInUse, parseTempName } from '../src/temp-name.js';

const OWNER = 'pve1:3f9a1c07:4711:123456';

describe('temporary names', () => {
  it('format and parse round-trip; the final name and the owner token come back whole', () => {
    const parts = { purpose: 'new', final: 'vm-100-disk-0.qcow2', owner: OWNER, nonce: 'a1b2c3' } as const;
    const name = formatTempName(parts);
    expect(name).toBe('.stowage-new~vm-100-disk-0.qcow2~pve1:3f9a1c07:4711:123456~a1b2c3');
    expect(parseTempName(name)).toEqual(parts);
    expect(parseTempName(formatTempName({ ...parts, purpose: 'attr', final: 'vzdump-qemu-100-2024_01_01-00_00_00.vma.zst.notes' }))?.final).toBe(
      'vzdump-qemu-100-2024_01_01-00_00_00.vma.zst.notes',
    );
  });

  it('reads nothing else as a temporary', () => {
    for (const name of [
      'vm-100-disk-0.qcow2',
      '.stowage-import-a1b2c3d4e5f6.tmp', // the old scheme: no owner
      '.stowage-new~vm-100-disk-0.qcow2~not-a-token~a1b2c3',
      '.stowage-new~vm-100-disk-0.qcow2~pve1:3f9a1c07:4711:123456',
      '.stowage-other~vm-100-disk-0.qcow2~pve1:3f9a1c07:4711:123456~a1b2c3',
      '.stowage-new~a/b~pve1:3f9a1c07:4711:123456~a1b2c3',
    ]) {
      expect(parseTempName(name), name).toBeUndefined();
    }
    expect(() => formatTempName({ purpose: 'new', final: 'a~b', owner: OWNER, nonce: 'a1b2c3' })).toThrow(TypeError);
    expect(() => formatTempName({ purpose: 'new', final: 'x', owner: 'bad token', nonce: 'a1b2c3' })).toThrow(TypeError);
  });

  it('names in use: every entry that is not a temporary, and the final names of live new/conv temporaries', () => {
    const live = (n: string) => `.stowage-new~${n}~${OWNER}~a1b2c3`;
    const dead = (n: string) => `.stowage-new~${n}~pve1:3f9a1c07:99:1~d0d0d0`;
    const entries = [
      'vm-100-disk-0.raw',
      'vm-100-disk-9.qcow2', // a directory or a symlink leading outside counts as well: any entry
      live('vm-100-disk-1.qcow2'),
      `.stowage-conv~vm-100-disk-2.vmdk~${OWNER}~a1b2c3`,
      `.stowage-attr~vm-100-disk-3.raw.notes~${OWNER}~a1b2c3`,
      dead('vm-100-disk-4.raw'),
      '.stowage-export-a1b2c3d4e5f6.tmp',
    ];
    const used = namesInUse(entries, (owner) => owner === OWNER);
    expect([...used].sort()).toEqual(['vm-100-disk-0.raw', 'vm-100-disk-1.qcow2', 'vm-100-disk-2.vmdk', 'vm-100-disk-9.qcow2']);
  });
});
