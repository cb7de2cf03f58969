// The CLI's first commands against a real server, one-shot and in the REPL: signing in and
// contexts, users, the output modes, and the exit status of each kind of failure.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestKumo, type TestKumo } from '../api/support.ts';
import { KUMO, kumo, Screen } from './support.ts';

let k: TestKumo;
let dir: string;
let server: string;
let env: Record<string, string>;

beforeAll(async () => {
  k = await startTestKumo();
  server = new URL(k.url).origin;
  dir = mkdtempSync(join(tmpdir(), 'kumo-cli-'));
  env = { KUMO_CONFIG_DIR: join(dir, 'config'), KUMO_SERVER: server };
}, 60_000);

afterAll(async () => {
  await k?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('one-shot commands', () => {
  it('say what to do when nobody is signed in, the server is unreachable, or the command is wrong', async () => {
    const anonymous = await kumo(['user', 'ls'], env);
    expect(anonymous.status).toBe(4);
    expect(anonymous.stderr).toMatch(/not signed in/);
    expect(anonymous.stderr).toMatch(/kumo login/);
    const away = await kumo(['whoami', '--server', 'http://127.0.0.1:9'], {
      ...env,
      KUMO_TOKEN: 't',
    });
    expect(away.status).toBe(3);
    expect(away.stderr).toMatch(/cannot reach http:\/\/127\.0\.0\.1:9/);
    const unknown = await kumo(['vm', 'fly'], env);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command: vm fly/);
    const missing = await kumo(['user', 'add', 'x@kumo.test'], env);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/needs <password>/);
    expect(missing.stderr).toMatch(/usage: user add <email> <password>/);
  });

  it('signs in, keeping the token readable by its owner only, and refuses a wrong password', async () => {
    const wrong = await kumo(['login', ADMIN.email, 'not-the-password'], env);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/^error: /);
    const ok = await kumo(['login', ADMIN.email, ADMIN.password], env);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(`signed in to ${server} as ${ADMIN.email}`);
    expect(statSync(join(dir, 'config', 'config.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'config')).mode & 0o777).toBe(0o700);
    const who = await kumo(['whoami', '--json'], env);
    expect(JSON.parse(who.stdout)).toMatchObject({ email: ADMIN.email, isAdmin: true, server });
  });

  it('reads the password from a prompt when it is left out', async () => {
    const prompted = await kumo(
      ['login', ADMIN.email, '--context', 'prompted'],
      env,
      `${ADMIN.password}\n`,
    );
    expect(prompted.status).toBe(0);
    expect(prompted.stderr).toMatch(/Password: /);
  });

  it('changes your password, asking for the current one and the new one twice', async () => {
    const carol = { ...env, KUMO_CONFIG_DIR: join(dir, 'carol-config') };
    expect((await kumo(['user', 'add', 'carol@kumo.test', 'carol-password-1'], env)).status).toBe(
      0,
    );
    expect((await kumo(['login', 'carol@kumo.test', 'carol-password-1'], carol)).status).toBe(0);
    const differ = await kumo(
      ['passwd'],
      carol,
      'carol-password-1\nnew-password-1\nnew-password-2\n',
    );
    expect(differ.status).toBe(2);
    expect(differ.stderr).toMatch(/the new passwords differ/);
    const wrong = await kumo(['passwd'], carol, 'not-it\nnew-password-1\nnew-password-1\n');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/field: input\.currentPassword/);
    const changed = await kumo(
      ['passwd'],
      carol,
      'carol-password-1\nnew-password-1\nnew-password-1\n',
    );
    expect(changed.status).toBe(0);
    expect(changed.stderr).toMatch(/Current password: New password: New password again: /);
    expect((await kumo(['login', 'carol@kumo.test', 'new-password-1'], carol)).status).toBe(0);
    expect((await kumo(['user', 'rm', 'carol@kumo.test'], env)).status).toBe(0);
  });

  it('keeps named contexts and switches between them', async () => {
    const ls = await kumo(['context', 'ls', '--json'], env);
    expect(JSON.parse(ls.stdout)).toEqual([
      { current: false, name: 'default', server, user: ADMIN.email, signedIn: true },
      { current: true, name: 'prompted', server, user: ADMIN.email, signedIn: true },
    ]);
    expect((await kumo(['context', 'use', 'default'], env)).status).toBe(0);
    expect((await kumo(['context', 'use', 'nowhere'], env)).status).toBe(5);
    const human = await kumo(['context', 'ls'], env);
    expect(human.stdout.split('\n')[1]).toMatch(/^\*\s+default\s/);
  });

  it('adds, lists, finds and removes users in every output mode', async () => {
    const add = await kumo(
      ['user', 'add', 'bob@kumo.test', 'bob-password-1', '--name', 'Bob B'],
      env,
    );
    expect(add.status).toBe(0);
    expect(add.stdout).toMatch(/created user bob@kumo\.test/);
    const dup = await kumo(['user', 'add', 'bob@kumo.test', 'bob-password-1'], env);
    expect(dup.status).toBe(1);
    const json = JSON.parse((await kumo(['user', 'ls', '--json'], env)).stdout);
    expect(json.map((u: { email: string }) => u.email)).toEqual([ADMIN.email, 'bob@kumo.test']);
    const quiet = await kumo(['user', 'ls', 'bob', '-q'], env);
    expect(quiet.stdout.trim().split('\n')).toEqual([json[1].id]);
    const table = (await kumo(['user', 'list', 'bob'], env)).stdout.split('\n');
    expect(table[0]).toMatch(/^ID\s+Email\s+Name\s+Admin\s+Created$/);
    expect(table[1]).toMatch(/^\S{8}\s+bob@kumo\.test\s+Bob B\s+/);
    const renamed = await kumo(
      ['user', 'set', 'bob@kumo.test', '--name', 'Robert', '--admin', '--json'],
      env,
    );
    expect(JSON.parse(renamed.stdout)).toMatchObject({ name: 'Robert', isAdmin: true });
    expect(
      (await kumo(['user', 'set', 'bob@kumo.test', '--admin', '--no-admin'], env)).status,
    ).toBe(2);
    expect((await kumo(['user', 'rm', 'nobody@kumo.test'], env)).status).toBe(5);
    expect((await kumo(['user', 'rm', 'bob@kumo.test'], env)).status).toBe(0);
    expect((await kumo(['user', 'ls', 'bob', '-q'], env)).stdout).toBe('');
  });
});

describe('the REPL', () => {
  it('signs in with a hidden password, runs commands, completes with Tab and keeps history', async () => {
    const fresh = { ...env, KUMO_CONFIG_DIR: join(dir, 'repl-config') };
    const screen = await Screen.open(dir, KUMO, fresh);
    try {
      await screen.shows(/not signed in.*\n.*kumo> $/m);
      await screen.type('login admin@kumo.test', 'Enter');
      await screen.shows(/Password: $/m);
      await screen.type(ADMIN.password, 'Enter');
      const signedIn = await screen.shows(/signed in to .* as admin@kumo\.test/);
      expect(signedIn).not.toContain(ADMIN.password);
      await screen.type('user ad', 'Tab');
      await screen.shows(/kumo> user add$/m);
      await screen.type(' carol@kumo.test carol-password-1', 'Enter');
      await screen.shows(/created user carol@kumo\.test/);
      await screen.type('user rm car', 'Tab');
      await screen.shows(/kumo> user rm carol@kumo\.test$/m);
      await screen.type('', 'Enter');
      await screen.shows(/removed user carol@kumo\.test/);
      await screen.type('help user add', 'Enter');
      await screen.shows(/usage: user add <email> <password>/);
      await screen.type('exit', 'Enter');
      await screen.shows(/kumo> exit\n/);
    } finally {
      await screen.close();
    }
    const history = await readFile(join(dir, 'repl-config', 'history'), 'utf8');
    expect(history).toContain('user add carol@kumo.test carol-password-1\n');
    expect(history).not.toContain(ADMIN.password);
    const again = await Screen.open(dir, KUMO, fresh);
    try {
      await again.shows(/kumo> $/m);
      await again.type('', 'Up', 'Up');
      await again.shows(/kumo> help user add$/m);
    } finally {
      await again.close();
    }
  });
});
