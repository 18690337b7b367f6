/**
 * One OS process of the multi-process allocation test: opens a manager over a FilePlugin
 * storage and makes N concurrent allocImage calls, then prints the volids (or error codes) as
 * JSON. Run with Node's type stripping; it imports the built @stowage/core (dist).
 *
 * argv: <storage dir> <lock dir> <count> <vmid> [exclusive]; with `exclusive`, the plugin declares
 * `exclusiveCreate` (the manager chooses names without a listing under the lock).
 */
import { isStorageError, StorageManager } from '@stowage/core';
import { ExclusiveFilePlugin, FilePlugin } from './file-plugin.ts';

const [dir, lockDir, countText, vmidText, mode] = process.argv.slice(2);
const plugin = mode === 'exclusive' ? ExclusiveFilePlugin : FilePlugin;
const manager = await StorageManager.open({
  plugins: [plugin],
  config: [{ type: plugin.type, storage: 'one', path: dir }],
  lockDir,
  lockTimeoutMs: 120_000,
});
const results = await Promise.allSettled(
  Array.from({ length: Number(countText) }, () => manager.allocImage('one', { vmid: Number(vmidText), size: 4096 })),
);
await manager.close();
process.stdout.write(
  JSON.stringify(
    results.map((r) => (r.status === 'fulfilled' ? { volid: r.value } : { error: isStorageError(r.reason) ? r.reason.code : String(r.reason) })),
  ),
);
