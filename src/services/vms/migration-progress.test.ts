import { describe, expect, it } from 'vitest';
import { parseDomainPlatform } from '../../libvirt/xml/domain.ts';
import { jobProgress, transferFraction } from './migration-progress.ts';
import { migrationAddress } from './vm-migration.ts';

const ends = { fromHostId: 'a', toHostId: 'b' };

describe('migration progress', () => {
  it('reads the disk phase before any memory is sent, then the memory phase', () => {
    const disk = jobProgress(
      {
        type: 'unbounded',
        stats: { disk_total: 100n, disk_processed: 40n, disk_remaining: 60n, disk_bps: 10n },
      },
      ends,
    );
    expect(disk).toMatchObject({ phase: 'COPYING_DISK', diskProcessedBytes: 40, iteration: 0 });
    const memory = jobProgress(
      {
        type: 'unbounded',
        stats: {
          memory_total: 1000n,
          memory_processed: 600n,
          memory_remaining: 500n,
          memory_bps: 100n,
          memory_dirty_rate: 3n,
          memory_page_size: 4096n,
          memory_iteration: 2n,
          data_remaining: 500n,
          data_processed: 600n,
          time_elapsed: 1234n,
        },
      },
      ends,
    );
    expect(memory).toMatchObject({
      phase: 'COPYING_MEMORY',
      dirtyBytesPerSecond: 3 * 4096,
      iteration: 2,
      elapsedMs: 1234,
      remainingMs: 5000,
      downtimeMs: null,
      postCopy: false,
    });
    expect(
      transferFraction({
        type: 'unbounded',
        stats: { data_processed: 600n, data_remaining: 400n },
      }),
    ).toBe(0.6);
    expect(jobProgress({ type: 'unbounded', stats: {} }, ends).remainingMs).toBeNull();
  });

  it('sends the guest to the address in the destination URI', () => {
    expect(migrationAddress('qemu+tls://10.0.0.5/system')).toBe('10.0.0.5');
    expect(migrationAddress('qemu+ssh://root@hv2.example/system?keyfile=x')).toBe('hv2.example');
    expect(migrationAddress('qemu:///system')).toBeNull();
  });
});

describe('parseDomainPlatform', () => {
  it("reads a running domain's type, machine and CPU", () => {
    const p = parseDomainPlatform(`<domain type='kvm'><name>x</name>
      <os><type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type></os>
      <cpu mode='custom' match='exact'><model fallback='forbid'>EPYC-Rome</model>
      <feature policy='require' name='x2apic'/></cpu></domain>`);
    expect(p).toMatchObject({ type: 'kvm', arch: 'x86_64', machine: 'pc-i440fx-7.2' });
    expect(p.cpuXml).toContain('<model fallback="forbid">EPYC-Rome</model>');
    expect(p.cpuXml).toContain('name="x2apic"');
    expect(
      parseDomainPlatform(
        `<domain type='qemu'><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>`,
      ).cpuXml,
    ).toBeNull();
  });
});
