/**
 * The in-memory storage behind the `memory` reference plugin: pools of sparse volumes with
 * copy-on-write snapshots and linked clones, much like a ZFS pool of zvols. It knows nothing of
 * stowage's contract; the plugin reaches it only through commands ({@link MemoryRunner}).
 *
 * @module
 */

/** An error of the in-memory tool; the runner turns it into a failed command (exit code 1, message on stderr). */
export class MemoryToolError extends Error {}
Object.defineProperty(MemoryToolError.prototype, 'name', { value: 'MemoryToolError', enumerable: false });

type Chunks = Map<number, Buffer>;

interface MemSnapshot {
  readonly name: string;
  readonly guid: string;
  readonly ctime: number;
  readonly size: number;
  readonly chunks: Chunks;
}

interface MemVolume {
  readonly guid: string;
  name: string;
  size: number;
  chunks: Chunks;
  readonly snapshots: MemSnapshot[];
  origin: { readonly volume: MemVolume; readonly snapshot: MemSnapshot | undefined } | undefined;
  /** What an independent clone was copied from (it does not depend on it). */
  copiedFrom?: MemVolume['origin'];
  readonly props: Map<string, string>;
  readonly ctime: number;
}

/** One volume as the `list` command prints it. */
export interface MemoryVolumeRecord {
  /** The volume's name in its pool. */
  readonly name: string;
  /** A unique id, which a rename keeps (like a ZFS `guid`). */
  readonly guid: string;
  /** Virtual size in bytes. */
  readonly size: number;
  /** Bytes held by this volume's own data (shared chunks counted where first seen). */
  readonly used: number;
  /** `<volume>` or `<volume>@<snapshot>` it was cloned from (and depends on). */
  readonly origin: string | undefined;
  /** For an independent clone: `<volume>` or `<volume>@<snapshot>` it was copied from, while that still exists. */
  readonly copiedFrom?: string | undefined;
  /** Creation time, seconds since the epoch. */
  readonly ctime: number;
  /** User properties (`readonly`, `notes`, `protected`, ...). */
  readonly props: Readonly<Record<string, string>>;
}

/** One snapshot as the `snapshots` command prints it. */
export interface MemorySnapshotRecord {
  /** The snapshot name. */
  readonly name: string;
  /** A unique id. */
  readonly guid: string;
  /** Creation time, seconds since the epoch. */
  readonly ctime: number;
  /** The volume's size when the snapshot was taken. */
  readonly size: number;
}

/** Usage of the whole store, as the `df` command prints it. */
export interface MemoryUsage {
  /** The capacity in bytes. */
  readonly total: number;
  /** Bytes held by distinct data chunks. */
  readonly used: number;
  /** `total - used`. */
  readonly available: number;
}

/**
 * Options of a {@link MemoryStore}.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ capacity: 64 * 1024 ** 2, chunkSize: 4096 }); // writes past 64 MiB fail with NO_SPACE
 * ```
 */
export interface MemoryStoreOptions {
  /**
   * How many bytes of data the store holds before writes fail with "out of space".
   * @default 17179869184 (16 GiB)
   */
  readonly capacity?: number;
  /**
   * The allocation unit of the sparse volumes.
   * @default 65536
   */
  readonly chunkSize?: number;
}

let guidCounter = 0;

/**
 * Pools of sparse, copy-on-write volumes held in memory. Chunks are never changed in place, so a
 * snapshot or clone is a shallow copy of the chunk map and costs no data.
 */
export class MemoryStore {
  /** Capacity in bytes. */
  readonly capacity: number;
  /** Allocation unit in bytes. */
  readonly chunkSize: number;
  readonly #pools = new Map<string, Map<string, MemVolume>>();

  /** @param options - capacity and chunk size */
  constructor(options: MemoryStoreOptions = {}) {
    this.capacity = options.capacity ?? 16 * 1024 ** 3;
    this.chunkSize = options.chunkSize ?? 64 * 1024;
  }

