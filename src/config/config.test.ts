import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  it('runs on one machine with defaults alone', () => {
    const c = loadConfig({ env: {} });
    expect(c.listen).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(c.database.url).toBe('sqlite:kumo.sqlite');
    expect(c.graphql.graphiql).toBe(true);
    expect(c.dataDir).toMatch(/\/data$/);
  });

  it('layers file, then environment, then overrides', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kumo-config-'));
    const file = join(dir, 'kumo.json');
    writeFileSync(
      file,
      JSON.stringify({ listen: { port: 9000, host: '0.0.0.0' }, admin: { email: 'a@b.c' } }),
    );
    const c = loadConfig({
      env: { KUMO_CONFIG: file, KUMO_LISTEN_PORT: '9001', KUMO_GRAPHIQL: 'false' },
      overrides: { admin: { password: 'x' } },
    });
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 9001 });
    expect(c.graphql.graphiql).toBe(false);
    expect(c.admin).toEqual({ email: 'a@b.c', password: 'x' });
  });

  it('names what is wrong', () => {
    expect(() => loadConfig({ env: { KUMO_LISTEN_PORT: 'eighty' } })).toThrow(
      /KUMO_LISTEN_PORT must be a number/,
    );
    expect(() => loadConfig({ env: {}, overrides: { listen: { port: 70000 } } })).toThrow(
      /invalid configuration/,
    );
    expect(() => loadConfig({ env: { KUMO_CONFIG: '/nonexistent.json' } })).toThrow(
      /cannot read the configuration file/,
    );
    expect(() => loadConfig({ env: { KUMO_REDIS_URL: 'redis://127.0.0.1:6379/0' } })).toThrow(
      /replicas .* share a PostgreSQL database/,
    );
  });
});
