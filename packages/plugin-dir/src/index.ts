/**
 * `@stowage/plugin-dir`: directory storage (Proxmox's `dir`) for stowage: qcow2, raw and vmdk
 * disk images in `<path>/images/<vmid>/`, plus ISO images, container templates, backups,
 * snippets and import sources.
 *
 * @packageDocumentation
 */
export { DirPlugin } from './dir-plugin.js';
export { dirCapabilities } from './capabilities.js';
export {
  DEFAULT_CONTENT_DIRS,
  PREALLOCATION_MODES,
  type DirConfig,
  type DirFormatValues,
  type Preallocation,
  type PreallocationValues,
} from './config.js';
export { formatImageVolname, parseDirVolname } from './names.js';
