import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/** XmlNode is the object form fast-xml-parser builds from and parses to (`@_` marks attributes, `#text` text). */
export type XmlNode = { [key: string]: XmlValue };
/** XmlValue is a node, text, or repeated elements. */
export type XmlValue = string | number | XmlNode | XmlNode[] | undefined;

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
  processEntities: true,
});

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  textNodeName: '#text',
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: true,
  // Elements that may repeat are always arrays, so readers need not guess.
  isArray: (name) => ARRAYS.has(name),
});

const ARRAYS = new Set(['guest', 'domain', 'machine', 'disk', 'interface', 'feature', 'cell']);

/** buildXml renders an element tree; text and attribute values are escaped, never spliced. */
export function buildXml(root: XmlNode): string {
  return builder.build(root) as string;
}

/** parseXml reads XML into the same object form. */
export function parseXml(xml: string): XmlNode {
  return parser.parse(xml) as XmlNode;
}

/** child returns the element `name` of a parsed node, or undefined. */
export function child(node: XmlValue, name: string): XmlNode | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const v = node[name];
  if (Array.isArray(v)) return v[0];
  return v && typeof v === 'object' ? v : undefined;
}

/** children returns every element `name` of a parsed node. */
export function children(node: XmlValue, name: string): XmlNode[] {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return [];
  const v = node[name];
  if (v === undefined) return [];
  // An element with neither attributes nor children parses as its bare text.
  return (Array.isArray(v) ? v : [v]).map((x) => (typeof x === 'object' ? x : { '#text': x }));
}

/** text returns the text content of `node[name]` (an element with or without attributes). */
export function text(node: XmlValue, name: string): string | undefined {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return undefined;
  const v = node[name];
  if (typeof v === 'string' || typeof v === 'number') return String(v);
  const first = Array.isArray(v) ? v[0] : v;
  const t = first?.['#text'];
  return t === undefined ? undefined : String(t);
}

/** attr returns an attribute of a parsed element. */
export function attr(node: XmlNode | undefined, name: string): string | undefined {
  const v = node?.[`@_${name}`];
  return v === undefined ? undefined : String(v);
}
