/**
 * The conformance kit on real LVM-thin in the testbed guest (`pnpm test:real`): the whole suite
 * on a thin pool `kit` of its own in the testbed's fresh volume group, so the testbed's pool
 * `data` stays untouched. Sizes are whole 4 MiB extents (the volume group's extent size); the
 * data cases write into the LVs with `dd` in the guest; the crash cases run an import in a child
 * process (the built packages: `pnpm test:real` builds first).
 */
import { ddVolumeData, describeStoragePlugin } from '@stowage/core/testing';
import { LvmThinPlugin } from '@stowage/plugin-lvmthin';
import { TESTBED_POOLS, testbedChild, testbedRunner } from '@stowage/testbed';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const vg = TESTBED_POOLS.vgname;
const pool = 'kit';
const runner = testbedRunner();

async function dropPool(): Promise<void> {
  await runner.run(['lvremove', '-f', '-S', `pool_lv=${pool}`, vg], { okExitCodes: ANY_EXIT });
  await runner.run(['lvremove', '-f', `${vg}/${pool}`], { okExitCodes: ANY_EXIT });
}

describeStoragePlugin({
  name: `lvmthin on ${vg}/${pool} in the testbed`,
  plugin: LvmThinPlugin,
  timeoutMs: 600_000,
  setup: async () => {
    await dropPool();
    await runner.run(['lvcreate', '-q', '-y', '--type', 'thin-pool', '-L', '1G', '-n', pool, vg]);
    return {
      config: { type: 'lvmthin', storage: 'kitthin', vgname: vg, thinpool: pool },
      runner,
      sizeUnit: 4 * 1024 * 1024,
      // writes into the thin LVs with dd, for the data cases (rollback, clones, growth byte for byte)
      volumeData: ddVolumeData(runner),
      // the crash cases: an import in a child process over its own ssh session, SIGKILLed mid-stream
      child: testbedChild('plugin-lvmthin', 'LvmThinPlugin'),
    };
  },
  teardown: dropPool,
});
