/**
 * Which guests are containers: what decides whether an image is listed as `images` or `rootdir`.
 *
 * @module
 */
import type { ContentType } from './capabilities.js';
import type { GuestTypes, ImageInfo, VolumeListEntry } from './plugin-types.js';

/**
 * The content type an image of a guest is listed as: `rootdir` when the guest is a container,
 * `images` otherwise, also when the guest is unknown or no guest list is given.
 *
 * @param vmid - the image's owner
 * @param guests - the guest list, when the caller has one
 * @example
 * ```ts
 * imageContent(101, { 100: 'qemu', 101: 'lxc' }); // 'rootdir'
 * imageContent(101, undefined); // 'images'
 * ```
 * @see Proxmox `PVE::Storage::Plugin::list_volumes` (the `vmlist` lookup)
 */
export function imageContent(vmid: number, guests: GuestTypes | undefined): Extract<ContentType, 'images' | 'rootdir'> {
  return guests?.[vmid] === 'lxc' ? 'rootdir' : 'images';
}

/**
 * The facts of a disk image that a `listVolumes` entry carries (`VolumeListEntry.image`), taken
 * from its `listImages` record: one place that says which they are, for the default
 * `listVolumes` and for plugins that list volumes their own way.
 *
 * @param i - the image as `listImages` reports it
 * @returns `used`, `isBase`, `parent`, `backingFile`, and `hidden` when it is set
 */
export function imageFacts(i: ImageInfo): NonNullable<VolumeListEntry['image']> {
  const facts: { -readonly [K in keyof NonNullable<VolumeListEntry['image']>]: NonNullable<VolumeListEntry['image']>[K] } = {
    used: i.used,
    isBase: i.isBase,
    parent: i.parent,
    backingFile: i.backingFile,
  };
  // last, and only when set (no spread of a fresh object per image of a listing)
  if (i.hidden === true) facts.hidden = true;
  return facts;
}

/**
 * The `listVolumes` entries of listed images: each as `images` or `rootdir` ({@link imageContent}),
 * with its image facts (`image`), keeping those whose content type is wanted.
 *
 * @param images - the images, from `listImages`
 * @param wanted - the content types asked for
 * @param guests - the guest list, when the caller has one
 */
export function imageListEntries(images: readonly ImageInfo[], wanted: readonly ContentType[], guests: GuestTypes | undefined): VolumeListEntry[] {
  const out: VolumeListEntry[] = [];
  for (let n = 0; n < images.length; n++) {
    const i = images[n] as ImageInfo;
    const content = imageContent(i.vmid, guests);
    if (!wanted.includes(content)) continue;
    out.push({ volid: i.volid, content, format: i.format, size: i.size, vmid: i.vmid, ctime: i.ctime, image: imageFacts(i) });
  }
  return out;
}
