import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFixtures, type CommandFixture } from '@stowage/core/testing';
import { captureFixtures, LVM_CASES, testbedRunner, ZFS_CASES } from '@stowage/testbed';

// Captures into temporary directories (the committed fixtures are rewritten only by
// `pnpm testbed capture`) and checks that the real tools still behave as the fixtures say.
const out = await mkdtemp(join(tmpdir(), 'stowage-capture-'));
afterAll(() => rm(out, { recursive: true, force: true }));

const lvmthinDir = join(out, 'lvmthin');
const zfsDir = join(out, 'zfs');
let written: string[] = [];
const fixture = async (dir: string, file: string, index = 0): Promise<CommandFixture> => (await loadFixtures(join(dir, file)))[index]!;

describe('pnpm testbed capture', () => {
  it('writes one fixture file per case, readable by loadFixtures, plus an index', async () => {
    written = await captureFixtures(testbedRunner(), { lvmthinDir, zfsDir });
    expect(written).toHaveLength(LVM_CASES.length + ZFS_CASES.length + 2);
    for (const c of LVM_CASES) expect((await loadFixtures(join(lvmthinDir, c.file))).length).toBe(c.commands.length);
    for (const c of ZFS_CASES) expect((await loadFixtures(join(zfsDir, c.file))).length).toBe(c.commands.length);
    expect(await readFile(join(lvmthinDir, 'captured.md'), 'utf8')).toMatch(/lvcreate-exists\.json/);
  });

  it('records the lvs report of the thin pool, volumes, base, clone and snapshot', async () => {
    const report = await fixture(lvmthinDir, 'lvs-report.json', 1);
    expect(report.exitCode).toBe(0);
    const rows = (report.stdout as string).trim().split('\n').map((l) => l.trim().split(':'));
    const byName = new Map(rows.map((r) => [r[1], r]));
    expect([...byName.keys()].sort()).toEqual(['base-101-disk-0', 'data', 'snap_vm-100-disk-0_before', 'vm-100-disk-0', 'vm-102-disk-0']);
    expect(byName.get('vm-100-disk-0')![2]).toBe(String(1024 ** 3));
    expect(byName.get('vm-100-disk-0')![3]![0]).toBe('V');
    expect(byName.get('vm-100-disk-0')![9]).toBe('pve-vm-100');
    expect(byName.get('data')![3]![0]).toBe('t');
    expect(byName.get('vm-102-disk-0')![12]).toBe('base-101-disk-0');
  });

  it('records the LVM error cases with their real exit codes and messages', async () => {
    const exists = await fixture(lvmthinDir, 'lvcreate-exists.json');
    expect(exists.exitCode).not.toBe(0);
    expect(exists.stderr).toMatch(/already exists/);
    expect((await fixture(lvmthinDir, 'lvcreate-missing-vg.json')).stderr).toMatch(/nosuchvg/);
    expect((await fixture(lvmthinDir, 'lvremove-missing.json')).stderr).toMatch(/not found|Failed to find/);
    expect((await fixture(lvmthinDir, 'lvremove-busy.json')).stderr).toMatch(/in use|open/i);
    expect((await fixture(lvmthinDir, 'lvcreate-vg-full.json')).stderr).toMatch(/insufficient free space/);
    expect((await fixture(lvmthinDir, 'lvcreate-pool-full.json')).exitCode).not.toBe(0);
  });

  it('records the ZFS listing and error cases with their real exit codes and messages', async () => {
    const list = await fixture(zfsDir, 'zfs-list.json');
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/^stowage\/vm-103-disk-0\t1073741824\tstowage\/base-102-disk-0@__base__\tvolume\t/m);
    expect((await fixture(zfsDir, 'zfs-destroy-missing.json')).stderr).toMatch(/does not exist/);
    expect((await fixture(zfsDir, 'zfs-destroy-busy.json')).stderr).toMatch(/busy/);
    expect((await fixture(zfsDir, 'zfs-destroy-dependent-clones.json')).stderr).toMatch(/dependent clones/);
    expect((await fixture(zfsDir, 'zfs-rollback-not-latest.json')).stderr).toMatch(/more recent snapshots/);
    expect((await fixture(zfsDir, 'zfs-rollback-latest.json')).exitCode).toBe(0);
    expect((await fixture(zfsDir, 'zfs-create-exists.json')).stderr).toMatch(/already exists/);
    expect((await fixture(zfsDir, 'zfs-create-no-space.json')).stderr).toMatch(/out of space/);
  });
});
