import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserId } from '../../src/entities/ids.ts';
import { User } from '../../src/entities/user.ts';
import { until } from '../support/wait.ts';
import { ADMIN, addUser, listening, startTestKumo, subscriber, type TestKumo } from './support.ts';

// Operations are started by the services of the next issue (imports, VM creation); here the
// test starts them through the runner with work it controls, and drives them through the API.
describe('operations', () => {
  let k: TestKumo;
  let admin: string;
  let alice: string;
  let bob: string;
  let aliceId: UserId;
  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
    alice = await addUser(k, admin, 'alice');
    bob = await addUser(k, admin, 'bob');
    aliceId = (await k.kumo.db.fork().findOneOrFail(User, { email: 'alice@kumo.test' })).id;
  });
  afterAll(() => k.stop());

  const globalId = (id: string) => Buffer.from(`Operation:${id}`).toString('base64');

  it('streams progress to its owner and ends SUCCEEDED', async () => {
    let finish: () => void = () => {};
    const gate = new Promise<void>((r) => {
      finish = r;
    });
    const op = await k.kumo.operations.start({
      kind: 'imageImport',
      actorId: aliceId,
      targetType: 'IMAGE',
      work: async (ctx) => {
        ctx.progress(0.5, 'downloading');
        await gate;
      },
    });
    const subscribed = listening(k, 'operationUpdated');
    const client = subscriber(k, alice);
    const seen: string[] = [];
    const watching = (async () => {
      for await (const r of client.iterate<{
        operationUpdated: { status: string; progress: number; phase: string | null };
      }>({
        query: 'subscription($o: ID) { operationUpdated(operation: $o) { status progress phase } }',
        variables: { o: globalId(op.id) },
      })) {
        const u = r.data?.operationUpdated;
        seen.push(`${u?.status} ${u?.progress} ${u?.phase}`);
        if (u?.status === 'SUCCEEDED') return;
      }
    })();
    await subscribed();
    finish();
    await Promise.race([
      watching,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`seen ${seen}`)), 10_000)),
    ]);
    expect(seen.at(-1)).toBe('SUCCEEDED 1 downloading');
    await client.dispose();
    const mine = await k.gql<{
      operations: { edges: Array<{ node: { kind: string; status: string } }> };
    }>('{ operations(first: 10) { edges { node { kind status } } } }', {}, alice);
    expect(mine.data?.operations.edges.map((e) => e.node)).toContainEqual({
      kind: 'imageImport',
      status: 'SUCCEEDED',
    });
    const theirs = await k.gql<{ operations: { edges: unknown[] } }>(
      '{ operations(first: 10) { edges { node { kind } } } }',
      {},
      bob,
    );
    expect(theirs.data?.operations.edges).toEqual([]);
  });

  it('is cancelled by its owner (others are told it does not exist); the work sees the signal', async () => {
    let aborted = false;
    const op = await k.kumo.operations.start({
      kind: 'vmCreate',
      actorId: aliceId,
      targetType: 'VM',
      work: (ctx) =>
        new Promise<void>((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('stopped'));
          });
        }),
    });
    const CANCEL =
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { operation { status error } userErrors { code } } }';
    const byBob = await k.gql<{ operationCancel: { userErrors: Array<{ code: string }> } }>(
      CANCEL,
      { id: globalId(op.id) },
      bob,
    );
    expect(byBob.data?.operationCancel.userErrors).toEqual([{ code: 'NOT_FOUND' }]);
    const byAlice = await k.gql<{
      operationCancel: { operation: { status: string; error: string | null } };
    }>(CANCEL, { id: globalId(op.id) }, alice);
    expect(byAlice.data?.operationCancel.operation).toEqual({ status: 'CANCELLED', error: null });
    expect(aborted).toBe(true);
    const again = await k.gql<{ operationCancel: { userErrors: Array<{ code: string }> } }>(
      CANCEL,
      { id: globalId(op.id) },
      alice,
    );
    expect(again.data?.operationCancel.userErrors).toEqual([{ code: 'REFUSED' }]);
  });

  it('refuses a cancel past its point of no return, saying why, and accepts one again once lifted', async () => {
    let lift: () => void = () => {};
    const lifted = new Promise<void>((r) => {
      lift = r;
    });
    let passed: () => void = () => {};
    const past = new Promise<void>((r) => {
      passed = r;
    });
    const op = await k.kumo.operations.start({
      kind: 'vmMigrate',
      actorId: aliceId,
      targetType: 'VM',
      work: async (ctx) => {
        ctx.uncancellable('the VM runs on hv2 already');
        passed();
        await lifted;
        ctx.uncancellable(null);
        await new Promise<void>((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => reject(new Error('stopped'))),
        );
      },
    });
    await past;
    const CANCEL =
      'mutation($id: ID!) { operationCancel(input: {id: $id}) { operation { status } userErrors { code message } } }';
    const refused = await k.gql<{
      operationCancel: { userErrors: Array<{ code: string; message: string }> };
    }>(CANCEL, { id: globalId(op.id) }, alice);
    expect(refused.data?.operationCancel.userErrors).toEqual([
      {
        code: 'REFUSED',
        message: `operation ${op.id} can no longer be cancelled: the VM runs on hv2 already`,
      },
    ]);
    lift();
    await until(
      async () => {
        const r = await k.gql<{ operationCancel: { operation: { status: string } | null } }>(
          CANCEL,
          { id: globalId(op.id) },
          alice,
        );
        return r.data?.operationCancel.operation?.status === 'CANCELLED' ? true : undefined;
      },
      10_000,
      'the cancel to be accepted',
    );
  });

  it('records a failure with its message', async () => {
    const op = await k.kumo.operations.start({
      kind: 'vmCreate',
      actorId: aliceId,
      targetType: 'VM',
      work: async () => {
        throw new Error('no host has 64 GiB free');
      },
    });
    await k.kumo.operations.settled(op.id);
    const r = await k.gql<{ node: { status: string; error: string } }>(
      'query($id: ID!) { node(id: $id) { ... on Operation { status error } } }',
      { id: globalId(op.id) },
      admin,
    );
    expect(r.data?.node).toEqual({ status: 'FAILED', error: 'no host has 64 GiB free' });
  });
});
