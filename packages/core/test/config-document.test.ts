/**
 * storage.cfg as a document (issue 11, items 9 and 10): comments and untouched sections survive
 * every change byte for byte, and bad sections are reported without being dropped.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  addStorageCfgSection,
  isStorageError,
  parseStorageCfgDocument,
  removeStorageCfgSection,
  updateStorageCfgSection,
} from '@stowage/core';

/** A three-node cluster's storage.cfg, with comments before, inside and between sections. */
const fixture = readFileSync(new URL('./fixtures/storage.cfg', import.meta.url), 'utf8');

function lines(text: string): string[] {
  return text.split('\n');
}

/** The text of one section (header to the line before the next blank), as in the file. */
function sectionText(text: string, id: string): string {
  const all = lines(text);
  const start = all.findIndex((l) => l.endsWith(`: ${id}`));
  const end = all.findIndex((l, i) => i > start && l.trim() === '');
  return all.slice(start, end === -1 ? undefined : end).join('\n');
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return isStorageError(e) ? e.code : String(e);
  }
  return 'returned';
}

describe('parseStorageCfgDocument', () => {
  it('finds each section of a real storage.cfg with where it stands, and no issues', () => {
    const doc = parseStorageCfgDocument(fixture);
    expect(doc.sections.map((s) => [s.storage, s.first, s.last])).toEqual([
      ['local', 2, 5],
      ['local-lvm', 7, 10],
      ['tank', 13, 19],
      ['drbdstorage', 21, 27],
      ['backup-nfs', 29, 35],
    ]);
    expect(doc.issues).toEqual([]);
    expect(doc.sections.flatMap((s) => s.issues)).toEqual([]);
    expect(doc.lines.join('')).toBe(fixture);
  });

  it('reports bad sections and stray lines without dropping any line', () => {
    const text = 'dir: good\n\tpath /a\n\ndir: twice\n\tpath /b\n\tpath /c\n\nnot a header\n\tstray x\n\nDir: upper\n\tpath /d\n\ndir: good\n\tpath /e\n';
    const doc = parseStorageCfgDocument(text);
    expect(doc.sections.map((s) => [s.storage, s.issues.map((i) => i.line)])).toEqual([
      ['good', []],
      ['twice', [6]],
      ['upper', [11]],
      ['good', [14]],
    ]);
    expect(doc.issues.map((i) => i.line)).toEqual([8, 9]);
    expect(doc.lines.join('')).toBe(text);
  });
});

