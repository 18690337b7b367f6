/**
 * A node that is a storage manager in this process.
 *
 * @module
 */
import type { StreamFormat } from '../capabilities.js';
import type { StorageStatus, TransferOptions } from '../plugin-types.js';
import type { StorageManager } from '../storage-manager.js';
import { parseVolumeId } from '../volume-id.js';
import { volumeChecksum } from './checksum.js';
import type { NodeImage, NodeImportOptions, NodeStorage, ReceivedVolume, ReceiveOptions, StorageNode, VolumeChecksum } from './node.js';

/**
 * A {@link StorageNode} served by a {@link StorageManager} in this process: a control plane
 * that holds one manager per node, or a test with two managers on two storage
 * configurations. The manager stays the caller's to close.
 *
 * @example
 * ```ts
 * const b = new LocalNode('b', await StorageManager.open({ plugins: [DirPlugin], configFile: '/srv/b/storage.cfg' }));
 * await storages.migrateVolume('local:100/vm-100-disk-0.raw', { toNode: b });
 * ```
 */
export class LocalNode implements StorageNode {
  /** The node's name. */
  readonly name: string;
  /** Always `local`. */
  readonly description = 'local';
  readonly #manager: StorageManager;

  /**
   * @param name - the node's name
   * @param manager - the manager that serves it
   */
  constructor(name: string, manager: StorageManager) {
    this.name = name;
    this.#manager = manager;
  }

  /** {@inheritDoc StorageNode.storages} */
  async storages(): Promise<NodeStorage[]> {
    return this.#manager.storageIds().map((storage) => ({ storage, type: String(this.#manager.storageConfig(storage).type) }));
  }

  /** {@inheritDoc StorageNode.status} */
  status(storeId: string): Promise<StorageStatus> {
    return this.#manager.status(storeId);
  }

  /** {@inheritDoc StorageNode.importFormats} */
  importFormats(volid: string, options: TransferOptions = {}): Promise<StreamFormat[]> {
    return this.#manager.volumeImportFormats(volid, options);
  }

  /** {@inheritDoc StorageNode.findImage} */
  async findImage(volid: string): Promise<NodeImage | undefined> {
    const [image] = await this.#manager.listImages(parseVolumeId(volid).storeId, { volids: [volid], includeHidden: true });
    return image ? { volid: image.volid, size: image.size, format: image.format } : undefined;
  }

  /** {@inheritDoc StorageNode.importVolume} */
  importVolume(volid: string, options: NodeImportOptions): Promise<string> {
    return this.#manager.volumeImport(volid, options);
  }

  /** {@inheritDoc StorageNode.receiveVolume} */
  async receiveVolume(volid: string, options: ReceiveOptions): Promise<ReceivedVolume> {
    // imported on first use: importing the core loads no stream code (import-cost.test.ts)
    return (await import('./receive.js')).receiveOnNode(this, volid, options);
  }

  /** {@inheritDoc StorageNode.checksum} */
  checksum(volid: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<VolumeChecksum> {
    return volumeChecksum(this.#manager, volid, options);
  }

  /** {@inheritDoc StorageNode.snapshots} */
  async snapshots(volid: string): Promise<string[]> {
    return (await this.#manager.volumeSnapshotInfo(volid)).map((s) => s.name);
  }

  /** {@inheritDoc StorageNode.deleteSnapshot} */
  deleteSnapshot(volid: string, snapshot: string): Promise<void> {
    return this.#manager.volumeSnapshotDelete(volid, snapshot);
  }

  /** {@inheritDoc StorageNode.freeImage} */
  freeImage(volid: string): Promise<void> {
    return this.#manager.freeImage(volid);
  }
}
