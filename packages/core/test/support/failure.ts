/** Test helper: the StorageError a promise rejects with. */
import { expect } from 'vitest';
import { isStorageError, type StorageError } from '@stowage/core';

/** Awaits `p`, expects it to reject with a {@link StorageError}, and returns that error. */
export async function failure(p: Promise<unknown>): Promise<StorageError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(isStorageError(e), String(e)).toBe(true);
  return e as StorageError;
}

/**
 * The code of the {@link StorageError} `p` rejects with; `undefined` when it resolves, and a text
 * naming the error when it rejects with anything else (so that an assertion on the code fails).
 */
export async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
}
