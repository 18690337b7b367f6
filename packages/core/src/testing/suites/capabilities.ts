/**
 * The plugin's static side: type id, API version, config schema and capabilities are coherent.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { assertCompatibleApi } from '../../api-version.js';
import { CONTENT_TYPES, FEATURES, hasFeature, STREAM_FORMATS, type VolumeFormat, type VolumeState } from '../../capabilities.js';
import { baseStorageConfigSchema } from '../../config/base-schema.js';
import { loadConfigSchema } from '../../config/schema-source.js';
import type { StorageKit } from '../kit.js';

const FORMATS: readonly VolumeFormat[] = ['raw', 'qcow2', 'vmdk', 'subvol'];
const STATES: readonly VolumeState[] = ['current', 'base', 'snap'];

/**
 * Checks the plugin class's static metadata: a lowercase type id, an API version this core
 * accepts, a strict config schema with the base keys that accepts the suite's config, and
 * capabilities that agree with themselves (the default format among the formats, the feature
 * matrix naming only known formats, `cloneFromSnapshot` matching `features.clone.snap`, ...).
 * Also checks that `volumeHasFeature` answers as the matrix says.
 *
 * @param kit - the kit of the suite
 */
export function capabilitiesSuite(kit: StorageKit): void {
  describe('static metadata', () => {
    it('has a lowercase type id and an API version this core accepts', () => {
      expect(kit.pluginClass.type, 'type').toMatch(/^[a-z][a-z0-9]*$/);
      assertCompatibleApi(kit.pluginClass.type, kit.pluginClass.apiVersion);
    });

    it('has a strict config schema with the base keys (given or loaded), which accepts the suite config and rejects an unknown key', async () => {
      const schema = await loadConfigSchema(kit.pluginClass);
      for (const key of Object.keys(baseStorageConfigSchema.shape)) expect(Object.keys(schema.shape), 'config schema keys').toContain(key);
      const config = kit.manager.storageConfig(kit.storeId);
      expect(config['type'], 'config type').toBe(kit.pluginClass.type);
      expect(schema.safeParse({ ...kit.target.config, stowageKitUnknownKey: 'x' }).success, 'an unknown key must be rejected').toBe(false);
    });

    it('declares capabilities that agree with themselves', () => {
      const c = kit.declared;
      expect(c.formats.length, 'formats').toBeGreaterThan(0);
      for (const f of c.formats) expect(FORMATS, 'formats').toContain(f);
      expect(c.formats, 'defaultFormat').toContain(c.defaultFormat);
      if (c.cloneFormat !== undefined) expect(c.formats, 'cloneFormat').toContain(c.cloneFormat);
      for (const t of [...c.content, ...c.defaultContent]) expect(CONTENT_TYPES, 'content').toContain(t);
      for (const t of c.defaultContent) expect(c.content, 'defaultContent').toContain(t);
      expect(c.content, 'content').toContain('images');
      for (const s of [...c.exportFormats, ...c.importFormats]) expect(STREAM_FORMATS, 'stream formats').toContain(s);
      for (const a of c.attributes) expect(['notes', 'protected', 'hidden'], 'attributes').toContain(a);
      for (const f of [...(c.flatten?.toSnapshot ?? []), ...(c.flatten?.clone ?? [])]) expect(c.formats, 'flatten formats').toContain(f);
      for (const [feature, row] of Object.entries(c.features)) {
        expect(FEATURES, 'feature').toContain(feature);
        for (const [state, formats] of Object.entries(row ?? {})) {
          expect(STATES, `features.${feature} state`).toContain(state);
          for (const f of formats ?? []) expect(FORMATS, `features.${feature}.${state}`).toContain(f);
        }
      }
      const clonesSnapshots = (c.features.clone?.snap ?? []).length > 0;
      expect(clonesSnapshots, 'features.clone.snap is non-empty exactly when cloneFromSnapshot is true').toBe(c.cloneFromSnapshot);
    });

    it('answers volumeHasFeature as its feature matrix says', async () => {
      const format = kit.caps.defaultFormat;
      const volid = await kit.alloc({ format });
      for (const feature of FEATURES) {
        const expected = hasFeature(kit.declared.features, { feature, format, isBase: false });
        expect(await kit.manager.volumeHasFeature(volid, feature), `volumeHasFeature(${feature}) of a ${format} volume`).toBe(expected);
      }
    });
  });
}
