import { describe, expect, it } from 'vitest';
import { formatImageList, type ImageList, parseImageList } from './image-list-format.ts';

const SHA = 'ab'.repeat(64);

// As vmcaster writes a list (sizes as strings in some lists, numbers in others).
const vmcasterList = {
  'hv:imagelist': {
    'dc:date:created': '2013-09-11T12:29:33Z',
    'dc:date:expires': '2013-10-09T12:29:33Z',
    'dc:description': 'CESGA image list for internal usage',
    'dc:identifier': '2204eed5-f37e-45b9-82c6-85697356109c',
    'dc:source': 'CESGA',
    'dc:title': 'CESGA image list',
    'hv:endorser': {
      'hv:x509': {
        'dc:creator': 'Alvaro Simon Garcia',
        'hv:ca': '/DC=es/DC=irisgrid/CN=IRISGridCA',
        'hv:dn': '/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon',
        'hv:email': 'asimon@cesga.es',
      },
    },
    'hv:images': [
      {
        'hv:image': {
          'dc:description': 'Fedcloud EGI-Demo-CESGA',
          'dc:identifier': 'b268b87b-fe42-477e-b4d4-087ad9fde61b',
          'dc:title': 'EGI-Demo-CESGA',
          'hv:hypervisor': 'QEMU,KVM',
          'hv:size': 1960378368,
          'hv:uri': 'http://cloud.cesga.es/images/debian-6.0.5-x86_64-base.qcow2',
          'hv:version': '1.0',
          'sl:arch': 'x86_64',
          'sl:checksum:sha512': SHA.toUpperCase(),
          'sl:comments': '',
          'sl:os': 'Linux',
          'sl:osname': 'Debian',
          'sl:osversion': '6.0.5',
        },
      },
      {
        'hv:image': {
          'dc:identifier': '488dcdc4-9ab1-4fc8-a7ba-b7a5428ecb3d',
          'dc:title': 'README example VM',
          'hv:size': '2147483648',
          'hv:uri': 'https://example.org/example-image.img',
          'hv:version': 3,
          'sl:checksum:sha512': SHA,
        },
      },
    ],
    'hv:uri': 'https://cloud.cesga.es/image.list',
    'hv:version': '1',
  },
};

const withImage = (changes: Record<string, unknown>) =>
  JSON.stringify({
    'hv:imagelist': {
      ...vmcasterList['hv:imagelist'],
      'hv:images': [
        {
          'hv:image': { ...vmcasterList['hv:imagelist']['hv:images'][0]?.['hv:image'], ...changes },
        },
      ],
    },
  });

describe('image list format', () => {
  it('reads a list as vmcaster writes it, lenient where lists in the wild differ', () => {
    const list = parseImageList(JSON.stringify(vmcasterList));
    expect(list).toMatchObject({
      identifier: '2204eed5-f37e-45b9-82c6-85697356109c',
      title: 'CESGA image list',
      createdAt: new Date('2013-09-11T12:29:33Z'),
      expiresAt: new Date('2013-10-09T12:29:33Z'),
      endorser: {
        dn: '/DC=es/DC=irisgrid/O=cesga/CN=alvarosimon',
        ca: '/DC=es/DC=irisgrid/CN=IRISGridCA',
      },
    });
    expect(list.images.map((i) => [i.identifier, i.version, i.sizeBytes, i.sha512])).toEqual([
      ['b268b87b-fe42-477e-b4d4-087ad9fde61b', '1.0', 1960378368n, SHA],
      ['488dcdc4-9ab1-4fc8-a7ba-b7a5428ecb3d', '3', 2147483648n, SHA],
    ]);
    expect(list.images[1]?.description).toBe('');
  });

  it('writes what it reads back, with every field vmcatcher requires', () => {
    const list: ImageList = parseImageList(JSON.stringify(vmcasterList));
    const written = formatImageList(list);
    expect(parseImageList(written)).toEqual(list);
    const image = JSON.parse(written)['hv:imagelist']['hv:images'][1]['hv:image'];
    for (const field of [
      'dc:title',
      'dc:description',
      'hv:size',
      'sl:checksum:sha512',
      'sl:arch',
      'hv:uri',
      'dc:identifier',
      'sl:os',
      'sl:osversion',
      'sl:comments',
      'hv:hypervisor',
      'hv:version',
    ])
      expect(image).toHaveProperty([field]);
    expect(image['hv:size']).toBe(2147483648);
  });

  it('refuses what an import could not check, naming the field', () => {
    const refused = (json: string) => {
      try {
        parseImageList(json);
      } catch (err) {
        return `${(err as { code: string }).code}: ${(err as Error).message}`;
      }
      return 'accepted';
    };
    expect(refused('{"hv:imagelist": ')).toMatch(/^INVALID: the image list is not JSON/);
    expect(refused('{"imagelist": {}}')).toMatch(/^INVALID: .* at hv:imagelist/);
    expect(refused(withImage({ 'sl:checksum:sha512': 'abc' }))).toMatch(
      /hv:images\.0\.hv:image\.sl:checksum:sha512: a SHA-512 is 128 hexadecimal digits/,
    );
    expect(refused(withImage({ 'hv:uri': 'ftp://example.org/x.img' }))).toMatch(/hv:image\.hv:uri/);
    expect(refused(withImage({ 'hv:size': -1 }))).toMatch(/hv:image\.hv:size/);
    expect(refused(withImage({ 'dc:identifier': '' }))).toMatch(/hv:image\.dc:identifier/);
    const twice = JSON.parse(JSON.stringify(vmcasterList));
    twice['hv:imagelist']['hv:images'][1]['hv:image']['dc:identifier'] =
      'b268b87b-fe42-477e-b4d4-087ad9fde61b';
    expect(refused(JSON.stringify(twice))).toMatch(/names image b268b87b.* twice/);
    const undated = JSON.parse(JSON.stringify(vmcasterList));
    delete undated['hv:imagelist']['dc:date:expires'];
    expect(refused(JSON.stringify(undated))).toMatch(/dc:date:expires/);
  });
});
