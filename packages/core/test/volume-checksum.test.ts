import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { volumeChecksum } from '../src/index.js';
import { consumesChunks } from '../src/consuming-sink.js';
import type { ExportOptions } from '../src/manager/transfer-ops.js';

describe('volumeChecksum', () => {
  it("hands the export a consuming sink (a raw file's export then reuses its read buffers) and hashes what it writes", async () => {
    const parts = [Buffer.from([3, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('abc')];
    let consuming: boolean | undefined;
    const manager = {
      async volumeExport(_volid: string, options: ExportOptions): Promise<void> {
        consuming = consumesChunks(options.output);
        for (const part of parts) options.output.write(part);
      },
    };
    const sum = await volumeChecksum(manager, 'local:100/vm-100-disk-0.raw');
    expect(consuming).toBe(true);
    expect(sum).toEqual({ volid: 'local:100/vm-100-disk-0.raw', format: 'raw+size', bytes: 11, sha256: createHash('sha256').update(Buffer.concat(parts)).digest('hex') });
  });
});
