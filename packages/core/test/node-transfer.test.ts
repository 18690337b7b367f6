import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { sendInto, writeAll } from '@stowage/core/plugin';
import { consumesChunks } from '../src/consuming-sink.js';
import { sendToNode } from '../src/manager/node-transfer.js';
import type { ExportOptions } from '../src/manager/transfer-ops.js';
import type { StorageNode } from '../src/nodes/node.js';

const node = { name: 'b', freeImage: async () => undefined } as unknown as StorageNode;

/** An export that writes `count` chunks from one buffer it overwrites after each write (as a raw file's export does into a consuming sink). */
function reusingSource(count: number, seen: (output: ExportOptions['output']) => void) {
  return {
    async volumeExport(_volid: string, options: ExportOptions): Promise<void> {
      seen(options.output);
      const buffer = Buffer.alloc(4096);
      for (let i = 0; i < count; i++) {
        buffer.fill(i);
        await writeAll(options.output, buffer);
      }
    },
  };
}

function expected(count: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => Buffer.alloc(4096, i)));
}

describe('sendToNode', () => {
  it("a node that takes the stream into its own writable gets the export's chunks through a consuming sink, counted", async () => {
    let consuming: boolean | undefined;
    const received: Buffer[] = [];
    const progress: number[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received.push(Buffer.from(chunk));
        cb();
      },
    });
    const sent = await sendToNode(reusingSource(16, (o) => (consuming = consumesChunks(o))), 'local:100/vm-100-disk-0.raw', { node, transfer: {}, onProgress: (p) => progress.push(p.done) }, async (open) => {
      await sendInto(open('raw+size'), sink);
      return { volid: 'local:100/vm-100-disk-0.raw' };
    });
    expect(consuming).toBe(true);
    expect(Buffer.concat(received)).toEqual(expected(16));
    expect(sent).toMatchObject({ format: 'raw+size', bytes: 16 * 4096 });
    expect(progress.at(-1)).toBe(16 * 4096);
  });

  it('a node that reads the stream as a plain readable gets copies: the bytes arrive intact though the export reuses its buffer', async () => {
    const chunks: Buffer[] = [];
    const sent = await sendToNode(reusingSource(16, () => undefined), 'local:100/vm-100-disk-0.raw', { node, transfer: {} }, async (open) => {
      for await (const chunk of open('raw+size')) chunks.push(chunk as Buffer);
      return { volid: 'local:100/vm-100-disk-0.raw' };
    });
    expect(Buffer.concat(chunks)).toEqual(expected(16));
    expect(sent.bytes).toBe(16 * 4096);
  });

  it('a node that fails before reading the stream is reported, and nothing waits for an export that never started', async () => {
    let exported = false;
    const failing = sendToNode(reusingSource(1, () => (exported = true)), 'local:100/vm-100-disk-0.raw', { node, transfer: {} }, async (open) => {
      open('raw+size');
      throw Object.assign(new Error('no space on b'), { code: 'NO_SPACE' });
    });
    await expect(failing).rejects.toThrow(/no space on b/);
    expect(exported).toBe(false);
  });
});
