import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { isStorageError, STORAGE_ERROR_CODES, StorageError } from '../src/index.js';

const fixture = fileURLToPath(new URL('./fixtures/error-details/narrowing.ts', import.meta.url));
const errorsDoc = readFileSync(fileURLToPath(new URL('../../../docs/errors.md', import.meta.url)), 'utf8');

/** Compiles the fixture with the core's sources; returns the program and its diagnostics as text. */
function compileFixture(): { program: ts.Program; problems: string[] } {
  const program = ts.createProgram([fixture], {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2023,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: ['node'],
  });
  const problems = ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
  return { program, problems };
}

/** The fields each code's details type declares beyond the common ones, read from the compiled types. */
function declaredFields(program: ts.Program): Map<string, string[]> {
  const checker = program.getTypeChecker();
  const errors = program.getSourceFiles().find((f) => f.fileName.endsWith('/core/src/errors.ts'))!;
  const exported = checker.getExportsOfModule(checker.getSymbolAtLocation(errors)!);
  const typeOf = (name: string) => checker.getDeclaredTypeOfSymbol(exported.find((s) => s.name === name)!);
  const common = new Set(typeOf('CommonErrorDetails').getProperties().map((p) => p.name));
  const map = typeOf('StorageErrorDetailsMap');
  const out = new Map<string, string[]>();
  for (const entry of map.getProperties()) {
    const details = checker.getTypeOfSymbol(entry);
    out.set(entry.name, details.getProperties().map((p) => p.name).filter((n) => !common.has(n)));
  }
  return out;
}

describe('StorageError details typed per code', () => {
  const compiled = compileFixture();

  it('isStorageError(e, code) narrows details to the code shape, and a wrong shape does not compile', () => {
    expect(compiled.problems).toEqual([]);
  });

  it('every code has a details type, and docs/errors.md names each of its fields in the code row', () => {
    const fields = declaredFields(compiled.program);
    expect([...fields.keys()].sort()).toEqual([...STORAGE_ERROR_CODES].sort());
    for (const code of STORAGE_ERROR_CODES) {
      const row = errorsDoc.split('\n').find((line) => line.startsWith(`| \`${code}\` |`));
      expect(row, `docs/errors.md has a row for ${code}`).toBeDefined();
      for (const field of fields.get(code)!) expect(row, `${code} row names details.${field}`).toContain(`details.${field}`);
    }
  });

  it('every code: isStorageError recognises it, and details are what the raiser gave', () => {
    for (const code of STORAGE_ERROR_CODES) {
      const e: unknown = new StorageError(code, `a ${code}`);
      expect(isStorageError(e, code)).toBe(true);
      const other = STORAGE_ERROR_CODES.find((c) => c !== code)!;
      expect(isStorageError(e, other)).toBe(false);
    }
    expect(new StorageError('IN_USE', 'clones', { details: { clones: ['l:a'] } }).details.clones).toEqual(['l:a']);
    const given = { volname: 'vm-100-disk-0' };
    expect(new StorageError('NOT_FOUND', 'gone', { details: given }).details).toBe(given);
  });
});
