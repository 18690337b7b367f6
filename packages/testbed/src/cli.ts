#!/usr/bin/env node
/**
 * `pnpm testbed <command>`: build | up | down | status | ssh [command...] | pools | capture.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { remoteCommand, sshArgv } from '@stowage/core/plugin';
import { ensureImage } from './build.js';
import { captureFixtures, pluginCaptureScripts, runPluginCaptures } from './capture/run.js';
import { freshPools } from './pools.js';
import { runningState, testbedRunner, testbedSshOptions } from './ssh.js';
import { down, status, up } from './vm.js';

const USAGE = `usage: pnpm testbed <command>
  build            build the guest image (cached by recipe hash; needs root the first time)
  up               boot the guest (builds the image if needed); no-op when it is up
  down             stop the guest and remove its disks
  status           print running/stopped, pid and ssh port
  ssh [cmd...]     a shell in the guest, or run one command there
  pools            wipe the data disks and create fresh pools (vg stowage/data, zpool stowage)
  capture          run the real tools in the guest and write the plugins' test fixtures,
                   then each packages/*/test/capture.ts (plugin scenarios, run with tsx)
Environment: STOWAGE_TESTBED_CACHE (image cache), STOWAGE_TESTBED_DIR (instance directory).`;

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case 'build': {
      const image = await ensureImage();
      console.log(image.built ? `built ${image.dir} in ${image.buildSeconds} s (kernel ${image.kernelVersion})` : `cached: ${image.dir} (kernel ${image.kernelVersion})`);
      return 0;
    }
    case 'up': {
      const { state, started } = await up();
      console.log(started ? `up: pid ${state.pid}, ssh on 127.0.0.1:${state.sshPort}, ready in ${state.bootSeconds} s` : `already up: pid ${state.pid}, ssh on 127.0.0.1:${state.sshPort}`);
      return 0;
    }
    case 'down': {
      const { stoppedPid } = await down();
      console.log(stoppedPid === undefined ? 'down: no guest was running' : `down: stopped pid ${stoppedPid}`);
      return 0;
    }
    case 'status': {
      const result = await status();
      console.log(result.state ? `running pid=${result.state.pid} port=${result.state.sshPort} since=${result.state.startedAt}` : 'stopped');
      return 0;
    }
    case 'ssh': {
      const ssh = sshArgv(testbedSshOptions(runningState()));
      const interactive = rest.length === 0;
      const argv = interactive ? ssh.map((a) => (a === '-T' ? '-t' : a)) : [...ssh, remoteCommand(rest)];
      return new Promise((resolve) => {
        const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
        child.on('close', (code) => resolve(code ?? 1));
      });
    }
    case 'pools': {
      const result = await freshPools();
      console.log(`fresh pools: vg ${result.vgname}/${result.thinpool}, zpool ${result.zpool} (${result.seconds} s)`);
      return 0;
    }
    case 'capture': {
      const written = await captureFixtures(testbedRunner());
      for (const file of written) console.log(`wrote ${file}`);
      const scripts = await pluginCaptureScripts();
      for (const script of scripts) console.log(`running ${script}`);
      await runPluginCaptures(scripts);
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`testbed: unknown command '${command}'\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
