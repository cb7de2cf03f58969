import { z } from 'zod';
import { ServiceError } from '../errors.ts';

/**
 * Endorser is who vouches for a list, as the list names them (`hv:endorser` / `hv:x509`): the
 * DN of the certificate that signs it and of its CA, in OpenSSL's slash form.
 */
export interface ListEndorser {
  readonly dn: string;
  readonly ca: string;
  readonly creator: string;
  readonly email: string;
}

/** ListedImage is one entry of a list's `hv:images`. */
export interface ListedImage {
  /** identifier (`dc:identifier`) names the image across its versions. */
  readonly identifier: string;
  readonly title: string;
  readonly description: string;
  readonly version: string;
  readonly uri: string;
  /** sha512 is the image file's SHA-512, lower-case hex. */
  readonly sha512: string;
  readonly sizeBytes: bigint;
  readonly hypervisor: string;
  readonly arch: string;
  readonly os: string;
  readonly osName: string;
  readonly osVersion: string;
  readonly comments: string;
}

/** ImageList is a VMcaster image list (`hv:imagelist`), as signed by its endorser. */
export interface ImageList {
  readonly identifier: string;
  readonly title: string;
  readonly description: string;
  readonly source: string;
  readonly version: string;
  /** uri is where the list itself is published. */
  readonly uri: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly endorser: ListEndorser;
  readonly images: readonly ListedImage[];
}

// Lists in the wild write numbers as strings and leave optional text out; what Kumo needs to
// import and trust an image is required, the rest reads as empty.
const text = z.string().default('');
const required = z.string().trim().min(1);
const date = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const size = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+$/)])
  .transform((v) => BigInt(v));

const ImageJson = z.object({
  'dc:identifier': required,
  'dc:title': required,
  'dc:description': text,
  'hv:version': z.union([required, z.number().transform(String)]),
  'hv:uri': z.url({ protocol: /^https?$/ }),
  'sl:checksum:sha512': z
    .string()
    .trim()
    .regex(/^[0-9a-fA-F]{128}$/, 'a SHA-512 is 128 hexadecimal digits')
    .transform((h) => h.toLowerCase()),
  'hv:size': size,
  'hv:hypervisor': text,
  'sl:arch': text,
  'sl:os': text,
  'sl:osname': text,
  'sl:osversion': text,
  'sl:comments': text,
});

const ListJson = z.object({
  'hv:imagelist': z.object({
    'dc:identifier': required,
    'dc:title': required,
    'dc:description': text,
    'dc:source': text,
    'hv:version': z.union([z.string(), z.number().transform(String)]).default(''),
    'hv:uri': text,
    'dc:date:created': date,
    'dc:date:expires': date,
    'hv:endorser': z.object({
      'hv:x509': z.object({
        'hv:dn': required,
        'hv:ca': required,
        'dc:creator': text,
        'hv:email': text,
      }),
    }),
    'hv:images': z.array(z.object({ 'hv:image': ImageJson })).default([]),
  }),
});

/**
 * parseImageList reads a list's JSON (what its signature covers). A list that is not JSON, or
 * lacks what an image needs to be imported and checked (identifier, title, version, URI,
 * SHA-512, size), or names one image twice, is INVALID, naming the field.
 */
export function parseImageList(json: Uint8Array | string): ImageList {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof json === 'string' ? json : Buffer.from(json).toString('utf8'));
  } catch (err) {
    throw new ServiceError('INVALID', `the image list is not JSON: ${(err as Error).message}`);
  }
  const parsed = ListJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.join('.') ?? '';
    throw new ServiceError('INVALID', `the image list is not valid at ${at}: ${issue?.message}`);
  }
  const l = parsed.data['hv:imagelist'];
  const x509 = l['hv:endorser']['hv:x509'];
  const images = l['hv:images'].map(({ 'hv:image': i }) => ({
    identifier: i['dc:identifier'],
    title: i['dc:title'],
    description: i['dc:description'],
    version: i['hv:version'],
    uri: i['hv:uri'],
    sha512: i['sl:checksum:sha512'],
    sizeBytes: i['hv:size'],
    hypervisor: i['hv:hypervisor'],
    arch: i['sl:arch'],
    os: i['sl:os'],
    osName: i['sl:osname'],
    osVersion: i['sl:osversion'],
    comments: i['sl:comments'],
  }));
  const seen = new Set<string>();
  for (const i of images) {
    if (seen.has(i.identifier))
      throw new ServiceError('INVALID', `the image list names image ${i.identifier} twice`);
    seen.add(i.identifier);
  }
  return {
    identifier: l['dc:identifier'],
    title: l['dc:title'],
    description: l['dc:description'],
    source: l['dc:source'],
    version: l['hv:version'],
    uri: l['hv:uri'],
    createdAt: l['dc:date:created'],
    expiresAt: l['dc:date:expires'],
    endorser: {
      dn: x509['hv:dn'],
      ca: x509['hv:ca'],
      creator: x509['dc:creator'],
      email: x509['hv:email'],
    },
    images,
  };
}

/** stamp writes a time as VMcaster does: UTC, to the second. */
export const stamp = (d: Date): string => `${d.toISOString().slice(0, 19)}Z`;

/**
 * formatImageList writes a list as VMcaster does, with every field vmcatcher requires (sizes
 * as numbers), for signing.
 */
export function formatImageList(list: ImageList): string {
  const doc = {
    'hv:imagelist': {
      'dc:date:created': stamp(list.createdAt),
      'dc:date:expires': stamp(list.expiresAt),
      'dc:description': list.description,
      'dc:identifier': list.identifier,
      'dc:source': list.source,
      'dc:title': list.title,
      'hv:endorser': {
        'hv:x509': {
          'dc:creator': list.endorser.creator,
          'hv:ca': list.endorser.ca,
          'hv:dn': list.endorser.dn,
          'hv:email': list.endorser.email,
        },
      },
      'hv:images': list.images.map((i) => ({
        'hv:image': {
          'dc:description': i.description,
          'dc:identifier': i.identifier,
          'dc:title': i.title,
          'hv:hypervisor': i.hypervisor,
          'hv:size': Number(i.sizeBytes),
          'hv:uri': i.uri,
          'hv:version': i.version,
          'sl:arch': i.arch,
          'sl:checksum:sha512': i.sha512,
          'sl:comments': i.comments,
          'sl:os': i.os,
          'sl:osname': i.osName,
          'sl:osversion': i.osVersion,
        },
      })),
      'hv:uri': list.uri,
      'hv:version': list.version,
    },
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}
