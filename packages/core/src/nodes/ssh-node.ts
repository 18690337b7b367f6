/**
 * A node that is another host's `stowage` command, reached over ssh.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import type { StreamFormat } from '../capabilities.js';
import type { CommandResult, CommandRunner, RunOptions } from '../command/runner.js';
import { SshRunner, type SshRunnerOptions } from '../command/ssh-runner.js';
import { isCommandError, StorageError } from '../errors.js';
import type { StorageStatus, TransferOptions } from '../plugin-types.js';
import { parseVolumeId } from '../volume-id.js';
import { nodeStream } from '../on-first-use.js';
import { directSource, sendInto } from '../direct-source.js';
import type { NodeImage, NodeImportOptions, NodeStorage, ReceivedVolume, ReceiveOptions, StorageNode, VolumeChecksum } from './node.js';
import { parseReceiveReady, parseRemoteAnswer, parseRemoteError, receiveArgs, remoteStowageArgv, transferFlags, type RemoteStowage } from './remote.js';

/** Options of an {@link SshNode}. */
export interface SshNodeOptions extends RemoteStowage {
  /** The node's name. */
  readonly name: string;
  /** Where and how to connect; or give {@link SshNodeOptions.runner}. */
  readonly ssh?: SshRunnerOptions | undefined;
  /** A runner that reaches the node (an {@link SshRunner} of your own); wins over `ssh`. */
  readonly runner?: CommandRunner | undefined;
  /** Environment variables for the node's `stowage` (e.g. `STOWAGE_LOCK_DIR`). */
  readonly env?: Readonly<Record<string, string>> | undefined;
}

/**
 * A {@link StorageNode} on another host: every question is one run of the host's `stowage`
 * with `--json` through the core's {@link SshRunner} (argv quoted for the remote shell, never
 * a shell string), and an import streams the caller's data into `stowage import ... -` over the
 * ssh session's standard input. A failure the node reports keeps its code (a node's
 * `ALREADY_EXISTS` is `ALREADY_EXISTS` here, with `details.node`); ssh failing to connect is
 * `UNAVAILABLE`. When the ssh session dies mid-import (this process killed, the network gone),
 * the node's import sees its input end early and removes what it made.
 *
 * @example
 * ```ts
 * const b = new SshNode({ name: 'pve2', ssh: { host: 'pve2', user: 'root' }, config: '/etc/stowage/storage.cfg' });
 * await storages.migrateVolume('local:100/vm-100-disk-0.raw', { toNode: b });
 * await b.close();
 * ```
 */
export class SshNode implements StorageNode {
  /** The node's name. */
  readonly name: string;
  /** The runner's description, e.g. `ssh root@pve2`. */
  readonly description: string;
  readonly #runner: CommandRunner;
  readonly #remote: RemoteStowage;
  readonly #env: Readonly<Record<string, string>> | undefined;

  /**
   * @param options - name, connection, remote command and configuration
   * @throws TypeError when neither `ssh` nor `runner` is given, or on bad ssh options
   */
  constructor(options: SshNodeOptions) {
    const runner = options.runner ?? (options.ssh ? new SshRunner(options.ssh) : undefined);
    if (!runner) throw new TypeError(`node '${options.name}' has neither ssh options nor a runner`);
    this.name = options.name;
    this.#runner = runner;
    this.description = runner.description;
    this.#remote = { command: options.command, config: options.config };
    this.#env = options.env;
  }

