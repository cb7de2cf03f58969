/** XdrError is thrown when bytes do not decode as the expected XDR type, or a value cannot be encoded. */
export class XdrError extends Error {
  override readonly name = 'XdrError';
}
