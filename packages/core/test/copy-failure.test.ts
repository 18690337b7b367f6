/**
 * Which error a failed copy reports: the first real error of either side, never the abort (or
 * the destroyed stream) that the manager's stop caused on the other side.
 */
import { describe, expect, it } from 'vitest';
import { StorageError } from '../src/index.js';
import { copyFailure, realError } from '../src/manager/copy-failure.js';

function abortError(): Error {
  return Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
}

const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
const noSpace = new StorageError('NO_SPACE', "cannot write '/t/vm-100-disk-0.raw'", { cause: enospc });

describe('realError', () => {
  it('is the error itself when nothing in its cause chain is a stop', () => {
    expect(realError(noSpace)).toBe(noSpace);
    expect(realError(enospc)).toBe(enospc);
  });

  it('is nothing for an abort, a destroyed stream, or an error wrapping one of them', () => {
    expect(realError(abortError())).toBeUndefined();
    expect(realError(new StorageError('ABORTED', 'the operation was aborted'))).toBeUndefined();
    expect(realError(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }))).toBeUndefined();
    expect(realError(Object.assign(new Error('Cannot call write after a stream was destroyed'), { code: 'ERR_STREAM_DESTROYED' }))).toBeUndefined();
    // what the directory plugin's export threw when the import side stopped reading
    expect(realError(new StorageError('INTERNAL', "cannot export '/s/vm-100-disk-0.raw': The operation was aborted", { cause: abortError() }))).toBeUndefined();
  });

  it('is the error an abort wraps: the side that failed first, as the stopped side reports it', () => {
    expect(realError(new StorageError('ABORTED', 'the operation was aborted', { cause: noSpace }))).toBe(noSpace);
  });
});

describe('copyFailure', () => {
  const stopped = new StorageError('INTERNAL', "cannot export '/s/vm-100-disk-0.raw': The operation was aborted", { cause: abortError() });

  it('skips the stopped side even when it failed first', () => {
    expect(copyFailure([stopped, new StorageError('ABORTED', 'the operation was aborted', { cause: noSpace })])).toBe(noSpace);
    expect(copyFailure([stopped, noSpace])).toBe(noSpace);
  });

  it('keeps the order of failure between two real errors', () => {
    const corrupt = new StorageError('CORRUPT', 'bad image');
    expect(copyFailure([corrupt, noSpace])).toBe(corrupt);
    expect(copyFailure([noSpace, corrupt])).toBe(noSpace);
  });

  it('falls back to the first failure when both only say they were stopped', () => {
    const aborted = new StorageError('ABORTED', 'the operation was aborted');
    expect(copyFailure([stopped, aborted])).toBe(stopped);
  });
});
