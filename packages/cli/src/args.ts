/**
 * Command-line parsing with `node:util` `parseArgs`: the global options, the verb, and each
 * verb's own options and positionals. Mistakes become a {@link UsageError} (exit status 2).
 *
 * @module
 */
import { parseArgs } from 'node:util';

/** The command line was wrong. Not a `StorageError`: nothing was attempted. */
export class UsageError extends Error {
  /** The verb whose usage to show, when known. */
  readonly verb: string | undefined;

  /**
   * @param message - what is wrong
   * @param verb - the verb, for the usage hint
   */
  constructor(message: string, verb?: string) {
    super(message);
    this.verb = verb;
  }
}
Object.defineProperty(UsageError.prototype, 'name', { value: 'UsageError', enumerable: false });

/** One option of a verb, in `parseArgs` terms plus help text. */
export interface OptionSpec {
  /** `string` takes a value; `boolean` is a flag. */
  readonly type: 'string' | 'boolean';
  /** May be given more than once (values are collected in order). */
  readonly multiple?: boolean;
  /** A one-letter alias. */
  readonly short?: string;
  /** The value's name in help, e.g. `N` in `--vmid N`. */
  readonly valueName?: string;
  /** One line of help. */
  readonly description: string;
}

/** Options every verb accepts. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string', valueName: 'FILE', description: "storage.cfg to use (else $STOWAGE_CONFIG; else the cluster's, with a cluster; else ./storage.cfg, /etc/stowage/storage.cfg)" },
  json: { type: 'boolean', description: 'print machine-readable JSON instead of tables' },
  plugin: { type: 'string', multiple: true, valueName: 'PACKAGE', description: 'load a third-party plugin package (repeatable)' },
  cluster: { type: 'string', valueName: 'URL', description: 'coordinate with other nodes through etcd (etcd://host:port,...; else $STOWAGE_CLUSTER, cluster.cfg beside storage.cfg)' },
  help: { type: 'boolean', short: 'h', description: 'show help' },
} as const satisfies Record<string, OptionSpec>;

/** The values of {@link GLOBAL_OPTIONS} after parsing. */
export interface GlobalArgs {
  /** `--config FILE`. */
  readonly config: string | undefined;
  /** `--json`. */
  readonly json: boolean;
  /** `--plugin PACKAGE`, in order. */
  readonly plugins: readonly string[];
  /** `--help`. */
  readonly help: boolean;
  /** `--cluster URL`. */
  readonly cluster?: string | undefined;
}

/** What {@link splitCommand} found: the verb words and the remaining arguments. */
export interface SplitCommand {
  /** The verb (`alloc`) or verb group and sub-verb (`storage add`), empty when none was given. */
  readonly verb: string;
  /** Everything after the verb words, and any global options given before them. */
  readonly rest: readonly string[];
}

const VALUE_GLOBALS = new Set(['--config', '--plugin', '--cluster']);

/**
 * Finds the verb: the first argument that is not a global option (or its value). For a verb
 * group (`storage`) the next argument is the sub-verb. Global options before the verb are kept
 * in `rest`, so they are parsed with the verb's own options.
 *
 * @param argv - the arguments after the program name
 * @param groups - verb names that take a sub-verb
 * @throws {@link UsageError} for an unknown option before the verb
 */
export function splitCommand(argv: readonly string[], groups: ReadonlySet<string>): SplitCommand {
  const before: string[] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    if (VALUE_GLOBALS.has(name)) {
      before.push(a);
      if (!a.includes('=')) before.push(argv[++i] ?? '');
    } else if (a === '--json' || a === '--help' || a === '-h') before.push(a);
    else throw new UsageError(`unknown option '${a}' before the verb`);
  }
  const first = argv[i];
  if (first === undefined) return { verb: '', rest: before };
  if (groups.has(first) && argv[i + 1] !== undefined && !(argv[i + 1] ?? '').startsWith('-')) {
    return { verb: `${first} ${argv[i + 1]}`, rest: [...before, ...argv.slice(i + 2)] };
  }
  return { verb: first, rest: [...before, ...argv.slice(i + 1)] };
}

/** The parsed arguments of one verb. */
export interface VerbArgs {
  /** Positional arguments, in order. */
  readonly positionals: readonly string[];
  /** The verb's own options (strings, booleans, or string lists for `multiple`). */
  readonly options: Readonly<Record<string, string | boolean | string[] | undefined>>;
  /** The global options. */
  readonly global: GlobalArgs;
}

/**
 * Parses a verb's arguments strictly: unknown options, missing values, and a wrong number of
 * positionals are usage errors.
 *
 * @param verb - the verb, for messages
 * @param rest - the arguments after the verb words
 * @param options - the verb's own options
 * @param positionals - the number of positionals accepted
 * @throws {@link UsageError}
 */
