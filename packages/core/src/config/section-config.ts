/**
 * Reader and writer for Proxmox's section-config format (`/etc/pve/storage.cfg`):
 *
 * ```text
 * dir: local
 * 	path /var/lib/vz
 * 	content iso,vztmpl,backup
 *
 * lvmthin: local-lvm
 * 	thinpool data
 * 	vgname pve
 * ```
 *
 * A section starts with a `<type>: <id>` header at column 0 and runs to the next blank line;
 * its options are indented `key value` lines (a key alone is a boolean flag, as Proxmox writes
 * `disable`). Lines whose first non-blank character is `#` are comments, skipped anywhere.
 * Values stay text here; the plugin's zod schema turns them into typed values.
 *
 * @module
 */
import { ConfigError, type ConfigIssue } from '../errors.js';

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

const HEADER_RE = /^(\S+):\s*(\S+)\s*$/;
const OPTION_RE = /^\s+(\S+)(?:\s+(.*\S))?\s*$/;
const COMMENT_RE = /^\s*#/;
const BLANK_RE = /^\s*$/;
const TYPE_RE = /^[a-z][a-z0-9]*$/;
const KEY_RE = /^[a-z][a-z0-9_-]*$/i;

/**
 * Parses the text of a `storage.cfg` file.
 *
 * Every bad line is reported, not only the first: an option line outside a section, a header
 * with a malformed type, an indented line that is not `key [value]`, a key given twice in one
 * section, and a storage id used by two sections.
 *
 * @param text - the file's contents
 * @returns the sections in file order
 * @throws {@link ConfigError} `CONFIG_INVALID`, with `issues[].line` set for every bad line
 * @example
 * ```ts
 * const sections = parseStorageCfg('dir: local\n\tpath /var/lib/vz\n\tcontent iso,backup\n');
 * // [{ type: 'dir', storage: 'local', options: { path: '/var/lib/vz', content: 'iso,backup' }, line: 1, ... }]
 * ```
 * @see Proxmox `PVE::SectionConfig::parse_config`
 */
export function parseStorageCfg(text: string): StorageCfgSection[] {
  const sections: StorageCfgSection[] = [];
  const issues: ConfigIssue[] = [];
  const seenIds = new Map<string, number>();
  let current: { section: StorageCfgSection; options: Record<string, string>; lines: Record<string, number> } | undefined;

  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
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
      if (!TYPE_RE.test(type)) {
        issues.push({ path: [storage], line, message: `invalid storage type '${type}'` });
      }
      const first = seenIds.get(storage);
      if (first !== undefined) {
        issues.push({ path: [storage], line, message: `storage id '${storage}' already defined on line ${first}` });
      } else {
        seenIds.set(storage, line);
      }
      const options: Record<string, string> = {};
      const optionLines: Record<string, number> = {};
      const section: StorageCfgSection = { type, storage, options, line, optionLines };
      sections.push(section);
      current = { section, options, lines: optionLines };
      return;
    }
    if (!current) {
      issues.push({ path: [], line, message: 'option line outside a section (missing header or a blank line before it)' });
      return;
    }
    const m = OPTION_RE.exec(raw);
    const key = m?.[1];
    if (!m || key === undefined || !KEY_RE.test(key)) {
      issues.push({ path: [current.section.storage], line, message: `cannot parse option line '${raw.trim()}'` });
      return;
    }
    if (Object.hasOwn(current.options, key)) {
      issues.push({ path: [current.section.storage, key], line, message: `duplicate option '${key}' (first on line ${current.lines[key]})` });
      return;
    }
    current.options[key] = m[2] ?? '';
    current.lines[key] = line;
  });

  if (issues.length > 0) {
    const where = issues.map((x) => `line ${x.line}: ${x.message}`).join('; ');
    throw new ConfigError(`storage.cfg is invalid: ${where}`, issues);
  }
  return sections;
}

