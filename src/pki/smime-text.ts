// `openssl smime -sign` without -binary signs text in canonical form (SMIME_crlf_copy): each
// line's end, with any CRs before its LF, becomes CRLF, and CRs that end the last line go. With
// -text it also puts a `Content-Type: text/plain` header block before the text, inside what it
// signs. These helpers make that form and undo it.

/** canonicalText is the form of `bytes` that openssl signs and verifies in text mode. */
export function canonicalText(bytes: Uint8Array): Buffer {
  const lines = Buffer.from(bytes).toString('latin1').split('\n');
  const last = lines.pop() ?? '';
  const text = lines.map((line) => `${line.replace(/\r+$/, '')}\r\n`).join('');
  return Buffer.from(text + last.replace(/\r+$/, ''), 'latin1');
}

const TEXT_HEADER = /^content-type:[ \t]*text\/plain[^\n]*\n(?:[!-9;-~]+:[^\n]*\n)*\r?\n/i;

/**
 * signedContent is the content a signer meant, given the bytes the signature covers: without
 * the text/plain header block `-text` adds and, when every line ends CRLF (text mode's form,
 * or CRLF text signed with -binary: the two cannot be told apart), with LF line ends again.
 * JSON reads the same either way.
 */
export function signedContent(signed: Buffer): Buffer {
  const text = signed.toString('latin1');
  const body = text.replace(TEXT_HEADER, '');
  const canonical = body.includes('\r\n') && !/(?:^|[^\r])\n/.test(body);
  return Buffer.from(canonical ? body.replaceAll('\r\n', '\n') : body, 'latin1');
}
