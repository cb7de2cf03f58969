import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/entities/session.ts';
import { ADMIN, codeOf, startTestKumo, type TestKumo } from './support.ts';

const SIGN_IN =
  'mutation($e: String!, $p: String!) { sessionCreate(input: {email: $e, password: $p}) { token user { email } userErrors { code field message } } }';
const VIEWER = '{ viewer { email isAdmin } }';

describe('sign-in', () => {
  let k: TestKumo;
  beforeAll(async () => {
    k = await startTestKumo({ signInAttempts: 5, signInWindowSeconds: 60 });
  });
  afterAll(() => k.stop());

  it('signs the first admin in and knows them by their token', async () => {
    const r = await k.gql<{ sessionCreate: { token: string; user: { email: string } } }>(SIGN_IN, {
      e: ADMIN.email,
      p: ADMIN.password,
    });
    expect(r.data?.sessionCreate.user.email).toBe(ADMIN.email);
    expect(r.data?.sessionCreate.token).toMatch(/^kumo_[A-Za-z0-9_-]{43}$/);
    expect((await k.gql(VIEWER, {}, r.data?.sessionCreate.token)).data).toEqual({
      viewer: { email: ADMIN.email, isAdmin: true },
    });
    expect((await k.gql(VIEWER)).data).toEqual({ viewer: null });
  });

  it('answers a wrong password and an unknown user the same way', async () => {
    const wrong = await k.gql(SIGN_IN, { e: ADMIN.email, p: 'not-the-password' });
    const unknown = await k.gql(SIGN_IN, { e: 'nobody@kumo.test', p: 'whatever-pass' });
    const expected = {
      sessionCreate: {
        token: null,
        user: null,
        userErrors: [
          { code: 'INVALID_CREDENTIALS', field: null, message: 'wrong email or password' },
        ],
      },
    };
    expect(wrong.data).toEqual(expected);
    expect(unknown.data).toEqual(expected);
  });

  it('refuses tokens that are unknown, revoked, expired, or of a removed user', async () => {
    expect(
      codeOf(await k.gql('{ users(first: 1) { edges { cursor } } }', {}, 'kumo_not-a-real-token')),
    ).toBe('UNAUTHENTICATED');

    const revoked = await k.signIn(ADMIN.email, ADMIN.password);
    const out = await k.gql<{ sessionDelete: { deletedSessionId: string | null } }>(
      'mutation { sessionDelete { deletedSessionId userErrors { code } } }',
      {},
      revoked,
    );
    expect(out.data?.sessionDelete.deletedSessionId).toBeTruthy();
    expect((await k.gql(VIEWER, {}, revoked)).data).toEqual({ viewer: null });

    const expired = await k.signIn(ADMIN.email, ADMIN.password);
    const em = k.kumo.db.fork();
    await em.nativeUpdate(Session, { revokedAt: null }, { expiresAt: new Date(Date.now() - 1000) });
    expect((await k.gql(VIEWER, {}, expired)).data).toEqual({ viewer: null });

    const admin = await k.signIn(ADMIN.email, ADMIN.password);
    await k.gql(
      'mutation { userCreate(input: {email: "leaver@kumo.test", password: "leaver-pass-1"}) { user { id } } }',
      {},
      admin,
    );
    const leaver = await k.signIn('leaver@kumo.test', 'leaver-pass-1');
    const id = (await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, leaver)).data
      ?.viewer.id;
    const removed = await k.gql<{ userRemove: { removedUserId: string | null } }>(
      'mutation($id: ID!) { userRemove(input: {id: $id}) { removedUserId userErrors { code message } } }',
      { id },
      admin,
    );
    expect(removed.data?.userRemove.removedUserId).toBe(id);
    expect((await k.gql(VIEWER, {}, leaver)).data).toEqual({ viewer: null });
  });

  it('revokes every session of a user whose password changes', async () => {
    const admin = await k.signIn(ADMIN.email, ADMIN.password);
    await k.gql(
      'mutation { userCreate(input: {email: "mover@kumo.test", password: "mover-pass-1"}) { user { id } } }',
      {},
      admin,
    );
    const s1 = await k.signIn('mover@kumo.test', 'mover-pass-1');
    const s2 = await k.signIn('mover@kumo.test', 'mover-pass-1');
    const id = (await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, s1)).data?.viewer
      .id;
    const bad = await k.gql<{ userUpdate: { userErrors: Array<{ code: string }> } }>(
      'mutation($id: ID!) { userUpdate(input: {id: $id, password: "new-pass-123", currentPassword: "wrong-one"}) { userErrors { code field } } }',
      { id },
      s1,
    );
    expect(bad.data?.userUpdate.userErrors).toEqual([
      { code: 'INVALID_CREDENTIALS', field: 'input.currentPassword' },
    ]);
    await k.gql(
      'mutation($id: ID!) { userUpdate(input: {id: $id, password: "new-pass-123", currentPassword: "mover-pass-1"}) { user { id } } }',
      { id },
      s1,
    );
    expect((await k.gql(VIEWER, {}, s1)).data).toEqual({ viewer: null });
    expect((await k.gql(VIEWER, {}, s2)).data).toEqual({ viewer: null });
    expect(await k.signIn('mover@kumo.test', 'new-pass-123')).toMatch(/^kumo_/);
  });
});

describe('sign-in rate limit', () => {
  it('stops a brute force on one account after the limit, even with the right password', async () => {
    const k = await startTestKumo({ signInAttempts: 3, signInWindowSeconds: 60 });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await k.gql<{ sessionCreate: { userErrors: Array<{ code: string }> } }>(SIGN_IN, {
          e: ADMIN.email,
          p: `guess-${i}-xx`,
        });
        expect(r.data?.sessionCreate.userErrors[0]?.code).toBe('INVALID_CREDENTIALS');
      }
      const blocked = await k.gql<{
        sessionCreate: {
          token: string | null;
          userErrors: Array<{ code: string; message: string }>;
        };
      }>(SIGN_IN, { e: ADMIN.email, p: ADMIN.password });
      expect(blocked.data?.sessionCreate.token).toBeNull();
      expect(blocked.data?.sessionCreate.userErrors[0]?.code).toBe('RATE_LIMITED');
      expect(blocked.data?.sessionCreate.userErrors[0]?.message).toMatch(/try again in \d+ s/);
    } finally {
      await k.stop();
    }
  });
});

describe('the session cookie (browsers)', () => {
  it('is set HttpOnly and SameSite=Strict at sign-in, authenticates, and is cleared at sign-out', async () => {
    const k = await startTestKumo();
    try {
      const post = (query: string, headers: Record<string, string> = {}) =>
        fetch(k.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify({ query }),
        });
      const signIn = await post(
        `mutation { sessionCreate(input: {email: "${ADMIN.email}", password: "${ADMIN.password}"}) { token } }`,
      );
      const setCookie = signIn.headers.get('set-cookie') ?? '';
      expect(setCookie).toMatch(
        /^kumo_session=kumo_[\w-]{43}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
      );
      const cookie = setCookie.split(';')[0] as string;
      expect(await (await post(VIEWER, { cookie })).json()).toEqual({
        data: { viewer: { email: ADMIN.email, isAdmin: true } },
      });
      const signOut = await post('mutation { sessionDelete { deletedSessionId } }', { cookie });
      expect(signOut.headers.get('set-cookie')).toBe(
        'kumo_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict',
      );
      expect(await (await post(VIEWER, { cookie })).json()).toEqual({ data: { viewer: null } });
    } finally {
      await k.stop();
    }
  });
});
