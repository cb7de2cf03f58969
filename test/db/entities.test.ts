// Every entity is written with every column set and read back on a fresh unit of work, on
// each dialect: types, nulls, JSON, enums, dates and relations survive the trip.
import { createHash } from 'node:crypto';
import { ref } from '@mikro-orm/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditEvent,
  Host,
  type HostFacts,
  Image,
  type ImageId,
  Operation,
  Permission,
  Quota,
  type SealedText,
  Session,
  Snapshot,
  User,
  Vm,
} from '../../src/entities/index.ts';
import { makeHost, makeImage, makeUser, makeVm } from './fixtures.ts';
import { DIALECTS_UNDER_TEST, type Opened, openFresh, unique } from './support.ts';

// Whole milliseconds: both dialects keep at least that (PostgreSQL microseconds, SQLite ms).
const T0 = new Date('2026-03-04T05:06:07.089Z');
const T1 = new Date('2026-03-05T00:00:00.001Z');

const FACTS: HostFacts = {
  hostname: 'hv1',
  uuid: '3df08de1-0000-4000-8000-000000000001',
  arch: 'x86_64',
  cpuModel: 'EPYC-Rome',
  cpus: 64,
  cores: 32,
  threads: 2,
  sockets: 1,
  numaNodes: 1,
  mhz: 2600,
  memoryBytes: 512 * 1024 ** 3,
  hypervisor: 'QEMU 7.2.0',
  libvirtVersion: '9.0.0',
  kvm: true,
  domainTypes: ['qemu', 'kvm'],
  storage: {
    pool: 'kumo',
    pools: 1,
    capacityBytes: 2 * 1024 ** 4,
    availableBytes: 1.5 * 1024 ** 4,
  },
};