export function parseVerbArgs(
  verb: string,
  rest: readonly string[],
  options: Readonly<Record<string, OptionSpec>>,
  positionals: { readonly min: number; readonly max: number },
): VerbArgs {
  const spec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {};
  const all: Record<string, OptionSpec> = { ...GLOBAL_OPTIONS, ...options };
  for (const [name, o] of Object.entries(all)) {
    spec[name] = { type: o.type, ...(o.multiple ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  // parseArgs takes `-5G` for an option: hide negative numbers (refused later with a proper
  // error by the value parsers) behind placeholders, glued to a preceding option that takes a value.
  const hidden: string[] = [];
  const args: string[] = [];
  for (const a of rest) {
    if (/^-\d/.test(a)) {
      const prev = args.at(-1) ?? '';
      const name = prev.startsWith('--') ? prev.slice(2) : undefined;
      const token = `\u0000${hidden.push(a) - 1}`;
      if (name !== undefined && !name.includes('=') && spec[name]?.type === 'string') args[args.length - 1] = `--${name}=${token}`;
      else args.push(token);
    } else args.push(a);
  }
  const unhide = (v: string): string => (v.startsWith('\u0000') ? (hidden[Number(v.slice(1))] ?? v) : v);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options: spec, allowPositionals: true, strict: true, allowNegative: false });
  } catch (e) {
    throw new UsageError(cleanParseArgsMessage(e), verb);
  }
  parsed = {
    ...parsed,
    positionals: parsed.positionals.map(unhide),
    values: Object.fromEntries(
      Object.entries(parsed.values).map(([k, v]) => [k, typeof v === 'string' ? unhide(v) : Array.isArray(v) ? v.map((x) => (typeof x === 'string' ? unhide(x) : x)) : v]),
    ),
  } as typeof parsed;
  const values = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const global = globalArgs(values);
  if (!global.help && (parsed.positionals.length < positionals.min || parsed.positionals.length > positionals.max)) {
    const want = positionals.min === positionals.max ? `${positionals.min}` : `${positionals.min} to ${positionals.max}`;
    throw new UsageError(`expected ${want} argument(s), got ${parsed.positionals.length}`, verb);
  }
  const own: Record<string, string | boolean | string[] | undefined> = {};
  for (const name of Object.keys(options)) own[name] = values[name];
  return { positionals: parsed.positionals, options: own, global };
}

/**
 * Parses arguments whose option names are open-ended, as `storage add` takes any plugin
 * option: `--key value` and `--key=value` pairs are collected as text; the global options
 * and the named `flags` are recognised.
 *
 * @param verb - the verb, for messages
 * @param rest - the arguments after the verb words
 * @param flags - boolean options of the verb itself
 * @param positionals - the number of positionals accepted
 * @throws {@link UsageError}
 */
export function parseOpenArgs(
  verb: string,
  rest: readonly string[],
  flags: readonly string[],
  positionals: { readonly min: number; readonly max: number },
): VerbArgs & { readonly pairs: ReadonlyArray<readonly [string, string]> } {
  const pos: string[] = [];
  const pairs: Array<[string, string]> = [];
  const values: Record<string, string | boolean | string[] | undefined> = {};
  const plugins: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] ?? '';
    if (a === '-h' || a === '--help' || a === '--json' || flags.includes(a.slice(2))) {
      values[a === '-h' ? 'help' : a.slice(2)] = true;
      continue;
    }
    if (!a.startsWith('--')) {
      if (a.startsWith('-') && a !== '-') throw new UsageError(`unknown option '${a}'`, verb);
      pos.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const key = eq < 0 ? a.slice(2) : a.slice(2, eq);
    let value: string | undefined = eq < 0 ? undefined : a.slice(eq + 1);
    if (value === undefined) {
      value = rest[++i];
      if (value === undefined) throw new UsageError(`option '--${key}' needs a value`, verb);
    }
    if (!/^[a-z][a-z0-9_-]*$/i.test(key)) throw new UsageError(`bad option name '--${key}'`, verb);
    if (key === 'config' || key === 'cluster') values[key] = value;
    else if (key === 'plugin') plugins.push(value);
    else pairs.push([key, value]);
  }
  if (plugins.length > 0) values['plugin'] = plugins;
  const global = globalArgs(values);
  if (!global.help && (pos.length < positionals.min || pos.length > positionals.max)) {
    throw new UsageError(`expected ${positionals.min === positionals.max ? positionals.min : `${positionals.min} to ${positionals.max}`} argument(s), got ${pos.length}`, verb);
  }
  const own: Record<string, boolean | undefined> = {};
  for (const f of flags) own[f] = values[f] === true;
  return { positionals: pos, options: own, global, pairs };
}

function globalArgs(values: Record<string, string | boolean | string[] | undefined>): GlobalArgs {
  const plugin = values['plugin'];
  return {
    config: typeof values['config'] === 'string' ? values['config'] : undefined,
    json: values['json'] === true,
    plugins: Array.isArray(plugin) ? plugin : [],
    help: values['help'] === true,
    cluster: typeof values['cluster'] === 'string' ? values['cluster'] : undefined,
  };
}

function cleanParseArgsMessage(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  // parseArgs appends advice about '--' that does not fit here; keep the first sentence.
  return message.split(/\. (?:To specify|Did you)/)[0]?.replace(/\.$/, '') ?? message;
}
