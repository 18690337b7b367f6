/**
 * Nodes: other places a volume can go. A {@link StorageNode} is a storage manager this process
 * can reach, in this process (a control plane holding several managers, and the tests) or on
 * another host through its `stowage` command over ssh. Both answer the same questions, so
 * format negotiation, free-space checks and imports work across hosts exactly as inside one
 * manager.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import type { StreamFormat, VolumeFormat } from '../capabilities.js';
import type { ReadBack, StorageStatus, TransferOptions } from '../plugin-types.js';

/** One storage of a node, as {@link StorageNode.storages} lists it. */
export interface NodeStorage {
  /** The storage id. */
  readonly storage: string;
  /** The plugin type, e.g. `dir`. */
  readonly type: string;
}

/** One image of a node, as {@link StorageNode.findImage} finds it. */
export interface NodeImage {
  /** `storeid:volname`. */
  readonly volid: string;
  /** Virtual size in bytes. */
  readonly size: number;
  /** The image format, or `invalid`. */
  readonly format: VolumeFormat | 'invalid';
}

/** The checksum of a volume's data, as {@link StorageNode.checksum} reports it. */
export interface VolumeChecksum {
  /** The volume. */
  readonly volid: string;
  /** The stream the checksum was taken over: always `raw+size` (size header, then the raw data). */
  readonly format: 'raw+size';
  /** Bytes of that stream (8 + the volume's size). */
  readonly bytes: number;
  /** SHA-256 of that stream, lower-case hex. */
  readonly sha256: string;
}

/** Options of {@link StorageNode.importVolume}. */
export interface NodeImportOptions extends TransferOptions {
  /** The stream format of `input`; one the node's `importFormats` accepts. */
  readonly format: StreamFormat;
  /** The stream. */
  readonly input: Readable;
  /** When the name is taken, import under a free name instead of failing. */
  readonly allowRename?: boolean | undefined;
  /** Aborts the import (code `ABORTED`); what the node made is removed. */
  readonly signal?: AbortSignal | undefined;
  /** The new volume's data as read back once flushed, from a node in this process whose plugin can (see `VolumeImportRequest.readBack`). */
  readonly readBack?: ReadBack | undefined;
}

/** Options of {@link StorageNode.receiveVolume}. */
export interface ReceiveOptions extends TransferOptions {
  /** The stream formats the sender can write, best first: the node takes the first it can import. */
  readonly offer: readonly StreamFormat[];
  /** Bytes the target storage must have free (checked before anything is sent). */
  readonly need?: number | undefined;
  /**
   * Called once, with the format the node chose, when the node is ready to read: returns the
   * stream to import (the sender writes into it from then on). It may be a {@link @stowage/core!plugin.directSource | directSource}:
   * a node that hands it the writable the bytes go to (`sendInto`, or a runner's standard input)
   * spares a copy of each chunk.
   */
  readonly open: (format: StreamFormat) => Readable;
  /** Aborts the import (code `ABORTED`); what the node made is removed. */
  readonly signal?: AbortSignal | undefined;
}

/** What {@link StorageNode.receiveVolume} made, as the node reports it. */
export interface ReceivedVolume {
  /** The volid written. */
  readonly volid: string;
  /** The stream format it was sent in. */
  readonly format: StreamFormat;
  /** The new volume's virtual size in bytes. */
  readonly size: number;
  /**
   * For `raw+size`: the checksum of the new volume's data as read back from its storage once
   * flushed (never a hash of the bytes as they arrived): through the node's own export once the
   * import was complete, or, when the plugin can, part by part during the import, each part as
   * soon as it was flushed (`VolumeImportRequest.readBack`).
   */
  readonly checksum?: VolumeChecksum | undefined;
}

/**
 * A storage manager this one can reach: where {@link StorageManager.migrateVolume} sends a
 * volume. Every method answers for the node's own storage configuration and runs under the
 * node's own locks; an import that fails or is aborted leaves nothing on the node (the node's
 * import guarantees this, see the Guarantees in docs/concepts.md).
 *
 * Implementations: {@link LocalNode} (a manager in this process) and {@link SshNode} (another
 * host's `stowage` command over ssh).
 */
