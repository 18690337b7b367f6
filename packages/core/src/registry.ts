/**
 * The plugin registry: which plugin class handles which storage type.
 *
 * @module
 */
import { assertCompatibleApi } from './api-version.js';
import { checkConfigSchema } from './config/schema-source.js';
import { StorageError } from './errors.js';
import type { StoragePluginClass } from './storage-plugin.js';

/** Proxmox-style type ids: lowercase letter first, then lowercase letters and digits. */
const TYPE_RE = /^[a-z][a-z0-9]*$/;


/** Capability fields `register()` insists on (arrays and booleans, checked by shape). */
const CAPABILITY_ARRAYS = ['content', 'defaultContent', 'formats', 'exportFormats', 'importFormats', 'attributes'] as const;
const CAPABILITY_BOOLEANS = ['shared', 'rollbackAnySnapshot', 'cloneFromSnapshot', 'shrink'] as const;

function invalid(type: unknown, why: string): never {
  throw new StorageError('INVALID_ARGUMENT', `cannot register plugin '${String(type)}': ${why}`, { details: { type: String(type), reason: why } });
}

/** A schema given directly is checked now; one given as a loader, when it is loaded (`loadConfigSchema`). */
function checkSchema(cls: StoragePluginClass): void {
  if (typeof cls.configSchema !== 'function') checkConfigSchema(cls.type, cls.configSchema);
}

function checkCapabilities(cls: StoragePluginClass): void {
  const caps = cls.capabilities as unknown as Record<string, unknown> | undefined;
  if (typeof caps !== 'object' || caps === null) invalid(cls.type, 'static capabilities are missing');
  for (const k of CAPABILITY_ARRAYS) if (!Array.isArray(caps[k])) invalid(cls.type, `capabilities.${k} must be an array`);
  for (const k of CAPABILITY_BOOLEANS) if (typeof caps[k] !== 'boolean') invalid(cls.type, `capabilities.${k} must be a boolean`);
  if (typeof caps['features'] !== 'object' || caps['features'] === null) invalid(cls.type, 'capabilities.features must be an object');
  const formats = caps['formats'] as unknown[];
  if (!formats.includes(caps['defaultFormat'])) invalid(cls.type, `capabilities.defaultFormat '${String(caps['defaultFormat'])}' is not in formats`);
  const maxSize = caps['maxSize'];
  if (maxSize === undefined) return;
  if (typeof maxSize !== 'object' || maxSize === null) invalid(cls.type, 'capabilities.maxSize must be an object');
  for (const [format, max] of Object.entries(maxSize)) {
    if (!Number.isSafeInteger(max) || (max as number) <= 0) invalid(cls.type, `capabilities.maxSize.${format} must be a positive whole number of bytes`);
  }
}

/**
 * Maps storage type ids (`dir`, `zfspool`, ...) to plugin classes, checking each class when it
 * is registered (Proxmox's `PVE::Storage::Plugin->register` plus the custom-plugin API check).
 *
 * A {@link StorageManager} makes its own registry from the `plugins` it is opened with; use one
 * directly only to validate configs without a manager.
 *
 * @example
 * ```ts
 * const registry = new PluginRegistry();
 * registry.register(DirPlugin);
 * registry.lookup('dir'); // DirPlugin
 * ```
 */
export class PluginRegistry {
  readonly #byType = new Map<string, StoragePluginClass>();

  /**
   * @param plugins - classes to register at once, in order
   * @throws {@link StorageError} as {@link PluginRegistry.register}
   */
  constructor(plugins: Iterable<StoragePluginClass> = []) {
    for (const p of plugins) this.register(p);
  }

  /**
   * Registers a plugin class. Registering the same class twice is a no-op.
   *
   * Checks: `type` is a lowercase id (`[a-z][a-z0-9]*`); `configSchema` is a zod object schema
   * that keeps the base keys and accepts the type (a schema given as a loader is checked when it
   * is loaded); `capabilities` has every field with the right
   * shape; `apiVersion` lies in the window `API_VERSION - API_AGE .. API_VERSION`.
   *
   * @param cls - the plugin class
   * @throws {@link StorageError} `API_VERSION_MISMATCH` when the plugin was written for an API
   *   version outside the window; `ALREADY_EXISTS` when another class has the type;
   *   `INVALID_ARGUMENT` when the static metadata is malformed
   * @see Proxmox `PVE::Storage::Plugin->register`, `PVE::Storage` custom plugin `api()` check
   */
  register(cls: StoragePluginClass): void {
    if (typeof cls !== 'function') invalid(cls, 'not a class');
    const type: unknown = cls.type;
    if (typeof type !== 'string' || !TYPE_RE.test(type)) invalid(type, 'static type must match [a-z][a-z0-9]*');
    const existing = this.#byType.get(type);
    if (existing === cls) return;
    if (existing) {
      throw new StorageError('ALREADY_EXISTS', `storage type '${type}' is already registered by ${existing.name}`, {
        details: { type, existing: existing.name, plugin: cls.name },
      });
    }
    assertCompatibleApi(type, cls.apiVersion);
    checkSchema(cls);
    checkCapabilities(cls);
    this.#byType.set(type, cls);
  }

  /**
   * Returns the class registered for a type.
   *
   * @param type - the type id, e.g. `dir`
   * @throws {@link StorageError} `NOT_FOUND` when no plugin has that type
   */
  lookup(type: string): StoragePluginClass {
    const cls = this.#byType.get(type);
    if (!cls) {
      throw new StorageError('NOT_FOUND', `no plugin for storage type '${type}'`, { details: { type, known: [...this.#byType.keys()] } });
    }
    return cls;
  }

  /**
   * Tells whether a type is registered.
   *
   * @param type - the type id
   */
  has(type: string): boolean {
    return this.#byType.has(type);
  }

  /** Every registered class, in registration order. */
  list(): StoragePluginClass[] {
    return [...this.#byType.values()];
  }
}
