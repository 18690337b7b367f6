import { describe, expect, it } from 'vitest';
import {
  changeKey,
  clusterAddressFromFile,
  formatLockRecord,
  lockKey,
  normalisePrefix,
  parseChangeKey,
  parseClusterAddress,
  parseLockKey,
  parseLockRecord,
} from '../src/index.js';

describe('key layout', () => {
  it('lock keys scope shared storages to the cluster and local ones to their node, and read back', () => {
    const p = normalisePrefix('stowage');
    expect(p).toBe('stowage/');
    const cases = [
      { storeId: 'nfs' },
      { storeId: 'local', node: 'pve1' },
      { storeId: 'nfs', volname: '100/vm-100-disk-0.qcow2' },
      { storeId: '../x', volname: 'a/../../b', node: 'n/1' },
    ];
    expect(lockKey(p, cases[0]!)).toBe('stowage/locks/cluster/storage/nfs');
    expect(lockKey(p, cases[1]!)).toBe('stowage/locks/node/pve1/storage/local');
    for (const c of cases) {
      const key = lockKey(p, c);
      expect(key.slice(p.length).split('/').length).toBeLessThanOrEqual(6);
      expect(parseLockKey(p, key)).toEqual({ volname: undefined, node: undefined, ...c });
    }
    expect(parseLockKey(p, 'stowage/locks/cluster/else/x')).toBeUndefined();
    expect(parseLockKey(p, 'other/locks/cluster/storage/x')).toBeUndefined();
  });

  it('change keys read back, foreign keys do not', () => {
    expect(changeKey('s/', 'nfs')).toBe('s/changes/nfs');
    expect(parseChangeKey('s/', changeKey('s/', 'a/b c'))).toBe('a/b c');
    expect(parseChangeKey('s/', 's/changes/')).toBeUndefined();
    expect(parseChangeKey('s/', 's/changes/a/b')).toBeUndefined();
  });

  it('lock records round-trip; a foreign value reads as unknown, never as free', () => {
    const r = { node: 'pve1', pid: 42, operation: 'allocImage', since: 1700000000000 };
    expect(parseLockRecord(formatLockRecord(r))).toEqual(r);
    expect(parseLockRecord('')).toEqual({ node: '?', pid: 0, since: 0 });
    expect(parseLockRecord('{"node":3}')).toEqual({ node: '?', pid: 0, since: 0 });
  });
});

describe('cluster addresses', () => {
  it('parses endpoints, prefix, credentials and TLS files', () => {
    expect(parseClusterAddress('etcd://h1:2379,h2:2379')).toEqual({ endpoints: ['h1:2379', 'h2:2379'] });
    expect(parseClusterAddress('etcd://10.0.0.1:2379/pve/')).toEqual({ endpoints: ['10.0.0.1:2379'], prefix: 'pve/' });
    expect(parseClusterAddress('etcds://u:p%40ss@[::1]:2379?ca=/etc/ca.pem&cert=/c.pem&key=/k.pem')).toEqual({
      endpoints: ['[::1]:2379'],
      tls: { caFile: '/etc/ca.pem', certFile: '/c.pem', keyFile: '/k.pem' },
      auth: { username: 'u', password: 'p@ss' },
    });
  });

  it.each(['h1:2379', 'http://h1:2379', 'etcd://h1', 'etcd://h1:99999', 'etcd://h1:2379?ca=/x', 'etcds://h1:2379?cert=/c', 'etcds://h1:2379?foo=1'])(
    'refuses %s with INVALID_ARGUMENT',
    (text) => {
      expect(() => parseClusterAddress(text)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    },
  );

  it('hides the password in messages', () => {
    expect(() => parseClusterAddress('etcd://u:secret@h1')).toThrow(expect.not.objectContaining({ message: expect.stringContaining('secret') }));
  });

  it('reads the address from the first line of cluster.cfg that is not a comment', () => {
    expect(clusterAddressFromFile('# our etcd\n\n  etcd://h1:2379  \nignored\n')).toBe('etcd://h1:2379');
    expect(clusterAddressFromFile('# nothing\n')).toBeUndefined();
  });
});
