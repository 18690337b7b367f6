/**
 * `@stowage/plugin-zfs`: ZFS pools as stowage storage (Proxmox's `zfspool`): zvols for VM
 * disks, file systems with a quota for containers.
 *
 * @packageDocumentation
 */
export { zfsPoolCapabilities } from './capabilities.js';
export type { ZfsPoolConfig } from './config.js';
export { DEFAULT_TUNING, type ZfsTuning } from './exec.js';
export { parseZfsVolname } from './names.js';
export { ZfsPoolPlugin } from './zfs-plugin.js';
