/**
 * The format QEMU picks for an image whose format nobody named (a backing file without a
 * recorded backing format): it probes the first bytes. Only the answer matters here: qcow2 and
 * vmdk are read further, raw has no references, and any other format QEMU knows is refused,
 * since this plugin does not read what it may refer to (a QED backing file, ...). Pure.
 *
 * @module
 */
import type { VolumeFormat } from '@stowage/core';

/** How many leading bytes QEMU's probe looks at (`BLOCK_PROBE_BUF_SIZE`). */
export const PROBE_BYTES = 2048;

/** Leading bytes of formats QEMU recognises, with the format each means. */
const MAGICS: readonly (readonly [at: number, bytes: string, format: string])[] = [
  [0, 'QFI\xfb', 'qcow2'], // qcow version 1 too: the qcow2 reader refuses that version
  [0, 'KDMV', 'vmdk'],
  [0, 'COWD', 'vmdk'],
  [0, 'QED\0', 'qed'],
  [0, 'conectix', 'vpc'],
  [0, 'vhdxfile', 'vhdx'],
  [0, 'WithoutFreeSpace', 'parallels'],
  [0, 'WithouFreSpacExt', 'parallels'],
  [0, 'Bochs Virtual HD Image', 'bochs'],
  [0, '#!/bin/sh\n#V2.0 Format\n', 'cloop'],
  [0, 'LUKS\xba\xbe', 'luks'],
  [0x40, '\x7f\x10\xda\xbe', 'vdi'],
];

function startsWithAt(head: Uint8Array, at: number, bytes: string): boolean {
  if (head.length < at + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (head[at + i] !== bytes.charCodeAt(i)) return false;
  return true;
}

/**
 * QEMU's test for a text vmdk descriptor: comment lines and blank lines of spaces may come
 * first, then a `version=1`, `2` or `3` line.
 */
function looksLikeVmdkText(head: Uint8Array): boolean {
  const text = new TextDecoder('latin1').decode(head.subarray(0, PROBE_BYTES));
  for (let i = 0; i < text.length; ) {
    if (text[i] === '#') {
      const nl = text.indexOf('\n', i);
      if (nl < 0) return false;
      i = nl + 1;
    } else if (text[i] === ' ') {
      while (text[i] === ' ') i++;
      if (text[i] === '\r') i++;
      if (text[i] !== '\n') return false;
      i++;
    } else {
      return /^version=[123]\r?\n/.test(text.slice(i, i + 11));
    }
  }
  return false;
}

/**
 * The format QEMU would probe an unnamed-format image as.
 *
 * @param head - the file's first bytes (at least {@link PROBE_BYTES} when the file has them)
 * @param name - the file's name (QEMU takes a `.dmg` name for a DMG image)
 * @returns `raw`, `qcow2` or `vmdk`, or the name of another format QEMU would use
 */
export function probedFormat(head: Uint8Array, name: string): VolumeFormat | string {
  for (const [at, bytes, format] of MAGICS) if (startsWithAt(head, at, bytes)) return format;
  if (looksLikeVmdkText(head)) return 'vmdk';
  if (name.endsWith('.dmg')) return 'dmg';
  return 'raw';
}
