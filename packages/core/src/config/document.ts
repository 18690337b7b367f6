/**
 * `storage.cfg` as a document: its sections with the lines they stand on, so that a change to
 * one storage rewrites only that storage's lines. Comments, blank lines, other storages'
 * sections and even lines that do not parse are written back exactly as they were read.
 *
 * A section runs from its `<type>: <id>` header to its last option line; comment lines between
 * its option lines belong to it. Comments and blank lines outside that range (before a section,
 * after its last option, at the end of the file) belong to no section and are never touched.
 *
 * @module
 */
import { ConfigError, StorageError, type ConfigIssue } from '../errors.js';

/** One section of a `storage.cfg` file, values as raw text. */
export interface StorageCfgSection {
  /** The storage type from the header, e.g. `dir`. */
  readonly type: string;
  /** The storage id from the header, e.g. `local`. */
  readonly storage: string;
  /** The options in file order; a key written alone (a flag such as `disable`) has the value `''`. */
  readonly options: Record<string, string>;
  /** The 1-based line of the header (0 for sections not read from a file). */
  readonly line: number;
  /** The 1-based line of each option, when read from a file. */
  readonly optionLines?: Readonly<Record<string, number>>;
}

/** One section of a parsed {@link StorageCfgDocument}. */
export interface StorageCfgDocumentSection extends StorageCfgSection {
  /** What is wrong with this section: a bad type, a line that is not `key [value]`, a key given twice, an id used before. */
  readonly issues: readonly ConfigIssue[];
  /** The 0-based index of the header line. */
  readonly first: number;
  /** The 0-based index of the section's last option line (of the header when it has none). */
  readonly last: number;
  /** The 0-based indexes of each key's lines, in file order (a key given twice has two). */
  readonly keyLines: Readonly<Record<string, readonly number[]>>;
}

/** The text of a `storage.cfg` file, split into lines and sections. */
export interface StorageCfgDocument {
  /** Every line with its line ending (the last may have none). */
  readonly lines: readonly string[];
  /** The sections in file order, bad ones included. */
  readonly sections: readonly StorageCfgDocumentSection[];
  /** Lines that belong to no section and are not comments or blank (each also stays in the file). */
  readonly issues: readonly ConfigIssue[];
  /** The line ending new lines get: `\r\n` when the file uses it, else `\n`. */
  readonly eol: string;
}

const HEADER_RE = /^(\S+):\s*(\S+)\s*$/;
const TYPE_RE = /^[a-z][a-z0-9]*$/;
const KEY_RE = /^[a-z][a-z0-9_-]*$/i;
const OPTION_RE = /^\s+(\S+)(?:\s+(.*\S))?\s*$/;
const COMMENT_RE = /^\s*#/;
const BLANK_RE = /^\s*$/;

/** A section while it is being read. */
interface Building {
  type: string;
  storage: string;
  options: Record<string, string>;
  line: number;
  optionLines: Record<string, number>;
  issues: ConfigIssue[];
  first: number;
  last: number;
  keyLines: Record<string, number[]>;
}

function content(line: string): string {
  return line.replace(/\r?\n$/, '');
}

function isBlank(line: string | undefined): boolean {
  return line !== undefined && BLANK_RE.test(content(line));
}

/**
 * Parses `storage.cfg` text without giving up on bad lines: every problem is reported on the
 * section it belongs to (or on the document, for lines outside any section), and every line is
 * kept, so that the document can be written back with only the intended change.
 *
 * @param text - the file's contents
 * @returns the document
 * @example
 * ```ts
 * const doc = parseStorageCfgDocument('# mine\ndir: local\n\tpath /var/lib/vz\n');
 * doc.sections[0]; // { type: 'dir', storage: 'local', options: { path: '/var/lib/vz' }, issues: [], first: 1, last: 2, ... }
 * ```
 * @see Proxmox `PVE::SectionConfig::parse_config` (which skips a bad section with a warning)
 */
