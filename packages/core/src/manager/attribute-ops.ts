/**
 * The manager's volume attributes (`notes`, `protected`): checked against the storage's
 * capabilities, read without a lock, written as a write (the shared cache is dropped after).
 *
 * @module
 */
import type { VolumeAttribute } from '../capabilities.js';
import { StorageError } from '../errors.js';
import type { AttributeValue } from '../plugin-types.js';
import { assertAttributeValue } from './input.js';
import type { ManagerState, ResolvedVolume } from './state.js';

function requireAttribute(r: ResolvedVolume, attribute: VolumeAttribute): void {
  if (!r.entry.cls.capabilities.attributes.includes(attribute)) {
    throw new StorageError('NOT_SUPPORTED', `'${r.volid}' has no attribute '${String(attribute)}'`, { details: { volid: r.volid, attribute: String(attribute) } });
  }
}

/**
 * Reads an attribute (see {@link StorageManager.getVolumeAttribute}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param attribute - `notes` or `protected`
 */
export function getVolumeAttribute(state: ManagerState, r: ResolvedVolume, attribute: VolumeAttribute): Promise<AttributeValue> {
  requireAttribute(r, attribute);
  return state.read(r.entry, undefined, (ctx) => r.entry.plugin.getVolumeAttribute(ctx, { volume: r.volume, attribute }));
}

/**
 * Sets or clears an attribute (see {@link StorageManager.updateVolumeAttribute}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param attribute - `notes` or `protected`
 * @param value - the value, `undefined` to clear
 */
export async function updateVolumeAttribute(state: ManagerState, r: ResolvedVolume, attribute: VolumeAttribute, value: AttributeValue): Promise<void> {
  requireAttribute(r, attribute);
  assertAttributeValue(attribute, value);
  await state.write(r.entry, undefined, (ctx) => r.entry.plugin.updateVolumeAttribute(ctx, { volume: r.volume, attribute, value }));
}
