/**
 * `@stowage/plugin-lvmthin`: LVM thin pools as stowage storage (Proxmox's `lvmthin`).
 *
 * @packageDocumentation
 */
export { lvmThinCapabilities } from './capabilities.js';
export type { LvmThinConfig } from './config.js';
export { LvmThinPlugin } from './lvmthin-plugin.js';
export { parseLvmThinVolname } from './names.js';
