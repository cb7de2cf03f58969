import { x509 } from './x509.ts';

/** SubjectAttribute names the attribute types Kumo puts in a subject (as libvirt prints them). */
export type SubjectAttribute = 'C' | 'ST' | 'L' | 'O' | 'OU' | 'CN';

/**
 * Subject is a distinguished name as written into a certificate, one attribute per RDN, in
 * encoding order: `[['O', 'Kumo'], ['CN', 'kumo-controller']]` is `O=Kumo,CN=kumo-controller`.
 */
export type Subject = readonly (readonly [SubjectAttribute, string])[];

const OID_OF: Record<SubjectAttribute, string> = {
  C: '2.5.4.6',
  ST: '2.5.4.8',
  L: '2.5.4.7',
  O: '2.5.4.10',
  OU: '2.5.4.11',
  CN: '2.5.4.3',
};

// PrintableString's alphabet (X.680); other values are encoded as UTF8String.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** checkSubject refuses subjects GnuTLS or RFC 5280 would reject, naming the bad attribute. */
export function checkSubject(subject: Subject): void {
  if (subject.length === 0) throw new Error('a subject needs at least one attribute');
  for (const [type, value] of subject) {
    if (!(type in OID_OF)) throw new Error(`unsupported subject attribute ${type}`);
    if (value.length === 0) throw new Error(`subject attribute ${type} is empty`);
    // GnuTLS refuses a DN with an embedded NUL, and a newline cannot go into libvirtd.conf.
    if (/[\0\r\n]/.test(value)) {
      throw new Error(`subject attribute ${type} has a control character`);
    }
    // RFC 5280's upper bound for these attributes; a longer host name still fits the SAN.
    if (value.length > 64) {
      throw new Error(`subject attribute ${type} is longer than 64 characters`);
    }
    if (type === 'C' && !/^[A-Z]{2}$/.test(value)) {
      throw new Error(`country (C) must be two capital letters, not "${value}"`);
    }
  }
}

/** subjectName encodes a subject for @peculiar/x509, in the order given, with explicit string types. */
export function subjectName(subject: Subject): x509.Name {
  checkSubject(subject);
  // The JSON form with typed values keeps the order and skips the library's string unescaping.
  return new x509.Name(
    subject.map(([type, value]) => ({
      [OID_OF[type]]: [PRINTABLE.test(value) ? { printableString: value } : { utf8String: value }],
    })),
  );
}

// GnuTLS's short names (lib/x509/common.c, _oid2str) for the attribute types it knows, and
// which ASN.1 string type each must have for GnuTLS to print it as text.
type Syntax = 'directory' | 'printable' | 'ia5';
const GNUTLS_NAMES: Record<string, readonly [string, Syntax]> = {
  '2.5.4.6': ['C', 'printable'],
  '2.5.4.9': ['street', 'directory'],
  '2.5.4.12': ['title', 'directory'],
  '2.5.4.10': ['O', 'directory'],
  '2.5.4.11': ['OU', 'directory'],
  '2.5.4.3': ['CN', 'directory'],
  '2.5.4.7': ['L', 'directory'],
  '2.5.4.8': ['ST', 'directory'],
  '2.5.4.13': ['description', 'directory'],
  '2.5.4.5': ['serialNumber', 'printable'],
  '2.5.4.20': ['telephoneNumber', 'printable'],
  '2.5.4.4': ['surName', 'directory'],
  '2.5.4.43': ['initials', 'directory'],
  '2.5.4.44': ['generationQualifier', 'directory'],
  '2.5.4.42': ['givenName', 'directory'],
  '2.5.4.65': ['pseudonym', 'directory'],
  '2.5.4.46': ['dnQualifier', 'printable'],
  '2.5.4.17': ['postalCode', 'directory'],
  '2.5.4.41': ['name', 'directory'],
  '2.5.4.15': ['businessCategory', 'directory'],
  '0.9.2342.19200300.100.1.25': ['DC', 'ia5'],
  '0.9.2342.19200300.100.1.1': ['UID', 'directory'],
  '1.2.840.113549.1.9.1': ['EMAIL', 'ia5'],
};

/**
 * escapeDnValue escapes one attribute value as GnuTLS does (lib/x509/common.c, str_escape):
 * `, + " \ < > ;` anywhere, `#` or a space first, a space last.
 */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let i = 0; i < value.length; i++) {
    const c = value.charAt(i);
    const special =
      ',+"\\<>;'.includes(c) ||
      (i === 0 && (c === '#' || c === ' ')) ||
      (i === value.length - 1 && c === ' ');
    out += special ? `\\${c}` : c;
  }
  return out;
}

