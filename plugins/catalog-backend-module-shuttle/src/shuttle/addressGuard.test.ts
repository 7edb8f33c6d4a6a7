import http from 'node:http';
import { AddressInfo } from 'node:net';
import { guardedGet, isInternalAddress } from './addressGuard';

describe('isInternalAddress', () => {
  it.each([
    '127.0.0.1', '127.5.5.5', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1',
    '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1',
    '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::10.0.0.1', 'not-an-ip',
  ])('%s is internal', a => expect(isInternalAddress(a)).toBe(true));
  it.each(['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
    '%s is public',
    a => expect(isInternalAddress(a)).toBe(false),
  );
});

describe('guardedGet', () => {
  let server: http.Server;
  let host: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === '/big') res.end('x'.repeat(200_000));
      else if (req.url === '/loop') res.writeHead(302, { location: '/loop' }).end();
      else res.writeHead(404).end();
    });
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise(r => server.close(r)));

  it('stops reading at the size cap', async () => {
    const r = await guardedGet(`http://${host}/big`, { maxBytes: 1000, trustedHosts: [host] });
    expect(r.status).toBe('too-large');
  });
  it('gives up after a few redirects', async () => {
    await expect(guardedGet(`http://${host}/loop`, { maxBytes: 1000, trustedHosts: [host] })).rejects.toThrow(/too many redirects/);
  });
  it('reports 404 as not found', async () => {
    expect(await guardedGet(`http://${host}/nope`, { maxBytes: 1000, trustedHosts: [host] })).toEqual({ status: 'not-found' });
  });
  it('refuses non-http schemes and untrusted loopback', async () => {
    await expect(guardedGet('file:///etc/passwd', { maxBytes: 10 })).rejects.toThrow(/only http and https/);
    await expect(guardedGet(`http://${host}/big`, { maxBytes: 10 })).rejects.toThrow(/internal address 127.0.0.1/);
    await expect(guardedGet('http://localhost:1/x', { maxBytes: 10 })).rejects.toThrow(/localhost resolves to internal address/);
  });
});
