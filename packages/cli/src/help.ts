/**
 * Help texts: the overview and one page per verb.
 *
 * @module
 */
import { GLOBAL_OPTIONS, type OptionSpec } from './args.js';
import type { VerbSpec } from './verb.js';

/** The usage line of a verb. */
export function usageLine(verb: VerbSpec): string {
  return `stowage ${verb.name}${verb.usage ? ` ${verb.usage}` : ''}`;
}

function optionLines(options: Readonly<Record<string, OptionSpec>>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` ${o.valueName ?? 'VALUE'}` : ''}`;
    return `  ${flag.padEnd(22)} ${o.description}`;
  });
}

/**
 * The help page of one verb.
 *
 * @param verb - the verb
 * @param summary - its one-line summary
 */
export function verbHelp(verb: VerbSpec, summary: string): string {
  const lines = [`usage: ${usageLine(verb)}`, '', summary];
  if (verb.description) lines.push('', verb.description);
  if (verb.options && Object.keys(verb.options).length > 0) lines.push('', 'options:', ...optionLines(verb.options));
  if (verb.open) lines.push('', 'options:', verb.open.help);
  lines.push('', 'global options:', ...optionLines(GLOBAL_OPTIONS));
  return lines.join('\n') + '\n';
}

/**
 * The overview: every verb with its summary.
 *
 * @param verbs - all verbs, by name and summary
 */
export function overviewHelp(verbs: ReadonlyArray<{ readonly name: string; readonly summary: string }>): string {
  const width = Math.max(...verbs.map((v) => v.name.length));
  return [
    'usage: stowage <verb> [arguments] [options]',
    '',
    'Manage virtual-machine disk images on the storages of a storage.cfg, like Proxmox\'s pvesm.',
    '',
    'verbs:',
    ...verbs.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    'global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    "Run 'stowage <verb> --help' for a verb's arguments. Exit status: 0 success, 1 unexpected failure,",
    '2 usage error, 10-30 one per error code (see docs/errors.md).',
  ].join('\n') + '\n';
}
