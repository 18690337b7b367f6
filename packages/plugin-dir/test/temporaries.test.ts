import { mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentOwner, encodeSizeHeader, formatOwner, LocalRunner, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { outcomeOf } from '@stowage/core/testing';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { moveNoReplace, linkOps, ownerToken } from '../src/temp-file.js';
import { parseTempName } from '../src/temp-name.js';
import { dirContext, MemoryLog, releaseImmutable } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

const code = (p: Promise<unknown>) => outcomeOf(p, 'the call');

/** A runner that lets a test look at the storage right before each command, and act right after. */
class WatchingRunner implements CommandRunner {
  readonly description = 'watching';
  readonly inner = new LocalRunner();
  before: ((argv: readonly string[]) => Promise<void>) | undefined;
  after: ((argv: readonly string[]) => void) | undefined;
  run: CommandRunner['run'] = async (argv, options) => {
    await this.before?.(argv);
    const r = await this.inner.run(argv, options);
    this.after?.(argv);
    return r;
  };
}

let root: string;
let runner: WatchingRunner;
let log: MemoryLog;
let reserved: number;
let ctx: PluginContext<DirConfig>;

function context(signal?: AbortSignal): PluginContext<DirConfig> {
  return { ...dirContext({ path: root }, runner, log), signal, nameReserved: () => void reserved++ };
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-temps-'));
  runner = new WatchingRunner();
  log = new MemoryLog();
  reserved = 0;
  ctx = context();
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

const guestDir = (vmid: number) => join(root, 'images', String(vmid));
const entries = async (vmid: number) => (await readdir(guestDir(vmid)).catch(() => [] as string[])).sort();

/** Waits until the guest directory holds a file that has at least `bytes` bytes; returns its name. */
async function inProgressFile(vmid: number, bytes = 0): Promise<string> {
  for (let i = 0; i < 500; i++) {
    for (const name of await entries(vmid)) {
      if ((await stat(join(guestDir(vmid), name))).size >= bytes && (bytes > 0 || name.startsWith('.') || reserved > 0)) return name;
    }
    await sleep(10);
  }
  throw new Error(`no file of ${bytes} bytes appeared in ${guestDir(vmid)}`);
}

describe('a volume being made lives under a hidden temporary that reserves its name', () => {
  it('allocImage and cloneImage: the temporary carries the final name and this process as owner; the name is reserved before qemu-img runs', async () => {
    const seen: { entries: string[]; reserved: number; listed: number; free: string; freeCode: string; allocCode: string }[] = [];
    let inside = false;
    runner.before = async (argv) => {
      if (argv[0] !== 'qemu-img' || argv[1] !== 'create' || inside) return;
      inside = true;
      const vmid = argv.some((a) => a.includes('/images/101/')) ? 101 : 100;
      const name = `vm-${vmid}-disk-0.qcow2`;
      seen.push({
        entries: await entries(vmid),
        reserved,
        listed: (await plugin.listImages(ctx, { vmid })).length,
        free: await plugin.findFreeDiskname(ctx, { vmid, format: 'qcow2' }),
        freeCode: await code(plugin.freeImage(ctx, { volume: vol(`${vmid}/${name}`) })),
        allocCode: await code(plugin.allocImage(ctx, { vmid, format: 'qcow2', name, size: MiB })),
      });
      inside = false;
    };
    await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    const base = await plugin.createBase(ctx, { volume: vol('100/vm-100-disk-0.qcow2') });
    await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });

    expect(seen).toHaveLength(2);
    for (const [i, s] of seen.entries()) {
      const final = i === 0 ? 'vm-100-disk-0.qcow2' : 'vm-101-disk-0.qcow2';
      const temps = s.entries.filter((e) => e.startsWith('.')).map(parseTempName);
      expect(temps).toEqual([expect.objectContaining({ purpose: 'new', final, owner: ownerToken('localhost') })]);
      expect(s.entries).not.toContain(final);
      expect(s.reserved).toBe(i + 1);
      expect(s.listed).toBe(0);
      expect(s.free).toBe(final.replace('disk-0', 'disk-1'));
      expect(s.freeCode).toBe('NOT_FOUND');
      expect(s.allocCode).toBe('ALREADY_EXISTS');
    }
    expect(await entries(101)).toEqual(['vm-101-disk-0.qcow2']);
    expect((await plugin.listImages(ctx, { vmid: 101 })).map((i) => i.volname)).toEqual(['100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2']);
  });

  it('import: the name is reserved before the stream header arrives; until whole it is not listed, cannot be freed, and a concurrent alloc takes the next name', async () => {
    const input = new PassThrough();
    const importing = plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-0.raw'), format: 'raw+size', input });
    await inProgressFile(100);
    expect(reserved).toBe(1); // nothing of the stream has arrived yet
    expect(await plugin.listImages(ctx, { vmid: 100 })).toEqual([]);
    expect(await code(plugin.freeImage(ctx, { volume: vol('100/vm-100-disk-0.raw') }))).toBe('NOT_FOUND');
    const other = await plugin.findFreeDiskname(ctx, { vmid: 100, format: 'raw' });
    expect(other).toBe('vm-100-disk-1.raw');
    await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: other, size: MiB });
    expect(await code(plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB }))).toBe('ALREADY_EXISTS');
    await plugin.allocImage(ctx, { vmid: 300, format: 'raw', name: 'vm-300-disk-0.raw', size: MiB });
    const rename = { volume: vol('300/vm-300-disk-0.raw'), targetVmid: 100, targetName: 'vm-100-disk-0.raw' };
    expect(await code(plugin.renameVolume(ctx, rename)), 'a rename onto the reserved name').toBe('ALREADY_EXISTS');
    expect(await entries(300)).toEqual(['vm-300-disk-0.raw']);

    const data = Buffer.alloc(2 * MiB, 7);
    input.end(Buffer.concat([encodeSizeHeader(data.length), data]));
    expect(await importing).toBe('100/vm-100-disk-0.raw');
    expect(await entries(100)).toEqual(['vm-100-disk-0.raw', 'vm-100-disk-1.raw']);
    expect((await readFile(join(guestDir(100), 'vm-100-disk-0.raw'))).equals(data)).toBe(true);
  });

  it('the caller of an import learns that its data vanished mid-way (removed by someone else): an error, no volume', async () => {
    const input = new PassThrough();
    const importing = plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-0.raw'), format: 'raw+size', input });
    input.write(Buffer.concat([encodeSizeHeader(4 * MiB), Buffer.alloc(MiB, 1)]));
    await rm(join(guestDir(100), await inProgressFile(100, MiB)));
    input.end(Buffer.alloc(3 * MiB, 2));
    expect(await code(importing)).toBe('NOT_FOUND');
    expect(await plugin.listImages(ctx, { vmid: 100 })).toEqual([]);
  });

  it('a failed import removes the file it made, checked by identity: a file that took its place stays', async () => {
    const input = new PassThrough();
    const importing = plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-0.raw'), format: 'raw+size', input });
    input.write(Buffer.concat([encodeSizeHeader(4 * MiB), Buffer.alloc(MiB, 1)]));
    const name = await inProgressFile(100, MiB);
    await rename(join(guestDir(100), name), join(root, 'moved-away'));
    await writeFile(join(guestDir(100), name), 'not the import');
    input.end(); // truncated: 1 of 4 MiB
    expect(await code(importing)).toBe('INVALID_ARGUMENT');
    expect(await readFile(join(guestDir(100), name), 'utf8')).toBe('not the import');
  });

  it('a result that is no longer wanted when its command ends is not published', async () => {
    const stop = new AbortController();
    runner.after = (argv) => {
      if (argv[1] === 'create') stop.abort(new Error('not wanted any more'));
    };
    const c = context(stop.signal);
    expect(await code(plugin.allocImage(c, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB }))).toBe('ABORTED');
    expect(await entries(100)).toEqual([]);
  });

  it('createBase takes no name that a live temporary reserves, and never replaces a file', async () => {
    await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    const live = join(guestDir(100), `.stowage-new~base-100-disk-0.qcow2~${ownerToken('localhost')}~a1b2c3`);
    await writeFile(live, '');
    expect(await code(plugin.createBase(ctx, { volume: vol('100/vm-100-disk-0.qcow2') }))).toBe('ALREADY_EXISTS');
    await rm(live);
    await writeFile(join(guestDir(100), 'base-100-disk-0.qcow2'), 'someone else');
    expect(await code(plugin.createBase(ctx, { volume: vol('100/vm-100-disk-0.qcow2') }))).toBe('ALREADY_EXISTS');
    expect(await readFile(join(guestDir(100), 'base-100-disk-0.qcow2'), 'utf8')).toBe('someone else');
    await rm(join(guestDir(100), 'base-100-disk-0.qcow2'));
    // a dead owner's temporary reserves nothing
    const self = currentOwner('localhost');
    const dead = formatOwner({ ...self, boot: self.boot === '00000001' ? '00000002' : '00000001' });
    await writeFile(join(guestDir(100), `.stowage-new~base-100-disk-0.qcow2~${dead}~a1b2c3`), '');
    expect(await plugin.createBase(ctx, { volume: vol('100/vm-100-disk-0.qcow2') })).toBe('100/base-100-disk-0.qcow2');
  });
});

describe('moveNoReplace', () => {
  const noLinks = { ...linkOps, link: () => Promise.reject(Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' })) };

  it('links then unlinks; on a filesystem without hard links (EPERM) checks and renames; never replaces', async () => {
    for (const ops of [linkOps, noLinks]) {
      await writeFile(join(root, 'a'), 'A');
      expect(await moveNoReplace(join(root, 'a'), join(root, 'b'), 'b', ops)).toBe(true);
      expect(await readFile(join(root, 'b'), 'utf8')).toBe('A');
      await writeFile(join(root, 'c'), 'C');
      expect(await code(moveNoReplace(join(root, 'c'), join(root, 'b'), 'b', ops))).toBe('ALREADY_EXISTS');
      expect(await readFile(join(root, 'b'), 'utf8')).toBe('A');
      expect(await readFile(join(root, 'c'), 'utf8')).toBe('C');
      expect(await code(moveNoReplace(join(root, 'gone'), join(root, 'd'), 'd', ops))).toBe('NOT_FOUND');
      await rm(join(root, 'b'));
      await rm(join(root, 'c'));
    }
  });
});
