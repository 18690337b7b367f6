/**
 * What a `memory` plugin variant can do.
 *
 * @module
 */
import type { FlattenCapabilities, PluginCapabilities, VolumeAttribute } from '../../capabilities.js';

/**
 * What a memory plugin variant can do; everything is on for the `memory` plugin itself.
 *
 * @example
 * ```ts
 * const zfsLike: MemoryBehaviour = { rollbackAnySnapshot: false, cloneFromSnapshot: false, shrink: false };
 * ```
 */
export interface MemoryBehaviour {
  /**
   * Any snapshot can be rolled back to; when `false`, only the newest (ZFS-like), and older ones
   * report the newer snapshots as blockers.
   * @default true
   */
  readonly rollbackAnySnapshot?: boolean;
  /**
   * A volume can be cloned from one of its snapshots, not only from a base.
   * @default true
   */
  readonly cloneFromSnapshot?: boolean;
  /**
   * A volume can be made smaller; when `false`, shrinking fails with `CANNOT_SHRINK`.
   * @default true
   */
  readonly shrink?: boolean;
  /**
   * The volume attributes kept.
   * @default ['notes', 'protected', 'hidden']
   */
  readonly attributes?: readonly VolumeAttribute[];
  /**
   * What flattening it does (`{}` for none): to a snapshot in one step, and linked clones
   * detached from their origin keeping their snapshots.
   * @default { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: true }
   */
  readonly flatten?: FlattenCapabilities;
  /**
   * Clones are copies that keep no link to their source (as reflink copies): a template can be
   * freed while they exist (`capabilities.independentClones`).
   * @default false
   */
  readonly independentClones?: boolean;
  /**
   * Declares `capabilities.exclusiveCreate` (its store refuses every taken name); when `false`,
   * the manager lists the storage under the lock before each create that needs a free name.
   * @default true
   */
  readonly exclusiveCreate?: boolean;
}

/**
 * The capabilities of a memory plugin with the given behaviour: raw images only, ZFS-like
 * feature matrix, `raw+size` export and import.
 *
 * @param behaviour - which optional behaviours are on
 * @returns capabilities as data
 */
export function memoryCapabilities(behaviour: MemoryBehaviour = {}): PluginCapabilities {
  const fromSnapshot = behaviour.cloneFromSnapshot ?? true;
  return {
    content: ['images'],
    defaultContent: ['images'],
    formats: ['raw'],
    defaultFormat: 'raw',
    shared: false,
    features: {
      snapshot: { current: ['raw'], snap: ['raw'] },
      clone: fromSnapshot ? { base: ['raw'], snap: ['raw'] } : { base: ['raw'] },
      template: { current: ['raw'] },
      copy: { base: ['raw'], current: ['raw'], snap: ['raw'] },
      sparseinit: { base: ['raw'], current: ['raw'] },
      rename: { current: ['raw'] },
    },
    exportFormats: ['raw+size'],
    importFormats: ['raw+size'],
    rollbackAnySnapshot: behaviour.rollbackAnySnapshot ?? true,
    cloneFromSnapshot: fromSnapshot,
    attributes: behaviour.attributes ?? ['notes', 'protected', 'hidden'],
    flatten: behaviour.flatten ?? { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: true },
    shrink: behaviour.shrink ?? true,
    exclusiveCreate: behaviour.exclusiveCreate ?? true,
    ...(behaviour.independentClones === true ? { independentClones: true } : {}),
  };
}
