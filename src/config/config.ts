import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

/** Overuse is the policy for a user's running VMs once a consumption limit is crossed. */
const Overuse = z
  .object({
    action: z.enum(['NONE', 'SUSPEND']).default('NONE'),
    /** graceSeconds is how long VMs run on, over the limit, before they are paused. */
    graceSeconds: z.number().int().min(0).default(3600),
  })
  .prefault({});

/**
 * ConfigSchema is Kumo's one configuration: a JSON file (KUMO_CONFIG, default ./kumo.json when
 * present) with environment variables on top. Defaults run a controller on one machine.
 */
export const ConfigSchema = z
  .object({
    /** dataDir holds the SQLite database, the secret key and the image store. @default ./data */
    dataDir: z.string().default('./data'),
    /**
     * publicUrl is where other machines reach this controller (`https://kumo.example.org`): the
     * lists it publishes name their image files under it. @default http://<listen.host>:<listen.port>
     */
    publicUrl: z.url({ protocol: /^https?$/ }).optional(),
    listen: z
      .object({
        /** @default 127.0.0.1 */
        host: z.string().default('127.0.0.1'),
        /** @default 8080 */
        port: z.number().int().min(0).max(65535).default(8080),
      })
      .prefault({}),
    database: z
      .object({
        /**
         * url selects the database: `postgres://user:pass@host:5432/db` for PostgreSQL, or
         * `sqlite:<path>` (relative to dataDir unless absolute). @default sqlite:kumo.sqlite
         */
        url: z.string().default('sqlite:kumo.sqlite'),
        /** debug logs every SQL statement. @default false */
        debug: z.boolean().default(false),
      })
      .prefault({}),
    /**
     * secretKey encrypts host credentials at rest (32 bytes, base64). When absent it is generated
     * once into `<dataDir>/secret.key`.
     */
    secretKey: z.string().optional(),
    admin: z
      .object({
        /** email of the admin created at first start. @default admin@kumo.local */
        email: z.string().default('admin@kumo.local'),
        /** password of that admin; when absent a random one is printed once. */
        password: z.string().optional(),
      })
      .prefault({}),
    graphql: z
      .object({
        /** graphiql serves GraphiQL at the endpoint. @default true */
        graphiql: z.boolean().default(true),
        /** introspection allows schema introspection. @default true */
        introspection: z.boolean().default(true),
        /** maxDepth, maxAliases, maxTokens and maxCost bound a document. */
        maxDepth: z.number().int().positive().default(12),
        maxAliases: z.number().int().positive().default(20),
        maxTokens: z.number().int().positive().default(2000),
        maxCost: z.number().int().positive().default(5000),
        /** bodyLimitBytes bounds a request body. @default 1 MiB */
        bodyLimitBytes: z
          .number()
          .int()
          .positive()
          .default(1024 * 1024),
      })
      .prefault({}),
    auth: z
      .object({
        /** sessionTtlSeconds is how long a session token lives. @default 12 h */
        sessionTtlSeconds: z
          .number()
          .int()
          .positive()
          .default(12 * 3600),
        /** signInAttempts per window, per account and per address. @default 10 per 60 s */
        signInAttempts: z.number().int().positive().default(10),
        signInWindowSeconds: z.number().int().positive().default(60),
        /** scryptLog2N is the password hash's cost: N = 2^scryptLog2N. @default 17 (OWASP's minimum) */
        scryptLog2N: z.number().int().min(10).max(20).default(17),
      })
      .prefault({}),
    /**
     * localLibvirtUri is where a libvirtd on this machine would answer; when one does, it is
     * offered to admins as a host to add. @default qemu:///system
     */
    localLibvirtUri: z.string().default('qemu:///system'),
    images: z
      .object({
        /** storeDir holds the image store (`<imageId>.<format>`); relative to dataDir. @default images */
        storeDir: z.string().default('images'),
        /** maxBytes bounds one image file, imported or uploaded. @default 64 GiB */
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 2 ** 30),
        /**
         * allowedAddresses are CIDRs that image URLs may reach although they are loopback,
         * link-local or private (an internal mirror, say). @default none
         */
        allowedAddresses: z.array(z.string()).default([]),
      })
      .prefault({}),
    storage: z
      .object({
        /** poolName is the libvirt storage pool Kumo creates and uses on every host. @default kumo */
        poolName: z.string().default('kumo'),
        /** poolPath is that pool's directory on each host. @default /var/lib/libvirt/images/kumo */
        poolPath: z.string().default('/var/lib/libvirt/images/kumo'),
      })
      .prefault({}),
    vms: z
      .object({
        /** network is the libvirt network on each host that VM NICs join. @default default */
        network: z.string().default('default'),
        /** placement: `spread` puts a VM on the least loaded host, `pack` on the fullest that fits. */
        placement: z.enum(['spread', 'pack']).default('spread'),
        /** shutdownTimeoutSeconds is how long vmShutdown waits before forcing off. @default 60 */
        shutdownTimeoutSeconds: z.number().int().min(1).max(3600).default(60),
        /** reconcileIntervalSeconds is how often domains are compared with the database. @default 30 */
        reconcileIntervalSeconds: z.number().int().min(1).max(3600).default(30),
        /** maxVcpus and maxMemoryBytes bound what one VM may ask for (and grow to live). */
        maxVcpus: z.number().int().min(1).max(512).default(32),
        maxMemoryBytes: z
          .number()
          .int()
          .positive()
          .default(256 * 2 ** 30),
        /** maxDiskBytes bounds one VM disk. @default 2 TiB */
        maxDiskBytes: z
          .number()
          .int()
          .positive()
          .default(2 * 2 ** 40),
        /** consoleTicketSeconds is how long a console ticket may wait to be used. @default 60 */
        consoleTicketSeconds: z.number().int().min(5).max(600).default(60),
        /** ownersMayMigrate lets VM owners migrate their VMs (admins always may). @default false */
        ownersMayMigrate: z.boolean().default(false),
        /** evacuationConcurrency is how many VMs move off a host at a time. @default 2 */
        evacuationConcurrency: z.number().int().min(1).max(64).default(2),
        /** startsPerHost is how many VMs a host starts at once (the rest wait). @default 8 */
        startsPerHost: z.number().int().min(1).max(256).default(8),
      })
      .prefault({}),
    exec: z
      .object({
        /**
         * filePaths are the guest directories vmFilePut may deliver into (absolute; subdirectories
         * included); empty refuses every delivery. @default /tmp, /var/tmp, /opt, /srv
         */
        filePaths: z
          .array(z.string().startsWith('/'))
          .default(['/tmp', '/var/tmp', '/opt', '/srv']),
        /** maxFileBytes bounds one delivered file (held in memory while it is delivered). @default 64 MiB */
        maxFileBytes: z
          .number()
          .int()
          .positive()
          .default(64 * 2 ** 20),
        /** defaultTimeoutSeconds is how long a command may run when the request does not say. @default 600 */
        defaultTimeoutSeconds: z.number().int().min(1).default(600),
        /** maxTimeoutSeconds bounds what a request may ask for. @default 1 day */
        maxTimeoutSeconds: z.number().int().min(1).default(86_400),
        /** maxVms bounds the VMs one request names. @default 1000 */
        maxVms: z.number().int().min(1).default(1000),
        /** startConcurrency is how many executions deliver and start at once, controller-wide. @default 32 */
        startConcurrency: z.number().int().min(1).max(1024).default(32),
        /** outputBytes bounds the output held per execution; older lines are dropped. @default 1 MiB */
        outputBytes: z
          .number()
          .int()
          .min(4096)
          .default(2 ** 20),
        /** totalOutputBytes bounds all output held: ended executions' output goes first. @default 256 MiB */
        totalOutputBytes: z
          .number()
          .int()
          .min(4096)
          .default(256 * 2 ** 20),
        /** outputRetentionSeconds is how long an ended execution's output is held. @default 1 h */
        outputRetentionSeconds: z.number().int().min(0).default(3600),
      })
      .prefault({}),
    metering: z
      .object({
        /** intervalSeconds is how often each host's VMs are metered (one call per host). @default 10 */
        intervalSeconds: z.number().int().min(1).max(3600).default(10),
        /** minuteRetentionHours is how long per-minute usage is kept before hours replace it. @default 24 */
        minuteRetentionHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 31)
          .default(24),
        /** hourRetentionDays is how long per-hour usage is kept before days replace it (days stay). @default 31 */
        hourRetentionDays: z.number().int().min(1).max(3660).default(31),
      })
      .prefault({}),
    quotas: z
      .object({
        /**
         * defaults are the limits each new user starts with (null: unlimited); admins change them
         * per user with quotaSet. Byte limits are numbers of bytes.
         */
        defaults: z
          .object({
            vms: z.number().int().min(0).nullable().default(null),
            runningVms: z.number().int().min(0).nullable().default(null),
            vcpus: z.number().int().min(0).nullable().default(null),
            memoryBytes: z.number().int().min(0).nullable().default(null),
            diskBytes: z.number().int().min(0).nullable().default(null),
            images: z.number().int().min(0).nullable().default(null),
            imageBytes: z.number().int().min(0).nullable().default(null),
            snapshots: z.number().int().min(0).nullable().default(null),
            cpuSeconds: z.number().int().min(0).nullable().default(null),
            diskReadBytes: z.number().int().min(0).nullable().default(null),
            diskWriteBytes: z.number().int().min(0).nullable().default(null),
            netRxBytes: z.number().int().min(0).nullable().default(null),
            netTxBytes: z.number().int().min(0).nullable().default(null),
          })
          .prefault({}),
        /** window is the calendar period (UTC) consumption limits count over. @default MONTH */
        window: z.enum(['DAY', 'WEEK', 'MONTH']).default('MONTH'),
        /**
         * overuse says, per consumption limit, what happens to a user's running VMs once the limit
         * is crossed (new reservations are refused either way): NONE leaves them be, SUSPEND
         * pauses them after graceSeconds. @default NONE for every limit
         */
        overuse: z
          .object({
            cpuSeconds: Overuse,
            diskReadBytes: Overuse,
            diskWriteBytes: Overuse,
            netRxBytes: Overuse,
            netTxBytes: Overuse,
          })
          .prefault({}),
      })
      .prefault({}),
    imageLists: z
      .object({
        /** refreshSeconds is how often every subscribed image list is checked. @default 1 h */
        refreshSeconds: z
          .number()
          .int()
          .min(10)
          .max(7 * 86400)
          .default(3600),
        /** maxListBytes bounds one list download. @default 4 MiB */
        maxListBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 2 ** 20),
        /**
         * publisher is the endorser identity this controller signs the lists it publishes with:
         * PEM files (relative to dataDir unless absolute) of a certificate, its private key
         * (PKCS#8) and optionally the intermediate CAs above it, and the list's creator and email.
         * Without a certificate and key, lists cannot be published.
         */
        publisher: z
          .object({
            certificateFile: z.string().optional(),
            keyFile: z.string().optional(),
            chainFile: z.string().optional(),
            creator: z.string().default(''),
            email: z.string().default(''),
          })
          .prefault({}),
      })
      .prefault({}),
    drivers: z
      .object({
        /** packages are extra driver modules to load (each exports a driver factory). */
        packages: z.array(z.string()).default([]),
      })
      .prefault({}),
    replicas: z
      .object({
        /**
         * redisUrl (`redis://host:6379/0`) lets several controller processes share one PostgreSQL:
         * events, sign-in limits and console tickets go through it. Without it the controller runs
         * alone and refuses to start beside another live one on the same database.
         */
        redisUrl: z.url({ protocol: /^rediss?$/ }).optional(),
        /**
         * redisPrefix begins every key and channel of this cloud's, so that several clouds (or
         * test runs) can share one Redis: channels ignore its database number. @default kumo:
         */
        redisPrefix: z
          .string()
          .regex(/^[A-Za-z0-9:_.-]{1,64}$/)
          .default('kumo:'),
        /** heartbeatSeconds is how often a replica says it is alive (and balances hosts). @default 2 */
        heartbeatSeconds: z.number().min(0.2).max(60).default(2),
        /**
         * deadAfterSeconds: a replica not heard of for this long is dead; another takes its hosts
         * and settles its operations. A replica that cannot reach the database for nearly this
         * long stops itself first. @default 10
         */
        deadAfterSeconds: z.number().min(1).max(600).default(10),
      })
      .prefault({})
      .refine((r) => r.deadAfterSeconds >= 3 * r.heartbeatSeconds, {
        message: 'deadAfterSeconds must be at least three heartbeats',
      }),
  })
  .refine((c) => c.replicas.redisUrl === undefined || /^postgres(ql)?:/.test(c.database.url), {
    message:
      'replicas (replicas.redisUrl) share a PostgreSQL database: set database.url to postgres://...',
    path: ['replicas', 'redisUrl'],
  });

