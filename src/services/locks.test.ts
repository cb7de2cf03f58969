import { describe, expect, it } from 'vitest';
import type { VmId } from '../entities/ids.ts';
import { Locks } from './locks.ts';

const vm = 'vm-1' as VmId;

describe('Locks', () => {
  it('runs actions on one VM one after another, in order', async () => {
    const locks = new Locks<VmId>();
    const log: string[] = [];
    const step = (name: string, ms: number) =>
      locks.run(vm, name, async () => {
        log.push(`${name}>`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`<${name}`);
      });
    await Promise.all([step('a', 30), step('b', 1), step('c', 1)]);
    expect(log).toEqual(['a>', '<a', 'b>', '<b', 'c>', '<c']);
    await new Promise((r) => setImmediate(r));
    expect(locks.busyWith(vm)).toBeNull();
  });

  it('refuses an action that waited too long, and the next one still waits its turn', async () => {
    const locks = new Locks<VmId>();
    let finish: () => void = () => {};
    const slow = locks.run(vm, 'vmSaveAsImage', () => new Promise<void>((r) => (finish = r)));
    await expect(locks.run(vm, 'vmStart', async () => 1, 20)).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('vmSaveAsImage'),
    });
    let ran = false;
    const next = locks.run(vm, 'vmStop', async () => {
      ran = true;
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(ran).toBe(false);
    finish();
    await Promise.all([slow, next]);
    expect(ran).toBe(true);
  });
});
