import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/services/images/address-policy.ts';

describe('AddressPolicy', () => {
  it('allows public unicast addresses and refuses local, private and reserved ones', () => {
    const p = new AddressPolicy();
    for (const ok of ['8.8.8.8', '151.101.1.1', '2a00:1450:4001:80b::200e'])
      expect(p.allows(ok), ok).toBe(true);
    for (const bad of [
      '127.0.0.1',
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::1',
      '::',
      'fe80::1',
      'fd00::1',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
    ]) {
      expect(p.allows(bad), bad).toBe(false);
    }
  });

  it('lets an admin allow-list ranges, and only those', () => {
    const p = new AddressPolicy(['10.20.0.0/16', '127.0.0.1/32', 'fd12::/16']);
    expect(p.allows('10.20.3.4')).toBe(true);
    expect(p.allows('10.21.0.1')).toBe(false);
    expect(p.allows('127.0.0.1')).toBe(true);
    expect(p.allows('127.0.0.2')).toBe(false);
    expect(p.allows('fd12::5')).toBe(true);
    expect(() => new AddressPolicy(['not-a-cidr'])).toThrow(/not a CIDR/);
  });

  it('checks at connection time: a request to a refused name fails before connecting, an allowed one goes through', async () => {
    const server = createServer((_req, res) => res.end('image bytes'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const get = (policy: AddressPolicy) =>
      new Promise<string>((resolve, reject) => {
        const req = request(
          { host: 'localhost', port, path: '/', lookup: policy.lookup, family: 4 },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => {
              body += c.toString();
            });
            res.on('end', () => resolve(body));
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      await expect(get(new AddressPolicy())).rejects.toMatchObject({
        code: 'REFUSED',
        message: expect.stringMatching(/localhost resolves to 127\.0\.0\.1/),
      });
      expect(await get(new AddressPolicy(['127.0.0.1/32']))).toBe('image bytes');
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
