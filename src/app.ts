import { resolve } from 'node:path';
import type { Config } from './config/config.ts';
import { Database } from './db/database.ts';
import { DriverRegistry } from './drivers/registry.ts';
import type { KumoContext } from './schema/context.ts';
import { buildSchema } from './schema/index.ts';
import { graphiqlDir } from './server/graphiql-assets.ts';
import { type KumoServer, startServer } from './server/http-server.ts';
import { webConsoleBuild } from './server/web-console.ts';
import { AuditService } from './services/audit/audit-service.ts';
import { makeAuthSettings, type SignInLimits } from './services/auth/auth-service.ts';
import { MemoryRateLimiter } from './services/auth/rate-limit.ts';
import { RedisRateLimiter } from './services/auth/rate-limit-redis.ts';
import { createEventBus, type EventBus } from './services/events.ts';
import { ExecRunner } from './services/exec/exec-runner.ts';
import { OutputLogs } from './services/exec/output-log.ts';
import { relayOutput } from './services/exec/output-relay.ts';
import { HostMonitor } from './services/hosts/host-monitor.ts';
import { HostPools } from './services/hosts/host-pool.ts';
import { recordHostEvents } from './services/hosts/host-recorder.ts';
import { HostSync } from './services/hosts/host-sync.ts';
import type { PublisherSettings } from './services/image-lists/list-publisher.ts';
import { ListRefresher } from './services/image-lists/list-refresher.ts';
import { PublishedFiles } from './services/image-lists/published-files.ts';
import { AddressPolicy } from './services/images/address-policy.ts';
import { ImageCache } from './services/images/image-cache.ts';
import { ImageStore } from './services/images/image-store.ts';
import { Limiter } from './services/limiter.ts';
import { Locks } from './services/locks.ts';
import { publishMetrics } from './services/metering/live-metrics.ts';
import { UsageCollector } from './services/metering/usage-collector.ts';
import { UsageRollup } from './services/metering/usage-rollup.ts';
import { CancelRelay } from './services/operations/cancel-relay.ts';
import { OperationRunner } from './services/operations/operation-runner.ts';
import { OveruseEnforcer } from './services/quotas/overuse-enforcer.ts';
import { QuotaGuard } from './services/quotas/quota-guard.ts';
import { quotaLimitsOf } from './services/quotas/quota-service.ts';
import { recoverAlone, settleOrphans } from './services/recovery.ts';
import { followHostChanges } from './services/replicas/host-changes.ts';
import { openRedis, type RedisLink } from './services/replicas/redis.ts';
import { Replicas } from './services/replicas/replicas.ts';
import { RowLocks } from './services/replicas/row-locks.ts';
import { Rounds } from './services/rounds.ts';
import { SecretBox } from './services/secrets/secret-box.ts';
import { requestServices, type SharedServices } from './services/services.ts';
import { ConsoleHub } from './services/vms/console-hub.ts';
import { ConsoleShare } from './services/vms/console-share.ts';
import { MemoryConsoleTickets } from './services/vms/console-tickets.ts';
import { RedisConsoleTickets } from './services/vms/console-tickets-redis.ts';
import { HostStarts } from './services/vms/host-starts.ts';
import { VmHost } from './services/vms/vm-host.ts';
import { VmStateRecorder } from './services/vms/vm-state.ts';
import { VmWatcher } from './services/vms/vm-watcher.ts';

/** Kumo is a running controller. */
export interface Kumo {
  readonly server: KumoServer;
  readonly db: Database;
  /** hosts keeps the connections to the hypervisor hosts. */
  readonly hosts: HostMonitor;
  /** operations runs long actions in the background (services start them). */
  readonly operations: OperationRunner;
  /** vmWatcher keeps VM states current; tests call its sweepAll to force a sweep. */
  readonly vmWatcher: VmWatcher;
  /** metering meters VMs every interval; tests call its collect to force a round. */
  readonly metering: UsageCollector;
  /** events is the bus subscriptions listen on (tests wait for a subscription to listen). */
  readonly events: EventBus;
  /** replicas is this process among the controller's replicas (its leases, its heartbeat). */
  readonly replicas: Replicas;
  /**
   * fenced resolves, after the controller has stopped itself, when the other replicas found
   * this one dead (or it lost the database): the process should exit.
   */
  readonly fenced: Promise<string>;
  /** adminPassword is the first admin's generated password, when this start created it. */
  readonly adminPassword: string | null;
  stop(): Promise<void>;
}

