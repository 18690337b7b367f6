/**
 * What the kit tests: the plugin's static capabilities narrowed by the suite's `features`, and
 * the gates derived from them. Groups are switched by these gates only.
 *
 * @module
 */
import { hasFeature, type Feature, type FeatureMatrix, type PluginCapabilities, type VolumeFormat, type VolumeState } from '../capabilities.js';
import type { KitFeatures } from './options.js';

/** The capabilities the kit tests: the plugin's, narrowed by {@link KitFeatures}. */
export interface KitCapabilities extends PluginCapabilities {
  /** Whether the resize group runs. */
  readonly resize: boolean;
  /** Whether the fault-injection group runs. */
  readonly faults: boolean;
}

/** Whether a group or case runs, and why not when it does not. */
export interface Gate {
  /** `true` when it runs. */
  readonly ok: boolean;
  /** Why it is skipped (shown as the skip note). */
  readonly reason: string;
}

function subset<T>(what: string, narrowed: readonly T[] | undefined, declared: readonly T[]): readonly T[] {
  if (narrowed === undefined) return declared;
  const extra = narrowed.filter((x) => !declared.includes(x));
  if (extra.length > 0) throw new TypeError(`features.${what} may only narrow the capabilities: ${extra.join(', ')} not declared`);
  return declared.filter((x) => narrowed.includes(x));
}

function flag(what: string, narrowed: boolean | undefined, declared: boolean): boolean {
  if (narrowed === true && !declared) throw new TypeError(`features.${what} may only narrow the capabilities: the plugin does not declare it`);
  return narrowed === undefined ? declared : narrowed && declared;
}

function narrowMatrix(narrowed: FeatureMatrix | undefined, declared: FeatureMatrix): FeatureMatrix {
  if (narrowed === undefined) return declared;
  const out: Partial<Record<Feature, Partial<Record<VolumeState, readonly VolumeFormat[]>>>> = {};
  for (const [feature, states] of Object.entries(narrowed) as [Feature, Partial<Record<VolumeState, readonly VolumeFormat[]>>][]) {
    const row: Partial<Record<VolumeState, readonly VolumeFormat[]>> = {};
    for (const [state, formats] of Object.entries(states) as [VolumeState, readonly VolumeFormat[]][]) {
      row[state] = subset(`features.${feature}.${state}`, formats, declared[feature]?.[state] ?? []);
    }
    out[feature] = row;
  }
  return out;
}

/**
 * Narrows a plugin's capabilities by the suite's `features`.
 *
 * @param declared - the plugin class's `capabilities`
 * @param features - the suite's narrowing, if any
 * @returns what the kit tests
 * @throws TypeError when `features` grants something the capabilities do not
 */
export function effectiveCapabilities(declared: PluginCapabilities, features: KitFeatures = {}): KitCapabilities {
  const formats = subset('formats', features.formats, declared.formats);
  return {
    ...declared,
    formats,
    defaultFormat: formats.includes(declared.defaultFormat) ? declared.defaultFormat : (formats[0] ?? declared.defaultFormat),
    features: narrowMatrix(features.features, declared.features),
    attributes: subset('attributes', features.attributes, declared.attributes),
    exportFormats: subset('exportFormats', features.exportFormats, declared.exportFormats),
    importFormats: subset('importFormats', features.importFormats, declared.importFormats),
    rollbackAnySnapshot: flag('rollbackAnySnapshot', features.rollbackAnySnapshot, declared.rollbackAnySnapshot),
    cloneFromSnapshot: flag('cloneFromSnapshot', features.cloneFromSnapshot, declared.cloneFromSnapshot),
    shrink: flag('shrink', features.shrink, declared.shrink),
    resize: features.resize ?? true,
    faults: features.faults ?? true,
  };
}

/**
 * The format to test a feature with: the default format when it has the feature in that state,
 * else the first format that has it.
 *
 * @param caps - the tested capabilities
 * @param feature - the feature
 * @param state - `current`, `base` or `snap`
 * @returns the format, or `undefined` when no tested format has the feature
 */
export function formatWith(caps: PluginCapabilities, feature: Feature, state: VolumeState): VolumeFormat | undefined {
  const has = (format: VolumeFormat): boolean =>
    hasFeature(caps.features, { feature, format, isBase: state === 'base', snapshot: state === 'snap' ? 'x' : undefined });
  return [caps.defaultFormat, ...caps.formats].find((f) => caps.formats.includes(f) && has(f));
}

/**
 * Makes a gate.
 *
 * @param ok - whether it runs
 * @param reason - why not, when it does not
 */
export function gate(ok: boolean, reason: string): Gate {
  return { ok, reason };
}

/**
 * The gate of a feature in a state: open when some tested format has it.
 *
 * @param caps - the tested capabilities
 * @param feature - the feature
 * @param state - the volume state
 */
export function featureGate(caps: PluginCapabilities, feature: Feature, state: VolumeState): Gate {
  return gate(formatWith(caps, feature, state) !== undefined, `capabilities.features.${feature}.${state} lists no tested format`);
}

/**
 * Both gates must be open; the reason is the first closed one's.
 *
 * @param gates - the gates
 */
export function allOf(...gates: Gate[]): Gate {
  const closed = gates.find((g) => !g.ok);
  return closed ?? gate(true, '');
}
