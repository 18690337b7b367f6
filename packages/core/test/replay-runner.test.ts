import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, isCommandError, isStorageError, StorageError } from '@stowage/core';
import {
  decodeFixtureBytes,
  encodeFixtureBytes,
  loadFixtures,
  parseFixtures,
  RecordingRunner,
  ReplayRunner,
  type CommandFixture,
} from '@stowage/core/testing';
import { LocalRunner } from '@stowage/core/plugin';

async function rejection(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    expect(isStorageError(e)).toBe(true);
    return e as StorageError;
  }
  throw new Error('expected a rejection');
}

function collect(): { sink: PassThrough; bytes: () => Buffer } {
  const sink = new PassThrough();
  const chunks: Buffer[] = [];
  sink.on('data', (c: Buffer) => chunks.push(c));
  return { sink, bytes: () => Buffer.concat(chunks) };
}

describe('fixture bytes', () => {
  it('keeps UTF-8 as text and anything else as base64, both round-tripping', () => {
    expect(encodeFixtureBytes(Buffer.from('héllo\n'))).toBe('héllo\n');
    const binary = Buffer.from([0xff, 0x00, 0xfe, 0x80]);
    const encoded = encodeFixtureBytes(binary);
    expect(encoded).toEqual({ base64: binary.toString('base64') });
    expect(decodeFixtureBytes(encoded).equals(binary)).toBe(true);
  });

  it('parses a list or { fixtures }, filling defaults, and refuses anything else', () => {
    expect(parseFixtures([{ argv: ['true'] }])).toEqual([{ argv: ['true'], stdout: '', stderr: '', exitCode: 0 }]);
    expect(parseFixtures({ fixtures: [{ argv: ['x'], exitCode: 2 }] })[0]?.exitCode).toBe(2);
    for (const bad of [{}, [{ argv: [] }], [{ argv: ['x'], exitCode: -1 }], [{ argv: ['x'], extra: 1 }], [{ argv: ['x'], stdout: { base64: '***' } }]]) {
      expect(() => parseFixtures(bad)).toThrow(StorageError);
    }
  });
});