/**
 * startKumo is the composition root: it opens the database (applying migrations), creates the
 * first admin on an empty database, and serves the API. Everything is wired here, once.
 */
export async function startKumo(config: Config): Promise<Kumo> {
  // Each part started pushes how to stop it; stop() and a failed start run them newest first,
  // so a start that fails half-way leaves no connection, timer or open database behind.
  const stops: Array<() => Promise<void> | void> = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step();
  };
  try {
    const db = await Database.open(config);
    stops.push(() => db.close());
    // Shared by the replicas (events, sign-in limits, console tickets); closed after its users.
    const redis = config.replicas.redisUrl
      ? await openRedis(config.replicas.redisUrl, { prefix: config.replicas.redisPrefix })
      : undefined;
    if (redis) stops.push(() => redis.close());
    let fencedWhy: (why: string) => void = () => {};
    const fenced = new Promise<string>((r) => {
      fencedWhy = r;
    });
    const r = config.replicas;
    const replicas = new Replicas({
      fork: () => db.fork(),
      dialect: db.dialect,
      timing: { heartbeatMs: r.heartbeatSeconds * 1000, deadAfterMs: r.deadAfterSeconds * 1000 },
      shared: r.redisUrl !== undefined,
      orphans: async (ids) => {
        const resumed = await settleOrphans(db.fork(), store, ids);
        await execRunner.resume(resumed);
      },
      // Another replica holds this one's hosts and operations now: stop before doing harm.
      fenced: (why) => {
        process.emitWarning(`kumo: this replica stops: ${why}`);
        void stop().finally(() => fencedWhy(why));
      },
    });
    const { alone } = await replicas.join(
      config.publicUrl ?? `http://${config.listen.host}:${config.listen.port}`,
    );
    stops.push(() => replicas.leave());
    const a = config.auth;
    const scrypt = { n: 2 ** a.scryptLog2N, r: 8, p: 1 };
    const limits = signInLimits(a, redis);
    const registry = DriverRegistry.withBuiltins();
    await registry.loadPackages(config.drivers.packages);
    const monitor = new HostMonitor(registry);
    stops.push(() => monitor.close());
    const secrets = SecretBox.fromConfig(config);
    const events = createEventBus(redis);
    const operations = new OperationRunner(() => db.fork(), events, replicas.id);
    stops.push(() => operations.close());
    const cancels = new CancelRelay(events, operations, replicas.id);
    stops.push(cancels.start());
    const store = new ImageStore(resolve(config.dataDir, config.images.storeDir));
    await store.open();
    if (alone) await recoverAlone(db.fork(), store);
    const pools = new HostPools({ name: config.storage.poolName, path: config.storage.poolPath });
    const cache = new ImageCache(() => db.fork(), monitor, pools, store);
    const states = new VmStateRecorder(() => db.fork(), events);
    const rounds = new Rounds();
    const vmWatcher = new VmWatcher(
      () => db.fork(),
      monitor,
      replicas.leases,
      states,
      cache,
      new VmHost(monitor, pools, config.vms.network),
      config.vms.reconcileIntervalSeconds * 1000,
      rounds,
    );
    vmWatcher.start();
    stops.push(() => vmWatcher.stop());
    const v = config.vms;
    const lockStore = r.redisUrl ? new RowLocks(() => db.fork(), replicas.id) : null;
    const locks = <K extends string>(scope: string) =>
      new Locks<K>(lockStore ? { store: lockStore, scope } : undefined);
    const consoleShare = lockStore ? new ConsoleShare(events, lockStore, replicas.id) : null;
    if (consoleShare) stops.push(consoleShare.start());
    const quotas = new QuotaGuard(() => db.fork(), config.quotas, events, locks('quota'));
    const rollups = new UsageRollup(() => db.fork(), {
      minuteHours: config.metering.minuteRetentionHours,
      hourDays: config.metering.hourRetentionDays,
    });
    const metering = new UsageCollector({
      monitor,
      watch: replicas.leases,
      fork: () => db.fork(),
      intervalMs: config.metering.intervalSeconds * 1000,
      rounds,
      onRound: async (usage) => {
        await publishMetrics(events, usage).catch((err: unknown) =>
          process.emitWarning(`publishing metrics: ${String(err)}`),
        );
        await overuse.check(new Set(usage.map((u) => u.ownerId)));
        if (replicas.leads()) await rollups.due();
      },
    });
    const policy = new AddressPolicy(config.images.allowedAddresses);
    const lists = new ListRefresher({
      fork: () => db.fork(),
      images: () => requestServices(shared).images,
      audit: new AuditService(() => db.fork()),
      operations,
      events,
      policy,
      maxListBytes: BigInt(config.imageLists.maxListBytes),
      locks: locks('image-list'),
    });
    const x = config.exec;
    const execLogs = new OutputLogs({
      perExecutionBytes: x.outputBytes,
      totalBytes: x.totalOutputBytes,
      retentionMs: x.outputRetentionSeconds * 1000,
    });
    if (events.shared) stops.push(relayOutput(events, execLogs, replicas.id));
    const execRunner = new ExecRunner({
      fork: () => db.fork(),
      operations,
      audit: new AuditService(() => db.fork()),
      vms: () => requestServices(shared).vms,
      logs: execLogs,
      starts: new Limiter(x.startConcurrency),
    });
    const shared: SharedServices = {
      fork: () => db.fork(),
      auth: await makeAuthSettings(limits, a.sessionTtlSeconds, scrypt),
      scrypt,
      quotaDefaults: quotaLimitsOf(config.quotas.defaults),
      hosts: {
        registry,
        monitor,
        secrets,
        connectTimeoutMs: 10_000,
        localUri: config.localLibvirtUri,
        events,
      },
      events,
      operations,
      cancels,
      images: {
        store,
        cache,
        policy,
        maxBytes: BigInt(config.images.maxBytes),
        operations,
        quotas,
      },
      imageLists: { refresher: lists, policy },
      listPublisher: publisherSettings(config, () => listening),
      vms: {
        monitor,
        pools,
        cache,
        operations,
        locks: locks('vm'),
        placement: locks('placement'),
        starts: new HostStarts(v.startsPerHost, lockStore),
        quotas,
        states,
        metering,
        spoolDir: store.dir,
        settings: {
          network: v.network,
          placement: v.placement,
          shutdownTimeoutSeconds: v.shutdownTimeoutSeconds,
          maxVcpus: v.maxVcpus,
          maxMemoryBytes: BigInt(v.maxMemoryBytes),
          maxDiskBytes: BigInt(v.maxDiskBytes),
          ownersMayMigrate: v.ownersMayMigrate,
          evacuationConcurrency: v.evacuationConcurrency,
        },
      },
      consoles: {
        hub: new ConsoleHub(),
        tickets: redis
          ? new RedisConsoleTickets(redis, v.consoleTicketSeconds)
          : new MemoryConsoleTickets(v.consoleTicketSeconds),
        accessCheckMs: 5000,
        share: consoleShare,
        logins: locks('display-login'),
      },
      exec: {
        runner: execRunner,
        logs: execLogs,
        settings: {
          filePaths: x.filePaths,
          maxFileBytes: x.maxFileBytes,
          defaultTimeoutSeconds: x.defaultTimeoutSeconds,
          maxTimeoutSeconds: x.maxTimeoutSeconds,
          maxVms: x.maxVms,
        },
      },
    };
    const overuse = new OveruseEnforcer({
      fork: () => db.fork(),
      guard: quotas,
      vms: () => requestServices(shared).vms,
    });
    metering.start();
    stops.push(() => metering.stop());
    lists.start(config.imageLists.refreshSeconds * 1000, () => replicas.leads());
    stops.push(() => lists.stop());
    stops.push(
      recordHostEvents(monitor, replicas.leases, shared.fork, (change) =>
        events.publish('hostStateChanged', change),
      ),
    );
    const hostSync = new HostSync(() => db.fork(), monitor, secrets);
    await hostSync.all();
    stops.push(followHostChanges(events, hostSync, replicas, config.vms.reconcileIntervalSeconds));
    // Once the hosts are known: the first beat settles what dead replicas (or this process's
    // previous run) left under way, follows their commands in guests again, takes hosts.
    await replicas.start();
    const boot = await requestServices(shared).users.ensureAdmin(
      config.admin.email,
      config.admin.password,
    );
    let listening: KumoServer | null = null;
    const server = await startServer<KumoContext>({
      config,
      rounds,
      schema: buildSchema(),
      context: async (request) => {
        const services = requestServices(shared);
        return {
          actor: await services.auth.authenticate(request.token, request.address),
          request,
          services,
          revealed: new Set<string>(),
        };
      },
      health: async () => {
        try {
          await db.fork().getConnection().execute('select 1');
          return { ok: true, checks: { database: 'ok' } };
        } catch (err) {
          return {
            ok: false,
            checks: { database: err instanceof Error ? err.message : String(err) },
          };
        }
      },
      graphiqlDir: graphiqlDir(),
      webConsole: webConsoleBuild(),
      // A subscription's results depend on the event and on who is signed in, nothing else.
      viewerOf: (context) => {
        const actor = (context as Partial<KumoContext>).actor;
        return actor ? `${actor.userId}:${actor.isAdmin}` : null;
      },
      uploads: {
        limits: {
          dir: store.dir,
          maxFileBytes: config.images.maxBytes,
          maxFieldBytes: config.graphql.bodyLimitBytes,
        },
        allowed: async (info) =>
          (await requestServices(shared).auth.authenticate(info.token, info.address)) !== null,
      },
      consoles: { connect: (ticket) => requestServices(shared).consoles.connect(ticket) },
      displays: { display: (ticket) => requestServices(shared).consoles.display(ticket) },
      publishedLists: new PublishedFiles(() => db.fork(), store),
    });
    listening = server;
    stops.push(() => server.close());
    await replicas.registry.announce(server.url);
    return {
      server,
      db,
      operations,
      hosts: monitor,
      vmWatcher,
      metering,
      events,
      replicas,
      fenced,
      adminPassword: boot.password,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

// Sign-in failures count across replicas through Redis when there is one, else in this process.
function signInLimits(a: Config['auth'], redis: RedisLink | undefined): SignInLimits {
  const limiter = (name: string) =>
    redis
      ? new RedisRateLimiter(redis, name, a.signInAttempts, a.signInWindowSeconds)
      : new MemoryRateLimiter(a.signInAttempts, a.signInWindowSeconds);
  return { byAccount: limiter('sign-in-account'), byAddress: limiter('sign-in-address') };
}

// Published lists name their files under publicUrl, or else where the controller listens.
function publisherSettings(config: Config, server: () => KumoServer | null): PublisherSettings {
  const p = config.imageLists.publisher;
  const file = (f: string | undefined) => (f ? resolve(config.dataDir, f) : undefined);
  return {
    baseUrl: () => {
      if (config.publicUrl) return config.publicUrl.replace(/\/+$/, '');
      const listening = server();
      if (!listening) throw new Error('the controller is not listening yet');
      return new URL(listening.url).origin;
    },
    certificateFile: file(p.certificateFile),
    keyFile: file(p.keyFile),
    chainFile: file(p.chainFile),
    creator: p.creator,
    email: p.email,
  };
}
