/**
 * `listVolumes` for the content types other than images: ISO images, container templates,
 * backups, snippets and import sources, each in its own directory.
 *
 * @module
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { assertSafeVolname, errnoOf, fsError } from '@stowage/core/plugin';
import { formatVolumeId, isStorageError, type ContentType, type VolumeListEntry } from '@stowage/core';
import { parseBackupName } from './backup-name.js';
import { mapLimit } from './fs-util.js';
import type { ListScope } from './list.js';
import { confine } from './paths.js';

/** How one content type's files are recognised and described. */
interface FileKind {
  /** The volname prefix. */
  readonly prefix: string;
  /** Matches an acceptable file name; group 1, when present, is the format suffix. */
  readonly re: RegExp;
  /** The reported format. */
  format(m: RegExpExecArray): string;
  /** Only listed when no guest filter is given. */
  readonly guestless: boolean;
}

const KINDS: Partial<Record<ContentType, FileKind>> = {
  iso: { prefix: 'iso', re: /^[^/]+\.(?:iso|img)$/i, format: () => 'iso', guestless: true },
  vztmpl: { prefix: 'vztmpl', re: /^[^/]+\.(tar|tar\.(?:gz|xz|zst|bz2))$/i, format: (m) => `t${(m[1] ?? '').replace(/^tar\./i, '')}`, guestless: true },
  backup: { prefix: 'backup', re: /^[^/]+\.(tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)$/, format: (m) => m[1] ?? '', guestless: false },
  snippets: { prefix: 'snippets', re: /^[^/]+$/, format: () => 'snippet', guestless: false },
  import: { prefix: 'import', re: /^[a-zA-Z0-9\-.+=_]+\.(ova|ovf|qcow2|raw|vmdk)$/i, format: (m) => (m[1] ?? '').toLowerCase(), guestless: false },
};

/** Tells whether the core accepts a volname; files it would refuse are skipped. */
function isSafe(volname: string): boolean {
  try {
    assertSafeVolname(volname);
    return true;
  } catch {
    return false;
  }
}
const BACKUP_VMID_RE = /-([1-9][0-9]{2,8})-/;

/**
 * Lists the files of one non-image content type.
 *
 * @param scope - storage id, layout, resolved root, logger
 * @param content - the content type (not `images`/`rootdir`)
 * @param vmid - only this guest's files (backups); ISO images and templates belong to no guest
 *   and are left out when a guest is named, as in Proxmox
 * @returns the entries, unsorted; a backup carries its `subtype` and, for a standard vzdump name,
 *   the ctime its name gives ({@link parseBackupName})
 * @see Proxmox `PVE::Storage::Plugin::list_volumes` (`get_subdir_files`)
 */
export async function listContentFiles(scope: ListScope, content: ContentType, vmid: number | undefined): Promise<VolumeListEntry[]> {
  const kind = KINDS[content];
  if (!kind || (kind.guestless && vmid !== undefined)) return [];
  const dir = scope.layout.subdir(content);
  let names: string[];
  try {
    await confine(scope.rootReal, dir, undefined, scope.fs);
    names = await readdir(dir);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return [];
    if (isStorageError(e, 'INVALID_VOLUME_ID')) {
      scope.log.warn(`skipping ${content}: its directory leads outside the storage`, { path: dir });
      return [];
    }
    throw fsError(e, `cannot read directory '${dir}'`, { path: dir });
  }
  const entries = await mapLimit(names, 32, async (name): Promise<VolumeListEntry | undefined> => {
    const m = kind.re.exec(name);
    if (!m || !isSafe(`${kind.prefix}/${name}`)) return undefined;
    const owner = content === 'backup' ? BACKUP_VMID_RE.exec(name) : null;
    if (content === 'backup' && vmid !== undefined && !name.includes(`-${vmid}-`)) return undefined;
    const path = join(dir, name);
    try {
      await confine(scope.rootReal, path, undefined, scope.fs);
      const st = await stat(path);
      if (!st.isFile()) return undefined;
      const entry: VolumeListEntry = {
        volid: formatVolumeId(scope.storeId, `${kind.prefix}/${name}`),
        content,
        format: kind.format(m),
        size: st.size,
        vmid: content === 'backup' ? (vmid ?? (owner ? Number(owner[1]) : undefined)) : undefined,
        ctime: Math.floor(st.ctimeMs / 1000),
      };
      if (content !== 'backup') return entry;
      const backup = parseBackupName(name);
      return { ...entry, ctime: backup.ctime ?? entry.ctime, subtype: backup.subtype };
    } catch (e) {
      if (isStorageError(e, 'INVALID_VOLUME_ID') || errnoOf(e) === 'ENOENT') return undefined;
      throw fsError(e, `cannot stat '${path}'`, { path });
    }
  });
  return entries.filter((e): e is VolumeListEntry => e !== undefined);
}
