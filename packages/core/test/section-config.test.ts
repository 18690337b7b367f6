import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ConfigError,
  configToSection,
  formatStorageCfg,
  isStorageError,
  parseStorageCfg,
  readStorageConfigFile,
  sectionToConfig,
  writeStorageConfigFile,
} from '@stowage/core';

const fixture = readFileSync(new URL('./fixtures/storage.cfg', import.meta.url), 'utf8');

/** The fixture as it must come back: comment lines dropped, no blank line before the first section. */
function withoutComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/^\n+/, '');
}

function issuesOf(fn: () => unknown): { line?: number; message: string; path: readonly (string | number)[] }[] {
  try {
    fn();
  } catch (e) {
    expect(isStorageError(e, 'CONFIG_INVALID')).toBe(true);
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).issues];
  }
  throw new Error('expected a ConfigError');
}

describe('parseStorageCfg', () => {
  it('reads every section of a real storage.cfg with its options and lines', () => {
    const sections = parseStorageCfg(fixture);
    expect(sections.map((s) => `${s.type}:${s.storage}@${s.line}`)).toEqual([
      'dir:local@3',
      'lvmthin:local-lvm@8',
      'zfspool:tank@14',
      'drbd:drbdstorage@22',
      'dir:backup-nfs@30',
    ]);
    expect(sections[0]?.options).toEqual({ path: '/var/lib/vz', content: 'iso,vztmpl,backup', 'prune-backups': 'keep-last=3,keep-weekly=2' });
    expect(sections[2]?.options).toMatchObject({ pool: 'tank/vmdata', blocksize: '16k', nodes: 'pve1,pve2', sparse: '1' });
    // The comment inside the drbd section is skipped; it does not end the section.
    expect(sections[3]?.options).toEqual({
      content: 'images,rootdir',
      controller: '10.10.0.11,10.10.0.12,10.10.0.13',
      resourcegroup: 'pve-rg',
      preferlocal: 'yes',
      clusterlocktimeout: '120',
    });
    expect(sections[3]?.optionLines?.['controller']).toBe(25);
    // A bare key is a flag.
    expect(sections[4]?.options['disable']).toBe('');
    expect(sectionToConfig(sections[4]!)).toMatchObject({ type: 'dir', storage: 'backup-nfs', disable: true, shared: '1' });
  });

  it('round-trips the file: format(parse(text)) is the text without its comments', () => {
    const sections = parseStorageCfg(fixture);
    const text = formatStorageCfg(sections);
    expect(text).toBe(withoutComments(fixture));
    expect(parseStorageCfg(text).map(({ type, storage, options }) => ({ type, storage, options }))).toEqual(
      sections.map(({ type, storage, options }) => ({ type, storage, options })),
    );
  });

  it('accepts CRLF line ends, trailing blanks and several blank lines between sections', () => {
    const text = 'dir: a\r\n\tpath /a  \r\n\r\n\r\n\r\nzfspool: b\r\n    pool tank\r\n';
    expect(parseStorageCfg(text).map((s) => [s.storage, s.options])).toEqual([
      ['a', { path: '/a' }],
      ['b', { pool: 'tank' }],
    ]);
  });

  it('reports every bad line with its number', () => {
    const text = [
      'dir: local', //          1
      '\tpath /var/lib/vz', //  2
      '\tpath /again', //       3 duplicate
      '', //                    4
      '\tcontent images', //    5 outside a section
      'not a header', //        6
      'Dir: upper', //          7 bad type
      '\t=broken', //           8 bad key
      '', //                    9
      'dir: local', //         10 duplicate id
      '\tpath /x', //          11
    ].join('\n');
    const issues = issuesOf(() => parseStorageCfg(text));
    expect(issues.map((i) => i.line)).toEqual([3, 5, 6, 7, 8, 10]);
    expect(issues[0]?.path).toEqual(['local', 'path']);
  });

  it('reads an empty file as no sections', () => {
    expect(parseStorageCfg('')).toEqual([]);
    expect(parseStorageCfg('# only a comment\n\n')).toEqual([]);
  });
});

describe('formatStorageCfg and configToSection', () => {
  it('writes typed configs the way Proxmox does', () => {
    const section = configToSection({
      type: 'zfspool',
      storage: 'tank',
      pool: 'tank/vm',
      content: ['images', 'rootdir'],
      sparse: true,
      disable: true,
      blocksize: 16384,
      comment: undefined,
    });
    expect(formatStorageCfg([section])).toBe('zfspool: tank\n\tpool tank/vm\n\tcontent images,rootdir\n\tsparse 1\n\tdisable\n\tblocksize 16384\n\n');
    expect(configToSection({ type: 'dir', storage: 'x', disable: false }).options).toEqual({});
  });

  it('refuses values that would break the file', () => {
    const issues = issuesOf(() => formatStorageCfg([{ type: 'dir', storage: 'x', options: { path: '/a\nzfspool: evil' } }]));
    expect(issues[0]?.path).toEqual(['x', 'path']);
    issuesOf(() => formatStorageCfg([{ type: 'dir x', storage: 'x', options: {} }]));
    issuesOf(() => formatStorageCfg([{ type: 'dir', storage: 'a b', options: {} }]));
    issuesOf(() => configToSection({ type: 'dir', storage: 'x', nested: { a: 1 } }));
  });
});

describe('storage.cfg files', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-cfg-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a missing file as empty, and names the file on bad lines', async () => {
    expect(await readStorageConfigFile(join(dir, 'none.cfg'))).toEqual([]);
    const bad = join(dir, 'bad.cfg');
    await writeFile(bad, 'dir: a\n\tpath /a\n\tpath /b\n');
    const e = await readStorageConfigFile(bad).catch((x: unknown) => x);
    expect(isStorageError(e, 'CONFIG_INVALID')).toBe(true);
    expect((e as ConfigError).issues[0]?.line).toBe(3);
    expect((e as Error).message).toContain(bad);
  });

  it('writes atomically, keeps the mode, and leaves no temporary file', async () => {
    const file = join(dir, 'storage.cfg');
    await writeFile(file, fixture, { mode: 0o600 });
    const sections = await readStorageConfigFile(file);
    await writeStorageConfigFile(file, [...sections, configToSection({ type: 'dir', storage: 'scratch', path: '/scratch' })]);
    expect(await readFile(file, 'utf8')).toBe(`${withoutComments(fixture)}dir: scratch\n\tpath /scratch\n\n`);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['storage.cfg']);
  });

  it('keeps the old file when the new text cannot be written', async () => {
    const file = join(dir, 'storage.cfg');
    await writeFile(file, fixture);
    const e = await writeStorageConfigFile(file, [{ type: 'dir', storage: 'x', path: 'a\nb' }]).catch((x: unknown) => x);
    expect(isStorageError(e, 'CONFIG_INVALID')).toBe(true);
    expect(await readFile(file, 'utf8')).toBe(fixture);
    const e2 = await writeStorageConfigFile(join(dir, 'missing-dir', 'storage.cfg'), []).catch((x: unknown) => x);
    expect(isStorageError(e2)).toBe(true);
    expect(await readdir(dir)).toEqual(['storage.cfg']);
  });
});
