/**
 * Checks and converts argument values (vmids, content types, formats). Pure.
 *
 * @module
 */
import {
  assertValidVmid,
  CONTENT_TYPES,
  STREAM_FORMATS,
  StorageError,
  type ContentType,
  type GuestType,
  type GuestTypes,
  type StreamFormat,
  type VolumeFormat,
} from '@stowage/core';

/** Image formats the command accepts for `--format`. */
export const VOLUME_FORMATS: readonly VolumeFormat[] = ['raw', 'qcow2', 'vmdk', 'subvol'];


/**
 * Parses a vmid argument.
 *
 * @param text - decimal digits
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` unless it is an integer in 1..999999999
 */
export function parseVmid(text: string): number {
  if (!/^\d{1,10}$/.test(text)) {
    throw new StorageError('INVALID_ARGUMENT', `invalid vmid '${text}'`, { details: { vmid: text } });
  }
  const vmid = Number(text);
  assertValidVmid(vmid);
  return vmid;
}

/**
 * Parses a comma-separated list of content types (`images,iso`).
 *
 * @param text - the list
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for an unknown content type
 */
export function parseContentList(text: string): ContentType[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const item of items) {
    if (!(CONTENT_TYPES as readonly string[]).includes(item)) {
      throw new StorageError('INVALID_ARGUMENT', `unknown content type '${item}' (one of ${CONTENT_TYPES.join(', ')})`, {
        details: { content: item },
      });
    }
  }
  return items as ContentType[];
}

/**
 * Parses an image format.
 *
 * @param text - `raw`, `qcow2`, `vmdk` or `subvol`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` otherwise
 */
export function parseVolumeFormat(text: string): VolumeFormat {
  if (!(VOLUME_FORMATS as readonly string[]).includes(text)) {
    throw new StorageError('INVALID_ARGUMENT', `unknown image format '${text}' (one of ${VOLUME_FORMATS.join(', ')})`, {
      details: { format: text },
    });
  }
  return text as VolumeFormat;
}

/**
 * Parses a stream format.
 *
 * @param text - e.g. `raw+size`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for an unknown format
 */
export function parseStreamFormat(text: string): StreamFormat {
  if (!(STREAM_FORMATS as readonly string[]).includes(text)) {
    throw new StorageError('INVALID_ARGUMENT', `unknown stream format '${text}' (one of ${STREAM_FORMATS.join(', ')})`, {
      details: { format: text },
    });
  }
  return text as StreamFormat;
}

/**
 * Reads a string option, or `undefined` when it was not given.
 *
 * @param value - the parsed option value
 */
export function stringOption(value: string | boolean | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function guestType(vmid: string, type: unknown): GuestType {
  if (type !== 'qemu' && type !== 'lxc') {
    throw new StorageError('INVALID_ARGUMENT', `guest ${vmid}: type '${String(type)}' is not qemu or lxc`, { details: { vmid, type: String(type) } });
  }
  return type;
}

/**
 * Parses a guest list given inline: `100=qemu,101=lxc`.
 *
 * @param text - comma-separated `vmid=type` pairs
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for a bad vmid, type or pair
 */
export function parseGuestList(text: string): GuestTypes {
  const out: Record<number, GuestType> = {};
  for (const item of text.split(',').map((s) => s.trim()).filter((s) => s !== '')) {
    const m = /^([^=]+)=(.*)$/.exec(item);
    if (!m) throw new StorageError('INVALID_ARGUMENT', `invalid guest '${item}' (vmid=qemu or vmid=lxc)`, { details: { guest: item } });
    out[parseVmid(m[1] ?? '')] = guestType(m[1] ?? '', m[2]);
  }
  return out;
}

/**
 * Parses a guest list file: Proxmox's cluster guest list (`/etc/pve/.vmlist`,
 * `{ "ids": { "<vmid>": { "type": "qemu"|"lxc", ... } } }`) or a plain `{ "<vmid>": "qemu"|"lxc" }`.
 *
 * @param json - the file's text
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when it is not one of those shapes
 */
export function parseGuestFile(json: string): GuestTypes {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (e) {
    throw new StorageError('INVALID_ARGUMENT', 'the guest list is not JSON', { cause: e });
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new StorageError('INVALID_ARGUMENT', 'the guest list is not a JSON object');
  const ids = 'ids' in data ? (data as { ids: unknown }).ids : data;
  if (typeof ids !== 'object' || ids === null || Array.isArray(ids)) throw new StorageError('INVALID_ARGUMENT', "the guest list's 'ids' is not an object");
  const out: Record<number, GuestType> = {};
  for (const [vmid, v] of Object.entries(ids)) {
    const type = typeof v === 'object' && v !== null ? (v as { type?: unknown }).type : v;
    out[parseVmid(vmid)] = guestType(vmid, type);
  }
  return out;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parses a duration: a whole number with a unit, `s`, `m`, `h`, `d` or `w` (`30d`, `12h`).
 *
 * @param text - the option's value
 * @returns milliseconds
 * @throws {@link StorageError} `INVALID_ARGUMENT`
 */
export function parseDuration(text: string): number {
  const m = /^([0-9]{1,9})([smhdw])$/.exec(text);
  if (!m) throw new StorageError('INVALID_ARGUMENT', `invalid duration '${text}': a whole number and a unit, s, m, h, d or w (30d)`, { details: { duration: text } });
  return Number(m[1]) * DURATION_UNITS[m[2]!]!;
}

/**
 * Parses a list of volume ids: a JSON array of strings, or one per line (blank lines and lines
 * starting with `#` are skipped).
 *
 * @param text - the file's content
 * @returns the volids
 * @throws {@link StorageError} `INVALID_ARGUMENT`
 */
export function parseVolidList(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (e) {
      throw new StorageError('INVALID_ARGUMENT', `the list of volumes in use is not valid JSON: ${String(e)}`, { details: { reason: 'json' } });
    }
    if (!Array.isArray(parsed) || !parsed.every((v): v is string => typeof v === 'string')) {
      throw new StorageError('INVALID_ARGUMENT', 'the list of volumes in use must be a JSON array of volume ids', { details: { reason: 'shape' } });
    }
    return parsed;
  }
  return trimmed.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}
