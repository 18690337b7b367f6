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
import { checkHeader, checkOptionLine, parseStorageCfgDocument, type StorageCfgSection } from './document.js';

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
  const doc = parseStorageCfgDocument(text);
  const issues = [...doc.issues, ...doc.sections.flatMap((s) => s.issues)].sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
  if (issues.length > 0) {
    const where = issues.map((x) => `line ${x.line}: ${x.message}`).join('; ');
    throw new ConfigError(`storage.cfg is invalid: ${where}`, issues);
  }
  return doc.sections.map(({ type, storage, options, line, optionLines }) => ({ type, storage, options, line, optionLines }));
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
    checkHeader(s.type, s.storage, issues);
    out += `${s.type}: ${s.storage}\n`;
    for (const [key, value] of Object.entries(s.options)) {
      checkOptionLine(s.storage, key, value, issues);
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
 * Turns a config object (validated or raw) into a section for writing, each value as
 * {@link optionText} writes it.
 *
 * @param config - an object with `type`, `storage` and option values
 * @throws {@link ConfigError} `CONFIG_INVALID` when `type` or `storage` is missing, a value is
 *   empty, or a value is an object (every such value is listed)
 */
export function configToSection(config: Readonly<Record<string, unknown>>): StorageCfgSection {
  const { type, storage } = config;
  if (typeof type !== 'string' || typeof storage !== 'string') {
    throw new ConfigError('a storage config needs string type and storage', [{ path: [], message: 'type and storage are required' }]);
  }
  const options: Record<string, string> = {};
  const issues: ConfigIssue[] = [];
  for (const [k, v] of Object.entries(config)) {
    if (k === 'type' || k === 'storage') continue;
    try {
      const text = optionText(storage, k, v);
      if (text !== undefined) options[k] = text;
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      issues.push(...e.issues);
    }
  }
  if (issues.length > 0) throw new ConfigError(`invalid config for storage '${storage}': ${issues.map((i) => i.message).join('; ')}`, issues, { details: { storeId: storage } });
  return { type, storage, options, line: 0 };
}

/**
 * The text an option value is written as in `storage.cfg`: arrays are joined with `,`,
 * booleans become `1`/`0` (a true `disable` becomes a bare `disable` flag and a false one is
 * left out, as Proxmox writes it), numbers their decimal text. An empty or blank string is
 * refused: written as a bare key, it would read back as the flag `true`.
 *
 * @param storeId - the storage, for messages
 * @param key - the option name
 * @param value - the value (typed, or text)
 * @returns the text, or `undefined` when the option is not written (`undefined`, `null`, a false `disable`)
 * @throws {@link ConfigError} `CONFIG_INVALID` for an empty value or one that is not a scalar or list
 */
export function optionText(storeId: string, key: string, value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (key === 'disable' && typeof value === 'boolean') return value ? '' : undefined;
  const fail = (message: string): never => {
    throw new ConfigError(`option '${key}' of '${storeId}': ${message}`, [{ path: [storeId, key], message: `${key}: ${message}` }], { details: { storeId } });
  };
  let text: string;
  if (Array.isArray(value)) text = value.map(String).join(',');
  else if (typeof value === 'boolean') text = value ? '1' : '0';
  else if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') text = String(value);
  else return fail('not a scalar or list');
  if (text.trim() === '') return fail('an empty value is not allowed (leave the option out, or delete it)');
  return text;
}
