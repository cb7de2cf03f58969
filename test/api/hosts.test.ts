import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rig, rigHost, unixUri } from '../support/rig.ts';
import {
  ADMIN,
  codeOf,
  listening,
  startTestKumo,
  subscriber,
  type TestKumo,
  tlsCredentialsInput,
} from './support.ts';

const HOST_ADD = `mutation($input: HostAddInput!) { hostAdd(input: $input) {
  host { id name state driver facts { hostname kvm libvirtVersion hypervisor cpus memoryBytes } }
  userErrors { code field message offeredHostKey } } }`;

interface AddResult {
  hostAdd: {
    host: {
      id: string;
      name: string;
      state: string;
      driver: string;
      facts: {
        hostname: string;
        kvm: boolean;
        libvirtVersion: string;
        hypervisor: string;
        cpus: number;
        memoryBytes: number;
      };
    } | null;
    userErrors: Array<{ code: string; field: string | null; message: string }>;
  };
}

describe('hosts through the API, on the rig', () => {
  let k: TestKumo;
  let admin: string;
  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
  });
  afterAll(() => k.stop());

  it('refuses wrong credentials and wrong host keys clearly, saving nothing', async () => {
    const hv1 = rigHost('hv1');
    const cases = [
      {
        name: 'bad-ca',
        uri: `qemu+tls://${hv1.ip}/system`,
        credentials: tlsCredentialsInput(rig().pki.bad.wrongCa),
        expect: /TLS_UNTRUSTED/,
      },
      {
        name: 'bad-dn',
        uri: `qemu+tls://${hv1.ip}/system`,
        credentials: tlsCredentialsInput(rig().pki.bad.wrongDn),
        expect: /AUTH_FAILED/,
      },
      {
        name: 'bad-key',
        uri: `qemu+ssh://${hv1.ip}/system`,
        credentials: {
          ssh: {
            user: 'root',
            privateKey: readFileSync(rig().ssh.privateKey, 'utf8'),
            hostKeyFingerprint: `SHA256:${'A'.repeat(43)}`,
          },
        },
        expect: /HOST_KEY_MISMATCH/,
      },
      {
        name: 'no-host',
        uri: `qemu+tls://${rig().unreachableIp}/system`,
        credentials: tlsCredentialsInput(rig().pki.clientDir),
        expect: /UNREACHABLE|TIMEOUT/,
      },
      {
        name: 'bad-uri',
        uri: 'qemu+tcp://10.0.0.1/system',
        credentials: tlsCredentialsInput(rig().pki.clientDir),
        expect: /INVALID_URI|UNSUPPORTED_SCHEME/,
      },
    ];
    for (const c of cases) {
      const r = await k.gql<AddResult>(
        HOST_ADD,
        { input: { name: c.name, uri: c.uri, credentials: c.credentials } },
        admin,
      );
      expect(r.data?.hostAdd.host, c.name).toBeNull();
      expect(r.data?.hostAdd.userErrors[0]?.message, c.name).toMatch(c.expect);
    }
    const names = await k.gql<{ hosts: { edges: Array<{ node: { name: string } }> } }>(
      '{ hosts(first: 50) { edges { node { name } } } }',
      {},
      admin,
    );
    expect(names.data?.hosts.edges).toEqual([]);
  });

  it('adds a TLS host after connecting to it, with its facts', async () => {
    const hv1 = rigHost('hv1');
    const r = await k.gql<AddResult>(
      HOST_ADD,
      {
        input: {
          name: 'hv1',
          uri: `qemu+tls://${hv1.ip}/system`,
          credentials: tlsCredentialsInput(rig().pki.clientDir),
        },
      },
      admin,
    );
    expect(r.data?.hostAdd.userErrors).toEqual([]);
    const host = r.data?.hostAdd.host;
    expect(host).toMatchObject({ name: 'hv1', state: 'ONLINE', driver: 'qemu+tls' });
    expect(host?.facts).toMatchObject({
      hostname: 'hv1',
      kvm: rig().domainType === 'kvm',
      libvirtVersion: '9.0.0',
    });
    expect(host?.facts.hypervisor).toMatch(/^QEMU \d+\.\d+/);
    expect(host?.facts.cpus).toBeGreaterThan(0);
    expect(host?.facts.memoryBytes).toBeGreaterThan(0);
  });

  it('adds an SSH host only once the admin confirms the key it offers', async () => {
    const hv2 = rigHost('hv2');
    const privateKey = readFileSync(rig().ssh.privateKey, 'utf8');
    const input = {
      name: 'hv2',
      uri: `qemu+ssh://${hv2.ip}/system`,
      credentials: { ssh: { user: 'root', privateKey } },
    };
    const first = await k.gql<AddResult>(HOST_ADD, { input }, admin);
    expect(first.data?.hostAdd.host).toBeNull();
    expect(first.data?.hostAdd.userErrors[0]).toMatchObject({
      code: 'REFUSED',
      field: 'input.credentials',
      offeredHostKey: hv2.sshHostKeyFingerprint,
    });
    expect(first.data?.hostAdd.userErrors[0]?.message).toContain(hv2.sshHostKeyFingerprint);

    const confirmed = {
      ...input,
      credentials: {
        ssh: { user: 'root', privateKey, hostKeyFingerprint: hv2.sshHostKeyFingerprint },
      },
    };
    const second = await k.gql<AddResult>(HOST_ADD, { input: confirmed }, admin);
    expect(second.data?.hostAdd.userErrors).toEqual([]);
    expect(second.data?.hostAdd.host).toMatchObject({
      name: 'hv2',
      state: 'ONLINE',
      driver: 'qemu+ssh',
      facts: { hostname: 'hv2' },
    });
  });

  it('lets any signed-in user list hosts but only admins change them', async () => {
    await k.gql(
      'mutation { userCreate(input: {email: "tenant@kumo.test", password: "tenant-password"}) { user { id } } }',
      {},
      admin,
    );
    const tenant = await k.signIn('tenant@kumo.test', 'tenant-password');
    const list = await k.gql<{ hosts: { edges: Array<{ node: { id: string; name: string } }> } }>(
      '{ hosts(first: 10) { edges { node { id name } } } }',
      {},
      tenant,
    );
    expect(list.data?.hosts.edges.map((e) => e.node.name)).toEqual(['hv1', 'hv2']);
    const id = list.data?.hosts.edges[0]?.node.id;
    expect(
      codeOf(
        await k.gql(
          'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: true}) { host { state } } }',
          { id },
          tenant,
        ),
      ),
    ).toBe('FORBIDDEN');
    expect(
      codeOf(
        await k.gql(
          'mutation($id: ID!) { hostRemove(input: {id: $id}) { removedHostId } }',
          { id },
          tenant,
        ),
      ),
    ).toBe('FORBIDDEN');
    expect(
      codeOf(await k.gql(HOST_ADD, { input: { name: 'x', uri: 'qemu:///system' } }, tenant)),
    ).toBe('FORBIDDEN');
    expect(codeOf(await k.gql('{ hosts(first: 10) { edges { node { id } } } }'))).toBe(
      'UNAUTHENTICATED',
    );
  });

  it('streams host state changes to subscribers as admins change them', async () => {
    const hosts = await k.gql<{ hosts: { edges: Array<{ node: { id: string; name: string } }> } }>(
      '{ hosts(first: 10) { edges { node { id name } } } }',
      {},
      admin,
    );
    const hv1 = hosts.data?.hosts.edges.find((e) => e.node.name === 'hv1')?.node.id;
    const subscribed = listening(k, 'hostStateChanged');
    const client = subscriber(k, admin);
    const events: string[] = [];
    const done = (async () => {
      for await (const r of client.iterate<{
        hostStateChanged: { state: string; previous: string; host: { name: string } };
      }>({
        query:
          'subscription($h: ID) { hostStateChanged(host: $h) { state previous host { name } } }',
        variables: { h: hv1 },
      })) {
        const e = r.data?.hostStateChanged;
        events.push(`${e?.host.name} ${e?.previous}→${e?.state}`);
        if (events.length === 2) return;
      }
    })();
    await subscribed();
    await k.gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: true}) { host { state } } }',
      { id: hv1 },
      admin,
    );
    await k.gql(
      'mutation($id: ID!) { hostUpdate(input: {id: $id, maintenance: false}) { host { state } } }',
      { id: hv1 },
      admin,
    );
    await Promise.race([
      done,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error(`events so far: ${events}`)), 10_000),
      ),
    ]);
    expect(events).toEqual(['hv1 ONLINE→MAINTENANCE', 'hv1 MAINTENANCE→ONLINE']);
    await client.dispose();
  });

  it('streams host metrics to admins only', async () => {
    const ws = (token: string) => subscriber(k, token);
    const query =
      'subscription { hostMetrics(intervalSeconds: 1) { host { name } cpuUsage memoryTotalBytes memoryUsedBytes } }';
    const client = ws(admin);
    const samples: Array<{
      host: { name: string };
      cpuUsage: number;
      memoryTotalBytes: number;
      memoryUsedBytes: number;
    }> = [];
    for await (const r of client.iterate<{ hostMetrics: (typeof samples)[number] }>({ query })) {
      if (r.data) samples.push(r.data.hostMetrics);
      if (samples.length >= 2) break;
    }
    await client.dispose();
    expect(samples.map((s) => s.host.name).sort()).toEqual(expect.arrayContaining(['hv1']));
    for (const s of samples) {
      expect(s.cpuUsage).toBeGreaterThanOrEqual(0);
      expect(s.cpuUsage).toBeLessThanOrEqual(1);
      expect(s.memoryUsedBytes).toBeGreaterThan(0);
      expect(s.memoryTotalBytes).toBeGreaterThan(s.memoryUsedBytes);
    }
    const tenant = await k.signIn('tenant@kumo.test', 'tenant-password');
    const refused = ws(tenant);
    const results: unknown[] = [];
    for await (const r of refused.iterate({ query })) results.push(r);
    // graphql-ws delivers a refused subscription as one result carrying the error, then completes.
    expect(results).toHaveLength(1);
    expect(JSON.stringify(results[0])).toContain('"code":"FORBIDDEN"');
    await refused.dispose();
  });
});

