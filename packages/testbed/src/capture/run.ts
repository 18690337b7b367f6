/**
 * `pnpm testbed capture`: runs the capture cases in the guest on fresh pools and writes each
 * case's exact argv, stdout, stderr and exit code as a fixture file that the core's
 * `ReplayRunner` and `loadFixtures` read.
 *
 * @module
 */
import { access, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveFixtures, type CommandFixture } from '@stowage/core/testing';
import { type CommandRunner } from '@stowage/core/plugin';
import { GUEST_DIR } from '../paths.js';
import { runProgram } from '../proc.js';
import { freshPools } from '../pools.js';
import type { CaptureCase } from './case.js';
import { LVM_CASES } from './lvm-cases.js';
import { ZFS_CASES } from './zfs-cases.js';

/** Every exit code: capture keeps failures as they are instead of throwing. */
const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);

/** Options of {@link captureFixtures}. */
export interface CaptureOptions {
  /** Where the lvmthin fixtures go (default `packages/plugin-lvmthin/test/fixtures`). */
  readonly lvmthinDir?: string;
  /** Where the zfs fixtures go (default `packages/plugin-zfs/test/fixtures`). */
  readonly zfsDir?: string;
  /** Cases to run instead of the built-in ones, per plugin. */
  readonly cases?: { readonly lvmthin?: readonly CaptureCase[]; readonly zfs?: readonly CaptureCase[] };
}

/**
 * Runs one case: setup (must succeed), the recorded commands (any exit code), cleanup (errors
 * ignored).
 *
 * @param runner - a runner into the guest
 * @param c - the case
 * @returns the recorded fixtures
 * @throws {@link CommandError} when a setup command fails
 */
export async function runCase(runner: CommandRunner, c: CaptureCase): Promise<CommandFixture[]> {
  for (const argv of c.setup ?? []) await runner.run(argv);
  const fixtures: CommandFixture[] = [];
  try {
    for (const argv of c.commands) {
      const { stdout, stderr, exitCode } = await runner.run(argv, { okExitCodes: ANY_EXIT });
      fixtures.push({ argv: [...argv], stdout, stderr, exitCode });
    }
  } finally {
    for (const argv of c.cleanup ?? []) await runner.run(argv, { okExitCodes: ANY_EXIT }).catch(() => undefined);
  }
  return fixtures;
}

/**
 * Captures the fixtures of the lvmthin and zfs plugins from the real tools in the guest. The
 * pools are recreated before and after, so the capture starts from a known state and leaves
 * nothing behind. Also writes a `captured.md` index of the cases into each fixture directory.
 *
 * @param runner - a runner into the guest (usually `testbedRunner()`)
 * @param options - output directories, cases
 * @returns the files written
 * @throws {@link CommandError} when a setup step fails
 */
export async function captureFixtures(runner: CommandRunner, options: CaptureOptions = {}): Promise<string[]> {
  const packages = join(GUEST_DIR, '..', '..');
  const targets = [
    { dir: options.lvmthinDir ?? join(packages, 'plugin-lvmthin', 'test', 'fixtures'), cases: options.cases?.lvmthin ?? LVM_CASES, tools: 'LVM' },
    { dir: options.zfsDir ?? join(packages, 'plugin-zfs', 'test', 'fixtures'), cases: options.cases?.zfs ?? ZFS_CASES, tools: 'ZFS' },
  ];
  await freshPools(runner);
  const version = await guestVersions(runner);
  const written: string[] = [];
  for (const target of targets) {
    await mkdir(target.dir, { recursive: true });
    const index = [
      `# Captured ${target.tools} output`,
      '',
      'Written by `pnpm testbed capture` (packages/testbed/src/capture): each file is a list of command',
      'fixtures (`argv`, `stdout`, `stderr`, `exitCode`, exactly as the real tools printed them) that',
      '`loadFixtures` and `ReplayRunner` from `@stowage/core/testing` read. Do not edit by hand; capture again.',
      '',
      `Guest: ${version}`,
      '',
      '| file | what it shows |',
      '|---|---|',
    ];
    for (const c of target.cases) {
      const path = join(target.dir, c.file);
      await saveFixtures(path, await runCase(runner, c));
      index.push(`| \`${c.file}\` | ${c.about} |`);
      written.push(path);
    }
    const indexPath = join(target.dir, 'captured.md');
    await writeFile(indexPath, `${index.join('\n')}\n`);
    written.push(indexPath);
  }
  await freshPools(runner);
  return written;
}

/** The guest's kernel and tool versions, for the index. */
async function guestVersions(runner: CommandRunner): Promise<string> {
  const line = async (argv: string[]): Promise<string> =>
    (await runner.run(argv, { okExitCodes: ANY_EXIT })).stdout.trim().split('\n')[0]?.trim() ?? '';
  const kernel = await line(['uname', '-r']);
  const lvm = (await line(['lvm', 'version'])).replace(/^LVM version:\s*/, '');
  const zfs = await line(['zfs', 'version']);
  return `Debian 12, kernel ${kernel}, LVM ${lvm}, ${zfs}`;
}

/**
 * The plugins' own capture scripts: `packages/<plugin>/test/capture.ts`, which record whole
 * plugin scenarios (not single commands) in the guest.
 *
 * @param packagesDir - the workspace's `packages` directory (default: next to this package)
 * @returns their paths
 */
export async function pluginCaptureScripts(packagesDir: string = join(GUEST_DIR, '..', '..')): Promise<string[]> {
  const scripts: string[] = [];
  for (const name of (await readdir(packagesDir)).sort()) {
    const script = join(packagesDir, name, 'test', 'capture.ts');
    if (await access(script).then(() => true, () => false)) scripts.push(script);
  }
  return scripts;
}

/**
 * Runs each plugin capture script with `tsx` (TypeScript straight from the sources), its output
 * shown as it comes. The scripts find the running guest the same way `testbedRunner()` does.
 *
 * @param scripts - from {@link pluginCaptureScripts}
 * @throws Error naming the first script that fails
 */
export async function runPluginCaptures(scripts: readonly string[]): Promise<void> {
  const root = join(GUEST_DIR, '..', '..', '..');
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  for (const script of scripts) {
    const result = await runProgram(tsx, [script], { cwd: root, echoStderr: true });
    process.stdout.write(result.stdout);
    if (result.code !== 0) throw new Error(`testbed: ${script} failed (exit ${result.code ?? result.signal})`);
  }
}
