/**
 * The conformance kit on real ZFS in the testbed guest (`pnpm test:real`): the whole suite on a
 * dataset `stowage/kit` of the testbed's fresh zpool, so that `pool` is a `pool/dataset` and
 * the pool itself stays untouched. The data cases write into the zvols with `dd`; the crash
 * cases run an import in a child process (the built packages: `pnpm test:real` builds first).
 */
import { ddVolumeData, describeStoragePlugin } from '@stowage/core/testing';
import { ZfsPoolPlugin } from '@stowage/plugin-zfs';
import { TESTBED_POOLS, testbedChild, testbedRunner } from '@stowage/testbed';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const dataset = `${TESTBED_POOLS.zpool}/kit`;
const runner = testbedRunner();

describeStoragePlugin({
  name: `zfspool on ${dataset} in the testbed`,
  plugin: ZfsPoolPlugin,
  timeoutMs: 600_000,
  setup: async () => {
    await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
    await runner.run(['zfs', 'create', dataset]);
    return {
      config: { type: 'zfspool', storage: 'kitzfs', pool: dataset, sparse: true },
      runner,
      sizeUnit: 1024 * 1024,
      volumeData: ddVolumeData(runner),
      // the crash cases: an import in a child process over its own ssh session, SIGKILLed mid-stream
      child: testbedChild('plugin-zfs', 'ZfsPoolPlugin'),
    };
  },
  teardown: async () => {
    await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
  },
});