/**
 * Formats sections in the section-config format: header, one tab-indented `key value` line per
 * option in the order given (a `''` value is written as a bare key), a blank line after each
 * section. `parseStorageCfg(formatStorageCfg(s))` gives back `s` (line numbers aside), and a
 * file written in this layout reads back to the same text without its comments.
 *
 * @param sections - the sections to write, in order
 * @returns the file text
 * @throws {@link ConfigError} `CONFIG_INVALID` when a type, id, key or value cannot be written
 *   (whitespace in a type or id, a line break in a value, a malformed key)
 * @see Proxmox `PVE::SectionConfig::write_config`
 */
export function formatStorageCfg(sections: readonly Pick<StorageCfgSection, 'type' | 'storage' | 'options'>[]): string {
  const issues: ConfigIssue[] = [];
  let out = '';
  for (const s of sections) {
    if (!TYPE_RE.test(s.type)) issues.push({ path: [s.storage], message: `invalid storage type '${s.type}'` });
    if (!/^\S+$/.test(s.storage) || s.storage.includes(':')) issues.push({ path: [s.storage], message: `invalid storage id '${s.storage}'` });
    out += `${s.type}: ${s.storage}\n`;
    for (const [key, value] of Object.entries(s.options)) {
      if (!KEY_RE.test(key)) issues.push({ path: [s.storage, key], message: `invalid option name '${key}'` });
      if (/[\r\n]/.test(value)) issues.push({ path: [s.storage, key], message: `value of '${key}' contains a line break` });
      if (value !== value.trim()) issues.push({ path: [s.storage, key], message: `value of '${key}' has leading or trailing whitespace` });
      out += value === '' ? `\t${key}\n` : `\t${key} ${value}\n`;
    }
    out += '\n';
  }
  if (issues.length > 0) throw new ConfigError(`cannot write storage.cfg: ${issues.map((x) => x.message).join('; ')}`, issues);
  return out;
}

/**
 * Turns a parsed section into a plain config object for validation: `type`, `storage`, then the
 * options, a bare flag (`''`) becoming `true`.
 *
 * @param section - a section from {@link parseStorageCfg}
 */
export function sectionToConfig(section: Pick<StorageCfgSection, 'type' | 'storage' | 'options'>): Record<string, unknown> {
  const config: Record<string, unknown> = { type: section.type, storage: section.storage };
  for (const [k, v] of Object.entries(section.options)) config[k] = v === '' ? true : v;
  return config;
}

/**
 * Turns a config object (validated or raw) into a section for writing: arrays are joined with
 * `,`, booleans become `1`/`0` (a true `disable` becomes a bare `disable` flag, a false one is
 * left out, as Proxmox writes it), `undefined` and `null` values are left out.
 *
 * @param config - an object with `type`, `storage` and option values
 * @throws {@link ConfigError} `CONFIG_INVALID` when `type` or `storage` is missing or a value is
 *   an object
 */
export function configToSection(config: Readonly<Record<string, unknown>>): StorageCfgSection {
  const { type, storage } = config;
  if (typeof type !== 'string' || typeof storage !== 'string') {
    throw new ConfigError('a storage config needs string type and storage', [{ path: [], message: 'type and storage are required' }]);
  }
  const options: Record<string, string> = {};
  for (const [k, v] of Object.entries(config)) {
    if (k === 'type' || k === 'storage' || v === undefined || v === null) continue;
    if (k === 'disable' && typeof v === 'boolean') {
      if (v) options[k] = '';
      continue;
    }
    if (Array.isArray(v)) options[k] = v.map(String).join(',');
    else if (typeof v === 'boolean') options[k] = v ? '1' : '0';
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint') options[k] = String(v);
    else throw new ConfigError(`option '${k}' of '${storage}' cannot be written`, [{ path: [storage, k], message: 'not a scalar or list' }]);
  }
  return { type, storage, options, line: 0 };
}
