import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isCommandError } from '@stowage/core';
import { SshRunner, sshArgv } from '@stowage/core/plugin';

/** A TCP port on 127.0.0.1 that nothing listens on (bound, read, released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

describe('sshArgv', () => {
  it('builds batch-mode options, connection sharing, key and destination', () => {
    const argv = sshArgv({
      host: '127.0.0.1',
      port: 2222,
      user: 'root',
      identityFile: '/k/id',
      controlPath: '/run/s.sock',
      strictHostKeyChecking: false,
      connectTimeoutSeconds: 5,
    });
    expect(argv[0]).toBe('ssh');
    expect(argv.slice(-2)).toEqual(['--', '127.0.0.1']);
    const opts = argv.flatMap((a, i) => (argv[i - 1] === '-o' ? [a] : []));
    expect(opts).toEqual(
      expect.arrayContaining([
        'BatchMode=yes',
        'ConnectTimeout=5',
        'StrictHostKeyChecking=no',
        'UserKnownHostsFile=/dev/null',
        'IdentitiesOnly=yes',
        'ControlMaster=auto',
        'ControlPath=/run/s.sock',
        'ControlPersist=600',
      ]),
    );
    expect(argv.join(' ')).toContain('-p 2222 -l root -- 127.0.0.1');
    expect(argv.join(' ')).toContain('-i /k/id');
  });

  it('checks host keys by default, against a given known-hosts file', () => {
    const argv = sshArgv({ host: 'pve1', knownHostsFile: '/k/known' });
    expect(argv).toContain('StrictHostKeyChecking=yes');
    expect(argv).toContain('UserKnownHostsFile=/k/known');
    expect(argv.some((a) => a.startsWith('Control'))).toBe(false);
  });

  it('refuses a host, user or port that ssh would misread', () => {
    expect(() => sshArgv({ host: '-oProxyCommand=x' })).toThrow(TypeError);
    expect(() => sshArgv({ host: 'a b' })).toThrow(TypeError);
    expect(() => sshArgv({ host: '' })).toThrow(TypeError);
    expect(() => sshArgv({ host: 'h', user: '-l' })).toThrow(TypeError);
    expect(() => sshArgv({ host: 'h', port: 0 })).toThrow(TypeError);
    expect(() => sshArgv({ host: 'h', port: 70000 })).toThrow(TypeError);
  });
});

describe('SshRunner against a port nobody listens on (real ssh client)', () => {
  it('turns ssh exit code 255 into UNAVAILABLE, naming the remote argv', async () => {
    const port = await closedPort();
    const runner = new SshRunner({ host: '127.0.0.1', port, user: 'root', strictHostKeyChecking: false, connectTimeoutSeconds: 3 });
    expect(runner.description).toBe(`ssh root@127.0.0.1:${port}`);
    const error = await runner.run(['lvs', '--noheadings']).catch((e: unknown) => e);
    expect(isCommandError(error)).toBe(true);
    if (!isCommandError(error)) return;
    expect(error.code).toBe('UNAVAILABLE');
    expect(error.exitCode).toBe(255);
    expect(error.argv).toEqual(['lvs', '--noheadings']);
    expect(error.message).toMatch(/ssh connection failed/);
    expect(error.stderr).toMatch(/refused/i);
  });

  it('reports ABORTED for an aborted signal before anything runs', async () => {
    const runner = new SshRunner({ host: '127.0.0.1', port: await closedPort() });
    const controller = new AbortController();
    controller.abort();
    const error = await runner.run(['true'], { signal: controller.signal }).catch((e: unknown) => e);
    expect(isCommandError(error) && error.code).toBe('ABORTED');
  });

  it('rejects a NUL in an argument with INVALID_ARGUMENT without starting ssh', async () => {
    const runner = new SshRunner({ host: '127.0.0.1', sshPath: '/nonexistent/ssh' });
    const error = await runner.run(['echo', 'a\0b']).catch((e: unknown) => e);
    expect(isCommandError(error) && error.code).toBe('INVALID_ARGUMENT');
  });

  it('reports a missing ssh client as COMMAND_FAILED with details.notFound', async () => {
    const runner = new SshRunner({ host: '127.0.0.1', sshPath: '/nonexistent/ssh' });
    const error = await runner.run(['true']).catch((e: unknown) => e);
    expect(isCommandError(error) && error.code).toBe('COMMAND_FAILED');
    expect(isCommandError(error) && error.details.notFound).toBe(true);
  });
});