describe.each(DIALECTS_UNDER_TEST)('entities on %s', (dialect) => {
  let o: Opened;
  beforeAll(async () => {
    o = await openFresh(dialect);
  });
  afterAll(async () => {
    await o?.cleanup();
  });

  it('round-trips User, with created and updated stamps', async () => {
    const em = o.db.fork();
    const user = makeUser(em, { email: `  ${unique('Ada')}@Example.COM `, isAdmin: true });
    user.passwordChangedAt = T0;
    await em.flush();
    expect(user.email).toBe(user.email.trim().toLowerCase());
    expect(user.createdAt).toBeInstanceOf(Date);

    const got = await o.db.fork().findOneOrFail(User, { id: user.id });
    expect(got).toBeInstanceOf(User);
    expect(got.email).toBe(user.email);
    expect(got.isAdmin).toBe(true);
    expect(got.passwordHash).toBe('$argon2id$not-a-real-hash');
    expect(got.passwordChangedAt?.getTime()).toBe(T0.getTime());
    expect(got.createdAt.getTime()).toBe(user.createdAt.getTime());
    // The hash never leaves through serialization.
    expect(JSON.stringify(got)).not.toContain('argon2id');

    const before = got.updatedAt.getTime();
    await new Promise((r) => setTimeout(r, 5));
    got.name = 'Ada L.';
    await o.db.fork().persist(got).flush();
    const again = await o.db.fork().findOneOrFail(User, { id: user.id });
    expect(again.name).toBe('Ada L.');
    expect(again.updatedAt.getTime()).toBeGreaterThan(before);
  });

  it('round-trips Session', async () => {
    const em = o.db.fork();
    const user = makeUser(em);
    const s = em.create(Session, {
      user,
      tokenHash: createHash('sha256').update(unique('t')).digest('hex'),
      expiresAt: T1,
      revokedAt: T0,
      address: '2001:db8::1',
      userAgent: 'kumo-cli/0.1',
    });
    await em.flush();
    const got = await o.db.fork().findOneOrFail(Session, { id: s.id }, { populate: ['user'] });
    expect(got.user.id).toBe(user.id);
    expect(got.user.getEntity().email).toBe(user.email);
    expect(got.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(got.expiresAt.getTime()).toBe(T1.getTime());
    expect(got.revokedAt?.getTime()).toBe(T0.getTime());
    expect(got.lastUsedAt).toBeInstanceOf(Date);
    expect(got.address).toBe('2001:db8::1');
    expect(got.userAgent).toBe('kumo-cli/0.1');
  });

  it('round-trips Host, with defaults, facts and sealed credentials', async () => {
    const em = o.db.fork();
    const host = makeHost(em);
    await em.flush();
    const plain = await o.db.fork().findOneOrFail(Host, { id: host.id });
    expect(plain.state).toBe('OFFLINE');
    expect(plain.enabled).toBe(true);
    expect(plain.maintenance).toBe(false);
    expect(plain.cpuOvercommit).toBe(1);
    expect(plain.memoryOvercommit).toBe(1);
    expect(plain.facts).toBeNull();
    expect(plain.credentials).toBeNull();

    plain.state = 'MAINTENANCE';
    plain.maintenance = true;
    plain.facts = FACTS;
    plain.credentials = 'v1:abcd1234:iv:body:tag' as SealedText;
    plain.cpuOvercommit = 4.5;
    plain.memoryOvercommit = 1.25;
    plain.lastError = 'connection refused';
    plain.lastSeenAt = T0;
    await o.db.fork().persist(plain).flush();

    const got = await o.db.fork().findOneOrFail(Host, { id: host.id });
    expect(got.state).toBe('MAINTENANCE');
    expect(got.maintenance).toBe(true);
    expect(got.facts).toEqual(FACTS);
    expect(got.credentials).toBe('v1:abcd1234:iv:body:tag');
    expect(got.cpuOvercommit).toBe(4.5);
    expect(got.memoryOvercommit).toBe(1.25);
    expect(got.lastError).toBe('connection refused');
    expect(got.lastSeenAt?.getTime()).toBe(T0.getTime());
    expect(JSON.stringify(got)).not.toContain('abcd1234');
  });

  it('round-trips Permission and Quota', async () => {
    const em = o.db.fork();
    const user = makeUser(em);
    const image = makeImage(em, user);
    const perm = em.create(Permission, {
      user,
      resourceType: 'IMAGE',
      resourceId: image.id,
      role: 'OPERATOR',
    });
    em.create(Quota, {
      user,
      vms: 10,
      runningVms: 4,
      vcpus: 16,
      memoryBytes: 64n * 1024n ** 3n,
      diskBytes: 2n * 1024n ** 4n,
      images: 5,
      imageBytes: 100n * 1024n ** 3n,
      snapshots: 0,
    });
    await em.flush();

    const fresh = o.db.fork();
    const p = await fresh.findOneOrFail(Permission, { id: perm.id });
    expect(p.user.id).toBe(user.id);
    expect(p.resourceType).toBe('IMAGE');
    expect(p.resourceId).toBe(image.id);
    expect(p.role).toBe('OPERATOR');
    const q = await fresh.findOneOrFail(Quota, { user: user.id });
    expect(q.user.id).toBe(user.id);
    expect([q.vms, q.runningVms, q.vcpus, q.images, q.snapshots]).toEqual([10, 4, 16, 5, 0]);
    expect(q.memoryBytes).toBe(64n * 1024n ** 3n);
    expect(q.diskBytes).toBe(2n * 1024n ** 4n);
    expect(q.imageBytes).toBe(100n * 1024n ** 3n);
    // A user with no quota row has none.
    expect(await fresh.findOne(Quota, { user: makeUser(fresh).id })).toBeNull();
  });

  it('round-trips Operation, with and without an actor', async () => {
    const em = o.db.fork();
    const user = makeUser(em);
    const op = em.create(Operation, {
      kind: 'vmCreate',
      targetType: 'VM',
      targetId: crypto.randomUUID(),
      actor: user,
    });
    const housekeeping = em.create(Operation, { kind: 'reconcile', targetType: 'SYSTEM' });
    await em.flush();
    expect(op.status).toBe('PENDING');
    expect(op.progress).toBe(0);

    op.status = 'FAILED';
    op.progress = 0.375;
    op.phase = 'copying disk';
    op.error = 'no space left on hv2';
    op.startedAt = T0;
    op.finishedAt = T1;
    op.details = { host: 'hv2', attempt: 2, nested: { ok: false } };
    await em.flush();

    const fresh = o.db.fork();
    const got = await fresh.findOneOrFail(Operation, { id: op.id });
    expect(got.status).toBe('FAILED');
    expect(got.progress).toBe(0.375);
    expect(got.phase).toBe('copying disk');
    expect(got.error).toBe('no space left on hv2');
    expect(got.startedAt?.getTime()).toBe(T0.getTime());
    expect(got.finishedAt?.getTime()).toBe(T1.getTime());
    expect(got.details).toEqual({ host: 'hv2', attempt: 2, nested: { ok: false } });
    expect(got.actor?.id).toBe(user.id);
    const hk = await fresh.findOneOrFail(Operation, { id: housekeeping.id });
    expect(hk.actor).toBeNull();
    expect(hk.targetId).toBeNull();
    expect(hk.details).toEqual({});
  });

  it('round-trips AuditEvent, and keeps it when its actor goes', async () => {
    const em = o.db.fork();
    const user = makeUser(em);
    const ev = em.create(AuditEvent, {
      actor: user,
      action: 'hostAdd',
      targetType: 'HOST',
      targetId: crypto.randomUUID(),
      result: 'DENIED',
      message: 'admins only',
      address: '10.0.0.9',
      details: { uri: 'qemu+tls://hv9/system' },
    });
    const anon = em.create(AuditEvent, {
      action: 'signIn',
      targetType: 'SESSION',
      result: 'ERROR',
    });
    await em.flush();

    const got = await o.db.fork().findOneOrFail(AuditEvent, { id: ev.id });
    expect(got.actor?.id).toBe(user.id);
    expect(got.action).toBe('hostAdd');
    expect(got.targetType).toBe('HOST');
    expect(got.result).toBe('DENIED');
    expect(got.message).toBe('admins only');
    expect(got.address).toBe('10.0.0.9');
    expect(got.details).toEqual({ uri: 'qemu+tls://hv9/system' });
    expect(got.createdAt).toBeInstanceOf(Date);
    const a = await o.db.fork().findOneOrFail(AuditEvent, { id: anon.id });
    expect(a.actor).toBeNull();
    expect(a.message).toBeNull();

    await o.db.fork().nativeDelete(User, { id: user.id });
    const kept = await o.db.fork().findOneOrFail(AuditEvent, { id: ev.id });
    expect(kept.actor).toBeNull();
  });

  it('round-trips Image, Vm and Snapshot with their relations', async () => {
    const em = o.db.fork();
    const owner = makeUser(em);
    const host = makeHost(em);
    const image = em.create(Image, {
      name: unique('debian-12'),
      description: 'Debian 12 generic cloud',
      owner,
      state: 'AVAILABLE',
      format: 'raw',
      sizeBytes: 2n * 1024n ** 3n,
      virtualSizeBytes: 20n * 1024n ** 3n,
      sha512: 'ab'.repeat(64),
      public: true,
    });
    const vm = makeVm(em, owner);
    vm.host = ref(host);
    vm.image = ref(image);
    vm.state = 'RUNNING';
    vm.domainUuid = crypto.randomUUID();
    const snap = em.create(Snapshot, { vm, name: 'clean', description: 'fresh install' });
    await em.flush();

    const fresh = o.db.fork();
    const i = await fresh.findOneOrFail(Image, { id: image.id as ImageId });
    expect(i.state).toBe('AVAILABLE');
    expect(i.format).toBe('raw');
    expect(i.sizeBytes).toBe(2n * 1024n ** 3n);
    expect(i.virtualSizeBytes).toBe(20n * 1024n ** 3n);
    expect(i.sha512).toBe('ab'.repeat(64));
    expect(i.public).toBe(true);
    expect(i.description).toBe('Debian 12 generic cloud');
    expect(i.owner.id).toBe(owner.id);

    const v = await fresh.findOneOrFail(
      Vm,
      { id: vm.id },
      { populate: ['host', 'image', 'owner'] },
    );
    expect(v.state).toBe('RUNNING');
    expect(v.vcpus).toBe(2);
    expect(v.memoryBytes).toBe(2n * 1024n ** 3n);
    expect(v.diskBytes).toBe(20n * 1024n ** 3n);
    expect(v.domainUuid).toBe(vm.domainUuid);
    expect(v.host?.getEntity().name).toBe(host.name);
    expect(v.image?.getEntity().name).toBe(image.name);
    expect(v.owner.getEntity().id).toBe(owner.id);

    const s = await fresh.findOneOrFail(Snapshot, { id: snap.id });
    expect(s.vm.id).toBe(vm.id);
    expect(s.name).toBe('clean');
    expect(s.description).toBe('fresh install');

    // A bare image and VM take their defaults; deleting the VM takes its snapshots along.
    const bare = makeImage(fresh, owner);
    await fresh.flush();
    expect(bare.state).toBe('IMPORTING');
    expect(bare.format).toBe('qcow2');
    expect(bare.sizeBytes ?? null).toBeNull();
    await o.db.fork().nativeDelete(Vm, { id: vm.id });
    expect(await o.db.fork().count(Snapshot, { vm: vm.id })).toBe(0);
  });

  it('lists in SQL only the VMs a user may see', async () => {
    const em = o.db.fork();
    const alice = makeUser(em);
    const bob = makeUser(em);
    const own = makeVm(em, alice, { name: 'a-own' });
    const shared = makeVm(em, bob, { name: 'b-shared' });
    makeVm(em, bob, { name: 'b-private' });
    em.create(Permission, { user: alice, resourceType: 'VM', resourceId: own.id, role: 'OWNER' });
    em.create(Permission, {
      user: alice,
      resourceType: 'VM',
      resourceId: shared.id,
      role: 'VIEWER',
    });
    await em.flush();

    const fresh = o.db.fork();
    const visible = fresh
      .createQueryBuilder(Permission, 'p')
      .select('p.resourceId')
      .where({ user: alice.id, resourceType: 'VM' });
    const vms = await fresh.find(
      Vm,
      { id: { $in: visible.toRaw() } },
      { orderBy: { name: 'asc' } },
    );
    expect(vms.map((v) => v.name)).toEqual(['a-own', 'b-shared']);
  });
});
