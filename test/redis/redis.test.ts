// The test Redis: a private server on loopback with a password, a database per run.
import { describe, expect, inject, it } from 'vitest';
import { openRedis } from '../../src/services/replicas/redis.ts';
import { testPrefix } from './links.ts';
import { redisCommand } from './server.ts';
import { loadRedis } from './state.ts';

const runUrl = inject('redisUrl');

// Built in each test: the describe body runs even when it is skipped.
const runURL = () => new URL(runUrl as string);

describe.skipIf(runUrl === null)('test Redis', () => {
  it('gives the run a database of its own, not the one left to people', () => {
    const url = runURL();
    expect(url.hostname).toBe('127.0.0.1');
    const db = Number(url.pathname.slice(1));
    expect(db).toBeGreaterThan(0);
    expect(db).toBeLessThan(loadRedis()?.databases ?? 0);
  });

  it('runs private: loopback, a password, nothing saved', async () => {
    const server = loadRedis();
    if (!server) throw new Error('no test Redis descriptor');
    const url = runURL();
    expect(String(server.port)).toBe(url.port);
    const config = (await redisCommand(server, 0, 'CONFIG', 'GET', '*')) as string[];
    const get = (name: string) => config[config.indexOf(name) + 1];
    expect(get('bind')).toBe('127.0.0.1');
    expect(get('save')).toBe('');
    expect(get('appendonly')).toBe('no');
    const anonymous = new URL(url);
    anonymous.password = '';
    await expect(openRedis(anonymous.toString())).rejects.toThrow(/NOAUTH|WRONGPASS/);
  });

  it('keeps keys of the run database out of the others', async () => {
    const server = loadRedis();
    if (!server) throw new Error('no test Redis descriptor');
    const url = runURL();
    const key = `${testPrefix()}k`;
    const link = await openRedis(url.toString());
    try {
      await link.commands.set(key, 'v', 'PX', 10_000);
      expect(await redisCommand(server, 0, 'EXISTS', key)).toBe(0);
      expect(await redisCommand(server, Number(url.pathname.slice(1)), 'EXISTS', key)).toBe(1);
    } finally {
      await link.close();
    }
  });
});