export function parseStorageCfgDocument(text: string): StorageCfgDocument {
  const lines = text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const sections: Building[] = [];
  const issues: ConfigIssue[] = [];
  const seenIds = new Map<string, number>();
  let current: Building | undefined;

  lines.forEach((rawLine, i) => {
    const raw = content(rawLine);
    const line = i + 1;
    if (COMMENT_RE.test(raw)) return;
    if (BLANK_RE.test(raw)) {
      current = undefined;
      return;
    }
    if (!/^\s/.test(raw)) {
      const m = HEADER_RE.exec(raw);
      if (!m) {
        issues.push({ path: [], line, message: `expected a section header '<type>: <id>', got '${raw}'` });
        current = undefined;
        return;
      }
      const [, type = '', storage = ''] = m;
      const own: ConfigIssue[] = [];
      if (!TYPE_RE.test(type)) own.push({ path: [storage], line, message: `invalid storage type '${type}'` });
      const earlier = seenIds.get(storage);
      if (earlier !== undefined) own.push({ path: [storage], line, message: `storage id '${storage}' already defined on line ${earlier}` });
      else seenIds.set(storage, line);
      current = { type, storage, options: {}, line, optionLines: {}, issues: own, first: i, last: i, keyLines: {} };
      sections.push(current);
      return;
    }
    if (!current) {
      issues.push({ path: [], line, message: 'option line outside a section (missing header or a blank line before it)' });
      return;
    }
    current.last = i;
    const m = OPTION_RE.exec(raw);
    const key = m?.[1];
    if (!m || key === undefined || !KEY_RE.test(key)) {
      current.issues.push({ path: [current.storage], line, message: `cannot parse option line '${raw.trim()}'` });
      return;
    }
    (current.keyLines[key] ??= []).push(i);
    if (Object.hasOwn(current.options, key)) {
      current.issues.push({ path: [current.storage, key], line, message: `duplicate option '${key}' (first on line ${current.optionLines[key]})` });
      return;
    }
    current.options[key] = m[2] ?? '';
    current.optionLines[key] = line;
  });
  return { lines, sections, issues, eol: text.includes('\r\n') ? '\r\n' : '\n' };
}

/**
 * Checks that an option can be written as one `key value` line, collecting what is wrong.
 *
 * @param storeId - the storage, for the issue's path
 * @param key - the option name
 * @param value - its text (`''` writes a bare flag)
 * @param issues - where problems go
 */
export function checkOptionLine(storeId: string, key: string, value: string, issues: ConfigIssue[]): void {
  if (!KEY_RE.test(key)) issues.push({ path: [storeId, key], message: `invalid option name '${key}'` });
  if (/[\r\n]/.test(value)) issues.push({ path: [storeId, key], message: `value of '${key}' contains a line break` });
  if (value !== value.trim()) issues.push({ path: [storeId, key], message: `value of '${key}' has leading or trailing whitespace` });
}

/**
 * Checks that a section header can be written, collecting what is wrong.
 *
 * @param type - the storage type
 * @param storeId - the storage id
 * @param issues - where problems go
 */
export function checkHeader(type: string, storeId: string, issues: ConfigIssue[]): void {
  if (!TYPE_RE.test(type)) issues.push({ path: [storeId], message: `invalid storage type '${type}'` });
  if (!/^\S+$/.test(storeId) || storeId.includes(':')) issues.push({ path: [storeId], message: `invalid storage id '${storeId}'` });
}

function optionLine(indent: string, key: string, value: string, eol: string): string {
  return value === '' ? `${indent}${key}${eol}` : `${indent}${key} ${value}${eol}`;
}

function throwIfAny(issues: readonly ConfigIssue[]): void {
  if (issues.length > 0) throw new ConfigError(`cannot write storage.cfg: ${issues.map((x) => x.message).join('; ')}`, issues);
}

function join(lines: readonly string[], eol: string): string {
  // A last line without its line ending gets one when something follows it.
  return lines.map((l, i) => (i < lines.length - 1 && !l.endsWith('\n') ? l + eol : l)).join('');
}

function find(doc: StorageCfgDocument, storeId: string): StorageCfgDocumentSection {
  const s = doc.sections.find((x) => x.storage === storeId);
  if (!s) {
    const configured = doc.sections.map((x) => x.storage).sort();
    throw new StorageError('NOT_FOUND', `storage '${storeId}' ${notConfigured(configured)}`, { details: { storeId, configured } });
  }
  return s;
}

/**
 * Why a storage id names no storage, and which ones there are: `is not configured (the
 * configured storages: a, b)`, or `is not configured (no storage is)`.
 *
 * @param configured - the configured storage ids
 */
export function notConfigured(configured: readonly string[]): string {
  return `is not configured (${configured.length > 0 ? `the configured storages: ${configured.join(', ')}` : 'no storage is'})`;
}

/**
 * Adds a section after the last one (before any comments and blank lines that end the file),
 * separated by a blank line, as Proxmox lays the file out.
 *
 * @param doc - the document
 * @param section - the new section's type, id and options (option text; `''` is a bare flag)
 * @returns the new text
 * @throws {@link StorageError} `ALREADY_EXISTS` when a section has that id;
 *   {@link ConfigError} `CONFIG_INVALID` when the section cannot be written
 */
