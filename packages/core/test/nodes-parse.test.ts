import { describe, expect, it } from 'vitest';
import { isStorageError, parseNodesCfg, parseReceiveReady, parseRemoteError, receiveArgs, remoteStowageArgv, transferFlags } from '@stowage/core';

describe('parseNodesCfg', () => {
  it('reads ssh target, port, keys, command, config and env', () => {
    const text = [
      'node: pve2',
      '\tssh root@10.0.0.2',
      '\tport 2222',
      '\tidentity /etc/stowage/id',
      '\tknown-hosts /etc/stowage/known_hosts',
      '\tcommand /usr/bin/node /opt/stowage/bin.js',
      '\tconfig /etc/stowage/storage.cfg',
      '\tenv STOWAGE_LOCK_DIR=/run/stowage A=b=c',
      '',
      'node: pve3',
      '\tssh pve3',
      '',
    ].join('\n');
    expect(parseNodesCfg(text)).toEqual([
      {
        name: 'pve2',
        ssh: { host: '10.0.0.2', user: 'root', port: 2222, identityFile: '/etc/stowage/id', knownHostsFile: '/etc/stowage/known_hosts' },
        command: ['/usr/bin/node', '/opt/stowage/bin.js'],
        config: '/etc/stowage/storage.cfg',
        env: { STOWAGE_LOCK_DIR: '/run/stowage', A: 'b=c' },
      },
      { name: 'pve3', ssh: { host: 'pve3' } },
    ]);
  });

  it('reports every bad line with CONFIG_INVALID', () => {
    const text = ['dir: local', '\tpath /x', '', 'node: a', '\tport 99999', '\tssh a', '\tcolour blue', '', 'node: b', '\tport 22', '', 'node: c', '\tssh root@-oProxyCommand=x', ''].join('\n');
    try {
      parseNodesCfg(text);
      expect.unreachable();
    } catch (e) {
      expect(isStorageError(e, 'CONFIG_INVALID')).toBe(true);
      expect((e as { issues: { line: number }[] }).issues.map((i) => i.line)).toEqual([1, 5, 7, 9, 13]);
    }
  });
});

describe('remote stowage argv and answers', () => {
  it('builds argv with --config and --json, and transfer flags', () => {
    expect(remoteStowageArgv({ config: '/b.cfg' }, ['formats', 'local:1/x.raw', '--import', ...transferFlags({ withSnapshots: true, snapshot: 's1' })])).toEqual([
      'stowage', 'formats', 'local:1/x.raw', '--import', '--snapshot', 's1', '--with-snapshots', '--config', '/b.cfg', '--json',
    ]);
    expect(remoteStowageArgv({ command: ['node', 'bin.js'] }, ['status'])).toEqual(['node', 'bin.js', 'status', '--json']);
  });

  it("keeps the node's error code, and only a known one", () => {
    const stderr = 'warning: x\n{"error":{"code":"ALREADY_EXISTS","message":"volume exists","details":{"volid":"local:1/x.raw"}}}\n';
    expect(parseRemoteError('b', stderr)?.toJSON()).toEqual({
      code: 'ALREADY_EXISTS',
      message: "node 'b': volume exists",
      details: { volid: 'local:1/x.raw', node: 'b', remoteCode: 'ALREADY_EXISTS' },
    });
    expect(parseRemoteError('b', '{"error":{"code":"WHATEVER","message":"m"}}')?.code).toBe('COMMAND_FAILED');
    expect(parseRemoteError('b', 'bash: stowage: command not found')).toBeUndefined();
  });

  it('builds the receive verb with the offer in order, the space needed and the transfer flags', () => {
    expect(receiveArgs('local:100/vm-100-disk-0.raw', { offer: ['raw+size', 'qcow2+size'], need: 1048576 })).toEqual([
      'receive', 'local:100/vm-100-disk-0.raw', '--offer', 'raw+size,qcow2+size', '--need', '1048576',
    ]);
    expect(receiveArgs('local:100/vm-100-disk-0.qcow2', { offer: ['qcow2+size'], withSnapshots: true })).toEqual([
      'receive', 'local:100/vm-100-disk-0.qcow2', '--offer', 'qcow2+size', '--with-snapshots',
    ]);
  });

  it('reads the ready line of receive, and refuses one that chose a format not offered, or no ready line', () => {
    expect(parseReceiveReady('b', '{"ready":{"format":"raw+size"}}', ['raw+size', 'qcow2+size'])).toBe('raw+size');
    for (const line of ['{"ready":{"format":"zfs"}}', '{"volid":"local:100/vm-100-disk-0.raw"}', 'not json', '']) {
      let error: unknown;
      try {
        parseReceiveReady('b', line, ['raw+size', 'qcow2+size']);
      } catch (e) {
        error = e;
      }
      expect(isStorageError(error, 'COMMAND_FAILED'), line).toBe(true);
    }
  });
});