  /** Lists a pool's volumes, sorted by name. A pool that was never written to is empty. */
  list(pool: string): MemoryVolumeRecord[] {
    const seen = new Set<Buffer>();
    return [...this.#pool(pool).values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((v) => ({
        name: v.name,
        guid: v.guid,
        size: v.size,
        used: this.#countNew(seen, [v.chunks, ...v.snapshots.map((s) => s.chunks)]),
        origin: originName(v.origin),
        copiedFrom: this.#exists(pool, v.copiedFrom) ? originName(v.copiedFrom) : undefined,
        ctime: v.ctime,
        props: Object.fromEntries(v.props),
      }));
  }

  /** Lists a volume's snapshots, oldest first. */
  snapshots(pool: string, name: string): MemorySnapshotRecord[] {
    return this.#volume(pool, name).snapshots.map((s) => ({ name: s.name, guid: s.guid, ctime: s.ctime, size: s.size }));
  }

  /**
   * Creates an empty (all-zero) volume, with its properties set in the same step.
   *
   * @returns the new volume's guid
   */
  create(pool: string, name: string, size: number, props: Readonly<Record<string, string>> = {}): string {
    const p = this.#pool(pool);
    if (p.has(name)) throw new MemoryToolError(`volume '${pool}/${name}' already exists`);
    const v = newVolume(name, size, new Map(), undefined);
    for (const [k, value] of Object.entries(props)) v.props.set(k, value);
    p.set(name, v);
    return v.guid;
  }

  /**
   * Destroys a volume and its snapshots; refused while clones depend on it or it is protected,
   * and, when `guid` is given, unless the volume is still the one with that guid.
   */
  destroy(pool: string, name: string, guid?: string): void {
    const v = this.#volume(pool, name);
    if (guid !== undefined && v.guid !== guid) throw new MemoryToolError(`volume '${pool}/${name}' is not ${guid} (it is ${v.guid})`);
    if (v.props.get('protected') === '1') throw new MemoryToolError(`volume '${pool}/${name}' is protected`);
    const dependents = this.#dependents(pool, (o) => o.volume === v);
    if (dependents.length > 0) {
      throw new MemoryToolError(`volume '${pool}/${name}' has dependent clones: ${dependents.join(', ')}`);
    }
    this.#pool(pool).delete(name);
  }

  /** Renames a volume within its pool. */
  rename(pool: string, from: string, to: string): void {
    const p = this.#pool(pool);
    const v = this.#volume(pool, from);
    if (p.has(to)) throw new MemoryToolError(`volume '${pool}/${to}' already exists`);
    p.delete(from);
    v.name = to;
    p.set(to, v);
  }

  /** Sets a property, or removes it when `value` is `undefined`. */
  setProp(pool: string, name: string, key: string, value: string | undefined): void {
    const v = this.#volume(pool, name);
    if (value === undefined) v.props.delete(key);
    else v.props.set(key, value);
  }

  /** Takes a snapshot of a volume's current state. */
  snapshot(pool: string, name: string, snap: string): void {
    const v = this.#volume(pool, name);
    if (v.snapshots.some((s) => s.name === snap)) throw new MemoryToolError(`snapshot '${pool}/${name}@${snap}' already exists`);
    v.snapshots.push({ name: snap, guid: newGuid(), ctime: nowSeconds(), size: v.size, chunks: new Map(v.chunks) });
  }

  /** Makes a volume's current state that of one of its snapshots (any of them; newer ones are kept). */
  rollback(pool: string, name: string, snap: string): void {
    const v = this.#writable(pool, name);
    const s = this.#snapshot(v, pool, snap);
    v.chunks = new Map(s.chunks);
    v.size = s.size;
  }

  /** Destroys one snapshot; refused while clones depend on it. */
  destroySnapshot(pool: string, name: string, snap: string): void {
    const v = this.#volume(pool, name);
    const s = this.#snapshot(v, pool, snap);
    const dependents = this.#dependents(pool, (o) => o.snapshot === s);
    if (dependents.length > 0) {
      throw new MemoryToolError(`snapshot '${pool}/${name}@${snap}' has dependent clones: ${dependents.join(', ')}`);
    }
    v.snapshots.splice(v.snapshots.indexOf(s), 1);
  }

  /**
   * Makes a new volume that starts as a copy of a volume's current state or of one of its
   * snapshots: a clone that depends on its origin (as a ZFS clone), or, with `independent`, one
   * that keeps no link to it (as a reflink copy).
   */
  clone(pool: string, source: string, snap: string | undefined, target: string, independent = false): void {
    const p = this.#pool(pool);
    const v = this.#volume(pool, source);
    if (p.has(target)) throw new MemoryToolError(`volume '${pool}/${target}' already exists`);
    const s = snap === undefined ? undefined : this.#snapshot(v, pool, snap);
    const from = { volume: v, snapshot: s };
    const made = newVolume(target, s?.size ?? v.size, new Map(s?.chunks ?? v.chunks), independent ? undefined : from);
    p.set(target, independent ? { ...made, copiedFrom: from } : made);
  }

  /**
   * Makes a volume's current state that of one of its snapshots and drops all its snapshots, in
   * one step; refused while clones depend on any of them.
   */
  flatten(pool: string, name: string, snap: string): void {
    const v = this.#writable(pool, name);
    const s = this.#snapshot(v, pool, snap);
    const dependents = this.#dependents(pool, (o) => o.snapshot !== undefined && v.snapshots.includes(o.snapshot));
    if (dependents.length > 0) throw new MemoryToolError(`snapshots of '${pool}/${name}' have dependent clones: ${dependents.join(', ')}`);
    v.chunks = new Map(s.chunks);
    v.size = s.size;
    v.snapshots.length = 0;
  }

  /** Makes a clone independent of its origin (its data is already its own), in one step. */
  detach(pool: string, name: string): void {
    const v = this.#volume(pool, name);
    if (!v.origin && !v.copiedFrom) throw new MemoryToolError(`volume '${pool}/${name}' is not a clone`);
    v.origin = undefined;
    v.copiedFrom = undefined;
  }

  /** Changes a volume's size; data past a smaller size is dropped. */
  resize(pool: string, name: string, size: number): void {
    const v = this.#writable(pool, name);
    if (size < v.size) {
      const keep = Math.ceil(size / this.chunkSize);
      for (const i of [...v.chunks.keys()]) if (i >= keep) v.chunks.delete(i);
      const last = v.chunks.get(keep - 1);
      const tail = size - (keep - 1) * this.chunkSize;
      if (last && tail < this.chunkSize) v.chunks.set(keep - 1, Buffer.concat([last.subarray(0, tail), Buffer.alloc(this.chunkSize - tail)]));
    }
    v.size = size;
  }

  /**
   * Writes bytes from offset 0. All-zero chunks are not stored (the volume stays sparse).
   *
   * @returns the number of bytes written
   */
  async write(pool: string, name: string, data: AsyncIterable<Uint8Array>, expected: number): Promise<number> {
    const v = this.#writable(pool, name);
    if (expected > v.size) throw new MemoryToolError(`${expected} bytes do not fit in '${pool}/${name}' (${v.size} bytes)`);
    let used = this.usage().used;
    let offset = 0;
    let pending = Buffer.alloc(0);
    const flush = (buf: Buffer): void => {
      const index = offset / this.chunkSize;
      if (buf.length < this.chunkSize) {
        const old = v.chunks.get(index);
        buf = Buffer.concat([buf, old ? old.subarray(buf.length) : Buffer.alloc(this.chunkSize - buf.length)]);
      }
      if (isZero(buf)) v.chunks.delete(index);
      else {
        used += this.chunkSize;
        if (used > this.capacity) throw new MemoryToolError(`out of space writing '${pool}/${name}'`);
        v.chunks.set(index, buf);
      }
      offset += this.chunkSize;
    };
    for await (const piece of data) {
      pending = Buffer.concat([pending, piece]);
      if (offset + pending.length > expected) throw new MemoryToolError(`input longer than the ${expected} bytes announced`);
      while (pending.length >= this.chunkSize) {
        flush(Buffer.from(pending.subarray(0, this.chunkSize)));
        pending = pending.subarray(this.chunkSize);
      }
    }
    const total = offset + pending.length;
    if (pending.length > 0) flush(Buffer.from(pending));
    if (total < expected) throw new MemoryToolError(`input ended after ${total} of ${expected} bytes`);
    return total;
  }

  /**
   * Writes bytes at an offset, as a guest writes its disk (the `memoryVolumeData` hook of the
   * conformance kit); the chunks touched are replaced, never changed in place, so snapshots and
   * clones keep their data.
   *
   * @throws {@link MemoryToolError} when the volume is missing or read-only, the range does not
   *   fit, or the store is full
   */
  writeAt(pool: string, name: string, offset: number, data: Uint8Array): void {
    const v = this.#writable(pool, name);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + data.length > v.size) {
      throw new MemoryToolError(`${data.length} bytes at ${offset} do not fit in '${pool}/${name}' (${v.size} bytes)`);
    }
    let used = this.usage().used;
    for (let done = 0; done < data.length; ) {
      const at = offset + done;
      const index = Math.floor(at / this.chunkSize);
      const start = at - index * this.chunkSize;
      const n = Math.min(this.chunkSize - start, data.length - done);
      const old = v.chunks.get(index);
      const chunk = old ? Buffer.from(old) : Buffer.alloc(this.chunkSize);
      chunk.set(data.subarray(done, done + n), start);
      if (isZero(chunk)) v.chunks.delete(index);
      else {
        used += this.chunkSize;
        if (used > this.capacity) throw new MemoryToolError(`out of space writing '${pool}/${name}'`);
        v.chunks.set(index, chunk);
      }
      done += n;
    }
  }

  /** Reads a volume's (or a snapshot's) bytes, zeros for holes, in chunks. */
  *read(pool: string, name: string, snap: string | undefined): Generator<Buffer> {
    const v = this.#volume(pool, name);
    const source = snap === undefined ? { size: v.size, chunks: v.chunks } : this.#snapshot(v, pool, snap);
    for (let offset = 0; offset < source.size; offset += this.chunkSize) {
      const length = Math.min(this.chunkSize, source.size - offset);
      const chunk = source.chunks.get(offset / this.chunkSize);
      yield chunk ? chunk.subarray(0, length) : Buffer.alloc(length);
    }
  }

  /** Capacity and the bytes held by distinct chunks across every pool. */
  usage(): MemoryUsage {
    const seen = new Set<Buffer>();
    let used = 0;
    for (const p of this.#pools.values()) {
      for (const v of p.values()) used += this.#countNew(seen, [v.chunks, ...v.snapshots.map((s) => s.chunks)]);
    }
    return { total: this.capacity, used, available: Math.max(0, this.capacity - used) };
  }

  #countNew(seen: Set<Buffer>, maps: Chunks[]): number {
    let bytes = 0;
    for (const m of maps) {
      for (const c of m.values()) {
        if (!seen.has(c)) {
          seen.add(c);
          bytes += this.chunkSize;
        }
      }
    }
    return bytes;
  }

  #pool(pool: string): Map<string, MemVolume> {
    let p = this.#pools.get(pool);
    if (!p) {
      p = new Map();
      this.#pools.set(pool, p);
    }
    return p;
  }

  #volume(pool: string, name: string): MemVolume {
    const v = this.#pool(pool).get(name);
    if (!v) throw new MemoryToolError(`volume '${pool}/${name}' does not exist`);
    return v;
  }

  #writable(pool: string, name: string): MemVolume {
    const v = this.#volume(pool, name);
    if (v.props.get('readonly') === '1') throw new MemoryToolError(`volume '${pool}/${name}' is read-only`);
    return v;
  }

  #snapshot(v: MemVolume, pool: string, snap: string): MemSnapshot {
    const s = v.snapshots.find((x) => x.name === snap);
    if (!s) throw new MemoryToolError(`snapshot '${pool}/${v.name}@${snap}' does not exist`);
    return s;
  }

  /** Whether the volume (and snapshot) something was copied from is still there. */
  #exists(pool: string, from: MemVolume['origin']): boolean {
    if (!from || this.#pool(pool).get(from.volume.name) !== from.volume) return false;
    return from.snapshot === undefined || from.volume.snapshots.includes(from.snapshot);
  }

  #dependents(pool: string, test: (origin: NonNullable<MemVolume['origin']>) => boolean): string[] {
    return [...this.#pool(pool).values()].filter((x) => x.origin && test(x.origin)).map((x) => x.name);
  }
}

function originName(o: MemVolume['origin']): string | undefined {
  return o ? o.volume.name + (o.snapshot ? `@${o.snapshot.name}` : '') : undefined;
}

function newVolume(name: string, size: number, chunks: Chunks, origin: MemVolume['origin']): MemVolume {
  return { guid: newGuid(), name, size, chunks, snapshots: [], origin, props: new Map(), ctime: nowSeconds() };
}

function newGuid(): string {
  return `${Date.now().toString(16)}${(++guidCounter).toString(16)}`;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

let zeros = Buffer.alloc(0);

function isZero(buf: Buffer): boolean {
  if (zeros.length < buf.length) zeros = Buffer.alloc(buf.length);
  return buf.equals(zeros.subarray(0, buf.length));
}
