/**
 * `@stowage/plugin-linstor`: DRBD-replicated volumes through the LINSTOR controller's REST API,
 * with templates and clones.
 *
 * @packageDocumentation
 */
export { LinstorPlugin } from './linstor-plugin.js';
export { linstorConfigSchema, LINSTOR_NAME_RE, type LinstorConfig } from './config.js';
export { linstorCapabilities } from './capabilities.js';
export { parseLinstorVolname, formatLinstorVolname } from './names.js';
export { LinstorClient, type LinstorClientOptions, type LinstorReply, type CallOptions } from './client/linstor-client.js';
export { controllerBaseUrl, LINSTOR_HTTP_PORT, LINSTOR_HTTPS_PORT, type TlsSettings } from './client/transport.js';
export { errorFromReply, storageCodeOf, describeRc, type LinstorMessage, type FailedCall } from './client/errors.js';
export {
  decodeRetCode,
  encodeRetCode,
  isErrorRc,
  isWarningRc,
  parseJsonKeepingRetCodes,
  severityOf,
  toApiCallRcList,
  type ApiCallRc,
  type RetCodeFields,
  type Severity,
} from './client/ret-code.js';
