/**
 * The conformance kit for `linstor`, against the stand-in controller, with every exchange checked
 * against LINSTOR's OpenAPI specification when `../shared/linstor/rest_v1_openapi.yaml` is there.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ddVolumeData, describeStoragePlugin } from '@stowage/core/testing';
import { LinstorPlugin } from '../src/index.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';
import { SPEC_PATH } from './stand-in/spec-validator.js';

let cluster: Cluster | undefined;
let validated = 0;
let violations: unknown[] = [];

describeStoragePlugin({
  name: 'linstor against the stand-in controller',
  plugin: LinstorPlugin,
  setup: async () => {
    cluster = await startCluster({ controllers: 2 });
    // The stand-in's devices are files under devicePathRoot (links to each definition's data
    // file): the kit writes into them with dd, as it would into /dev/drbd/by-res/<res>/0.
    // child: the crash cases run an import in a child process that loads the built plugin
    // (dist/, made by `tsc -b`) and talks to this process's stand-in over HTTP.
    return {
      config: cluster.config({ storage: 'kit-linstor' }),
      sizeUnit: 4 * 1024 * 1024,
      volumeData: ddVolumeData(),
      child: { pluginModule: new URL('../dist/index.js', import.meta.url).href, pluginExport: 'LinstorPlugin' },
    };
  },
  teardown: async () => {
    validated = cluster?.validator?.checked ?? 0;
    violations = cluster?.validator?.violations ?? [];
    await cluster?.close();
  },
});

describe('linstor conformance: spec validation', () => {
  afterAll(() => {
    if (!cluster?.validator) console.warn(`LINSTOR OpenAPI spec not found at ${SPEC_PATH}: the kit ran without spec validation`);
  });
  it('every exchange of the kit matched the OpenAPI spec', () => {
    if (!cluster?.validator) return;
    expect(violations).toEqual([]);
    expect(validated).toBeGreaterThan(1000);
    console.info(`linstor conformance: ${validated} requests and replies checked against the OpenAPI spec`);
  });
});
