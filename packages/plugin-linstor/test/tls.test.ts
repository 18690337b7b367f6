import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinstorPlugin } from '../src/index.js';
import { pluginContext } from './plugin-context.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';

/** Makes a CA, a server certificate for 127.0.0.1 and a client certificate with the real openssl. */
function makePki(dir: string) {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=stowage test CA');
  for (const who of ['server', 'client']) {
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'stowage'}`);
    writeFileSync(join(dir, `${who}.ext`), who === 'server' ? 'subjectAltName=IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n');
    ssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', `${who}.ext`);
  }
  const f = (n: string) => join(dir, n);
  return { ca: f('ca.pem'), serverKey: f('server.key'), serverCert: f('server.pem'), clientKey: f('client.key'), clientCert: f('client.pem') };
}

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
    return true;
  } catch {
    console.warn('openssl not found: the mutual-TLS tests are skipped');
    return false;
  }
})();

let dir: string;
let cluster: Cluster;
let pki: ReturnType<typeof makePki>;

beforeAll(async () => {
  if (!hasOpenssl) return;
  dir = mkdtempSync(join(tmpdir(), 'stowage-linstor-pki-'));
  pki = makePki(dir);
  const read = (p: string) => readFileSync(p, 'utf8');
  cluster = await startCluster({ tls: { key: read(pki.serverKey), cert: read(pki.serverCert), ca: read(pki.ca) } });
});
afterAll(async () => {
  if (!hasOpenssl) return;
  await cluster.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasOpenssl)('HTTPS with a CA and a client certificate (mutual TLS)', () => {
  it('talks to the controller with the CA, certificate and key configured', async () => {
    const p = new LinstorPlugin();
    const ctx = pluginContext(cluster.config({ apiCa: pki.ca, apiCert: pki.clientCert, apiKey: pki.clientKey }), cluster.node);
    expect(cluster.controllers[0]!.url).toMatch(/^https:/);
    await p.allocImage(ctx, { vmid: 9, format: 'raw', name: 'vm-9-disk-0', size: 1024 * 1024 });
    expect((await p.listImages(ctx, {})).map((i) => i.volname)).toEqual(['vm-9-disk-0']);
    await p.freeImage(ctx, { volume: p.parseVolname('vm-9-disk-0') });
    await p.deactivateStorage(ctx);
    expect(cluster.validator?.violations ?? []).toEqual([]);
  });

  it('without the client certificate, or without the CA, no controller is usable', async () => {
    const p = new LinstorPlugin();
    await expect(p.listImages(pluginContext(cluster.config({ apiCa: pki.ca }), cluster.node), {})).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await expect(
      p.listImages(pluginContext(cluster.config({ apiCert: pki.clientCert, apiKey: pki.clientKey }), cluster.node), {}),
    ).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await p.deactivateStorage(pluginContext(cluster.config(), cluster.node));
  });

  it('a certificate without its key is a config error', async () => {
    const p = new LinstorPlugin();
    await expect(p.listImages(pluginContext(cluster.config({ apiCert: pki.clientCert }), cluster.node), {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
