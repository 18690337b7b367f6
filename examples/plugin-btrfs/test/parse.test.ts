import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { parseSubvolumeShow } from '../src/parse.js';
import { setReadonlyArgs, subvolumeCreateArgs, subvolumeDeleteArgs, subvolumeSnapshotArgs } from '../src/commands.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');

describe('parseSubvolumeShow (output of btrfs-progs 6.2)', () => {
  it('reads a subvolume with snapshots', () => {
    expect(parseSubvolumeShow(fixture('subvolume-show-origin.txt'))).toEqual({
      uuid: '3ad5b29c-df66-5345-b799-d6770872963b',
      parentUuid: undefined,
      readonly: false,
      id: 256,
      created: Date.parse('2026-11-21T10:50:54Z') / 1000,
    });
  });
  it('reads a read-only snapshot and its parent', () => {
    expect(parseSubvolumeShow(fixture('subvolume-show-snapshot.txt'))).toMatchObject({
      uuid: 'eb155da1-55ad-2e4a-9ce5-b9194597ae24',
      parentUuid: '3ad5b29c-df66-5345-b799-d6770872963b',
      readonly: true,
      id: 257,
    });
  });
  it('refuses output without a UUID as CORRUPT', () => {
    let caught: unknown;
    try {
      parseSubvolumeShow('ERROR: not a subvolume\n');
    } catch (e) {
      caught = e;
    }
    expect(isStorageError(caught, 'CORRUPT')).toBe(true);
  });
});

describe('argv builders', () => {
  it('end options with -- before paths', () => {
    expect(subvolumeCreateArgs('/p/x')).toEqual(['btrfs', '-q', 'subvolume', 'create', '--', '/p/x']);
    expect(subvolumeSnapshotArgs('/a', '/b', true)).toEqual(['btrfs', '-q', 'subvolume', 'snapshot', '-r', '--', '/a', '/b']);
    expect(subvolumeSnapshotArgs('/a', '/b', false)).toEqual(['btrfs', '-q', 'subvolume', 'snapshot', '--', '/a', '/b']);
    expect(subvolumeDeleteArgs(['/a@s', '/a'])).toEqual(['btrfs', '-q', 'subvolume', 'delete', '--', '/a@s', '/a']);
    expect(setReadonlyArgs('/a', true)).toEqual(['btrfs', 'property', 'set', '-ts', '/a', 'ro', 'true']);
  });
});
