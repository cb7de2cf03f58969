import { describe, expect, it } from 'vitest';
import { parseDatabaseUrl } from '../../src/db/url.ts';

describe('parseDatabaseUrl', () => {
  it('puts a relative SQLite path in the data directory', () => {
    expect(parseDatabaseUrl('sqlite:kumo.sqlite', '/srv/kumo')).toEqual({
      dialect: 'sqlite',
      path: '/srv/kumo/kumo.sqlite',
    });
    expect(parseDatabaseUrl('sqlite:db/k.sqlite', '/srv/kumo')).toEqual({
      dialect: 'sqlite',
      path: '/srv/kumo/db/k.sqlite',
    });
  });

  it('keeps an absolute SQLite path and :memory:', () => {
    expect(parseDatabaseUrl('sqlite:/var/lib/k.sqlite', '/srv/kumo')).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/k.sqlite',
    });
    expect(parseDatabaseUrl('sqlite::memory:', '/srv/kumo')).toEqual({
      dialect: 'sqlite',
      path: ':memory:',
    });
  });

  it('takes postgres:// and postgresql:// URLs as they are', () => {
    const url = 'postgres://kumo:s3cret@db.example:5432/kumo';
    expect(parseDatabaseUrl(url, '/x')).toEqual({ dialect: 'postgresql', url });
    expect(parseDatabaseUrl('postgresql://h/kumo', '/x').dialect).toBe('postgresql');
  });

  it('refuses what it cannot use, without echoing a password', () => {
    expect(() => parseDatabaseUrl('sqlite:', '/x')).toThrow(/names no file/);
    expect(() => parseDatabaseUrl('postgres://u:pw@h:5432', '/x')).toThrow(/names no database/);
    let message = '';
    try {
      parseDatabaseUrl('mysql://u:hunter2@h/db', '/x');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/must start with sqlite: or postgres:\/\//);
    expect(message).not.toContain('hunter2');
  });
});
