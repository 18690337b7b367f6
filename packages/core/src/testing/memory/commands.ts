/**
 * Pure argv builders for `stowage-memory`, the in-process tool behind the `memory` plugin
 * (run by {@link MemoryRunner}). Like a real plugin's `commands.ts`: no I/O here.
 *
 * @module
 */

/** The program name of the in-memory storage tool. */
export const MEMORY_TOOL = 'stowage-memory';

/** `stowage-memory list <pool>`: one JSON object per volume and line. */
export const listArgs = (pool: string): string[] => [MEMORY_TOOL, 'list', pool];

/** `stowage-memory snapshots <pool> <name>`: one JSON object per snapshot and line, oldest first. */
export const snapshotsArgs = (pool: string, name: string): string[] => [MEMORY_TOOL, 'snapshots', pool, name];

/** `stowage-memory df`: one JSON object with total, used and available bytes. */
export const dfArgs = (): string[] => [MEMORY_TOOL, 'df'];

/** `stowage-memory create <pool> <name> <bytes> [<key>=<value>...]`: prints `{"guid":...}`. */
export const createArgs = (pool: string, name: string, size: number, props: Readonly<Record<string, string>> = {}): string[] => [
  MEMORY_TOOL,
  'create',
  pool,
  name,
  String(size),
  ...Object.entries(props).map(([k, v]) => `${k}=${v}`),
];

/** `stowage-memory destroy <pool> <name>[@<snapshot>]`. */
export const destroyArgs = (pool: string, name: string, snapshot?: string): string[] => [
  MEMORY_TOOL,
  'destroy',
  pool,
  snapshot === undefined ? name : `${name}@${snapshot}`,
];

/** `stowage-memory destroy <pool> <name> <guid>`: only if the volume still has that guid. */
export const destroyIdentifiedArgs = (pool: string, name: string, guid: string): string[] => [MEMORY_TOOL, 'destroy', pool, name, guid];

/** `stowage-memory rename <pool> <from> <to>`. */
export const renameArgs = (pool: string, from: string, to: string): string[] => [MEMORY_TOOL, 'rename', pool, from, to];

/** `stowage-memory set <pool> <name> <key> [<value>]`; without a value the property is removed. */
export const setArgs = (pool: string, name: string, key: string, value?: string): string[] =>
  value === undefined ? [MEMORY_TOOL, 'set', pool, name, key] : [MEMORY_TOOL, 'set', pool, name, key, value];

/** `stowage-memory snapshot <pool> <name>@<snapshot>`. */
export const snapshotArgs = (pool: string, name: string, snapshot: string): string[] => [MEMORY_TOOL, 'snapshot', pool, `${name}@${snapshot}`];

/** `stowage-memory rollback <pool> <name>@<snapshot>`. */
export const rollbackArgs = (pool: string, name: string, snapshot: string): string[] => [MEMORY_TOOL, 'rollback', pool, `${name}@${snapshot}`];

/** `stowage-memory clone <pool> <source>[@<snapshot>] <target>`. */
export const cloneArgs = (pool: string, source: string, snapshot: string | undefined, target: string): string[] => [
  MEMORY_TOOL,
  'clone',
  pool,
  snapshot === undefined ? source : `${source}@${snapshot}`,
  target,
];

/** `stowage-memory copy <pool> <source>[@<snapshot>] <target>`: a clone that keeps no link to its source. */
export const copyArgs = (pool: string, source: string, snapshot: string | undefined, target: string): string[] => [
  MEMORY_TOOL,
  'copy',
  pool,
  snapshot === undefined ? source : `${source}@${snapshot}`,
  target,
];

/** `stowage-memory flatten <pool> <name>@<snapshot>`: the volume takes the snapshot's state, and all its snapshots go. */
export const flattenArgs = (pool: string, name: string, snapshot: string): string[] => [MEMORY_TOOL, 'flatten', pool, `${name}@${snapshot}`];

/** `stowage-memory detach <pool> <name>`: a clone stops depending on its origin. */
export const detachArgs = (pool: string, name: string): string[] => [MEMORY_TOOL, 'detach', pool, name];

/** `stowage-memory resize <pool> <name> <bytes>`. */
export const resizeArgs = (pool: string, name: string, size: number): string[] => [MEMORY_TOOL, 'resize', pool, name, String(size)];

/** `stowage-memory write <pool> <name> <bytes>`: exactly that many bytes from stdin, from offset 0. */
export const writeArgs = (pool: string, name: string, size: number): string[] => [MEMORY_TOOL, 'write', pool, name, String(size)];

/** `stowage-memory read <pool> <name>[@<snapshot>]`: the bytes to stdout. */
export const readArgs = (pool: string, name: string, snapshot?: string): string[] => [
  MEMORY_TOOL,
  'read',
  pool,
  snapshot === undefined ? name : `${name}@${snapshot}`,
];