/**
 * subjectDn is the DN string libvirtd compares against tls_allowed_dn_list for a certificate
 * with this subject: what `virt-pki-query-dn` prints. GnuTLS's gnutls_x509_crt_get_dn keeps
 * the certificate's RDN order (its "compat" form, not RFC 4514's reversed order), joins RDNs
 * with `,` and no spaces, and escapes values as {@link escapeDnValue}.
 */
export function subjectDn(subject: Subject): string {
  checkSubject(subject);
  return subject.map(([type, value]) => `${type}=${escapeDnValue(value)}`).join(',');
}

/** Tlv is one DER element: its tag, where its contents lie and where it ends. */
interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly end: number;
  /** headerStart is where the element's tag byte is, so the whole TLV can be hex-dumped. */
  readonly headerStart: number;
}

function readTlv(der: Uint8Array, at: number): Tlv {
  const tag = der[at];
  let length = der[at + 1];
  if (tag === undefined || length === undefined) throw new Error('truncated DER');
  let start = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + (der[start + i] ?? 0);
    start += count;
  }
  const end = start + length;
  if (end > der.length) throw new Error('truncated DER');
  return { tag, start, end, headerStart: at };
}

function children(der: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const child = readTlv(der, at);
    out.push(child);
    at = child.end;
  }
  return out;
}

function decodeOid(bytes: Uint8Array): string {
  const ids: number[] = [];
  let value = 0;
  for (const b of bytes) {
    value = value * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      ids.push(value);
      value = 0;
    }
  }
  const first = ids[0] ?? 0;
  const top = Math.min(2, Math.floor(first / 40));
  return [top, first - top * 40, ...ids.slice(1)].join('.');
}

const TAG_UTF8 = 0x0c;
const TAG_PRINTABLE = 0x13;
const TAG_TELETEX = 0x14;
const TAG_IA5 = 0x16;
const TAG_BMP = 0x1e;

/**
 * printValue renders one attribute value as GnuTLS does (lib/x509/common.c,
 * _gnutls_x509_dn_to_string): text when it can decode the value, escaped; for a
 * DirectoryString it holds but cannot show as text (UniversalString, non-ASCII TeletexString),
 * `#<hex of the contents>`, escaped like text; otherwise `#<hex of the whole DER value>`.
 */
function printValue(der: Uint8Array, oid: string, value: Tlv): string {
  const contents = Buffer.from(der.subarray(value.start, value.end));
  const rawHex = `#${Buffer.from(der.subarray(value.headerStart, value.end)).toString('hex')}`;
  const decoded = decodeValue(GNUTLS_NAMES[oid]?.[1], value.tag, contents);
  // GnuTLS refuses text with an embedded NUL and falls back to the raw form.
  if (decoded === null || decoded.includes('\0')) return rawHex;
  return escapeDnValue(decoded);
}

function decodeValue(syntax: Syntax | undefined, tag: number, contents: Buffer): string | null {
  const latin1 = contents.toString('latin1');
  switch (syntax) {
    case 'printable':
      return tag === TAG_PRINTABLE ? latin1 : null;
    case 'ia5':
      return tag === TAG_IA5 ? latin1 : null;
    case 'directory':
      switch (tag) {
        case TAG_UTF8:
          return contents.toString('utf8');
        case TAG_PRINTABLE:
        case TAG_IA5:
          return latin1;
        case TAG_BMP:
          return Buffer.from(contents).swap16().toString('utf16le');
        case TAG_TELETEX:
          // GnuTLS shows a TeletexString as text only when it is printable ASCII.
          if (/^[\x20-\x7e]*$/.test(latin1)) return latin1;
          return `#${contents.toString('hex')}`;
        default:
          return `#${contents.toString('hex')}`;
      }
    default:
      return null;
  }
}

/** Ava is one AttributeTypeAndValue of a DER Name: its type's dotted OID and its value. */
interface Ava {
  readonly oid: string;
  readonly value: Tlv;
}

/** nameRdns splits a DER-encoded X.501 Name into its RDNs, in encoding order. */
function nameRdns(der: Uint8Array): Ava[][] {
  return children(der, readTlv(der, 0)).map((set) =>
    children(der, set).map((atv) => {
      const [typeTlv, valueTlv] = children(der, atv);
      if (!typeTlv || !valueTlv) throw new Error('malformed AttributeTypeAndValue');
      return { oid: decodeOid(der.subarray(typeTlv.start, typeTlv.end)), value: valueTlv };
    }),
  );
}

