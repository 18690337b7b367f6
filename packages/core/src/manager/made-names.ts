/**
 * The names a manager made on one storage, remembered until a listing shows them, so that a
 * free-name search from an older listing does not hand them out again. Internal to the manager.
 *
 * @module
 */

/** The most names remembered per storage; the oldest go first (a forgotten one costs a refused create, never a wrong result). */
const LIMIT = 4096;

/** When a name was made: for which guest, and in which generation of the storage's TTL cache. */
interface Made {
  readonly vmid: number;
  readonly generation: number;
}

/**
 * The names this manager made on a storage. A name made in generation `g` (of the storage's
 * `TtlCache`, read right after the create) is shown by every listing whose load began in a
 * later generation: every write is followed by a clear of that cache.
 */
export class MadeNames {
  readonly #names = new Map<string, Made>();
  #version = 0;

  /** Goes up with every name made: a name chosen at another version may be one of them. */
  get version(): number {
    return this.#version;
  }

  /**
   * Remembers a name made.
   *
   * @param vmid - the guest it belongs to
   * @param name - the disk name (`ParsedVolume.name`)
   * @param generation - the TTL cache's generation right after the create
   */
  add(vmid: number, name: string, generation: number): void {
    this.#names.delete(name);
    this.#names.set(name, { vmid, generation });
    this.#version++;
    if (this.#names.size > LIMIT) this.#names.delete(this.#names.keys().next().value as string);
  }

  /**
   * The names made for a guest that a listing loaded in `generation` may not show (made in that
   * generation or later); all that are remembered by default.
   *
   * @param vmid - the guest
   * @param generation - the generation the listing's load began in
   */
  of(vmid: number, generation = 0): string[] {
    return [...this.#names].filter(([, m]) => m.vmid === vmid && m.generation >= generation).map(([name]) => name);
  }

  /**
   * Forgets the names of a guest that a listing shows: those made before the generation its
   * load began in.
   *
   * @param vmid - the guest
   * @param generation - the generation the listing's load began in
   */
  shownBy(vmid: number, generation: number): void {
    for (const [name, m] of this.#names) if (m.vmid === vmid && m.generation < generation) this.#names.delete(name);
  }
}
