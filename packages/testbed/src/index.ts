/**
 * `@stowage/testbed` (private): a throwaway QEMU guest with real LVM-thin and ZFS, for
 * stowage's real-storage tests and for third-party plugin authors. Build the image, boot the
 * guest, get fresh pools, and run commands in it with {@link testbedRunner}.
 *
 * @packageDocumentation
 */
export { ensureImage, findImage, lastLines, type EnsureImageOptions, type TestbedImage } from './build.js';
export { captureFixtures, pluginCaptureScripts, runCase, runPluginCaptures, type CaptureOptions } from './capture/run.js';
export { holdDevice, releaseDevice, sh, type CaptureCase } from './capture/case.js';
export { FIXTURE_OWNER, OwnerMaskingRunner } from './capture/owner-mask.js';
export { LVM_CASES, LVS_REPORT, VGS_REPORT } from './capture/lvm-cases.js';
export { ZFS_CASES } from './capture/zfs-cases.js';
export { missingTools, prepareTestbed, setup, type PreparedTestbed, type TestbedTimings } from './global-setup.js';
export { cacheRoot, defaultInstanceDir, GUEST_DIR, instancePaths, type InstancePaths } from './paths.js';
export { freshPools, TESTBED_POOLS, type FreshPoolsResult } from './pools.js';
export { DISK_SERIALS, qemuArgv, type QemuArgvOptions } from './qemu.js';
export { readRecipe, RECIPE_FILES, recipeHash, type RecipeFile } from './recipe.js';
export { testbedChild } from './kit-child.js';
export { deadOwnerToken, killBeforeEachStep, StopAtRunner, type KillRounds } from './crash-runner.js';
export { probeSshArgv, runningState, testbedRunner, testbedSshOptions } from './ssh.js';
export { isOurQemu, readState, type TestbedState } from './state.js';
export { adoptOrphan, down, status, up, type DownResult, type StatusResult, type UpOptions, type UpResult } from './vm.js';
