/**
 * Test set-up: a stand-in LINSTOR cluster (one model, one or more controllers) in a temporary
 * directory, with the plugin config that points at it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Model } from './model.js';
import { StandIn, type StandInTls } from './server.js';
import { loadSpecValidator, type SpecValidator } from './spec-validator.js';

export interface ClusterOptions {
  /** How many controllers share the model. Default 1. */
  controllers?: number;
  /** Check every exchange against the OpenAPI spec (when the file is there). Default true. */
  validate?: boolean;
  /** Per-node pool capacity in KiB. Default 64 GiB. */
  capacityKib?: number;
  /** Nodes. Default node-a, node-b, node-c. */
  nodes?: string[];
  /** Place count of the test resource group. Default 2. */
  placeCount?: number;
  tls?: StandInTls;
  token?: string;
  /** Provider of the storage pools. Default `LVM_THIN`. */
  provider?: 'LVM_THIN' | 'ZFS_THIN';
}

export interface Cluster {
  model: Model;
  controllers: StandIn[];
  validator: SpecValidator | undefined;
  dir: string;
  /** The local node's name. */
  node: string;
  /** A `linstor` storage config pointing at every controller. */
  config(overrides?: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

export const RESOURCE_GROUP = 'stowage_test';

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), 'stowage-linstor-'));
  const nodes = options.nodes ?? ['node-a', 'node-b', 'node-c'];
  const model = new Model({
    nodes,
    localNode: nodes[0] as string,
    capacityKib: options.capacityKib ?? 64 * 1024 * 1024,
    dataDir: join(dir, 'data'),
    deviceRoot: join(dir, 'dev-drbd-by-res'),
    provider: options.provider,
  });
  model.addGroup(RESOURCE_GROUP, options.placeCount ?? 2);
  const validator = options.validate === false ? undefined : loadSpecValidator();
  const controllers: StandIn[] = [];
  for (let i = 0; i < (options.controllers ?? 1); i++) {
    controllers.push(await StandIn.start({ model, validator, tls: options.tls, token: options.token }));
  }
  return {
    model,
    controllers,
    validator,
    dir,
    node: nodes[0] as string,
    config: (overrides = {}) => ({
      type: 'linstor',
      storage: 'drbd',
      controller: controllers.map((c) => c.url),
      resourceGroup: RESOURCE_GROUP,
      node: nodes[0],
      devicePathRoot: model.options.deviceRoot,
      pollIntervalMs: 5,
      inUseWaitSeconds: 0,
      timeoutMs: 5000,
      ...overrides,
    }),
    close: async () => {
      for (const c of controllers) await c.stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
