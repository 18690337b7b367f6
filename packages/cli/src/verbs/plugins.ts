/**
 * `plugins`: the storage types this command knows, and where each came from.
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';

/** `stowage plugins`. */
export const pluginsVerb: VerbSpec = {
  name: 'plugins',
  usage: '',
  description:
    'Third-party plugins come from --plugin PACKAGE, $STOWAGE_PLUGINS (comma or space separated),\nand a plugins.cfg file next to the configuration file (one package name per line).',
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const { registry, origins } = await ctx.plugins();
    const rows = registry.list().map((cls) => ({
      type: cls.type,
      apiVersion: cls.apiVersion,
      source: origins.get(cls.type)?.source ?? 'unknown',
      class: origins.get(cls.type)?.exportName ?? cls.name,
      formats: [...cls.capabilities.formats],
      defaultFormat: cls.capabilities.defaultFormat,
      content: [...cls.capabilities.content],
      shared: cls.capabilities.shared,
    }));
    rows.sort((a, b) => a.type.localeCompare(b.type));
    return {
      data: rows,
      human: {
        headers: ['Type', 'API', 'Source', 'Formats', 'Content'],
        right: [1],
        rows: rows.map((r) => [r.type, String(r.apiVersion), r.source, r.formats.join(','), r.content.join(',')]),
      },
    };
  },
};
