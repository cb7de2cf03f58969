import type { Operation } from '../entities/operation.ts';
import { Replica } from '../entities/replica.ts';
import type { ReplicaView } from '../services/replicas/replica-service.ts';
import { builder } from './builder.ts';
import { HostType } from './host.ts';
import { OperationType } from './operation.ts';

const ReplicaType = builder.objectRef<Replica>('Replica').implement({
  description:
    'A controller process serving this cloud. Each host is looked after by one replica (its domain events, sweeps, metering); each operation runs on one.',
  fields: (t) => ({
    id: t.exposeString('id'),
    name: t.exposeString('name', { description: '<hostname>:<pid>' }),
    url: t.exposeString('url', { description: 'Where it serves the API.' }),
    startedAt: t.expose('startedAt', { type: 'DateTime' }),
    seenAt: t.expose('seenAt', { type: 'DateTime', description: 'Its last heartbeat.' }),
  }),
});

const ReplicaStatusType = builder.objectRef<ReplicaView>('ReplicaStatus').implement({
  fields: (t) => ({
    replica: t.field({ type: ReplicaType, resolve: (v) => v.replica }),
    hosts: t.exposeInt('hosts', { description: 'How many hosts it looks after.' }),
    leads: t.exposeBoolean('leads', {
      description: 'The oldest replica runs the chores done once for all: rollups, list refreshes.',
    }),
  }),
});

builder.queryFields((t) => ({
  replicas: t.field({
    type: [ReplicaStatusType],
    authScopes: { admin: true },
    description: 'The controller replicas alive now, oldest first (admins only).',
    resolve: (_r, _a, ctx) =>
      ctx.services.replicas.list(ctx.actor as NonNullable<typeof ctx.actor>),
  }),
}));

builder.objectField(HostType, 'replica', (t) =>
  t.field({
    type: ReplicaType,
    nullable: true,
    authScopes: { admin: true },
    description: 'The replica looking after this host; null while none has taken it.',
    resolve: (h, _a, ctx) =>
      h.replicaId ? ctx.services.em.findOne(Replica, { id: h.replicaId }) : null,
  }),
);

builder.objectField(OperationType, 'replica', (t) =>
  t.field({
    type: ReplicaType,
    nullable: true,
    authScopes: { admin: true },
    description: 'The replica running this operation (null once that replica is gone).',
    resolve: (o: Operation) => (o.replica ? o.replica.load().then((r) => r ?? null) : null),
  }),
);
