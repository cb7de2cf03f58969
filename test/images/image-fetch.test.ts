import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/services/images/address-policy.ts';
import { fetchImage } from '../../src/services/images/image-fetch.ts';

const MiB = 1024 * 1024;
const BODY = Buffer.alloc(2 * MiB, 7);
const SHA = createHash('sha512').update(BODY).digest('hex');

// A web server on loopback, allow-listed for these tests only, with one route per case.
let server: Server;
let base: string;
let port: number;
const dir = mkdtempSync(join(tmpdir(), 'kumo-fetch-'));
const policy = new AddressPolicy(['127.0.0.1/32']);

beforeAll(async () => {
  server = createServer((req, res) => {
    switch (req.url) {
      case '/image':
        res.writeHead(200, { 'content-length': BODY.length });
        res.end(BODY);
        return;
      case '/chunked':
        res.writeHead(200);
        for (let i = 0; i < 3; i++) res.write(BODY);
        res.end();
        return;
      case '/truncated':
        res.writeHead(200, { 'content-length': BODY.length });
        res.write(BODY.subarray(0, 100_000), () => res.socket?.destroy());
        return;
      case '/redirect-ok':
        res.writeHead(302, { location: '/image' }).end();
        return;
      case '/redirect-private':
        res.writeHead(302, { location: `http://127.0.0.2:${port}/image` }).end();
        return;
      case '/loop':
        res.writeHead(302, { location: '/loop' }).end();
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

const dest = (name: string) => join(dir, name);
const leftovers = () => readdirSync(dir).filter((f) => f.endsWith('.part'));

describe('fetchImage', () => {
  it('streams the image in, hashing as it goes, following a redirect', async () => {
    const seen: bigint[] = [];
    const got = await fetchImage(`${base}/redirect-ok`, dest('ok.img'), {
      policy,
      maxBytes: 10n * BigInt(MiB),
      expectedSha512: SHA,
      onProgress: (n) => seen.push(n),
    });
    expect(got).toEqual({ bytes: BigInt(BODY.length), sha512: SHA });
    expect(readFileSync(dest('ok.img')).equals(BODY)).toBe(true);
    expect(seen.at(-1)).toBe(BigInt(BODY.length));
  });

  it.each([
    ['a checksum that does not match', '/image', { expectedSha512: 'ab'.repeat(64) }, /SHA-512 is/],
    [
      'a declared size over the limit',
      '/image',
      { maxBytes: BigInt(MiB) },
      /larger than the limit/,
    ],
    [
      'an undeclared size that grows over the limit',
      '/chunked',
      { maxBytes: 5n * BigInt(MiB) },
      /larger than the limit/,
    ],
    ['a truncated body', '/truncated', {}, /ended after|aborted|socket hang up|premature/i],
    [
      'a redirect to a private address',
      '/redirect-private',
      {},
      /127\.0\.0\.2.*may not be fetched/,
    ],
    ['endless redirects', '/loop', {}, /too many redirects/],
    ['a missing image', '/missing', {}, /HTTP 404/],
  ] as const)('refuses %s, leaving nothing behind', async (_what, path, extra, message) => {
    const name = `f${path.replaceAll('/', '-')}.img`;
    await expect(
      fetchImage(`${base}${path}`, dest(name), { policy, maxBytes: 10n * BigInt(MiB), ...extra }),
    ).rejects.toThrow(message);
    expect(existsSync(dest(name))).toBe(false);
    expect(leftovers()).toEqual([]);
  });

  it('refuses URLs that are not http(s) or point at this machine', async () => {
    await expect(
      fetchImage('file:///etc/passwd', dest('x'), { policy, maxBytes: 1n }),
    ).rejects.toThrow(/http or https/);
    await expect(
      fetchImage(`http://localhost:${port}/image`, dest('x'), {
        policy: new AddressPolicy(),
        maxBytes: 10n * BigInt(MiB),
      }),
    ).rejects.toMatchObject({ code: 'REFUSED' });
    // IP literals skip DNS, so the policy checks them itself, before any connection is tried.
    for (const literal of [
      'http://169.254.169.254/latest/meta-data',
      `http://[::1]:${port}/image`,
      `http://127.0.0.2:${port}/image`,
    ]) {
      await expect(
        fetchImage(literal, dest('x'), { policy, maxBytes: 10n * BigInt(MiB) }),
        literal,
      ).rejects.toMatchObject({ code: 'REFUSED' });
    }
    expect(leftovers()).toEqual([]);
  });
});
