/**
 * The bad values the kit throws at a plugin: volnames and disk names with path tricks and shell
 * metacharacters, sizes, guest ids and snapshot names. Bad volnames are derived from a name the
 * plugin itself handed out, so that a loose pattern (`\S+`) cannot let them through by accident.
 *
 * @module
 */

/** A labelled bad value. */
export interface BadValue<T> {
  /** What is wrong with it, for the case's message. */
  readonly label: string;
  /** The value. */
  readonly value: T;
}

function lastSegmentSplit(volname: string): [string, string] {
  const i = volname.lastIndexOf('/');
  return i < 0 ? ['', volname] : [volname.slice(0, i + 1), volname.slice(i + 1)];
}

/**
 * Bad volnames made from a valid one: `..` and absolute paths, `/` tricks, `;`, `$()`, back
 * quotes, pipes, spaces, newlines, NUL, non-ASCII characters, and the empty name.
 *
 * @param valid - a volname the plugin returned (e.g. `100/vm-100-disk-0.qcow2`)
 * @returns every bad variant with a label
 */
export function badVolnames(valid: string): BadValue<string>[] {
  const [dir, last] = lastSegmentSplit(valid);
  const dot = last.lastIndexOf('.');
  const stem = dot > 0 ? last.slice(0, dot) : last;
  const ext = dot > 0 ? last.slice(dot) : '';
  const inside = (s: string): string => `${dir}${stem}${s}${ext}`;
  return [
    { label: 'empty', value: '' },
    { label: '..', value: '..' },
    { label: '../ prefix', value: `../${valid}` },
    { label: '../ inside', value: `${dir}../${last}` },
    { label: '/.. suffix', value: `${valid}/..` },
    { label: 'climbs to /etc', value: `${valid}/../../../../etc/passwd` },
    { label: 'absolute', value: `/${valid}` },
    { label: 'double slash', value: `${dir}/${last}` },
    { label: 'extra segment', value: `${valid}/x` },
    { label: '; command', value: inside(';reboot') },
    { label: '$() command', value: inside('$(reboot)') },
    { label: 'back quotes', value: inside('`reboot`') },
    { label: 'pipe', value: inside('|reboot') },
    { label: 'ampersand', value: inside('&reboot') },
    { label: 'redirection', value: inside('>x') },
    { label: 'space', value: inside(' x') },
    { label: 'leading space', value: ` ${valid}` },
    { label: 'newline', value: `${valid}\n` },
    { label: 'tab', value: inside('\tx') },
    { label: 'NUL', value: inside('\0x') },
    { label: 'unicode', value: inside('é') },
    { label: 'unicode lookalike slash', value: `${dir}\u2215${last}` },
    { label: 'quote', value: inside("'x") },
    { label: 'glob', value: inside('*') },
  ];
}

/**
 * Bad names for a new disk of guest `vmid` (the `name` of `allocImage`): path tricks, shell
 * metacharacters, spaces, non-ASCII, empty.
 *
 * @param vmid - the guest the name is for
 * @returns every bad name with a label
 */
export function badDiskNames(vmid: number): BadValue<string>[] {
  const n = `vm-${vmid}-disk-9`;
  return [
    { label: 'empty', value: '' },
    { label: '..', value: '..' },
    { label: '../ prefix', value: `../${n}` },
    { label: 'slash', value: `${vmid}/${n}` },
    { label: 'climbs up', value: `${n}/../../x` },
    { label: '; command', value: `${n};reboot` },
    { label: '$() command', value: `${n}$(reboot)` },
    { label: 'space', value: `${n} x` },
    { label: 'unicode', value: `${n}é` },
    { label: 'NUL', value: `${n}\0` },
  ];
}

/**
 * Bad sizes: negative, zero, fractional, not a number, infinite, beyond 2^53 and absurd.
 *
 * @param unit - the kit's size unit, to make a fractional size near a valid one
 */
export function badSizes(unit: number): BadValue<number>[] {
  return [
    { label: 'negative', value: -unit },
    { label: 'minus one', value: -1 },
    { label: 'zero', value: 0 },
    { label: 'fractional', value: unit + 0.5 },
    { label: 'NaN', value: Number.NaN },
    { label: 'Infinity', value: Number.POSITIVE_INFINITY },
    { label: '2^53', value: 2 ** 53 },
    { label: 'absurd (2^70)', value: 2 ** 70 },
  ];
}

/** Bad guest ids: zero, negative, fractional, beyond Proxmox's 999999999, not a number. */
export const BAD_VMIDS: readonly BadValue<number>[] = [
  { label: 'zero', value: 0 },
  { label: 'negative', value: -100 },
  { label: 'fractional', value: 100.5 },
  { label: 'too large', value: 1_000_000_000 },
  { label: 'NaN', value: Number.NaN },
];

/** Bad snapshot names: empty, leading digit, path tricks, shell metacharacters, spaces, non-ASCII, too long. */
export const BAD_SNAPSHOT_NAMES: readonly BadValue<string>[] = [
  { label: 'empty', value: '' },
  { label: 'leading digit', value: '1snap' },
  { label: '..', value: '..' },
  { label: 'slash', value: 'a/b' },
  { label: '@', value: 'a@b' },
  { label: '; command', value: 'a;reboot' },
  { label: '$() command', value: 'a$(reboot)' },
  { label: 'space', value: 'a b' },
  { label: 'unicode', value: 'snäp' },
  { label: 'too long', value: `s${'x'.repeat(64)}` },
];