  /** {@inheritDoc StorageNode.storages} */
  async storages(): Promise<NodeStorage[]> {
    const rows = (await this.#ask(['storage', 'list'])) as { storage?: unknown; type?: unknown; issues?: unknown }[];
    return rows.filter((r) => r.issues === undefined).map((r) => ({ storage: String(r.storage), type: String(r.type) }));
  }

  /** {@inheritDoc StorageNode.status} */
  async status(storeId: string): Promise<StorageStatus> {
    const [row] = (await this.#ask(['status', storeId])) as { status?: string; total: number; used: number; available: number }[];
    if (!row) throw new StorageError('NOT_FOUND', `node '${this.name}' has no storage '${storeId}'`, { details: { node: this.name, storeId } });
    if (row.status !== 'active' && row.status !== 'inactive') {
      throw new StorageError('UNAVAILABLE', `storage '${storeId}' on node '${this.name}' is ${String(row.status)}`, { details: { node: this.name, storeId, status: row.status } });
    }
    return { total: row.total, used: row.used, available: row.available, active: row.status === 'active' };
  }

  /** {@inheritDoc StorageNode.importFormats} */
  async importFormats(volid: string, options: TransferOptions = {}): Promise<StreamFormat[]> {
    const answer = (await this.#ask(['formats', volid, '--import', ...transferFlags(options)])) as { formats: StreamFormat[] };
    return answer.formats;
  }

  /** {@inheritDoc StorageNode.findImage} */
  async findImage(volid: string): Promise<NodeImage | undefined> {
    const rows = (await this.#ask(['list', parseVolumeId(volid).storeId, '--content', 'images'])) as NodeImage[];
    const row = rows.find((r) => r.volid === volid);
    return row ? { volid: row.volid, size: row.size, format: row.format } : undefined;
  }

  /** {@inheritDoc StorageNode.importVolume} */
  async importVolume(volid: string, options: NodeImportOptions): Promise<string> {
    const verb = ['import', volid, options.format, '-', ...transferFlags(options), ...(options.allowRename === true ? ['--allow-rename'] : [])];
    const answer = (await this.#ask(verb, { stdin: options.input, signal: options.signal, timeoutMs: 0 })) as { volid: string };
    return answer.volid;
  }

  /**
   * Receives a volume in one exchange (see {@link StorageNode.receiveVolume}): one run of the
   * node's `stowage receive VOLID --offer F,... --need N --json`, which answers its choice on the
   * first line of its standard output (`{"ready":{"format":...}}`) before it reads standard input;
   * the stream follows on the same ssh session, and the node's last output is the
   * {@link ReceivedVolume} as JSON.
   *
   * @param volid - the target volume (must not exist)
   * @param options - the offer, the space needed, the stream opener, snapshot options, signal
   * @returns what the node made, with what it read back
   * @throws as {@link StorageNode.receiveVolume}; `COMMAND_FAILED` when the node's answer is not
   *   a ready line with an offered format
   */
  async receiveVolume(volid: string, options: ReceiveOptions): Promise<ReceivedVolume> {
    let text = '';
    let ready: (line: string) => void = () => undefined;
    const firstLine = new Promise<string>((resolve) => (ready = resolve));
    const output = new (nodeStream().Writable)({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString('utf8');
        const end = text.indexOf('\n');
        if (end >= 0) ready(text.slice(0, end));
        cb();
      },
    });
    // the session's input: the stream the node chose, once it has answered; none (an input that
    // ends at once) when its answer was not one
    let give: (data: Readable | undefined) => void = () => undefined;
    const chosen = new Promise<Readable | undefined>((resolve) => (give = resolve));
    const input = directSource(async (sink) => {
      const data = await chosen;
      if (data !== undefined) await sendInto(data, sink);
    });
    const run = this.#run(receiveArgs(volid, options), { stdin: input, stdout: output, signal: options.signal, timeoutMs: 0 });
    try {
      const format = await Promise.race([
        firstLine.then((line) => parseReceiveReady(this.name, line, options.offer)),
        run.then(() => parseReceiveReady(this.name, text, options.offer)),
      ]);
      give(options.open(format));
    } catch (e) {
      // the node gets no stream: its import sees its input end early and removes what it made
      give(undefined);
      await run.catch(() => undefined);
      throw e;
    }
    await run;
    return parseRemoteAnswer(this.name, text.slice(text.indexOf('\n') + 1)) as ReceivedVolume;
  }

  /** {@inheritDoc StorageNode.checksum} */
  async checksum(volid: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<VolumeChecksum> {
    return (await this.#ask(['checksum', volid], { signal: options.signal, timeoutMs: 0 })) as VolumeChecksum;
  }

  /** {@inheritDoc StorageNode.snapshots} */
  async snapshots(volid: string): Promise<string[]> {
    const rows = (await this.#ask(['snapshots', volid])) as { name: string }[];
    return rows.map((r) => r.name);
  }

  /** {@inheritDoc StorageNode.deleteSnapshot} */
  async deleteSnapshot(volid: string, snapshot: string): Promise<void> {
    await this.#ask(['delsnapshot', volid, snapshot]);
  }

  /** {@inheritDoc StorageNode.freeImage} */
  async freeImage(volid: string): Promise<void> {
    await this.#ask(['free', volid]);
  }

  /** Closes the runner's shared ssh connection, if it keeps one. */
  async close(): Promise<void> {
    if (this.#runner instanceof SshRunner) await this.#runner.close();
  }

  async #ask(verb: readonly string[], options: RunOptions = {}): Promise<unknown> {
    return parseRemoteAnswer(this.name, (await this.#run(verb, options)).stdout);
  }

  /** Runs a verb of the node's `stowage`; a failure it reports keeps its code. */
  async #run(verb: readonly string[], options: RunOptions): Promise<CommandResult> {
    try {
      return await this.#runner.run(remoteStowageArgv(this.#remote, verb), { ...options, ...(this.#env ? { env: this.#env } : {}) });
    } catch (e) {
      if (isCommandError(e) && e.code === 'COMMAND_FAILED') throw parseRemoteError(this.name, e.stderr) ?? e;
      throw e;
    }
  }
}
