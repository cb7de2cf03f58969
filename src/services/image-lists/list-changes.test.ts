import { describe, expect, it } from 'vitest';
import type { ImageList, ListedImage } from './image-list-format.ts';
import { type KnownEntry, listChanges } from './list-changes.ts';

const NOW = new Date('2026-11-22T12:00:00Z');

const image = (identifier: string, version = '1', sha512 = 'a'.repeat(128)): ListedImage => ({
  identifier,
  title: identifier,
  description: '',
  version,
  uri: `http://127.0.0.1/${identifier}.img`,
  sha512,
  sizeBytes: 1n,
  hypervisor: 'QEMU,KVM',
  arch: 'x86_64',
  os: 'Linux',
  osName: '',
  osVersion: '',
  comments: '',
});

const list = (images: ListedImage[], expiresAt = new Date('2026-12-01T00:00:00Z')): ImageList => ({
  identifier: 'list',
  title: 'list',
  description: '',
  source: '',
  version: '1',
  uri: '',
  createdAt: new Date('2026-11-01T00:00:00Z'),
  expiresAt,
  endorser: { dn: '/CN=e', ca: '/CN=ca', creator: '', email: '' },
  images,
});

const known = (i: ListedImage, state: KnownEntry['state'] = 'IMPORTED'): KnownEntry => ({
  identifier: i.identifier,
  version: i.version,
  sha512: i.sha512,
  state,
});

const summary = (changes: ReturnType<typeof listChanges>) =>
  changes.map((c) =>
    c.kind === 'EXPIRED'
      ? `EXPIRED ${c.identifier}: ${c.reason}`
      : c.kind === 'UPDATED'
        ? `UPDATED ${c.image.identifier} ${c.fromVersion}->${c.image.version}`
        : `AVAILABLE ${c.image.identifier}`,
  );

describe('list changes', () => {
  it('makes every image of a first list available', () => {
    expect(summary(listChanges([], list([image('a'), image('b')]), NOW))).toEqual([
      'AVAILABLE a',
      'AVAILABLE b',
    ]);
  });

  it('says nothing of images that did not change, whatever their import state', () => {
    const a = image('a');
    for (const state of ['AVAILABLE', 'IMPORTING', 'IMPORTED', 'FAILED'] as const)
      expect(listChanges([known(a, state)], list([a]), NOW)).toEqual([]);
  });

  it('updates an image whose version or checksum changed', () => {
    const a = image('a', '1');
    expect(summary(listChanges([known(a)], list([image('a', '2')]), NOW))).toEqual([
      'UPDATED a 1->2',
    ]);
    expect(summary(listChanges([known(a)], list([image('a', '1', 'b'.repeat(128))]), NOW))).toEqual(
      ['UPDATED a 1->1'],
    );
  });

  it('expires images that left the list, and makes them available again if they come back', () => {
    const [a, b] = [image('a'), image('b')];
    expect(summary(listChanges([known(a), known(b)], list([a]), NOW))).toEqual([
      'EXPIRED b: its endorser removed it from the list (revoked)',
    ]);
    expect(summary(listChanges([known(a), known(b, 'EXPIRED')], list([a]), NOW))).toEqual([]);
    expect(summary(listChanges([known(a), known(b, 'EXPIRED')], list([a, b]), NOW))).toEqual([
      'AVAILABLE b',
    ]);
  });

  it('expires every image of an expired list, listed or not', () => {
    const [a, b] = [image('a'), image('b')];
    const expired = list([a, image('c')], NOW);
    expect(
      summary(listChanges([known(a), known(b), known(image('d'), 'EXPIRED')], expired, NOW)),
    ).toEqual([
      'EXPIRED a: its list expired at 2026-11-22T12:00:00.000Z',
      'EXPIRED b: its list expired at 2026-11-22T12:00:00.000Z',
    ]);
  });
});
