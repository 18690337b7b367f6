/**
 * `storage add|set|remove|list`: edit the configuration file, through the manager (which
 * validates every option against the plugin's schema and runs the plugin's hooks).
 *
 * @module
 */
import { dirname } from 'node:path';
import type { InvalidStorage, StorageConfig } from '@stowage/core';
import type { VerbSpec } from '../verb.js';

async function optionsFromPairs(pairs: ReadonlyArray<readonly [string, string]>, skip: readonly string[] = []): Promise<Record<string, string>> {
  const { StorageError } = await import('@stowage/core');
  const out: Record<string, string> = {};
  for (const [k, v] of pairs) {
    if (skip.includes(k)) continue;
    if (k === 'type' || k === 'storage') {
      throw new StorageError('INVALID_ARGUMENT', `'--${k}' is given as an argument, not as an option`, { details: { option: k } });
    }
    if (k in out) throw new StorageError('INVALID_ARGUMENT', `option '--${k}' given twice`, { details: { option: k } });
    out[k] = v;
  }
  return out;
}

function showValue(v: unknown): string {
  return Array.isArray(v) ? v.join(',') : typeof v === 'boolean' ? (v ? '1' : '0') : String(v);
}

/** `stowage storage add <type> <id> [--option value]...`. */
export const storageAddVerb: VerbSpec = {
  name: 'storage add',
  usage: '<type> <id> [--<option> <value>]...',
  description:
    'Options are those of the type (see its plugin), e.g. for dir: --path /srv/images --content images,iso.\nBooleans take 1 or 0 (--shared 1). Unknown options are refused (CONFIG_INVALID).',
  positionals: { min: 2, max: 2 },
  open: { flags: [], help: '  --<option> <value>     a storage option, as written in storage.cfg' },
  async run(ctx) {
    const [type = '', id = ''] = ctx.args.positionals;
    const config = { type, storage: id, ...(await optionsFromPairs(ctx.pairs)) };
    if (ctx.clusterConfig) {
      await (await ctx.manager({ extraTypes: [type] })).addStorage(config);
      const location = (await ctx.cluster()).config.location;
      return { data: { storage: id, type, config: location }, human: `added ${type} storage '${id}' to ${location}` };
    }
    const { createDirs, removeCreatedDirs } = await import('@stowage/core/plugin');
    const path = ctx.config.path;
    const made = await createDirs(dirname(path));
    try {
      await (await ctx.manager({ allowMissingConfig: true, extraTypes: [type] })).addStorage(config);
    } catch (e) {
      await removeCreatedDirs(made);
      throw e;
    }
    return { data: { storage: id, type, config: path }, human: `added ${type} storage '${id}' to ${path}` };
  },
};

/** `stowage storage set <id> [--option value]... [--delete a,b]`. */
export const storageSetVerb: VerbSpec = {
  name: 'storage set',
  usage: '<id> [--<option> <value>]... [--delete <option,...>]',
  description: 'Fixed options (such as a dir storage\'s path) cannot be changed or deleted (CONFIG_INVALID).',
  positionals: { min: 1, max: 1 },
  open: { flags: [], help: '  --<option> <value>     set a storage option\n  --delete <a,b>         remove these options' },
  async run(ctx) {
    const id = ctx.args.positionals[0] ?? '';
    const { StorageError } = await import('@stowage/core');
    const changes = await optionsFromPairs(ctx.pairs, ['delete']);
    const deleteKeys = ctx.pairs.filter(([k]) => k === 'delete').flatMap(([, v]) => v.split(',').map((s) => s.trim()).filter(Boolean));
    if (Object.keys(changes).length === 0 && deleteKeys.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', 'nothing to change: give --<option> <value> or --delete <option>', { details: { storage: id } });
    }
    await (await ctx.manager()).updateStorage(id, changes, deleteKeys);
    return { data: { storage: id, changed: Object.keys(changes), deleted: deleteKeys }, human: `updated storage '${id}'` };
  },
};

/** `stowage storage remove <id>`. */
export const storageRemoveVerb: VerbSpec = {
  name: 'storage remove',
  usage: '<id>',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = ctx.args.positionals[0] ?? '';
    await (await ctx.manager()).removeStorage(id);
    return { data: { storage: id, removed: true }, human: `removed storage '${id}'` };
  },
};

/** One row of `storage list --json`: a storage's config, or a section that cannot be used, with its `issues`. */
export type StorageListRow = StorageConfig | Pick<InvalidStorage, 'storage' | 'type' | 'issues'>;

/** `stowage storage list`. */
export const storageListVerb: VerbSpec = {
  name: 'storage list',
  usage: '',
  description:
    "Sections of the file that cannot be used come last, with their issues (Enabled 'invalid'); repair one with 'storage set' or drop it with 'storage remove'.",
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const m = await ctx.manager();
    const configs: StorageConfig[] = m.storageIds().map((id) => m.storageConfig(id));
    const invalid = m.invalidStorages();
    const rows: StorageListRow[] = [...configs, ...invalid.map(({ storage, type, issues }) => ({ storage, type, issues }))];
    return {
      data: rows,
      human: {
        headers: ['Name', 'Type', 'Content', 'Shared', 'Enabled', 'Options'],
        rows: [
          ...configs.map((c) => {
            const rest = Object.entries(c)
              .filter(([k, v]) => !['type', 'storage', 'content', 'shared', 'disable'].includes(k) && v !== undefined)
              .map(([k, v]) => `${k}=${showValue(v)}`);
            return [c.storage, String(c.type), c.content ? c.content.join(',') : '(default)', c.shared ? 'yes' : 'no', c.disable ? 'no' : 'yes', rest.join(' ')];
          }),
          ...invalid.map((bad) => [bad.storage, bad.type, '-', '-', 'invalid', bad.issues.map((i) => (i.line !== undefined ? `line ${i.line}: ${i.message}` : i.message)).join('; ')]),
        ],
      },
    };
  },
};
