import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { isServiceError, ServiceError } from '../errors.ts';
import type { AddressPolicy } from './address-policy.ts';

/** FetchOptions bound and check one image download. */
export interface FetchOptions {
  readonly policy: AddressPolicy;
  readonly maxBytes: bigint;
  /** expectedSha512 (hex) must match the bytes received, when given. */
  readonly expectedSha512?: string;
  /** maxRedirects bounds the redirects followed. @default 5 */
  readonly maxRedirects?: number;
  /** timeoutMs fails a connection or a response that goes silent this long. @default 30000 */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
  /** onProgress is told the bytes received so far and the total, when the server said it. */
  readonly onProgress?: (received: bigint, total: bigint | null) => void;
}

/** Fetched is what arrived: its size and SHA-512 (hex). */
export interface Fetched {
  readonly bytes: bigint;
  readonly sha512: string;
}

/**
 * fetchImage downloads an http(s) URL into `dest`, hashing while it streams. It follows
 * redirects itself so every hop passes the address policy, refuses bodies over the limit
 * (declared or actual) and truncated bodies, and verifies the expected checksum. The body is
 * written to `<dest>.part` and renamed only when everything checked out: on any failure nothing
 * is left behind.
 */
export async function fetchImage(url: string, dest: string, opts: FetchOptions): Promise<Fetched> {
  const part = `${dest}.part`;
  let declared: bigint | null = null;
  let received = 0n;
  try {
    const opened = await openBounded(url, opts, opts.maxRedirects ?? 5, 'the image');
    const res = opened.res;
    declared = opened.declared;
    const hash = createHash('sha512');
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        received += BigInt(chunk.length);
        if (received > opts.maxBytes) {
          cb(tooLarge(opts.maxBytes, 'the image'));
          return;
        }
        hash.update(chunk);
        opts.onProgress?.(received, declared);
        cb(null, chunk);
      },
    });
    await pipeline(
      res,
      meter,
      createWriteStream(part, { mode: 0o600 }),
      ...(opts.signal ? [{ signal: opts.signal }] : []),
    );
    if (declared !== null && received !== declared) throw truncated(received, declared);
    const sha512 = hash.digest('hex');
    if (opts.expectedSha512 && opts.expectedSha512.toLowerCase() !== sha512) {
      throw new ServiceError(
        'INVALID',
        `the image's SHA-512 is ${sha512}, not the expected ${opts.expectedSha512}`,
        'input.sha512',
      );
    }
    await rename(part, dest);
    return { bytes: received, sha512 };
  } catch (err) {
    await rm(part, { force: true });
    if (isServiceError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code === 'ABORT_ERR') throw new ServiceError('REFUSED', 'the import was cancelled');
    if (declared !== null && received < declared) throw truncated(received, declared);
    throw downloadFailed(url, err);
  }
}

/** DocumentOptions bound one small download (an image list). */
export type DocumentOptions = Pick<FetchOptions, 'policy' | 'maxBytes' | 'timeoutMs' | 'signal'>;

/**
 * fetchDocument downloads a small http(s) document (an image list) into memory, under the same
 * rules as images: every redirect hop passes the address policy, and a body over the limit or
 * cut short is refused.
 */
export async function fetchDocument(url: string, opts: DocumentOptions): Promise<Buffer> {
  try {
    const { res, declared } = await openBounded(url, opts, 5, 'the document');
    const chunks: Buffer[] = [];
    let received = 0n;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      received += BigInt(chunk.length);
      if (received > opts.maxBytes) {
        res.destroy();
        throw tooLarge(opts.maxBytes, 'the document');
      }
      chunks.push(chunk);
    }
    if (declared !== null && received !== declared) throw truncated(received, declared);
    return Buffer.concat(chunks);
  } catch (err) {
    if (isServiceError(err)) throw err;
    throw downloadFailed(url, err);
  }
}

// Opens a download and refuses at once a body declared over the limit.
async function openBounded(
  url: string,
  opts: DocumentOptions,
  redirects: number,
  what: string,
): Promise<{ res: IncomingMessage; declared: bigint | null }> {
  const res = await open(url, opts, redirects);
  const declared = res.headers['content-length'] ? BigInt(res.headers['content-length']) : null;
  if (declared !== null && declared > opts.maxBytes) {
    res.destroy();
    throw tooLarge(opts.maxBytes, what);
  }
  return { res, declared };
}

function downloadFailed(url: string, err: unknown): ServiceError {
  return new ServiceError(
    'UNAVAILABLE',
    `cannot download ${redact(url)}: ${err instanceof Error ? err.message : String(err)}`,
    'input.url',
  );
}

function open(url: string, opts: DocumentOptions, redirectsLeft: number): Promise<IncomingMessage> {
  let target: URL;
  try {
    target = checkUrl(url, opts.policy);
  } catch (err) {
    return Promise.reject(err);
  }
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        lookup: opts.policy.lookup,
        timeout: opts.timeoutMs ?? 30_000,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          if (redirectsLeft === 0) {
            reject(new ServiceError('UNAVAILABLE', 'too many redirects', 'input.url'));
            return;
          }
          open(new URL(res.headers.location, target).toString(), opts, redirectsLeft - 1).then(
            resolve,
            reject,
          );
          return;
        }
        if (status !== 200) {
          res.resume();
          reject(
            new ServiceError(
              'UNAVAILABLE',
              `${redact(target.toString())} answered HTTP ${status}`,
              'input.url',
            ),
          );
          return;
        }
        resolve(res);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 30_000} ms`)),
    );
    req.on('error', reject);
    req.end();
  });
}

function truncated(received: bigint, declared: bigint): ServiceError {
  return new ServiceError(
    'UNAVAILABLE',
    `the download ended after ${received} of ${declared} bytes`,
    'input.url',
  );
}

function tooLarge(max: bigint, what: string): ServiceError {
  return new ServiceError(
    'INVALID',
    `${what} is larger than the limit of ${max} bytes`,
    'input.url',
  );
}

// URLs can carry credentials (user:password@, signed query strings): messages keep the origin and path.
function redact(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

/**
 * checkUrl parses a URL to download from, refusing other schemes and hosts the policy forbids:
 * checked before anything is recorded, so a bad URL is an error of the mutation itself.
 */
export function checkUrl(raw: string, policy: AddressPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ServiceError('INVALID', `not a URL: ${JSON.stringify(raw)}`, 'input.url');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ServiceError(
      'INVALID',
      `downloads go over http or https, not ${url.protocol}`,
      'input.url',
    );
  policy.checkHost(url.hostname);
  return url;
}
