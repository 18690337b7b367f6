import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { formatSize, parseSize, parseSizeSpec } from '../src/sizes.js';

const G = 1024 ** 3;

describe('parseSize', () => {
  it.each([
    ['4G', 4 * G],
    ['512M', 512 * 1024 ** 2],
    ['512m', 512 * 1024 ** 2],
    ['10240', 10240],
    ['1K', 1024],
    ['1KiB', 1024],
    ['2GB', 2 * G],
    ['1.5G', 1.5 * G],
    ['1T', 1024 ** 4],
    ['1P', 1024 ** 5],
    [' 4G ', 4 * G],
  ])('%s is %d bytes', (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(['', '0', '0G', '-1G', '4X', 'G', '1.5', '0.1K', '4 G G', '1e3', '9999999P', '+1G', '1,5G', '0x10'])(
    'refuses %j with INVALID_ARGUMENT',
    (text) => {
      let caught: unknown;
      try {
        parseSize(text);
      } catch (e) {
        caught = e;
      }
      expect(isStorageError(caught, 'INVALID_ARGUMENT')).toBe(true);
    },
  );
});

describe('parseSizeSpec', () => {
  it('reads +1G as growth', () => {
    expect(parseSizeSpec('+1G')).toEqual({ relative: true, bytes: G });
  });
  it('reads 8G as an absolute size', () => {
    expect(parseSizeSpec('8G')).toEqual({ relative: false, bytes: 8 * G });
  });
  it('refuses a relative shrink', () => {
    expect(() => parseSizeSpec('-1G')).toThrow(/negative/);
  });
  it('refuses +0', () => {
    expect(() => parseSizeSpec('+0')).toThrow(/greater than zero/);
  });
});

describe('formatSize', () => {
  it.each([
    [0, '0B'],
    [1023, '1023B'],
    [1024, '1.0K'],
    [4 * G, '4.0G'],
    [1.5 * G, '1.5G'],
    [200 * G, '200G'],
    [-1, '-'],
  ])('%d is %s', (bytes, text) => {
    expect(formatSize(bytes)).toBe(text);
  });
});
