/**
 * Files and standard streams as export targets and import sources. A file written by a failed
 * export is removed; an existing file is never overwritten.
 *
 * @module
 */
import { open, unlink } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import { descriptorInput, fsError } from '@stowage/core/plugin';
import type { CliIO } from './verb.js';

/** Where an export writes. */
export interface ExportTarget {
  /** The stream to hand to the manager. */
  readonly stream: Writable;
  /** Ends the stream and waits until every byte is written. */
  commit(): Promise<void>;
  /** Stops writing and removes what was written (a file), after a failure. */
  discard(): Promise<void>;
}

/**
 * Opens the target of an export: `-` is standard output, anything else a new file.
 *
 * @param target - `-` or a file path (relative to the working directory)
 * @param io - the process's streams
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS` when the file exists, `NOT_FOUND` when its
 *   directory does not, `PERMISSION_DENIED`
 */
export async function openExportTarget(target: string, io: CliIO): Promise<ExportTarget> {
  if (target === '-') {
    return { stream: io.stdout, commit: async () => undefined, discard: async () => undefined };
  }
  const path = resolvePath(io.cwd, target);
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (e) {
    throw fsError(e, `cannot create '${path}'`, { path });
  }
  const stream = handle.createWriteStream();
  return {
    stream,
    commit: async () => {
      stream.end();
      await finished(stream);
    },
    discard: async () => {
      stream.destroy();
      await finished(stream).catch(() => undefined);
      await unlink(path).catch(() => undefined);
    },
  };
}

/**
 * Opens the source of an import: `-` is standard input, anything else an existing file.
 *
 * @param source - `-` or a file path
 * @param io - the process's streams
 * @returns the stream, and its size in bytes when it is a file
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `PERMISSION_DENIED`
 */
export async function openImportSource(source: string, io: CliIO): Promise<{ stream: Readable; size: number | undefined }> {
  if (source === '-') return { stream: standardInput(io), size: undefined };
  const path = resolvePath(io.cwd, source);
  try {
    const handle = await open(path, 'r');
    const { size } = await handle.stat();
    return { stream: handle.createReadStream(), size };
  } catch (e) {
    throw fsError(e, `cannot open '${path}'`, { path });
  }
}

/**
 * Standard input as an import's input: read in blocks by an import into a file when it is the
 * process's own (see the core's `descriptorInput`), else the stream as it is.
 *
 * @param io - the process's streams
 * @returns the input
 */
export function standardInput(io: CliIO): Readable {
  const fd = io.stdinFd;
  return fd === undefined ? io.stdin : descriptorInput(fd, () => io.stdin);
}

function resolvePath(cwd: string, p: string): string {
  return p.startsWith('/') ? p : `${cwd}/${p}`;
}