describe('RecordingRunner and ReplayRunner', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-replay-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('records a command its failing input stopped, and the replay fails through the same input error', async () => {
    // an import whose stream ends short: the stream itself fails, and the runner stops the command
    const shortInput = (): Readable =>
      Readable.from(
        (async function* () {
          yield Buffer.from('first bytes');
          await new Promise((r) => setTimeout(r, 100));
          throw new StorageError('INVALID_ARGUMENT', 'stream ended short', { details: { size: 100, received: 11 } });
        })(),
      );
    const recorder = new RecordingRunner(new LocalRunner());
    const live = await rejection(recorder.run(['cat'], { stdin: shortInput() }));
    expect(recorder.fixtures).toEqual([{ argv: ['cat'], stdin: 'first bytes', stdout: '', stderr: '', exitCode: 0, stoppedByInput: true }]);
    const file = join(dir, 'stopped.json');
    await recorder.save(file);
    const replayed = await rejection(new ReplayRunner(await loadFixtures(file)).run(['cat'], { stdin: shortInput() }));
    expect(replayed.code).toBe('INVALID_ARGUMENT');
    expect(isStorageError(live) || isCommandError(live)).toBe(true);
    // an input that ends well where the recording was stopped by its input is a different run
    const whole = await rejection(new ReplayRunner(await loadFixtures(file)).run(['cat'], { stdin: Readable.from([Buffer.from('first bytes')]) }));
    expect(whole.code).toBe('INTERNAL');
  });

  it('records real runs (stdin, piped stdout, failures) and replays them identically from a file', async () => {
    const recorder = new RecordingRunner(new LocalRunner());
    expect(recorder.description).toBe('recording local');
    const live1 = await recorder.run(['sh', '-c', 'echo out; echo err >&2']);
    const live2 = await recorder.run(['cat'], { stdin: 'given input' });
    const piped = collect();
    await recorder.run(['printf', '\\377\\000bin'], { stdout: piped.sink });
    const streamedIn = await recorder.run(['cat'], { stdin: Readable.from([Buffer.from('from '), Buffer.from('stream')]) });
    const liveFail = await rejection(recorder.run(['sh', '-c', 'echo no >&2; exit 4']));
    await rejection(recorder.run(['stowage-no-such-program-xyz']));
    expect(recorder.fixtures).toHaveLength(5);
    expect(recorder.fixtures[2]?.stdout).toEqual({ base64: Buffer.from([0xff, 0, 0x62, 0x69, 0x6e]).toString('base64') });

    const file = join(dir, 'recorded.json');
    await recorder.save(file);
    const replay = new ReplayRunner(await loadFixtures(file));
    expect(await replay.run(['sh', '-c', 'echo out; echo err >&2'])).toEqual(live1);
    expect(await replay.run(['cat'], { stdin: 'given input' })).toEqual(live2);
    const replayed = collect();
    expect((await replay.run(['printf', '\\377\\000bin'], { stdout: replayed.sink })).stdout).toBe('');
    expect(replayed.bytes().equals(piped.bytes())).toBe(true);
    expect(await replay.run(['cat'], { stdin: Readable.from(['from stream']) })).toEqual(streamedIn);
    const replayFail = await rejection(replay.run(['sh', '-c', 'echo no >&2; exit 4']));
    expect(isCommandError(replayFail)).toBe(true);
    expect(replayFail.toJSON()).toEqual(liveFail.toJSON());
    expect((replayFail as CommandError).exitCode).toBe(4);
    expect(replay.unused()).toEqual([]);
  });

  it('fails loudly, naming the argv, on a command without a fixture', async () => {
    const replay = new ReplayRunner([{ argv: ['lvs', '--noheadings'], stdout: 'x', stderr: '', exitCode: 0 }]);
    for (const argv of [['lvs'], ['lvs', '--noheadings', 'vg'], ['lvcreate', '-V', '1k']]) {
      const e = await rejection(replay.run(argv));
      expect(e.code).toBe('INTERNAL');
      expect(e.details['argv']).toEqual(argv);
      expect(e.message).toContain(argv[0]);
    }
    expect(replay.calls).toEqual([['lvs'], ['lvs', '--noheadings', 'vg'], ['lvcreate', '-V', '1k']]);
    expect(replay.unused()).toHaveLength(1);
  });

  it('answers repeated argv in recorded order, then repeats the last', async () => {
    const fixtures: CommandFixture[] = [
      { argv: ['zfs', 'list'], stdout: 'first', stderr: '', exitCode: 0 },
      { argv: ['zfs', 'list'], stdout: 'second', stderr: '', exitCode: 0 },
    ];
    const replay = new ReplayRunner(fixtures);
    const outs = [];
    for (let i = 0; i < 3; i++) outs.push((await replay.run(['zfs', 'list'])).stdout);
    expect(outs).toEqual(['first', 'second', 'second']);
  });

  it('requires the recorded stdin, honours okExitCodes and an aborted signal', async () => {
    const replay = new ReplayRunner([
      { argv: ['dd', 'of=/dev/x'], stdin: 'abc', stdout: '', stderr: '', exitCode: 0 },
      { argv: ['grep', 'x'], stdout: '', stderr: '', exitCode: 1 },
    ]);
    expect((await rejection(replay.run(['dd', 'of=/dev/x'], { stdin: 'abd' }))).code).toBe('INTERNAL');
    expect((await replay.run(['grep', 'x'], { okExitCodes: [0, 1] })).exitCode).toBe(1);
    expect((await rejection(replay.run(['grep', 'x']))).code).toBe('COMMAND_FAILED');
    expect((await rejection(replay.run(['grep', 'x'], { signal: AbortSignal.abort() }))).code).toBe('ABORTED');
  });

  it('loadFixtures reports a missing file and bad JSON with stable codes', async () => {
    expect((await rejection(loadFixtures(join(dir, 'absent.json')))).code).toBe('NOT_FOUND');
    const bad = join(dir, 'bad.json');
    await writeFile(bad, '{ not json');
    expect((await rejection(loadFixtures(bad))).code).toBe('INVALID_ARGUMENT');
    await writeFile(bad, JSON.stringify([{ argv: 'ls' }]));
    expect((await rejection(loadFixtures(bad))).code).toBe('INVALID_ARGUMENT');
    expect(JSON.parse(await readFile(bad, 'utf8'))).toEqual([{ argv: 'ls' }]);
  });
});
