/**
 * Naming rules of the generated TypeScript (the mapping from libvirt's names):
 *
 * - Types (struct, union, typedef, enum): the file's prefix (`remote_`, `qemu_`, `virNet`,
 *   `keepalive_`) is stripped, the rest is split into words at `_` and CamelCased:
 *   `remote_domain_get_xml_desc_args` → `DomainGetXMLDescArgs`, `remote_nonnull_domain` →
 *   `NonnullDomain`. A name without `_` (`virNetMessageHeader`) keeps its own casing after the
 *   prefix: `MessageHeader`.
 * - Abbreviations (the words in ABBREVIATIONS: xml, uri, uuid, cpu, id, io, ip, mac, tls, sev…)
 *   are upper-cased as whole words: `..._cpu_stats` → `CPUStats`. Only whole `_`-separated words
 *   count, so `iothread` stays `Iothread` and `vcpu` stays `Vcpu`.
 * - When the stripped name would shadow a JavaScript global or a name the generated module
 *   imports (`remote_error` → `Error`, `remote_string` → `String`, `remote_procedure` →
 *   `Procedure`), the prefix is kept: `RemoteError`, `RemoteString`, `RemoteProcedure`.
 * - Fields: snake_case → camelCase with the same abbreviation rule for every word but the
 *   first (`need_results` → `needResults`, `start_cpu` → `startCPU`); names that are already
 *   camelCase are kept (`nrVirtCpu`, `callbackID`).
 * - Methods: the procedure name without its `REMOTE_PROC_` prefix, camelCased like a field:
 *   `DOMAIN_GET_XML_DESC` → `domainGetXMLDesc`.
 * - Enum members: the prefix common to all members (on `_` boundaries) is stripped:
 *   `REMOTE_PROC_DOMAIN_GET_STATE` → `RemoteProcedure.DOMAIN_GET_STATE`.
 * - Constants keep their names: `REMOTE_STRING_MAX`.
 * - Codecs: `encode<Type>` / `decode<Type>`.
 */

/** Words written upper-case inside names. */
export const ABBREVIATIONS: ReadonlySet<string> = new Set([
  'xml',
  'uri',
  'uuid',
  'cpu',
  'id',
  'io',
  'ip',
  'mac',
  'tls',
  'sev',
  'scsi',
  'wwn',
  'os',
  'dhcp',
  'rtc',
  'nmi',
  'ssh',
  'fd',
]);

/** Names a generated module must not define at top level: JS globals and its own imports. */
export const RESERVED_TYPE_NAMES: ReadonlySet<string> = new Set([
  'Array',
  'Boolean',
  'Buffer',
  'Date',
  'Error',
  'Event',
  'Function',
  'Map',
  'Number',
  'Object',
  'Promise',
  'Record',
  'Set',
  'String',
  'Symbol',
  // imports of generated modules
  'CallOptions',
  'Procedure',
  'RpcCaller',
  'RpcStream',
  'XdrError',
  'XdrReader',
  'XdrWriter',
]);

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

/** wordCase spells one snake_case word in a PascalCase name. */
function wordCase(word: string): string {
  const lower = word.toLowerCase();
  return ABBREVIATIONS.has(lower) ? lower.toUpperCase() : capitalize(lower);
}

/**
 * pascalCase turns `domain_get_xml_desc` into `DomainGetXMLDesc`; a mixed-case name without `_`
 * (`MessageHeader`) is only capitalized.
 */
export function pascalCase(name: string): string {
  if (!name.includes('_') && name !== name.toLowerCase()) return capitalize(name);
  return name
    .split('_')
    .filter((w) => w !== '')
    .map(wordCase)
    .join('');
}

/** camelCase turns `need_results` into `needResults`; a name without `_` is kept as it is. */
export function camelCase(name: string): string {
  if (!name.includes('_')) return name;
  const words = name.split('_').filter((w) => w !== '');
  const [first = '', ...rest] = words;
  return first.toLowerCase() + rest.map(wordCase).join('');
}

/**
 * typeName maps a libvirt type name to its TypeScript name (see the rules above). `prefix` is
 * the file's type prefix (`remote_`), `fallback` the CamelCase form kept when stripping it
 * would shadow a reserved name (`Remote`).
 */
export function typeName(xdrName: string, prefix: string, fallback: string): string {
  const stripped = xdrName.startsWith(prefix) ? xdrName.slice(prefix.length) : xdrName;
  const name = pascalCase(stripped);
  return RESERVED_TYPE_NAMES.has(name) ? fallback + name : name;
}

/** methodName maps a procedure name without its prefix: `DOMAIN_GET_STATE` → `domainGetState`. */
export function methodName(procName: string): string {
  const [first = '', ...rest] = procName.split('_').filter((w) => w !== '');
  return first.toLowerCase() + rest.map(wordCase).join('');
}

/** fieldName maps a struct field or union arm name. */
export function fieldName(xdrName: string): string {
  return camelCase(xdrName);
}

/**
 * commonPrefix returns the longest prefix, ending in `_`, shared by all names, such that every
 * name keeps at least one word and no name would start with a digit.
 */
export function commonPrefix(names: readonly string[]): string {
  const split = names.map((n) => n.split('_'));
  const first = split[0];
  if (first === undefined) return '';
  let words = 0;
  for (;;) {
    const w = first[words];
    const ok = split.every(
      (s) => s.length > words + 1 && s[words] === w && !/^[0-9]/.test(s[words + 1] ?? ''),
    );
    if (!ok) break;
    words++;
  }
  return words === 0 ? '' : `${first.slice(0, words).join('_')}_`;
}

const JS_IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** isIdentifier tells whether s can be written as a bare property name. */
export function isIdentifier(s: string): boolean {
  return JS_IDENTIFIER.test(s);
}
