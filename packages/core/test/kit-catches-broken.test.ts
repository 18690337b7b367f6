// The conformance kit is only worth something if it fails on broken plugins. This runs it, in a
// separate vitest process, on deliberately broken memory plugins (test/support/broken-plugins.ts)
// next to the correct one, and checks which cases failed.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const config = fileURLToPath(new URL('./fixtures/kit-broken/vitest.config.ts', import.meta.url));

interface Assertion {
  readonly ancestorTitles: string[];
  readonly title: string;
  readonly status: string;
}

let results: Assertion[] = [];

/** Statuses of one suite's cases, by case title. */
function suite(name: string): Map<string, string> {
  const cases = results.filter((r) => r.ancestorTitles[0]?.startsWith(`stowage conformance: ${name} (`));
  return new Map(cases.map((r) => [r.title, r.status]));
}

function failed(name: string): string[] {
  return [...suite(name)].filter(([, status]) => status === 'failed').map(([title]) => title);
}

describe('the conformance kit fails on broken plugins', () => {
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-kit-broken-'));
    try {
      const out = join(dir, 'results.json');
      const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
      // The child exits non-zero because cases fail; that is the point.
      await promisify(execFile)(process.execPath, [vitest, 'run', '--config', config, '--reporter=json', `--outputFile=${out}`], {
        cwd: root,
        env: { ...process.env, CI: '1', NO_COLOR: '1' },
        maxBuffer: 64 * 1024 * 1024,
      }).catch((e: unknown) => e);
      const json = JSON.parse(await readFile(out, 'utf8')) as { testResults: { assertionResults: Assertion[] }[] };
      results = json.testResults.flatMap((f) => f.assertionResults);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('ran every suite, and the correct plugin passed everything', () => {
    const control = suite('control');
    expect(control.size, 'cases of the control suite').toBeGreaterThan(40);
    expect(failed('control'), 'failures of the correct memory plugin').toEqual([]);
    expect([...control.values()].filter((s) => s === 'passed').length, 'passed cases of the control').toBeGreaterThan(40);
  });

  it('catches a plugin that shrinks although it declares it cannot', () => {
    expect(failed('shrinks anyway')).toEqual(['refuses to shrink with CANNOT_SHRINK, size unchanged']);
  });

  it('catches a plugin whose export differs from what was imported', () => {
    expect(failed('corrupts export')).toContain('gives back exactly the bytes imported');
  });

  it('catches a plugin that leaves a half-made volume behind when a step fails', () => {
    const f = failed('leaves half-made volumes');
    expect(f).toContain('allocImage: failing any one of its commands leaves the storage as it was');
    expect(f).toContain('createBase: failing any one of its commands leaves the storage as it was');
  });

  it('catches a plugin that declares exclusiveCreate but replaces a volume that holds the name', () => {
    const f = failed('replaces taken names');
    expect(f).toContain("an allocation neither reuses nor overwrites a volume made behind the manager's back");
    expect(f).toContain("a clone neither reuses nor overwrites a volume made behind the manager's back; a taken name given is ALREADY_EXISTS");
  });

  it('catches a plugin that declares cloneRefusesHidden but clones a hidden template', () => {
    const f = failed('clones hidden templates');
    expect(f).toContain('a clone of a template that another manager hid is refused, and nothing is made');
    expect(f).toContain('a template with clones is hidden: not listed, listed with includeHidden, not cloned again');
  });

  it('catches a flatten to a snapshot that keeps the current data', () => {
    expect(failed('flatten keeps current data')).toContain('the volume takes the bytes and size of an older snapshot, and no snapshot remains');
  });

  it('catches a flatten of a clone that loses the clone when a step fails', () => {
    expect(failed('flatten leaves half-made clones')).toContain('failing any one of its steps leaves the clone as it was');
  });

  it('catches a plugin that keeps the hidden state in memory, not on the storage', () => {
    expect(failed('hidden kept in memory')).toContain('the hidden state survives a restart (a new manager)');
  });

  it('catches a plugin whose listing leaves hidden templates out, so prune cannot free them', () => {
    expect(failed('lists no hidden templates')).toContain('a hidden template nothing uses is freed');
  });

  it('catches a plugin that accepts ../, / and shell characters in volume names', () => {
    expect(failed('accepts any name')).toContain('refuses bad names with INVALID_VOLUME_ID');
  });

  it('catches a plugin whose snapshots silently do nothing', () => {
    expect(failed('ignores snapshots')).toContain('takes snapshots and lists them oldest first');
  });

  const dataCases = [
    'rolling back to the newest snapshot brings back its bytes',
    'rolling back to an older snapshot brings back its bytes',
    'a base keeps its bytes, a linked clone shows them, and writes into a clone change nothing else',
    "a clone of a snapshot shows the snapshot's bytes, not the volume's current ones",
    'growing keeps the bytes, and the new space reads as zeros and takes writes',
  ];

  it('ran the data cases on the correct plugin, and skips them without a volumeData hook', () => {
    const control = suite('control');
    expect(dataCases.map((t) => control.get(t)), 'data cases of the control').toEqual(dataCases.map(() => 'passed'));
    const without = suite('without volumeData');
    expect(dataCases.map((t) => without.get(t)), 'data cases without the hook').toEqual(dataCases.map(() => 'skipped'));
  });

  // Only the data cases catch these: the listings and error codes all look right.
  it('catches a rollback that keeps the current data', () => {
    expect(failed('rollback keeps data')).toEqual(dataCases.slice(0, 2));
  });

  it("catches a clone of a snapshot that shows the volume's current data", () => {
    // ... and lists that clone as a clone of the volume, not of the snapshot, which flatten's IN_USE check misses
    expect(failed('clones the current state')).toEqual([dataCases[3], 'a volume whose snapshot a clone uses is IN_USE, naming the clone, and nothing changes']);
  });

  it('catches a resize that loses the data', () => {
    expect(failed('grow loses data')).toEqual([dataCases[4]]);
  });
});
