import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** PublishedFile is an image file a published list names. */
export interface PublishedFile {
  readonly path: string;
  readonly size: bigint;
}

/** PublishedLists is what the server reads to serve published image lists and their files. */
export interface PublishedLists {
  /** prefix is the URL path they are served under, e.g. `/image-lists`. */
  readonly prefix: string;
  /** document is a published list's signed message, or null when there is none. */
  document(listId: string): Promise<string | null>;
  /** file is an image file a published list names, or null when it names no such image. */
  file(listId: string, imageId: string): Promise<PublishedFile | null>;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const LIST = new RegExp(`^/(${UUID})$`);
const FILE = new RegExp(`^/(${UUID})/images/(${UUID})$`);

/**
 * servePublished answers `<prefix>/<list>` with the signed list and `<prefix>/<list>/images/
 * <image>` with an image file it names: to anyone (other clouds subscribe without an account),
 * GET and HEAD only.
 */
export async function servePublished(
  req: IncomingMessage,
  res: ServerResponse,
  lists: PublishedLists,
  path: string,
): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET or HEAD');
    return;
  }
  const rest = path.slice(lists.prefix.length);
  const list = LIST.exec(rest);
  const file = FILE.exec(rest);
  if (list?.[1]) {
    const signed = await lists.document(list[1]);
    if (signed === null) return notFound(res);
    const body = Buffer.from(signed, 'utf8');
    // The S/MIME message as `openssl smime -verify` and vmcatcher read it; text so people can too.
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': body.length,
      'cache-control': 'no-cache',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } else if (file?.[1] && file[2]) {
    const found = await lists.file(file[1], file[2]);
    if (!found) return notFound(res);
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': found.size.toString(),
    });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    createReadStream(found.path)
      .on('error', (err) => res.destroy(err))
      .pipe(res);
  } else {
    notFound(res);
  }
}

function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain' }).end('no such published image list or file');
}