export interface StorageNode {
  /** The node's name, e.g. `pve2`. */
  readonly name: string;
  /** How it is reached, for messages: `local` or `ssh root@pve2`. */
  readonly description: string;
  /**
   * The node's usable storages, in its config order.
   *
   * @throws {@link StorageError} `UNAVAILABLE` when the node cannot be reached
   */
  storages(): Promise<NodeStorage[]>;
  /**
   * Usage of one of the node's storages.
   *
   * @param storeId - the storage
   * @throws {@link StorageError} `NOT_FOUND`, `UNAVAILABLE`
   */
  status(storeId: string): Promise<StorageStatus>;
  /**
   * Stream formats the node can import into `volid` (which need not exist), best first.
   *
   * @param volid - the target volume
   * @param options - snapshot options, as for `volumeImportFormats`
   * @throws {@link StorageError} `NOT_FOUND`, `INVALID_VOLUME_ID`, `UNAVAILABLE`
   */
  importFormats(volid: string, options?: TransferOptions): Promise<StreamFormat[]>;
  /**
   * An image of the node, or `undefined` when there is none of that id.
   *
   * @param volid - the image
   * @throws {@link StorageError} `NOT_FOUND` (no such storage), `UNAVAILABLE`
   */
  findImage(volid: string): Promise<NodeImage | undefined>;
  /**
   * Reads a stream into a new volume of the node (as `volumeImport`).
   *
   * @param volid - the target volume
   * @param options - format, input, rename, signal
   * @returns the volid written
   * @throws {@link StorageError} `ALREADY_EXISTS`, `NOT_SUPPORTED`, `INVALID_ARGUMENT`
   *   (truncated stream), `ABORTED`, `NO_SPACE`, `UNAVAILABLE`
   */
  importVolume(volid: string, options: NodeImportOptions): Promise<string>;
  /**
   * Receives a volume in one exchange, the way a migration sends one: checks the target storage
   * (it exists, is active, has `need` bytes free), chooses the first format of `offer` that it
   * imports into `volid`, calls `open(format)` and imports the stream it returns, then reads the
   * new volume back (`raw+size`: its checksum; other formats: its size). A failure at any step
   * leaves nothing on the node: the import removes what it made, and a copy whose read-back
   * fails is freed again. Over ssh this is one run of the node's `stowage receive`.
   *
   * @param volid - the target volume (must not exist)
   * @param options - the offer, the space needed, the stream opener, snapshot options, signal
   * @returns what the node made, with what it read back
   * @throws {@link StorageError} `NOT_FOUND` (no such storage), `UNAVAILABLE` (not active, or
   *   the node cannot be reached), `NO_SPACE`, `NOT_SUPPORTED` (no common format),
   *   `ALREADY_EXISTS`, `INVALID_ARGUMENT` (truncated stream), `ABORTED`
   */
  receiveVolume(volid: string, options: ReceiveOptions): Promise<ReceivedVolume>;
  /**
   * The SHA-256 of a volume's `raw+size` stream, computed where the volume is.
   *
   * @param volid - the volume
   * @param options - `signal` to abort
   * @throws {@link StorageError} `NOT_FOUND`, `NOT_SUPPORTED` (no `raw+size` export), `ABORTED`
   */
  checksum(volid: string, options?: { readonly signal?: AbortSignal | undefined }): Promise<VolumeChecksum>;
  /**
   * The names of a volume's snapshots, oldest first (as `volumeSnapshotInfo`).
   *
   * @param volid - the volume
   * @throws {@link StorageError} `NOT_FOUND`, `NOT_SUPPORTED`, `UNAVAILABLE`
   */
  snapshots(volid: string): Promise<string[]>;
  /**
   * Deletes a snapshot of a volume of the node (as `volumeSnapshotDelete`; replication
   * snapshots too).
   *
   * @param volid - the volume
   * @param snapshot - the snapshot
   * @throws {@link StorageError} `NOT_FOUND`, `IN_USE`, `UNAVAILABLE`
   */
  deleteSnapshot(volid: string, snapshot: string): Promise<void>;
  /**
   * Frees a volume of the node (as `freeImage`).
   *
   * @param volid - the volume
   * @throws {@link StorageError} `NOT_FOUND`, `IN_USE`, `PROTECTED`, `UNAVAILABLE`
   */
  freeImage(volid: string): Promise<void>;
}
