import { describe, expect, it } from 'vitest';
import { undoing, withUndo } from '@stowage/core/plugin';
import { pluginContext } from '@stowage/core/testing';
import { type Logger, type StorageConfig } from '@stowage/core';

function recordingLog(): Logger & { warnings: Array<[string, Record<string, unknown> | undefined]> } {
  const warnings: Array<[string, Record<string, unknown> | undefined]> = [];
  return {
    warnings,
    debug: () => undefined,
    info: () => undefined,
    warn: (message, fields) => {
      warnings.push([message, fields]);
    },
  };
}

describe('withUndo', () => {
  it('on success returns what the body returned and runs no undo step', async () => {
    const log = recordingLog();
    const ran: string[] = [];
    const result = await withUndo(log, async (undo) => {
      ran.push('create');
      undo(async () => {
        ran.push('undo create');
      });
      ran.push('set readonly');
      undo(async () => {
        ran.push('undo set readonly');
      });
      return 'base-100-disk-0';
    });
    expect(result).toBe('base-100-disk-0');
    expect(ran).toEqual(['create', 'set readonly']);
    expect(log.warnings).toEqual([]);
  });

  it('on failure runs the registered undo steps newest first, each after the previous one, then rethrows the same error', async () => {
    const log = recordingLog();
    const ran: string[] = [];
    const failure = new Error('rename failed');
    const step = (name: string) => async () => {
      ran.push(`start ${name}`);
      await new Promise((resolve) => setImmediate(resolve));
      ran.push(`end ${name}`);
    };
    const outcome = withUndo(log, async (undo) => {
      undo(step('a'));
      undo(step('b'));
      undo(step('c'));
      throw failure;
    });
    await expect(outcome).rejects.toBe(failure);
    expect(ran).toEqual(['start c', 'end c', 'start b', 'end b', 'start a', 'end a']);
    expect(log.warnings).toEqual([]);
  });

  it('runs only the undo steps registered before the failure', async () => {
    const ran: string[] = [];
    await expect(
      withUndo(recordingLog(), async (undo) => {
        undo(async () => ran.push('undo first'));
        await Promise.reject(new Error('second step failed'));
        undo(async () => ran.push('undo second'));
      }),
    ).rejects.toThrow('second step failed');
    expect(ran).toEqual(['undo first']);
  });

  it('logs a failing undo step, still runs the rest, and rethrows the original error', async () => {
    const log = recordingLog();
    const ran: string[] = [];
    const failure = new Error('the operation failed');
    const outcome = withUndo(log, async (undo) => {
      undo(async () => ran.push('undo 1'));
      undo(async () => {
        ran.push('undo 2');
        throw new Error('lvremove: device busy');
      });
      undo(() => Promise.reject('not an Error'));
      undo(async () => ran.push('undo 4'));
      throw failure;
    });
    await expect(outcome).rejects.toBe(failure);
    expect(ran).toEqual(['undo 4', 'undo 2', 'undo 1']);
    expect(log.warnings).toEqual([
      ['could not undo a step of a failed operation', { error: 'not an Error' }],
      ['could not undo a step of a failed operation', { error: 'lvremove: device busy' }],
    ]);
  });

  it('rethrows a non-Error value thrown by the body as it is', async () => {
    const thrown = { code: 'odd' };
    let undone = false;
    await expect(
      withUndo(recordingLog(), async (undo) => {
        undo(async () => {
          undone = true;
        });
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(undone).toBe(true);
  });
});

describe('undoing', () => {
  it('undoes on failure and drops the cached entry either way', async () => {
    const ctx = pluginContext({ config: { type: 'memory', storage: 'm' } as StorageConfig });
    let loads = 0;
    const load = async () => ++loads;
    await ctx.cache.get('listing', load);
    const undone: string[] = [];
    await expect(
      undoing(ctx, 'listing', async (undo) => {
        undo(async () => undone.push('first'));
        throw new Error('second step failed');
      }),
    ).rejects.toThrow('second step failed');
    expect(undone).toEqual(['first']);
    expect(await ctx.cache.get('listing', load)).toBe(2);
    expect(await undoing(ctx, 'listing', async () => 'made')).toBe('made');
    expect(await ctx.cache.get('listing', load)).toBe(3);
  });
});
