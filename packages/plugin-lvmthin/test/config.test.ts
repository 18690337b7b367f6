import { fixedKeys } from '@stowage/core/config';
import { describe, expect, it } from 'vitest';
import { lvmThinConfigSchema } from '../src/config-schema.js';

describe('lvmThinConfigSchema', () => {
  const base = { type: 'lvmthin', storage: 'thin', vgname: 'pve', thinpool: 'data' };

  it('accepts the Proxmox options, in object and file form', () => {
    expect(lvmThinConfigSchema.parse(base)).toEqual(base);
    expect(lvmThinConfigSchema.parse({ ...base, content: 'images,rootdir', nodes: 'pve1,pve2', disable: '1' })).toEqual({
      ...base,
      content: ['images', 'rootdir'],
      nodes: ['pve1', 'pve2'],
      disable: true,
    });
  });

  it('fixes vgname and thinpool', () => {
    expect(fixedKeys(lvmThinConfigSchema).sort()).toEqual(['thinpool', 'vgname']);
  });

  it.each([
    [{ ...base, type: 'lvm' }],
    [{ ...base, vgname: undefined }],
    [{ ...base, thinpool: undefined }],
    [{ ...base, vgname: '-pve' }],
    [{ ...base, vgname: 'p ve' }],
    [{ ...base, thinpool: 'a/b' }],
    [{ ...base, thinpool: '..' }],
    [{ ...base, shared: true }],
    [{ ...base, shared: '1' }],
    [{ ...base, path: '/x' }],
    [{ ...base, content: 'iso' + ',nope' }],
  ])('rejects %j', (config) => {
    expect(lvmThinConfigSchema.safeParse(config).success).toBe(false);
  });

  it('allows shared: false', () => {
    expect(lvmThinConfigSchema.parse({ ...base, shared: '0' })).toEqual({ ...base, shared: false });
  });
});