/**
 * nameDn formats a DER-encoded X.501 Name as GnuTLS's gnutls_x509_crt_get_dn does: RDNs in
 * encoding order joined by `,`, values of a multi-valued RDN joined by `+`, short names for
 * the attribute types GnuTLS knows and the dotted OID otherwise, and `#<hex of the DER value>`
 * for values it does not print as text.
 */
export function nameDn(der: Uint8Array): string {
  return nameRdns(der)
    .map((rdn) =>
      rdn
        .map(({ oid, value }) => `${GNUTLS_NAMES[oid]?.[0] ?? oid}=${printValue(der, oid, value)}`)
        .join('+'),
    )
    .join(',');
}

// OpenSSL's short names (crypto/objects/objects.txt) for the attribute types found in subjects.
const OPENSSL_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.13': 'description',
  '2.5.4.15': 'businessCategory',
  '2.5.4.17': 'postalCode',
  '2.5.4.20': 'telephoneNumber',
  '2.5.4.41': 'name',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.44': 'generationQualifier',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '2.5.4.97': 'organizationIdentifier',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'emailAddress',
  '1.3.6.1.4.1.311.60.2.1.3': 'jurisdictionC',
};

// Long names (RFC 4519, OpenSSL's long names) DN strings may use besides the short ones above.
const LONG_NAMES: Record<string, readonly string[]> = {
  '2.5.4.3': ['commonName'],
  '2.5.4.4': ['surname'],
  '2.5.4.6': ['countryName'],
  '2.5.4.7': ['localityName'],
  '2.5.4.8': ['stateOrProvinceName'],
  '2.5.4.9': ['streetAddress'],
  '2.5.4.10': ['organizationName'],
  '2.5.4.11': ['organizationalUnitName'],
  '0.9.2342.19200300.100.1.1': ['userId'],
  '0.9.2342.19200300.100.1.25': ['domainComponent'],
  '1.2.840.113549.1.9.1': ['E'],
};

// Every attribute type name, lower-cased, to its OID: OpenSSL's, GnuTLS's and the long names.
const NAME_OIDS: ReadonlyMap<string, string> = new Map([
  ...Object.entries(OPENSSL_NAMES).map(([oid, name]) => [name.toLowerCase(), oid] as const),
  ...Object.entries(GNUTLS_NAMES).map(([oid, [name]]) => [name.toLowerCase(), oid] as const),
  ...Object.entries(LONG_NAMES).flatMap(([oid, names]) =>
    names.map((name) => [name.toLowerCase(), oid] as const),
  ),
]);

/** attributeOid is the OID an attribute type name in a DN string stands for, or null. */
export function attributeOid(name: string): string | null {
  return NAME_OIDS.get(name.toLowerCase()) ?? null;
}

// X509_NAME_oneline prints a value's bytes as they are, escaping the two separators it uses.
function opensslValue(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) {
    const c = String.fromCharCode(byte);
    if (byte < 0x20 || byte > 0x7e) out += `\\x${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c === '/' || c === '+' ? `\\${c}` : c;
  }
  return out;
}

/**
 * opensslDn formats an X.501 Name (parsed, or DER-encoded) in OpenSSL's legacy one-line form
 * (X509_NAME_oneline), as VMcaster image lists and `openssl x509 -subject -nameopt compat`
 * write it: `/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon`, RDNs in encoding order, a
 * multi-valued RDN's values joined by `+`, OpenSSL's short names or else the dotted OID. Value
 * bytes outside printable ASCII are written `\xHH` (so UTF-8 byte by byte); `/` and `+` get a
 * backslash, as OpenSSL 3.0.22 does (older releases wrote them bare, and `/` before each value).
 */
export function opensslDn(name: x509.Name | Uint8Array): string {
  const der = name instanceof x509.Name ? new Uint8Array(name.toArrayBuffer()) : name;
  return nameRdns(der)
    .map((rdn) => {
      const values = rdn.map(
        ({ oid, value }) =>
          `${OPENSSL_NAMES[oid] ?? oid}=${opensslValue(der.subarray(value.start, value.end))}`,
      );
      return `/${values.join('+')}`;
    })
    .join('');
}

/**
 * certificateDn is the subject DN of a certificate (PEM, DER or parsed) exactly as libvirtd
 * matches it against tls_allowed_dn_list and as `virt-pki-query-dn` prints it.
 */
export function certificateDn(cert: string | Uint8Array | x509.X509Certificate): string {
  const parsed =
    cert instanceof x509.X509Certificate
      ? cert
      : new x509.X509Certificate(typeof cert === 'string' ? cert : new Uint8Array(cert));
  return nameDn(new Uint8Array(parsed.subjectName.toArrayBuffer()));
}
