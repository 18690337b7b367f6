/**
 * The next step a failure's message leaves to the command: which `stowage` verb shows what was
 * missing or undoes what is in the way. Printed under the message (`  next: ...`), never with
 * `--json` (a script reads the code and `details`). Pure.
 *
 * @module
 */
import type { StorageError } from '@stowage/core';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The next step for a failure, when the command knows a better one than its message says.
 *
 * @param error - the failure
 * @returns one line, or `undefined`
 * @example
 * ```ts
 * nextStep(new StorageError('CANNOT_SHRINK', '...')); // "resize only grows: give a larger size, or +SIZE to add to it"
 * ```
 */
export function nextStep(error: StorageError): string | undefined {
  const d = error.details;
  const volid = text(d['volid']);
  const storeId = text(d['storeId']) ?? (volid?.includes(':') ? volid.slice(0, volid.indexOf(':')) : undefined);
  switch (error.code) {
    case 'NOT_FOUND':
      if (Array.isArray(d['configured'])) return "'stowage storage list' shows the configured storages; 'stowage storage add' adds one";
      if (text(d['snapshot']) !== undefined) return `'stowage snapshots ${volid ?? '<volid>'}' lists the volume's snapshots`;
      if (volid !== undefined || text(d['volname']) !== undefined) return `'stowage list ${storeId ?? '<storage>'}' lists the volumes`;
      return undefined;
    case 'INVALID_VOLUME_ID':
      return "a volume id is <storage>:<volume name>, as 'stowage list <storage>' prints it";
    case 'IN_USE':
      if (!Array.isArray(d['clones']) || d['clones'].length === 0) return undefined;
      if (text(d['snapshot']) !== undefined) return "flatten the clones of its snapshots ('stowage flatten <volid>') or free them, then flatten the volume";
      return `free or flatten the linked clones ('stowage free <volid>', 'stowage flatten <volid>'), then the template; or 'stowage free ${volid ?? '<volid>'} --when-unused' frees it with its last clone`;
    case 'NOT_SUPPORTED':
      return d['feature'] === 'clone' && d['snapshot'] === undefined && volid !== undefined ? `'stowage template ${volid}' makes it a template; then clone the template` : undefined;
    case 'INVALID_STATE':
      if (!Array.isArray(d['snapshots']) || volid === undefined) return undefined;
      return `'stowage delsnapshot ${volid} <snapshot>' deletes each; then ${d['operation'] === 'flattenImage' ? 'flatten it' : 'make the template'}`;
    case 'CANNOT_SHRINK':
      return 'resize only grows: give a larger size, or +SIZE to add to it';
    case 'ALREADY_EXISTS':
      return text(d['path']) !== undefined && volid === undefined ? "export never overwrites a file: remove it, name another, or give '-' for standard output" : undefined;
    case 'UNAVAILABLE':
      return d['reason'] === 'disabled' && storeId !== undefined ? `'stowage storage set ${storeId} --disable 0' enables it` : undefined;
    case 'PERMISSION_DENIED':
      return 'run it as root, or as a user the storage lets in';
    default:
      return undefined;
  }
}
