import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/wait.ts';
import { ADMIN, codeOf, startTestKumo, type TestKumo } from './support.ts';

interface Events {
  auditEvents: {
    edges: Array<{
      node: {
        action: string;
        result: string;
        targetType: string;
        targetId: string | null;
        message: string | null;
        actor: { email: string } | null;
      };
    }>;
  };
}

const EVENTS =
  '{ auditEvents(first: 50) { edges { node { action result targetType targetId message actor { email } } } } }';

describe('the audit trail', () => {
  let k: TestKumo;
  let admin: string;
  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
  });
  afterAll(() => k.stop());

  it('records every mutation: done, failed, refused by a service, refused by a scope', async () => {
    await k.gql(
      'mutation { userCreate(input: {email: "ann@kumo.test", password: "ann-password"}) { user { id } } }',
      {},
      admin,
    );
    await k.gql(
      'mutation { userCreate(input: {email: "ann@kumo.test", password: "ann-password"}) { userErrors { code } } }',
      {},
      admin,
    );
    const ann = await k.signIn('ann@kumo.test', 'ann-password');
    const refused = await k.gql(
      'mutation { userCreate(input: {email: "bob@kumo.test", password: "bob-password"}) { user { id } } }',
      {},
      ann,
    );
    expect(codeOf(refused)).toBe('FORBIDDEN');
    const annId = (await k.gql<{ viewer: { id: string } }>('{ viewer { id } }', {}, ann)).data
      ?.viewer.id;
    const selfPromote = await k.gql(
      'mutation($id: ID!) { userUpdate(input: {id: $id, isAdmin: true}) { user { isAdmin } } }',
      { id: annId },
      ann,
    );
    expect(codeOf(selfPromote)).toBe('FORBIDDEN');
    await k.gql(
      'mutation { sessionCreate(input: {email: "ann@kumo.test", password: "wrong-password"}) { token } }',
    );

    // Scope refusals are written without delaying the response: wait for the write.
    const events = await until(
      async () => {
        const edges = (await k.gql<Events>(EVENTS, {}, admin)).data?.auditEvents.edges ?? [];
        return edges.some((e) => e.node.action === 'userCreate' && e.node.result === 'DENIED')
          ? edges
          : undefined;
      },
      5000,
      'the refusal to be audited',
    );
    const seen = events.map((e) => [e.node.action, e.node.result, e.node.actor?.email ?? null]);
    expect(seen).toContainEqual(['userCreate', 'OK', ADMIN.email]);
    expect(seen).toContainEqual(['userCreate', 'ERROR', ADMIN.email]);
    expect(seen).toContainEqual(['userCreate', 'DENIED', 'ann@kumo.test']);
    expect(seen).toContainEqual(['userUpdate', 'DENIED', 'ann@kumo.test']);
    expect(seen).toContainEqual(['sessionCreate', 'ERROR', null]);
    expect(
      events.find((e) => e.node.result === 'ERROR' && e.node.action === 'userCreate')?.node.message,
    ).toMatch(/^CONFLICT: /);
    expect(codeOf(await k.gql(EVENTS, {}, ann))).toBe('FORBIDDEN');
  });
});
