import { beforeAll, describe, expect, it } from 'vitest';
import { ensureSeedTools, pyYamlLoad } from '../../../../test/support/seed-tools.ts';
import { nocloudMetaData, nocloudSeed, nocloudUserData, SEED_VOLUME_ID } from './nocloud.ts';

const KEY =
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIL0OJg60VMFshXJ7rVxIRO0evk9daypqPHn3mf/c8nN alice@example';
const KEY2 =
  'ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIEDz990hzcAaMgdjYhyFmN7UcrocFG1ITYINxfPtH0awJ3qKmPrgMWbueq5ciAflFxK3fkZa9YdXjjZOvpJ/nA=';
const BASE = { instanceId: 'i-0123', hostname: 'vm-name', sshKeys: [KEY, KEY2] } as const;
const CLOCK = () => new Date('2026-01-02T03:04:05Z');

beforeAll(() => ensureSeedTools(), 600_000);

describe('nocloud meta-data', () => {
  it('has one double-quoted scalar per line', () => {
    expect(nocloudMetaData(BASE)).toBe(
      `instance-id: "i-0123"\nlocal-hostname: "vm-name"\npublic-keys:\n  - "${KEY}"\n  - "${KEY2}"\n`,
    );
  });

  it('leaves out public-keys when there are none, and lower-cases the host name', () => {
    expect(nocloudMetaData({ ...BASE, hostname: 'VM-Name', sshKeys: [] })).toBe(
      'instance-id: "i-0123"\nlocal-hostname: "vm-name"\n',
    );
  });

  it('escapes a hostile instance id and key comment so that YAML reads them back', async () => {
    const instanceId = 'i-1"\nlocal-hostname: "evil"\n# public-keys: \\ x\u00e9';
    const key = `${KEY.split(' ').slice(0, 2).join(' ')} "me": #1 \\o/ ü`;
    const meta = nocloudMetaData({ ...BASE, instanceId, sshKeys: [key] });
    expect(meta).toBe(
      'instance-id: "i-1\\"\\nlocal-hostname: \\"evil\\"\\n# public-keys: \\\\ x\\xE9"\n' +
        'local-hostname: "vm-name"\n' +
        `public-keys:\n  - "${KEY.split(' ').slice(0, 2).join(' ')} \\"me\\": #1 \\\\o/ \\xFC"\n`,
    );
    expect(meta.split('\n')).toHaveLength(5);
    expect(await pyYamlLoad(meta)).toEqual({
      'instance-id': instanceId,
      'local-hostname': 'vm-name',
      'public-keys': [key],
    });
  });
});

describe('nocloud user-data', () => {
  it('is the caller text verbatim when given', () => {
    const text = '#!/bin/sh\necho "hi"  \r\n no trailing newline';
    expect(nocloudUserData({ ...BASE, userData: text })).toBe(text);
    expect(nocloudUserData({ ...BASE, userData: '' })).toBe('');
  });

  it('authorizes the keys in a cloud-config otherwise', async () => {
    const text = nocloudUserData({ ...BASE, userData: null });
    expect(text).toBe(`#cloud-config\nssh_authorized_keys:\n  - "${KEY}"\n  - "${KEY2}"\n`);
    expect(await pyYamlLoad(text)).toEqual({ ssh_authorized_keys: [KEY, KEY2] });
  });

  it('is an empty cloud-config with neither', async () => {
    const text = nocloudUserData({ ...BASE, sshKeys: [] });
    expect(text).toBe('#cloud-config\n{}\n');
    expect(await pyYamlLoad(text)).toEqual({});
  });
});

describe('nocloudSeed', () => {
  it('writes an ISO labelled cidata holding both files', () => {
    const seed = nocloudSeed({ ...BASE, sshKeys: [` ${KEY}\n`] }, { clock: CLOCK });
    expect(seed.toString('latin1', 16 * 2048 + 40, 16 * 2048 + 72).trimEnd()).toBe(SEED_VOLUME_ID);
    for (const file of [
      nocloudMetaData({ ...BASE, sshKeys: [KEY] }),
      nocloudUserData({ ...BASE, sshKeys: [KEY] }),
    ]) {
      const at = seed.indexOf(file);
      expect(at % 2048).toBe(0);
      expect(seed[at + Buffer.byteLength(file)]).toBe(0);
    }
    expect(nocloudSeed(BASE, { clock: CLOCK }).equals(nocloudSeed(BASE, { clock: CLOCK }))).toBe(
      true,
    );
  });

  it('throws on a bad host name, key or instance id', () => {
    expect(() => nocloudSeed({ ...BASE, hostname: 'vm_1' })).toThrow(/host name "vm_1"/);
    expect(() => nocloudSeed({ ...BASE, sshKeys: ['ssh-ed25519 AAAA'] })).toThrow(/SSH key/);
    expect(() => nocloudSeed({ ...BASE, instanceId: '' })).toThrow('instance id is empty');
    expect(() => nocloudSeed({ ...BASE, instanceId: 'x'.repeat(257) })).toThrow(/longer than 256/);
  });
});
