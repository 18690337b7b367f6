import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/** Tests import the workspace packages from their sources, so no build is needed to run them. */
export const alias = [
  { find: /^@stowage\/core\/plugin$/, replacement: here('./packages/core/src/plugin.ts') },
  { find: /^@stowage\/core\/config$/, replacement: here('./packages/core/src/config-schema.ts') },
  { find: /^@stowage\/core\/testing$/, replacement: here('./packages/core/src/testing/index.ts') },
  { find: /^@stowage\/core$/, replacement: here('./packages/core/src/index.ts') },
  { find: /^@stowage\/plugin-dir\/config-schema$/, replacement: here('./packages/plugin-dir/src/config-schema.ts') },
  { find: /^@stowage\/plugin-dir$/, replacement: here('./packages/plugin-dir/src/index.ts') },
  { find: /^@stowage\/plugin-lvmthin\/config-schema$/, replacement: here('./packages/plugin-lvmthin/src/config-schema.ts') },
  { find: /^@stowage\/plugin-lvmthin$/, replacement: here('./packages/plugin-lvmthin/src/index.ts') },
  { find: /^@stowage\/plugin-zfs\/config-schema$/, replacement: here('./packages/plugin-zfs/src/config-schema.ts') },
  { find: /^@stowage\/plugin-zfs$/, replacement: here('./packages/plugin-zfs/src/index.ts') },
  { find: /^@stowage\/plugin-linstor\/config-schema$/, replacement: here('./packages/plugin-linstor/src/config-schema.ts') },
  { find: /^@stowage\/plugin-linstor$/, replacement: here('./packages/plugin-linstor/src/index.ts') },
  { find: /^@stowage\/cluster-etcd\/address$/, replacement: here('./packages/cluster-etcd/src/address.ts') },
  { find: /^@stowage\/cluster-etcd$/, replacement: here('./packages/cluster-etcd/src/index.ts') },
  { find: /^@stowage\/cli$/, replacement: here('./packages/cli/src/index.ts') },
  { find: /^@stowage\/testbed$/, replacement: here('./packages/testbed/src/index.ts') },
];
