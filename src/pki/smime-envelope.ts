import { randomBytes } from 'node:crypto';
import { parseContentType, readHeaderBlock } from './mime-headers.ts';
import { SmimeError } from './smime-error.ts';

/**
 * SmimeEnvelope is what the MIME layer of a signed message carries, the two forms
 * `openssl smime -sign` writes: `detached` (multipart/signed, the default), where the first
 * part's raw bytes are what was signed and the second part is the PKCS#7 signature; and
 * `opaque` (application/pkcs7-mime, `-nodetach`), one PKCS#7 structure holding the content.
 */
export type SmimeEnvelope =
  | { readonly form: 'detached'; readonly signedPart: Buffer; readonly signature: Buffer }
  | { readonly form: 'opaque'; readonly signedData: Buffer };

const SIGNATURE_TYPES = ['application/pkcs7-signature', 'application/x-pkcs7-signature'];
const OPAQUE_TYPES = ['application/pkcs7-mime', 'application/x-pkcs7-mime'];

function decodeBase64(text: string, what: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (compact === '' || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) {
    throw new SmimeError('MALFORMED', `${what} is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}

function base64Body(text: string, headers: ReadonlyMap<string, string>, what: string): Buffer {
  const encoding = headers.get('content-transfer-encoding')?.toLowerCase();
  if (encoding !== 'base64') {
    throw new SmimeError(
      'MALFORMED',
      `${what} must be base64 (Content-Transfer-Encoding: base64), not ${encoding ?? 'unencoded'}`,
    );
  }
  return decodeBase64(text, what);
}

/** Part is where one body part lies in a multipart body, its delimiter lines excluded. */
interface Part {
  readonly start: number;
  readonly end: number;
}

/**
 * multipartParts finds the body parts between `--boundary` lines (RFC 2046): the line break
 * before a delimiter belongs to the delimiter, not to the part, and a delimiter line may end in
 * white space. Null when the closing `--boundary--` never comes.
 */
function multipartParts(body: string, boundary: string): Part[] | null {
  const delimiter = `--${boundary}`;
  const parts: Part[] = [];
  let partStart = -1;
  for (let at = 0; at < body.length; ) {
    const nl = body.indexOf('\n', at);
    const next = nl === -1 ? body.length : nl + 1;
    const line = body.slice(at, next).replace(/\r?\n$/, '');
    const rest = line.startsWith(delimiter) ? line.slice(delimiter.length) : null;
    const closing = rest?.startsWith('--') ?? false;
    if (rest !== null && (closing || rest.trim() === '')) {
      if (partStart >= 0) {
        const eol = body.startsWith('\r\n', at - 2) ? 2 : body.startsWith('\n', at - 1) ? 1 : 0;
        parts.push({ start: partStart, end: Math.max(partStart, at - eol) });
      }
      if (closing) return parts;
      partStart = next;
    }
    at = next;
  }
  return null;
}

function readDetached(
  message: Buffer,
  text: string,
  bodyStart: number,
  boundary: string,
): SmimeEnvelope {
  const parts = multipartParts(text.slice(bodyStart), boundary);
  if (!parts) {
    throw new SmimeError(
      'MALFORMED',
      'the multipart/signed message ends before its closing boundary',
    );
  }
  const [content, signature] = parts;
  if (!content || !signature || parts.length !== 2) {
    throw new SmimeError(
      'MALFORMED',
      `a multipart/signed message has two parts (content, signature), this one ${parts.length}`,
    );
  }
  const signaturePart = text.slice(bodyStart + signature.start, bodyStart + signature.end);
  const block = readHeaderBlock(signaturePart);
  const type = parseContentType(block?.headers.get('content-type') ?? '').type;
  if (!block || !SIGNATURE_TYPES.includes(type)) {
    throw new SmimeError(
      'MALFORMED',
      `the second part of the multipart/signed message is ${type || 'untyped'}, not application/pkcs7-signature`,
    );
  }
  return {
    form: 'detached',
    signedPart: message.subarray(bodyStart + content.start, bodyStart + content.end),
    signature: base64Body(
      signaturePart.slice(block.bodyStart),
      block.headers,
      'the signature part',
    ),
  };
}

/**
 * readSmimeEnvelope takes an S/MIME message apart. NOT_SIGNED when it is no MIME message or
 * not an S/MIME signed type; MALFORMED when it is one but its structure is broken.
 */
export function readSmimeEnvelope(message: Buffer): SmimeEnvelope {
  // latin1 keeps one character per byte, so offsets found in the text slice the Buffer.
  const text = message.toString('latin1');
  const top = readHeaderBlock(text);
  const contentType = top?.headers.get('content-type');
  if (!top || contentType === undefined) {
    throw new SmimeError(
      'NOT_SIGNED',
      'the document is not an S/MIME signed message: it has no MIME headers (is it unsigned JSON?)',
    );
  }
  const { type, params } = parseContentType(contentType);
  if (type === 'multipart/signed') {
    const protocol = params.get('protocol')?.toLowerCase() ?? '';
    if (!SIGNATURE_TYPES.includes(protocol)) {
      throw new SmimeError(
        'NOT_SIGNED',
        `the message is signed with ${protocol || 'an unnamed protocol'}, not S/MIME (application/pkcs7-signature)`,
      );
    }
    const boundary = params.get('boundary');
    if (!boundary)
      throw new SmimeError('MALFORMED', 'the multipart/signed message has no boundary');
    return readDetached(message, text, top.bodyStart, boundary);
  }
  if (OPAQUE_TYPES.includes(type)) {
    const smimeType = params.get('smime-type')?.toLowerCase() ?? 'signed-data';
    if (smimeType !== 'signed-data') {
      throw new SmimeError('NOT_SIGNED', `the S/MIME message is ${smimeType}, not signed-data`);
    }
    const signedData = base64Body(text.slice(top.bodyStart), top.headers, 'the S/MIME body');
    return { form: 'opaque', signedData };
  }
  throw new SmimeError(
    'NOT_SIGNED',
    `the document is ${type || 'untyped'} MIME, not an S/MIME signed message (multipart/signed or application/pkcs7-mime)`,
  );
}

/**
 * writeMultipartSigned lays out a detached signature as `openssl smime -sign` does, LF line
 * ends included: headers, the preamble, the signed part exactly as signed, then the signature
 * as smime.p7s in 64-column base64. The boundary is 128 random bits, as openssl's.
 */
export function writeMultipartSigned(signedPart: string, signature: Uint8Array): string {
  const boundary = `----${randomBytes(16).toString('hex').toUpperCase()}`;
  const base64 = Buffer.from(signature).toString('base64').replace(/.{64}/g, '$&\n');
  return [
    'MIME-Version: 1.0',
    `Content-Type: multipart/signed; protocol="application/x-pkcs7-signature"; micalg="sha-256"; boundary="${boundary}"`,
    '',
    'This is an S/MIME signed message',
    '',
    `--${boundary}`,
    signedPart,
    `--${boundary}`,
    'Content-Type: application/x-pkcs7-signature; name="smime.p7s"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="smime.p7s"',
    '',
    base64.replace(/\n$/, ''),
    '',
    `--${boundary}--`,
    '',
  ].join('\n');
}
