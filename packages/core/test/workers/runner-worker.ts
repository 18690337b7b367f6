/**
 * A child process for the runner tests, run with `node --import tsx`: runs one long command
 * through a LocalRunner (`run <dieWithParent: yes|no> <argv...>`) and waits for it, so that the
 * test can kill this process with SIGKILL and look at what became of the command.
 */
import { LocalRunner } from '../../src/command/local-runner.js';

const [mode, dieWithParent, ...argv] = process.argv.slice(2);
if (mode !== 'run' || argv.length === 0) throw new Error('usage: run yes|no <argv...>');
await new LocalRunner({ dieWithParent: dieWithParent === 'yes' }).run(argv);
