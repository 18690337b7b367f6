/**
 * `nodes.cfg`: the nodes a `stowage` command can send volumes to, beside its storage.cfg, in
 * the same section-config layout:
 *
 * ```text
 * node: pve2
 * 	ssh root@10.0.0.2
 * 	port 22
 * 	identity /etc/stowage/id_ed25519
 * 	known-hosts /etc/stowage/known_hosts
 * 	command /usr/bin/stowage
 * 	config /etc/stowage/storage.cfg
 * 	env STOWAGE_LOCK_DIR=/run/stowage
 * ```
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import type { SshRunnerOptions } from '../command/ssh-runner.js';
import { ConfigError, StorageError, type ConfigIssue } from '../errors.js';
import { errnoOf } from '../fs-error.js';
import { parseStorageCfg } from '../config/section-config.js';
import type { SshNodeOptions } from './ssh-node.js';

/** The options a `node:` section may hold. */
export const NODE_OPTIONS = ['ssh', 'port', 'identity', 'known-hosts', 'command', 'config', 'env'] as const;

/**
 * Parses the text of a `nodes.cfg` into the options of one {@link SshNode} per section. Pure.
 *
 * @param text - the file's contents
 * @returns one entry per node, in file order
 * @throws {@link ConfigError} `CONFIG_INVALID` listing every bad line: a section of another type
 *   than `node`, an unknown option, no `ssh` or a bad one, a bad port, an `env` entry that is not `NAME=value`
 * @example
 * ```ts
 * parseNodesCfg('node: pve2\n\tssh root@10.0.0.2\n');
 * // [{ name: 'pve2', ssh: { host: '10.0.0.2', user: 'root' } }]
 * ```
 */
export function parseNodesCfg(text: string): SshNodeOptions[] {
  const issues: ConfigIssue[] = [];
  const nodes: SshNodeOptions[] = [];
  for (const section of parseStorageCfg(text)) {
    const at = (key: string | undefined, message: string): void => {
      issues.push({ path: key ? [section.storage, key] : [section.storage], message, line: (key && section.optionLines?.[key]) || section.line });
    };
    if (section.type !== 'node') {
      at(undefined, `section type '${section.type}' is not 'node'`);
      continue;
    }
    const o = section.options;
    for (const key of Object.keys(o)) if (!(NODE_OPTIONS as readonly string[]).includes(key)) at(key, `unknown option '${key}' (known: ${NODE_OPTIONS.join(', ')})`);
    const target = o['ssh'];
    if (!target) {
      at(undefined, "missing option 'ssh' ([user@]host)");
      continue;
    }
    const [user, host] = target.includes('@') ? [target.slice(0, target.indexOf('@')), target.slice(target.indexOf('@') + 1)] : [undefined, target];
    const word = /^[^\s@-][^\s@]*$/;
    if (!word.test(host) || (user !== undefined && !word.test(user))) at('ssh', `bad ssh target '${target}' (want [user@]host)`);
    let port: number | undefined;
    if (o['port'] !== undefined) {
      port = Number(o['port']);
      if (!Number.isInteger(port) || port < 1 || port > 65535) at('port', `bad port '${o['port']}'`);
    }
    const env: Record<string, string> = {};
    for (const pair of (o['env'] ?? '').split(/\s+/).filter(Boolean)) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(pair);
      if (m) env[m[1]!] = m[2]!;
      else at('env', `env entry '${pair}' is not NAME=value`);
    }
    const ssh: SshRunnerOptions = {
      host: host ?? '',
      ...(user ? { user } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(o['identity'] ? { identityFile: o['identity'] } : {}),
      ...(o['known-hosts'] ? { knownHostsFile: o['known-hosts'] } : {}),
    };
    nodes.push({
      name: section.storage,
      ssh,
      ...(o['command'] ? { command: o['command'].split(/\s+/).filter(Boolean) } : {}),
      ...(o['config'] ? { config: o['config'] } : {}),
      ...(Object.keys(env).length > 0 ? { env } : {}),
    });
  }
  issues.sort((x, y) => (x.line ?? 0) - (y.line ?? 0));
  if (issues.length > 0) throw new ConfigError(`nodes.cfg is invalid: ${issues.map((i) => `line ${i.line}: ${i.message}`).join('; ')}`, issues);
  return nodes;
}

/**
 * Reads a `nodes.cfg` file and returns the options of the node named `name`.
 *
 * @param path - the file
 * @param name - the node
 * @returns the node's options, for `new SshNode(...)`
 * @throws {@link StorageError} `NOT_FOUND` (no such file, or no such node: `details.nodes`
 *   lists the known ones), `CONFIG_INVALID` (see {@link parseNodesCfg})
 */
export async function readNodeFromCfg(path: string, name: string): Promise<SshNodeOptions> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `no node list at ${path}: nodes are defined in nodes.cfg beside storage.cfg`, { details: { path } });
    throw e;
  }
  const nodes = parseNodesCfg(text);
  const node = nodes.find((n) => n.name === name);
  if (!node) throw new StorageError('NOT_FOUND', `no node '${name}' in ${path}`, { details: { node: name, path, nodes: nodes.map((n) => n.name) } });
  return node;
}