export function addStorageCfgSection(doc: StorageCfgDocument, section: Pick<StorageCfgSection, 'type' | 'storage' | 'options'>): string {
  const { type, storage, options } = section;
  if (doc.sections.some((s) => s.storage === storage)) {
    throw new StorageError('ALREADY_EXISTS', `storage '${storage}' already exists`, { details: { storeId: storage } });
  }
  const issues: ConfigIssue[] = [];
  checkHeader(type, storage, issues);
  for (const [k, v] of Object.entries(options)) checkOptionLine(storage, k, v, issues);
  throwIfAny(issues);
  const { eol } = doc;
  const added = [`${type}: ${storage}${eol}`, ...Object.entries(options).map(([k, v]) => optionLine('\t', k, v, eol))];
  const lines = [...doc.lines];
  const lastSection = doc.sections.at(-1);
  if (lastSection === undefined) {
    if (lines.length > 0 && !isBlank(lines.at(-1))) lines.push(eol);
    return join([...lines, ...added], eol);
  }
  // After the last section and the lines that run on from it without a blank line.
  let end = lastSection.last;
  while (end + 1 < lines.length && !isBlank(lines[end + 1])) end++;
  return join([...lines.slice(0, end + 1), eol, ...added, ...lines.slice(end + 1)], eol);
}

/**
 * Changes options of a section in place: a set option replaces its line (keeping its
 * indentation; later lines of a key given twice are removed), a new option goes after the
 * section's last option line, a deleted option's lines are removed. Every other line, comments
 * inside the section included, stays as it was.
 *
 * @param doc - the document
 * @param storeId - the section's storage id (the first section with it)
 * @param set - options to set, as text (`''` is a bare flag)
 * @param deleteKeys - options to remove
 * @returns the new text
 * @throws {@link StorageError} `NOT_FOUND` when no section has that id;
 *   {@link ConfigError} `CONFIG_INVALID` when a value cannot be written
 */
export function updateStorageCfgSection(
  doc: StorageCfgDocument,
  storeId: string,
  set: Readonly<Record<string, string>>,
  deleteKeys: readonly string[] = [],
): string {
  const section = find(doc, storeId);
  const issues: ConfigIssue[] = [];
  for (const [k, v] of Object.entries(set)) checkOptionLine(storeId, k, v, issues);
  throwIfAny(issues);
  const { eol } = doc;
  const replaced = new Map<number, string | undefined>();
  const appended: string[] = [];
  const firstOption = Object.values(section.keyLines)[0]?.[0];
  const indentOf = (i: number | undefined): string => (i === undefined ? '\t' : (/^\s+/.exec(doc.lines[i] ?? '')?.[0] ?? '\t'));
  for (const key of deleteKeys) for (const i of section.keyLines[key] ?? []) replaced.set(i, undefined);
  for (const [key, value] of Object.entries(set)) {
    const at = section.keyLines[key] ?? [];
    if (at.length === 0) {
      appended.push(optionLine(indentOf(firstOption), key, value, eol));
      continue;
    }
    at.forEach((i, n) => replaced.set(i, n === 0 ? optionLine(indentOf(i), key, value, eol) : undefined));
  }
  const out: string[] = [];
  doc.lines.forEach((line, i) => {
    const next = replaced.has(i) ? replaced.get(i) : line;
    if (next !== undefined) out.push(next);
    if (i === section.last) out.push(...appended);
  });
  return join(out, eol);
}

/**
 * Removes every section with a storage id, with the comment lines between its options. Comments
 * outside the section stay; the blank lines that only separated it from its neighbours go with
 * it, so that adding a storage and removing it again gives back the text as it was.
 *
 * @param doc - the document
 * @param storeId - the storage id
 * @returns the new text
 * @throws {@link StorageError} `NOT_FOUND` when no section has that id
 */
export function removeStorageCfgSection(doc: StorageCfgDocument, storeId: string): string {
  find(doc, storeId);
  const drop = new Set<number>();
  for (const s of doc.sections.filter((x) => x.storage === storeId)) {
    for (let i = s.first; i <= s.last; i++) drop.add(i);
    let after = s.last + 1;
    while (after < doc.lines.length && isBlank(doc.lines[after])) after++;
    if (s.first === 0 || isBlank(doc.lines[s.first - 1])) for (let i = s.last + 1; i < after; i++) drop.add(i);
    if (after === doc.lines.length) for (let i = s.first - 1; i >= 0 && isBlank(doc.lines[i]); i--) drop.add(i);
  }
  return join(
    doc.lines.filter((_, i) => !drop.has(i)),
    doc.eol,
  );
}
