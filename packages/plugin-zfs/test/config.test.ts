import { loadConfigSchema, validateStorageConfig } from '@stowage/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { blockSizeBytes, poolNameProblem, zfsPoolConfigSchema } from '../src/config-schema.js';
import { ZfsPoolPlugin } from '../src/zfs-plugin.js';

const base = { type: 'zfspool', storage: 'local-zfs', pool: 'rpool/data' };

describe('zfspool config', () => {
  // validateStorageConfig is synchronous: the plugin's schema, given as a loader, is loaded first
  beforeAll(() => loadConfigSchema(ZfsPoolPlugin));

  it('accepts the options Proxmox writes, in file form', () => {
    const c = validateStorageConfig(ZfsPoolPlugin, { ...base, sparse: '1', blocksize: '16k', content: 'images,rootdir', mountpoint: '/rpool/data', nodes: 'pve1,pve2', disable: '0' });
    expect(c).toMatchObject({ pool: 'rpool/data', sparse: true, blocksize: '16k', content: ['images', 'rootdir'], mountpoint: '/rpool/data', nodes: ['pve1', 'pve2'], disable: false });
  });

  it('keeps a numeric block size as text (bytes)', () => {
    expect(zfsPoolConfigSchema.parse({ ...base, blocksize: 8192 }).blocksize).toBe('8192');
  });

  it.each([
    ['an unknown key', { bwlimit2: 'x' }],
    ['a pool with a space', { pool: 'rpool data' }],
    ['a pool with a snapshot', { pool: 'rpool@x' }],
    ['a pool with //', { pool: 'rpool//data' }],
    ['a pool with ..', { pool: 'rpool/../etc' }],
    ['a pool starting with a digit', { pool: '1pool' }],
    ['a reserved pool name', { pool: 'mirror/x' }],
    ['a raidz pool name', { pool: 'raidz2' }],
    ['a block size that is not a power of two', { blocksize: '12k' }],
    ['a block size too small', { blocksize: '256' }],
    ['a block size too large', { blocksize: '32m' }],
    ['a block size with a bad unit', { blocksize: '16g' }],
    ['content iso', { content: 'images,iso' }],
    ['shared', { shared: '1' }],
    ['a relative mountpoint', { mountpoint: 'rpool/data' }],
    ['a mountpoint with a space', { mountpoint: '/a b' }],
  ])('refuses %s with CONFIG_INVALID', (_label, change) => {
    expect(() => validateStorageConfig(ZfsPoolPlugin, { ...base, ...change })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('requires the pool', () => {
    const { pool: _pool, ...rest } = base;
    expect(() => validateStorageConfig(ZfsPoolPlugin, rest)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('parses block sizes', () => {
    expect(blockSizeBytes('512')).toBe(512);
    expect(blockSizeBytes('16K')).toBe(16384);
    expect(blockSizeBytes('1m')).toBe(1048576);
    expect(blockSizeBytes('0')).toBeUndefined();
    expect(blockSizeBytes('1.5k')).toBeUndefined();
  });

  it('tells what is wrong with a pool name', () => {
    expect(poolNameProblem('tank')).toBeUndefined();
    expect(poolNameProblem('tank/a_b.c:d-e')).toBeUndefined();
    expect(poolNameProblem('tank/')).toBeDefined();
    expect(poolNameProblem('c0t0d0')).toBeDefined();
  });
});