/** Config is the parsed, defaulted configuration. */
export type Config = z.infer<typeof ConfigSchema>;

/** ConfigSource says where the configuration comes from; tests pass their own. */
export interface ConfigSource {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** overrides are applied last (tests). */
  readonly overrides?: Partial<z.input<typeof ConfigSchema>>;
}

/** ENV maps environment variables onto config paths. */
const ENV: ReadonlyArray<readonly [string, readonly string[], 'string' | 'number' | 'boolean']> = [
  ['KUMO_DATA_DIR', ['dataDir'], 'string'],
  ['KUMO_PUBLIC_URL', ['publicUrl'], 'string'],
  ['KUMO_LISTEN_HOST', ['listen', 'host'], 'string'],
  ['KUMO_LISTEN_PORT', ['listen', 'port'], 'number'],
  ['KUMO_DATABASE_URL', ['database', 'url'], 'string'],
  ['KUMO_SECRET_KEY', ['secretKey'], 'string'],
  ['KUMO_ADMIN_EMAIL', ['admin', 'email'], 'string'],
  ['KUMO_ADMIN_PASSWORD', ['admin', 'password'], 'string'],
  ['KUMO_GRAPHIQL', ['graphql', 'graphiql'], 'boolean'],
  ['KUMO_INTROSPECTION', ['graphql', 'introspection'], 'boolean'],
  ['KUMO_REDIS_URL', ['replicas', 'redisUrl'], 'string'],
];

/** loadConfig reads the file, applies the environment and overrides, and validates the result. */
export function loadConfig(source: ConfigSource = {}): Config {
  const env = source.env ?? process.env;
  const file = source.file ?? env.KUMO_CONFIG;
  const raw: Record<string, unknown> = file ? readJson(file) : {};
  for (const [name, path, kind] of ENV) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, coerce(name, value, kind));
  }
  const merged = mergeDeep(raw, source.overrides ?? {});
  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  }
  return { ...parsed.data, dataDir: resolve(parsed.data.dataDir) };
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`cannot read the configuration file ${file}: ${(err as Error).message}`);
  }
}

function coerce(name: string, value: string, kind: 'string' | 'number' | 'boolean'): unknown {
  if (kind === 'string') return value;
  if (kind === 'number') {
    const n = Number(value);
    if (!Number.isFinite(n))
      throw new Error(`${name} must be a number, got ${JSON.stringify(value)}`);
    return n;
  }
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new Error(`${name} must be true or false, got ${JSON.stringify(value)}`);
}

function setPath(target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

function mergeDeep(
  a: Record<string, unknown>,
  b: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeDeep(prev, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
