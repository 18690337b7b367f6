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
  dirConfigSchema,
  PREALLOCATION_MODES,
  type DirConfig,
  type DirFormatValues,
  type Preallocation,
  type PreallocationValues,
} from './config.js';
export { formatImageVolname, parseDirVolname, parseImageFileName, type ImageFileName } from './volname.js';
export { parseQcow2Header, QCOW2_MAGIC, type Qcow2Header, type Qcow2ParseResult } from './qcow2-header.js';
export { parseVmdk, parseVmdkDescriptor, type VmdkDescriptor, type VmdkExtent, type VmdkInfo, type VmdkParseResult } from './vmdk-descriptor.js';
export { HEAD_BYTES, probeImage, type ImageProbe, type ProbeFormat } from './probe.js';