describe('the local libvirtd', () => {
  it('is offered to admins when one answers, and added with one mutation', async () => {
    const uri = unixUri(rigHost('hv1'));
    const k = await startTestKumo({}, { localLibvirtUri: uri });
    try {
      const admin = await k.signIn(ADMIN.email, ADMIN.password);
      const offer = await k.gql<{ localHypervisor: { uri: string; hostname: string } | null }>(
        '{ localHypervisor { uri hostname } }',
        {},
        admin,
      );
      expect(offer.data?.localHypervisor).toEqual({ uri, hostname: 'hv1' });
      const added = await k.gql<{
        hostAdd: { host: { driver: string; state: string } | null; userErrors: unknown[] };
      }>(
        'mutation($uri: String!) { hostAdd(input: {name: "local", uri: $uri}) { host { driver state } userErrors { message } } }',
        { uri },
        admin,
      );
      expect(added.data?.hostAdd).toEqual({
        host: { driver: 'qemu', state: 'ONLINE' },
        userErrors: [],
      });
      expect((await k.gql('{ localHypervisor { uri } }', {}, admin)).data).toEqual({
        localHypervisor: null,
      });
    } finally {
      await k.stop();
    }
  });

  it('is not offered when none answers', async () => {
    const k = await startTestKumo();
    try {
      const admin = await k.signIn(ADMIN.email, ADMIN.password);
      expect((await k.gql('{ localHypervisor { uri } }', {}, admin)).data).toEqual({
        localHypervisor: null,
      });
    } finally {
      await k.stop();
    }
  });
});
