import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';

/** UploadRef stands for an uploaded file in the variables of a multipart request. */
export type UploadRef = string & { readonly __brand: 'UploadRef' };

/** UPLOAD_PREFIX marks an UploadRef; the rest is a random token bound to one request. */
export const UPLOAD_PREFIX = 'kumo-upload:';

/** UploadedFile is a file spooled to disk while its request arrived, hashed on the way. */
export interface UploadedFile {
  readonly path: string;
  readonly bytes: bigint;
  readonly sha512: string;
  readonly filename: string;
}

/**
 * Uploads are one request's spooled files, by token. A file is handed out once (`take`); the
 * server deletes whatever is left when the request ends, so a file a resolver did not move
 * away (into the image store) never lingers.
 */
export class Uploads {
  private readonly files = new Map<string, UploadedFile>();

  add(token: string, file: UploadedFile): void {
    this.files.set(token, file);
  }

  /** take returns the file an UploadRef names, once; null when this request carried none. */
  take(ref: UploadRef): UploadedFile | null {
    const token = ref.slice(UPLOAD_PREFIX.length);
    const file = this.files.get(token) ?? null;
    this.files.delete(token);
    return file;
  }

  /** discard deletes every spooled file of the request (taken ones were moved or are gone). */
  async discard(paths: readonly string[]): Promise<void> {
    await Promise.all(paths.map((p) => rm(p, { force: true })));
  }
}

/** UploadLimits bound a multipart request. */
export interface UploadLimits {
  /** dir is where files are spooled (on the image store's filesystem, so they can be renamed). */
  readonly dir: string;
  readonly maxFileBytes: number;
  /** maxFieldBytes bounds the `operations` and `map` fields. */
  readonly maxFieldBytes: number;
}

/** UploadError is a multipart request that does not follow the spec or its limits. */
export class UploadError extends Error {
  override readonly name = 'UploadError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** ParsedUpload is a multipart request turned into a JSON GraphQL request and its files. */
export interface ParsedUpload {
  /** body is the `operations` JSON with each file's place holding its UploadRef. */
  readonly body: string;
  readonly uploads: Uploads;
  /** spooled are every file written, for the server to delete when the request ends. */
  readonly spooled: readonly string[];
}

/**
 * parseMultipart reads a GraphQL multipart request (the graphql-multipart-request-spec:
 * `operations`, then `map`, then the files) streaming each file to disk with its SHA-512,
 * bounded in size. Nothing is held in memory but the two small JSON fields.
 */
export async function parseMultipart(
  req: IncomingMessage,
  limits: UploadLimits,
): Promise<ParsedUpload> {
  const uploads = new Uploads();
  const spooled: string[] = [];
  let operations: unknown = null;
  let map: Record<string, string[]> | null = null;
  const writes: Promise<void>[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let bb: busboy.Busboy;
      try {
        bb = busboy({
          headers: req.headers,
          limits: {
            fileSize: limits.maxFileBytes,
            fieldSize: limits.maxFieldBytes,
            files: 4,
            fields: 2,
          },
        });
      } catch (err) {
        reject(new UploadError(400, (err as Error).message));
        return;
      }
      const open = new Set<NodeJS.ReadableStream & { destroy(err?: Error): void }>();
      // Stops reading: the body is drained unread and the files being written are ended.
      const fail = (err: UploadError) => {
        req.unpipe(bb);
        req.resume();
        for (const stream of open) stream.destroy(err);
        reject(err);
      };
      bb.on('field', (name, value, info) => {
        if (info.valueTruncated)
          return fail(new UploadError(413, `the ${name} field is too large`));
        try {
          if (name === 'operations') operations = JSON.parse(value);
          else if (name === 'map') map = JSON.parse(value) as Record<string, string[]>;
        } catch {
          fail(new UploadError(400, `the ${name} field is not JSON`));
        }
      });
      bb.on('file', (name, stream, info) => {
        if (!map?.[name]) {
          stream.resume();
          return fail(
            new UploadError(400, `file ${name} is not in the map (send operations and map first)`),
          );
        }
        open.add(stream);
        stream.once('close', () => open.delete(stream));
        const token = randomBytes(32).toString('base64url');
        const path = join(limits.dir, `upload-${token}.part`);
        spooled.push(path);
        const hash = createHash('sha512');
        let bytes = 0n;
        const meter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            bytes += BigInt(chunk.length);
            hash.update(chunk);
            cb(null, chunk);
          },
        });
        stream.on('limit', () =>
          fail(
            new UploadError(
              413,
              `the file is larger than the limit of ${limits.maxFileBytes} bytes`,
            ),
          ),
        );
        writes.push(
          pipeline(stream, meter, createWriteStream(path, { mode: 0o600 })).then(() => {
            uploads.add(token, {
              path,
              bytes,
              sha512: hash.digest('hex'),
              filename: info.filename ?? '',
            });
            for (const at of (map as Record<string, string[]>)[name] ?? [])
              setAt(operations, at, `${UPLOAD_PREFIX}${token}`);
          }),
        );
      });
      bb.on('filesLimit', () => fail(new UploadError(413, 'too many files')));
      bb.on('error', (err) => fail(new UploadError(400, (err as Error).message)));
      bb.on('close', () => resolve());
      req.on('aborted', () => fail(new UploadError(400, 'the request was aborted')));
      req.pipe(bb);
    });
    await Promise.all(writes);
    if (operations === null || map === null)
      throw new UploadError(400, 'a multipart request needs the operations and map fields');
    return { body: JSON.stringify(operations), uploads, spooled };
  } catch (err) {
    await Promise.allSettled(writes);
    await uploads.discard(spooled);
    throw err instanceof UploadError ? err : new UploadError(400, (err as Error).message);
  }
}

// Puts `value` at a path such as `variables.input.file` (or `0.variables.file` in a batch).
function setAt(root: unknown, path: string, value: string): void {
  const keys = path.split('.');
  let node = root as Record<string, unknown> | null;
  for (const key of keys.slice(0, -1)) {
    const next = node?.[key];
    if (typeof next !== 'object' || next === null)
      throw new UploadError(400, `the map names ${path}, which the operations do not have`);
    node = next as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] as string;
  if (!node || !(last in node) || (node[last] !== null && node[last] !== undefined))
    throw new UploadError(400, `the map names ${path}, which must be null in the operations`);
  node[last] = value;
}
