/**
 * The zod schema of a `linstor` storage's config (`@stowage/plugin-linstor/config-schema`). The plugin
 * class gives it as a loader of this module, so zod is loaded only when a config is validated.
 *
 * @module
 */
import { baseStorageConfigSchema, boolOption, fixedOption, intOption, listOption, nodeNameSchema } from '@stowage/core/config';
import { z } from 'zod';
import { LINSTOR_NAME_RE } from './config-options.js';

/** A controller: `host`, `host:port`, `[v6]:port`, or a full `http(s)://host[:port]` URL. */
const controllerSchema = z.string().regex(/^(?:https?:\/\/)?(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?\/?$/, 'invalid controller address');

const absPath = z.string().regex(/^\/[-/a-zA-Z0-9_.@]+$/, 'must be an absolute path');

/** A positive integer option (number or decimal text). */
const positiveInt = intOption.pipe(z.number().int().positive());

/**
 * The `linstor` config schema: the base options plus the controller connection and placement.
 *
 * @example
 * ```ts
 * const cfg = linstorConfigSchema.parse({
 *   type: 'linstor', storage: 'drbd', controller: ['ctrl1', 'ctrl2'], resourceGroup: 'vmgroup',
 * });
 * ```
 * @see Proxmox `PVE::Storage::Custom::LINSTORPlugin` options
 */
export const linstorConfigSchema = baseStorageConfigSchema.extend({
  /** Always `linstor`. */
  type: z.literal('linstor'),
  /** Controllers to try in order; the first whose `GET /health` answers 200 is used. @default ['localhost'] */
  controller: listOption(controllerSchema).pipe(z.array(z.string()).min(1)).default(['localhost']),
  /** The LINSTOR resource group new volumes are spawned from; only its volumes are listed. @default 'drbdgrp' */
  resourceGroup: fixedOption(z.string().regex(LINSTOR_NAME_RE, 'invalid LINSTOR resource group name').default('drbdgrp')),
  /** Place a diskful replica on this node first, then let LINSTOR place the rest. @default true */
  preferLocal: boolOption.default(true),
  /** Keep DRBD's exact size (`DrbdOptions/ExactSize`); growing is then refused by LINSTOR. @default false */
  exactSize: boolOption.default(false),
  /** Allow two primaries (`DrbdOptions/Net/allow-two-primaries`), needed for live migration. @default true */
  allowTwoPrimaries: boolOption.default(true),
  /** How long the resource group's size query is reused, in seconds; 0 disables the cache. @default 60 */
  statusCacheSeconds: intOption.default(60),
  /** This node's LINSTOR node name; the manager's node name when omitted. */
  node: nodeNameSchema.optional(),
  /** PEM file of the CA that signed the controller's certificate (HTTPS). */
  apiCa: absPath.optional(),
  /** PEM file of the client certificate (mutual TLS). */
  apiCert: absPath.optional(),
  /** PEM file of the client certificate's key (mutual TLS). */
  apiKey: absPath.optional(),
  /** Bearer token sent with every call (REST 1.28 token authentication). Sensitive. */
  apiToken: z.string().min(1).regex(/^[\x21-\x7e]+$/, 'token must be printable ASCII without spaces').optional(),
  /** A JSON file holding `{"token": "..."}` (LINSTOR's `auth.json`), read when `apiToken` is not set. */
  apiTokenFile: absPath.optional(),
  /** Verify the controller's certificate. @default true */
  apiTlsVerify: boolOption.default(true),
  /** Time limit of each HTTP call, in milliseconds. @default 60000 */
  timeoutMs: positiveInt.default(60_000),
  /** Extra attempts for idempotent reads (on another controller when one fails). @default 2 */
  readRetries: intOption.default(2),
  /** Interval between polls (clone status, in-use checks), in milliseconds. @default 1000 */
  pollIntervalMs: positiveInt.default(1000),
  /** How long `freeImage` waits for a volume to stop being in use, in seconds. @default 10 */
  inUseWaitSeconds: intOption.default(10),
  /** How long `cloneImage` waits for LINSTOR's clone to finish, in seconds. @default 3600 */
  cloneTimeoutSeconds: positiveInt.default(3600),
  /**
   * Test seam, not a user feature: the directory that stands in for `/dev/drbd/by-res`, so tests
   * against a stand-in controller read and write real local files. Leave unset in production.
   * @default '/dev/drbd/by-res'
   */
  devicePathRoot: absPath.default('/dev/drbd/by-res'),
});

/** A validated `linstor` storage config. */
export type LinstorConfig = z.infer<typeof linstorConfigSchema>;
