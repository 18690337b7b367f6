/**
 * Export and import in `raw+size`: bytes written come back identical.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import type { StreamFormat, VolumeFormat } from '../../capabilities.js';
import { hasFeature } from '../../capabilities.js';
import type { Progress } from '../../plugin-types.js';
import { SIZE_HEADER_BYTES } from '../../transfer.js';
import { expectCode } from '../assert.js';
import { byteSink, firstDifference, patternBytes, rawSizeStream } from '../bytes.js';
import { allOf, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

function header(size: number): Buffer {
  const b = Buffer.alloc(SIZE_HEADER_BYTES);
  b.writeBigUInt64LE(BigInt(size));
  return b;
}

function expectSameBytes(actual: Buffer, expected: Buffer, what: string): void {
  expect(firstDifference(actual, expected), what).toBeUndefined();
}

/**
 * Checks `volumeImport` and `volumeExport` in `raw+size`: the stream exported is the 8-byte size
 * header and exactly the bytes imported; importing onto a taken name is `ALREADY_EXISTS` and
 * leaves its data alone, or picks a new name with `allowRename`; a truncated stream is
 * `INVALID_ARGUMENT` and leaves nothing; a new volume exports as zeros (where `sparseinit` is
 * declared); progress reaches the total; undeclared stream formats are `NOT_SUPPORTED`.
 *
 * @param kit - the kit of the suite
 */
export function transferSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format: VolumeFormat = caps.formats.includes('raw') ? 'raw' : caps.defaultFormat;
  const exports = gate(caps.exportFormats.includes('raw+size'), "capabilities.exportFormats lacks 'raw+size'");
  const imports = gate(caps.importFormats.includes('raw+size'), "capabilities.importFormats lacks 'raw+size'");
  const both = allOf(exports, imports);

  describeGated('export and import (raw+size)', gate(exports.ok || imports.ok, "neither exports nor imports 'raw+size'"), () => {
    itGated('gives back exactly the bytes imported', both, async () => {
      const data = patternBytes(2 * kit.unit);
      const target = await kit.vacantVolid(kit.newVmid(), format);
      const volid = await kit.importBytes(target, data);
      expect(volid, 'volid returned by volumeImport').toBe(target);
      expect((await kit.manager.listImages(kit.storeId, { volids: [volid] }))[0], 'the imported volume').toMatchObject({ size: data.length, format });
      const stream = await kit.exportBytes(volid);
      expectSameBytes(stream.subarray(0, SIZE_HEADER_BYTES), header(data.length), 'size header of the export');
      expectSameBytes(stream.subarray(SIZE_HEADER_BYTES), data, 'bytes exported after import');
    });

    itGated('refuses to import onto a taken name with ALREADY_EXISTS and keeps its data; allowRename picks a new name', both, async () => {
      const data = patternBytes(kit.unit);
      const vmid = kit.newVmid();
      const volid = await kit.importBytes(await kit.vacantVolid(vmid, format), data);
      const before = await kit.imageSummary();
      await expectCode(kit.importBytes(volid, patternBytes(kit.unit)), 'ALREADY_EXISTS', 'volumeImport onto an existing volume');
      expect(await kit.imageSummary(), 'images after the refused import').toEqual(before);
      expectSameBytes((await kit.exportBytes(volid)).subarray(SIZE_HEADER_BYTES), data, 'bytes of the existing volume after the refused import');
      const other = patternBytes(kit.unit);
      const renamed = await kit.importBytes(volid, other, { allowRename: true });
      expect(renamed, 'volid of an import with allowRename onto a taken name').not.toBe(volid);
      expect(kit.parse(renamed).vmid, 'owner of the renamed import').toBe(vmid);
      expectSameBytes((await kit.exportBytes(renamed)).subarray(SIZE_HEADER_BYTES), other, 'bytes of the renamed import');
    });

    itGated('refuses a truncated stream with INVALID_ARGUMENT and leaves nothing behind', imports, async () => {
      const target = await kit.vacantVolid(kit.newVmid(), format);
      const before = await kit.imageSummary();
      const data = patternBytes(kit.unit);
      await expectCode(
        kit.manager.volumeImport(target, { format: 'raw+size', input: rawSizeStream(data.subarray(0, data.length / 2), data.length) }),
        'INVALID_ARGUMENT',
        'volumeImport of a stream shorter than its header says',
      );
      await expectCode(kit.manager.volumeImport(target, { format: 'raw+size', input: Readable.from([Buffer.from([1, 2, 3, 4, 5])]) }), 'INVALID_ARGUMENT', 'volumeImport of a stream without a full header');
      expect(await kit.imageSummary(), 'images after the refused imports').toEqual(before);
    });

    itGated(
      'exports a new volume as zeros',
      allOf(exports, gate(hasFeature(caps.features, { feature: 'sparseinit', format, isBase: false }), `features.sparseinit.current lacks '${format}'`)),
      async () => {
        const volid = await kit.alloc({ format });
        const stream = await kit.exportBytes(volid);
        expectSameBytes(stream, Buffer.concat([header(kit.unit), Buffer.alloc(kit.unit)]), 'export of a new volume');
      },
    );

    itGated('reports progress up to the total', both, async () => {
      const data = patternBytes(kit.unit);
      const volid = await kit.importBytes(await kit.vacantVolid(kit.newVmid(), format), data);
      const seen: Progress[] = [];
      const sink = byteSink();
      await kit.manager.volumeExport(volid, { format: 'raw+size', output: sink.stream, onProgress: (p) => seen.push(p) });
      const last = seen.at(-1);
      expect(last, 'last progress report of the export').toEqual({ done: SIZE_HEADER_BYTES + data.length, total: SIZE_HEADER_BYTES + data.length });
      expect(seen.every((p, i) => i === 0 || p.done >= (seen[i - 1]?.done ?? 0)), 'progress never goes back').toBe(true);
    });

    itGated('copies a volume within the storage, byte for byte', both, async () => {
      const data = patternBytes(kit.unit);
      const volid = await kit.importBytes(await kit.vacantVolid(kit.newVmid(), format), data);
      const vmid = kit.newVmid();
      const copy = await kit.manager.copyVolume(volid, kit.storeId, { vmid });
      expect(kit.parse(copy).vmid, 'owner of the copy').toBe(vmid);
      expectSameBytes((await kit.exportBytes(copy)).subarray(SIZE_HEADER_BYTES), data, 'bytes of the copy');
    });

    it('offers the stream formats it declares', async () => {
      const volid = await kit.alloc({ format });
      const offered = await kit.manager.volumeExportFormats(volid);
      const accepted = await kit.manager.volumeImportFormats(volid);
      for (const f of offered) expect(kit.declared.exportFormats, 'volumeExportFormats').toContain(f);
      for (const f of accepted) expect(kit.declared.importFormats, 'volumeImportFormats').toContain(f);
      if (exports.ok) expect(offered, 'volumeExportFormats').toContain('raw+size');
      if (imports.ok) expect(accepted, 'volumeImportFormats').toContain('raw+size');
    });

    const undeclared = (['qcow2+size', 'vmdk+size', 'zfs'] as StreamFormat[]).find((f) => !kit.declared.exportFormats.includes(f));
    itGated(`refuses to export an undeclared format (${undeclared ?? '-'}) with NOT_SUPPORTED`, gate(undeclared !== undefined, 'every format is declared'), async () => {
      const volid = await kit.alloc({ format });
      await expectCode(kit.exportBytes(volid, { format: undeclared! }), 'NOT_SUPPORTED', `volumeExport ${undeclared ?? ''}`);
    });
  });
}
