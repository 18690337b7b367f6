/**
 * The child process of the kit's crash cases. It takes one job as JSON in `argv[2]`, imports
 * the core, the plugin and the runner by module specifier, opens its own manager on the
 * storage (with the kit's lock directories and node name), and runs the operation. It prints
 * `started` on its standard output once data flows, and `done <volid>` when the operation
 * completes, so that the kit knows when to kill it.
 *
 * Jobs:
 * - `import`: imports the `raw+size` stream on standard input into `volid`.
 *
 * @module
 */

/** The job a crash case gives its child. */
export interface ChildJob {
  /** Where the child imports `StorageManager` from. */
  readonly coreModule: string;
  /** Where the child imports the plugin class from. */
  readonly pluginModule: string;
  /** The plugin class's export name. */
  readonly pluginExport: string;
  /** The runner class and its options, when not a `LocalRunner`. */
  readonly runner?: { readonly module: string; readonly export: string; readonly options?: unknown } | undefined;
  /** The storage's config. */
  readonly config: Readonly<Record<string, unknown>>;
  /** The kit manager's lock directory. */
  readonly lockDir: string;
  /** The kit manager's shared lock directory. */
  readonly sharedLockDir: string;
  /** The kit manager's node name. */
  readonly node: string;
  /** What to do. */
  readonly op: { readonly kind: 'import'; readonly volid: string };
}

type Ctor = new (options?: unknown) => unknown;

async function exportOf(specifier: string, name: string): Promise<unknown> {
  const mod = (await import(specifier)) as Record<string, unknown>;
  if (!(name in mod)) throw new Error(`'${specifier}' has no export '${name}'`);
  return mod[name];
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ChildJob;
  const { StorageManager } = (await import(job.coreModule)) as { StorageManager: { open(options: unknown): Promise<Manager> } };
  const plugin = await exportOf(job.pluginModule, job.pluginExport);
  const runner = job.runner ? new ((await exportOf(job.runner.module, job.runner.export)) as Ctor)(job.runner.options) : undefined;
  const quiet = { debug() {}, info() {}, warn() {} };
  const manager = await StorageManager.open({
    plugins: [plugin],
    config: [job.config],
    ...(runner ? { runner } : {}),
    lockDir: job.lockDir,
    sharedLockDir: job.sharedLockDir,
    node: job.node,
    log: quiet,
  });
  let told = false;
  const onProgress = (): void => {
    if (told) return;
    told = true;
    process.stdout.write('started\n');
  };
  const volid = await manager.volumeImport(job.op.volid, { format: 'raw+size', input: process.stdin, onProgress });
  process.stdout.write(`done ${volid}\n`);
  await manager.close();
}

interface Manager {
  volumeImport(volid: string, options: unknown): Promise<string>;
  close(): Promise<void>;
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
