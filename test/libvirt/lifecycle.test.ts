import { afterEach, describe, expect, it } from 'vitest';
import type { DomainLifecycleEvent, LifecycleEvent } from '../../src/libvirt/api/events.ts';
import { isNotFound } from '../../src/libvirt/errors.ts';
import { domainXml } from '../../src/libvirt/xml/domain.ts';
import { Cleanup } from '../support/cleanup.ts';
import { openSsh, openTls, rig, rigHost, uniqueName } from '../support/rig.ts';
import { rejection, within } from '../support/wait.ts';

const cleanup = new Cleanup();
afterEach(() => cleanup.run());

// Guests here need no OS: SeaBIOS idles, which is enough for every life-cycle step (KVM where available).
describe.each([
  ['tls', openTls],
  ['ssh', openSsh],
] as const)('domain life cycle over %s', (_t, open) => {
  it('defines, starts, suspends, resumes, destroys and undefines, with each event in order', async () => {
    const conn = await open(rigHost('hv1'));
    cleanup.add(() => conn.close());
    const name = uniqueName('life');
    // Each action must produce its event, in order. libvirt may add events of its own between
    // them (it starts QEMU paused and resumes it, for one), so expected events are matched in order.
    const seen: LifecycleEvent[] = [];
    let matched = -1;
    let notify: (() => void) | null = null;
    const sub = await conn.events.onLifecycle((e: DomainLifecycleEvent) => {
      if (e.domain.name !== name) return;
      seen.push(e.event);
      notify?.();
    });
    cleanup.add(() => sub.close());
    const expectEvent = (kind: LifecycleEvent) =>
      within(
        new Promise<void>((resolve) => {
          notify = () => {
            const i = seen.indexOf(kind, matched + 1);
            if (i < 0) return;
            matched = i;
            resolve();
          };
          notify();
        }),
        10_000,
        `the ${kind} event (seen so far: ${seen.join(', ')})`,
      );

    const defined = await conn.domains.define(
      domainXml({ name, type: rig().domainType, memoryMiB: 64, vcpus: 1 }),
    );
    cleanup.add(() => conn.domains.undefine(defined));
    cleanup.add(() => conn.domains.destroy(defined));
    await expectEvent('defined');
    expect((await conn.domains.state(defined)).state).toBe('shutoff');

    const running = await conn.domains.start(defined);
    expect(running.id).toBeGreaterThan(0);
    await expectEvent('started');
    expect((await conn.domains.state(running)).state).toBe('running');

    await conn.domains.suspend(running);
    await expectEvent('suspended');
    expect((await conn.domains.state(running)).state).toBe('paused');

    await conn.domains.resume(running);
    await expectEvent('resumed');
    expect((await conn.domains.state(running)).state).toBe('running');

    await conn.domains.setMemory(running, 48 * 1024);
    await conn.domains.destroy(running);
    await expectEvent('stopped');
    expect((await conn.domains.state(running)).state).toBe('shutoff');

    await conn.domains.undefine(running);
    await expectEvent('undefined');
    expect(seen.at(-1)).toBe('undefined');
    expect(isNotFound(await rejection(conn.domains.lookupByName(name)))).toBe(true);
  });
});

describe('domain queries', () => {
  it('lists, looks up by name and UUID, reads XML and statistics', async () => {
    const conn = await openTls(rigHost('hv2'));
    cleanup.add(() => conn.close());
    const name = uniqueName('query');
    const dom = await conn.domains.define(
      domainXml({ name, type: rig().domainType, memoryMiB: 64, vcpus: 1 }),
    );
    cleanup.add(() => conn.domains.undefine(dom));
    expect((await conn.domains.list()).map((d) => d.name)).toContain(name);
    expect((await conn.domains.lookupByUuid(dom.uuid)).name).toBe(name);
    expect((await conn.domains.lookupByName(name)).uuid).toBe(dom.uuid);
    expect(await conn.domains.xml(dom)).toContain(`<name>${name}</name>`);
    await conn.domains.setVcpus(dom, 1, 2);
    const running = await conn.domains.start(dom);
    cleanup.add(() => conn.domains.destroy(running));
    const [stats] = await conn.domains.stats([running], 1 | 2);
    expect(stats?.domain.name).toBe(name);
    expect(stats?.stats['state.state']).toBe(1);
    expect(typeof stats?.stats['cpu.time']).toBe('bigint');
  });
});
