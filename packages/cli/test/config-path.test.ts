import { describe, expect, it } from 'vitest';
import { findConfigFile } from '../src/config-path.js';

describe('findConfigFile', () => {
  const files = new Set(['/work/storage.cfg', '/etc/stowage/storage.cfg', '/env/s.cfg']);
  const exists = (p: string) => files.has(p);
  it('takes --config first, relative to the working directory, even when missing', () => {
    expect(findConfigFile({ flag: 'new.cfg', env: { STOWAGE_CONFIG: '/env/s.cfg' }, cwd: '/work', exists })).toEqual({
      path: '/work/new.cfg',
      source: 'flag',
      exists: false,
    });
  });
  it('then $STOWAGE_CONFIG', () => {
    expect(findConfigFile({ env: { STOWAGE_CONFIG: '/env/s.cfg' }, cwd: '/work', exists })).toEqual({ path: '/env/s.cfg', source: 'env', exists: true });
  });
  it('then ./storage.cfg when it exists', () => {
    expect(findConfigFile({ env: {}, cwd: '/work', exists }).source).toBe('cwd');
  });
  it('then the system file', () => {
    expect(findConfigFile({ env: {}, cwd: '/elsewhere', exists })).toEqual({ path: '/etc/stowage/storage.cfg', source: 'system', exists: true });
    expect(findConfigFile({ env: { STOWAGE_CONFIG: '' }, cwd: '/elsewhere', exists: () => false }).exists).toBe(false);
  });
});
