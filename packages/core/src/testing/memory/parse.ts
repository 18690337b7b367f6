/**
 * Pure parsers of `stowage-memory` output. Like a real plugin's `parse.ts`: text in, data out.
 *
 * @module
 */
import { StorageError } from '../../errors.js';
import type { MemorySnapshotRecord, MemoryUsage, MemoryVolumeRecord } from './store.js';

function jsonLines(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as unknown;
      } catch (cause) {
        throw new StorageError('CORRUPT', `unreadable line ${i + 1} of stowage-memory output`, { cause, details: { line: l } });
      }
    });
}

/**
 * Parses the output of `stowage-memory list`.
 *
 * @param text - one JSON object per line
 * @returns the volumes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` on a line that is not JSON
 */
export function parseVolumeList(text: string): MemoryVolumeRecord[] {
  return jsonLines(text) as MemoryVolumeRecord[];
}

/**
 * Parses the output of `stowage-memory snapshots`.
 *
 * @param text - one JSON object per line, oldest first
 * @returns the snapshots, oldest first
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` on a line that is not JSON
 */
export function parseSnapshotList(text: string): MemorySnapshotRecord[] {
  return jsonLines(text) as MemorySnapshotRecord[];
}

/**
 * Parses the output of `stowage-memory create`: the new volume's guid.
 *
 * @param text - one JSON object
 * @returns the guid
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when there is no guid
 */
export function parseCreated(text: string): string {
  const [line] = jsonLines(text) as { guid?: unknown }[];
  if (typeof line?.guid !== 'string') throw new StorageError('CORRUPT', 'stowage-memory create printed no guid', { details: { text } });
  return line.guid;
}

/**
 * Parses the output of `stowage-memory df`.
 *
 * @param text - one JSON object
 * @returns capacity, used and available bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when there is not exactly one JSON line
 */
export function parseUsage(text: string): MemoryUsage {
  const lines = jsonLines(text);
  if (lines.length !== 1) throw new StorageError('CORRUPT', 'stowage-memory df printed no usage line');
  return lines[0] as MemoryUsage;
}
