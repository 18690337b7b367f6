/**
 * From a filesystem path back to the volume it is: the inverse of `path` for the files of a
 * directory storage.
 *
 * @module
 */
import { dirname, relative, sep } from 'node:path';
import type { ContentType } from '@stowage/core';
import { errnoOf, fsError } from '@stowage/core/plugin';
import type { DirEnv } from './exec.js';
import { listImageInfos } from './list.js';
import { confine } from './paths.js';
import { parseDirVolname } from './names.js';

/** The content types whose files lie directly in their directory, with their volname prefix. */
const FILE_KINDS: readonly (readonly [ContentType, string])[] = [
  ['iso', 'iso'],
  ['vztmpl', 'vztmpl'],
  ['backup', 'backup'],
  ['snippets', 'snippets'],
  ['import', 'import'],
];

const VMID_DIR_RE = /^[1-9][0-9]{0,8}$/;

/** The parts of `path` below `dir`, or `undefined` when it is not below it. */
function below(dir: string, path: string): string[] | undefined {
  const rel = relative(dir, path);
  if (rel === '' || rel.startsWith('..') || rel.startsWith(sep)) return undefined;
  return rel.split(sep);
}

/** The path as given and, when it exists, with its symlinks resolved (as Proxmox's `abs_path`). */
async function candidates(env: DirEnv, path: string): Promise<string[]> {
  try {
    const real = await env.fs.realpath(path);
    return real === path ? [path] : [path, real];
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'ELOOP') return [path];
    throw fsError(e, `cannot resolve '${path}'`, { path });
  }
}

/** A content directory, as laid out and with symlinks resolved (when it exists inside the storage). */
async function dirsOf(env: DirEnv, vtype: ContentType): Promise<string[]> {
  const dir = env.layout.subdir(vtype);
  const real = await confine(env.rootReal, dir, undefined, env.fs).catch(() => dir);
  return real === dir ? [dir] : [dir, real];
}

function volnameIf(volname: string, vtype: ContentType): string | undefined {
  try {
    return parseDirVolname(volname).vtype === vtype ? volname : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Maps a path to the volume of a directory storage it names, as Proxmox's
 * `path_to_volume_id` does: an image (`<images>/<vmid>/<file>`, a container subvolume
 * included) is looked up in the guest's listing, so a linked clone gets its full volname
 * (`<basevmid>/<base>/<vmid>/<file>`); an ISO image, container template, backup, snippet or
 * import source is named by its directory and a file name its content type accepts (it is not
 * required to exist, as in Proxmox). The path is tried as given and with its symlinks resolved.
 *
 * @param env - the call's environment
 * @param path - an absolute, normalised path
 * @returns the volname, or `undefined` when the path names no volume of this storage
 * @see Proxmox `PVE::Storage::path_to_volume_id`
 */
export async function pathToVolname(env: DirEnv, path: string): Promise<string | undefined> {
  const paths = await candidates(env, path);
  for (const dir of await dirsOf(env, 'images')) {
    for (const p of paths) {
      const parts = below(dir, p);
      if (parts?.length !== 2 || !VMID_DIR_RE.test(parts[0] ?? '')) continue;
      const [vmid = '', name = ''] = parts;
      const images = await listImageInfos(env, { vmid: Number(vmid) });
      const hit = images.find((i) => i.volname === `${vmid}/${name}` || i.volname.endsWith(`/${vmid}/${name}`));
      if (hit) return hit.volname;
    }
  }
  for (const [vtype, prefix] of FILE_KINDS) {
    for (const dir of await dirsOf(env, vtype)) {
      for (const p of paths) {
        if (dirname(p) !== dir) continue;
        const volname = volnameIf(`${prefix}/${p.slice(dir.length + 1)}`, vtype);
        if (volname !== undefined) return volname;
      }
    }
  }
  return undefined;
}
