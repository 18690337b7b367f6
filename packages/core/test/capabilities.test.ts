import { describe, expect, it } from 'vitest';
import { API_VERSION, assertCompatibleApi, hasFeature, isStorageError, type FeatureMatrix } from '../src/index.js';

const dirLike: FeatureMatrix = {
  snapshot: { current: ['qcow2'], snap: ['qcow2'] },
  clone: { base: ['qcow2', 'raw', 'vmdk'] },
  copy: { base: ['qcow2', 'raw', 'vmdk'], current: ['qcow2', 'raw', 'vmdk'], snap: ['qcow2'] },
};

describe('hasFeature', () => {
  it('keys by snap, then base, then current', () => {
    expect(hasFeature(dirLike, { feature: 'snapshot', format: 'qcow2', isBase: false })).toBe(true);
    expect(hasFeature(dirLike, { feature: 'snapshot', format: 'raw', isBase: false })).toBe(false);
    expect(hasFeature(dirLike, { feature: 'clone', format: 'raw', isBase: true })).toBe(true);
    expect(hasFeature(dirLike, { feature: 'clone', format: 'qcow2', isBase: false })).toBe(false);
    expect(hasFeature(dirLike, { feature: 'copy', format: 'raw', isBase: true, snapshot: 's1' })).toBe(false);
    expect(hasFeature(dirLike, { feature: 'copy', format: 'qcow2', isBase: false, snapshot: 's1' })).toBe(true);
    expect(hasFeature(dirLike, { feature: 'rename', format: 'qcow2', isBase: false })).toBe(false);
  });
});

describe('assertCompatibleApi', () => {
  it('accepts versions inside the window and refuses the rest', () => {
    expect(() => assertCompatibleApi('x', API_VERSION)).not.toThrow();
    expect(() => assertCompatibleApi('x', 9, { version: 15, age: 6 })).not.toThrow();
    for (const v of [8, 16, 1.5, Number.NaN]) {
      try {
        assertCompatibleApi('x', v, { version: 15, age: 6 });
        expect.unreachable(`version ${v} accepted`);
      } catch (e) {
        expect(isStorageError(e, 'API_VERSION_MISMATCH')).toBe(true);
      }
    }
  });
});
