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
