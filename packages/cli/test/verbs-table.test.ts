/**
 * The verb table: each name imports the spec of that name, and every spec the verb modules
 * export is in the table, once, with a summary.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { VerbSpec } from '../src/verb.js';
import { VERBS } from '../src/verbs/index.js';

const verbsUrl = new URL('../src/verbs/', import.meta.url);

describe('the verb table', () => {
  it('imports, for each name, the spec of that name', async () => {
    expect((await Promise.all(VERBS.map((v) => v.load()))).map((v) => v.name)).toEqual(VERBS.map((v) => v.name));
  });

  it('holds every verb the verb modules export, once', async () => {
    const exported: string[] = [];
    for (const file of readdirSync(fileURLToPath(verbsUrl)).filter((f) => f.endsWith('.ts') && f !== 'index.ts')) {
      const mod = (await import(/* @vite-ignore */ new URL(file, verbsUrl).href)) as Record<string, unknown>;
      for (const [key, value] of Object.entries(mod)) if (key.endsWith('Verb')) exported.push((value as VerbSpec).name);
    }
    expect(exported.sort()).toEqual(VERBS.map((v) => v.name).sort());
  });

  it('gives every verb a one-line summary', () => {
    for (const v of VERBS) expect(v.summary, v.name).toMatch(/^[a-z][^\n]+[^.]$/);
  });
});