describe('updateStorageCfgSection', () => {
  it('changes one option line in place; every other byte of the file stays', () => {
    const doc = parseStorageCfgDocument(fixture);
    const out = updateStorageCfgSection(doc, 'tank', { blocksize: '32k' });
    expect(out).toBe(fixture.replace('\tblocksize 16k\n', '\tblocksize 32k\n'));
  });

  it('keeps a comment inside the section where it was, adds new options after the last option, and removes deleted ones', () => {
    const doc = parseStorageCfgDocument(fixture);
    const out = updateStorageCfgSection(doc, 'drbdstorage', { controller: '10.10.0.12', disable: '' }, ['preferlocal']);
    expect(sectionText(out, 'drbdstorage')).toBe(
      [
        'drbd: drbdstorage',
        '\tcontent images,rootdir',
        '\t# controllers in failover order',
        '\tcontroller 10.10.0.12',
        '\tresourcegroup pve-rg',
        '\tclusterlocktimeout 120',
        '\tdisable',
      ].join('\n'),
    );
    for (const id of ['local', 'local-lvm', 'tank', 'backup-nfs']) expect(sectionText(out, id)).toBe(sectionText(fixture, id));
    expect(lines(out).filter((l) => l.includes('#'))).toEqual(lines(fixture).filter((l) => l.includes('#')));
  });

  it('keeps the indentation of the line it replaces, and repairs a key given twice', () => {
    const text = 'dir: x\n    path /a\n    content images\n    content iso\n';
    const out = updateStorageCfgSection(parseStorageCfgDocument(text), 'x', { content: 'backup', format: 'raw' });
    expect(out).toBe('dir: x\n    path /a\n    content backup\n    format raw\n');
    expect(parseStorageCfgDocument(out).sections[0]?.issues).toEqual([]);
  });

  it('keeps CRLF line ends and a last line without one', () => {
    const text = 'dir: x\r\n\tpath /a\r\n\r\ndir: y\r\n\tpath /b';
    expect(updateStorageCfgSection(parseStorageCfgDocument(text), 'x', { format: 'raw' })).toBe('dir: x\r\n\tpath /a\r\n\tformat raw\r\n\r\ndir: y\r\n\tpath /b');
    expect(updateStorageCfgSection(parseStorageCfgDocument(text), 'y', { format: 'raw' })).toBe('dir: x\r\n\tpath /a\r\n\r\ndir: y\r\n\tpath /b\r\n\tformat raw\r\n');
  });

  it('refuses values that would break the file, and unknown storages', () => {
    const doc = parseStorageCfgDocument(fixture);
    expect(codeOf(() => updateStorageCfgSection(doc, 'tank', { pool: 'a\nzfspool: evil' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => updateStorageCfgSection(doc, 'tank', { pool: ' padded' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => updateStorageCfgSection(doc, 'nosuch', { pool: 'x' }))).toBe('NOT_FOUND');
  });
});

describe('addStorageCfgSection and removeStorageCfgSection', () => {
  it('adds after the last section, before comments that end the file, and removing it gives the text back', () => {
    const base = `${fixture.trimEnd()}\n`;
    const text = `${base}\n# retired storages:\n#dir: old\n#\tpath /srv/old\n`;
    const doc = parseStorageCfgDocument(text);
    const added = addStorageCfgSection(doc, { type: 'dir', storage: 'scratch', options: { path: '/srv/scratch', content: 'images' } });
    expect(added).toBe(`${base}\ndir: scratch\n\tpath /srv/scratch\n\tcontent images\n\n# retired storages:\n#dir: old\n#\tpath /srv/old\n`);
    expect(removeStorageCfgSection(parseStorageCfgDocument(added), 'scratch')).toBe(text);
    expect(codeOf(() => addStorageCfgSection(doc, { type: 'dir', storage: 'tank', options: {} }))).toBe('ALREADY_EXISTS');
  });

  it('writes a new file in the standard layout, after a leading comment when there is one', () => {
    const one = addStorageCfgSection(parseStorageCfgDocument(''), { type: 'dir', storage: 'a', options: { path: '/a' } });
    expect(one).toBe('dir: a\n\tpath /a\n');
    expect(addStorageCfgSection(parseStorageCfgDocument(one), { type: 'dir', storage: 'b', options: { path: '/b' } })).toBe('dir: a\n\tpath /a\n\ndir: b\n\tpath /b\n');
    expect(addStorageCfgSection(parseStorageCfgDocument('# mine'), { type: 'dir', storage: 'a', options: { path: '/a' } })).toBe('# mine\n\ndir: a\n\tpath /a\n');
  });

  it('removes a section in the middle with its inside comments, keeping the comment before the next one', () => {
    const out = removeStorageCfgSection(parseStorageCfgDocument(fixture), 'drbdstorage');
    expect(out).not.toContain('drbd');
    expect(out).not.toContain('# controllers in failover order');
    expect(out).toContain('# ZFS mirror on pve1 and pve2 only\nzfspool: tank');
    expect(out).toContain('\tsparse 1\n\ndir: backup-nfs\n');
    expect(out.startsWith(fixture.slice(0, fixture.indexOf('drbd: ')))).toBe(true);
  });

  it('removes a bad section and every duplicate of an id', () => {
    const text = 'dir: a\n\tpath /a\n\tcolour blue\n\ndir: b\n\tpath /b\n\ndir: a\n\tpath /c\n';
    expect(removeStorageCfgSection(parseStorageCfgDocument(text), 'a')).toBe('dir: b\n\tpath /b\n');
    expect(codeOf(() => removeStorageCfgSection(parseStorageCfgDocument(text), 'nosuch'))).toBe('NOT_FOUND');
  });
});
