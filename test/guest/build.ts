// Builds Kumo's test guest: a raw disk image holding one FAT filesystem (no partition table)
// with SYSLINUX, Debian's cloud kernel and a busybox initramfs whose /init is rootfs/init, with
// the QEMU guest agent and the shared libraries it runs with.
// Everything comes from Debian packages through apt; see README.md for what the guest does.
//
//   node test/guest/build.ts     builds (or finds) the image and prints where it is
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, writeFileSync } from 'node:fs';
import {
  chmod,
  copyFile,
  lstat,
  lutimes,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  truncate,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isRunning, waitUntil } from '../rig/processes.ts';
import { readPidFile } from '../rig/state.ts';
import { ensureDebianPackages } from '../support/debian.ts';

/** GuestImage is a built guest disk image on this machine. */
export interface GuestImage {
  readonly path: string;
  readonly format: 'raw' | 'qcow2';
  readonly bytes: bigint;
  /** sha512 of the image file, lowercase hex. */
  readonly sha512: string;
}

/** GUEST_DIR holds built images (one directory per build key) and the downloaded packages. */
export const GUEST_DIR = process.env.KUMO_GUEST_DIR ?? '/var/lib/kumo-guest';

/** GUEST_LABEL is the FAT volume label; the guest finds its own disk by it. */
export const GUEST_LABEL = 'KUMOGUEST';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOTFS = path.join(HERE, 'rootfs');
const DISK_MIB = 32;
const LOCK_TIMEOUT_MS = 600_000;
const PRUNE_AGE_MS = 24 * 3600 * 1000;

// Executed on this machine, so installed; the guest's own packages are only downloaded.
const BUILD_TOOLS = ['cpio', 'dosfstools', 'mtools', 'syslinux', 'xz-utils', 'zstd'] as const;
// Their output lands in the image, so their versions are part of the build key.
const KEYED_TOOLS = ['dosfstools', 'mtools', 'syslinux'] as const;
const KERNEL_META = 'linux-image-cloud-amd64';
const BUSYBOX = 'busybox-static';
const AGENT = 'qemu-guest-agent';
const AGENT_BINARY = 'usr/sbin/qemu-ga';
// Debian's dynamic loader's built-in search path: the guest has no ld.so.cache.
const LIBRARY_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib', 'usr/lib'];
const APT_LISTS = '/var/lib/apt/lists';

/**
 * GUEST_MODULES are what the guest needs beyond the kernel's built-ins (serial, ACPI, devtmpfs
 * and packet sockets are built in); their dependencies come along. Order is load order.
 */
const GUEST_MODULES = [
  'virtio_pci',
  'virtio_blk', // the boot disk, vda
  'virtio_scsi', // the seed CD-ROM's controller
  'sr_mod',
  'isofs',
  'virtio_net',
  'virtio_console', // virtio-serial: the guest agent's port
  'vfat', // /data, the boot disk's filesystem
  'nls_cp437',
  'nls_ascii',
  'nls_utf8', // Joliet names on the seed CD
  'button', // the ACPI power button...
  'evdev', // ...as /dev/input/event*
] as const;

// Synchronous SCSI scanning: once virtio_scsi is loaded, a seed CD is already there.
const MODULE_PARAMS: Readonly<Record<string, string>> = { scsi_mod: 'scan=sync' };

// Quiet enough to boot quickly under TCG, loud enough that the console shows the kernel booting.
const KERNEL_CMDLINE = 'console=ttyS0,115200 loglevel=6 panic=10';

type Log = (line: string) => void;

const execFileP = promisify(execFile);

async function exec(
  cmd: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  try {
    const r = await execFileP(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    return r.stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${String(e.stderr ?? '').trim() || e.message}`,
    );
  }
}

/** parseStanzas reads `apt-cache show` output: one record per package, fields by name. */
function parseStanzas(out: string): Array<Record<string, string>> {
  return out
    .split(/\n\s*\n/)
    .map((stanza) => {
      const fields: Record<string, string> = {};
      for (const m of stanza.matchAll(/^([A-Za-z-]+): (.*)$/gm))
        if (m[1]) fields[m[1]] = m[2] ?? '';
      return fields;
    })
    .filter((f) => f.Package);
}

/** showPackages asks apt for the candidate version of each package, by name. */
async function showPackages(pkgs: readonly string[]): Promise<Map<string, Record<string, string>>> {
  const out = await exec('apt-cache', ['show', '--no-all-versions', ...pkgs]);
  return new Map(parseStanzas(out).map((f) => [f.Package ?? '', f]));
}

/** dependsOf names the packages a Depends field requires, the first of each alternative. */
function dependsOf(field: string | undefined): string[] {
  return (field ?? '')
    .split(',')
    .flatMap((dep) => /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(dep)?.[1] ?? []);
}

/**
 * resolvePackages asks apt which kernel package and versions it would download today: the
 * kernel, busybox, the guest agent and, transitively, what the agent Depends on (its libraries;
 * Pre-Depends only serve maintainer scripts, which never run here).
 */
async function resolvePackages(log: Log): Promise<Record<string, string>> {
  let shown = new Map<string, Record<string, string>>();
  for (let attempt = 0; ; attempt++) {
    shown = await showPackages([KERNEL_META, BUSYBOX, AGENT]).catch(() => new Map());
    if (shown.size === 3 || attempt > 0) break;
    log('apt-get update (no package lists)');
    await exec('apt-get', ['update']);
  }
  // The metapackage depends on exactly one versioned image package, at its own version.
  const kernel = /(linux-image-\S+-cloud-amd64) \(= ([^)]+)\)/.exec(
    shown.get(KERNEL_META)?.Depends ?? '',
  );
  const busybox = shown.get(BUSYBOX)?.Version;
  if (!kernel?.[1] || !kernel[2] || !busybox)
    throw new Error(`apt cannot resolve ${KERNEL_META} and ${BUSYBOX}`);
  const packages: Record<string, string> = { [kernel[1]]: kernel[2], [BUSYBOX]: busybox };
  // One apt-cache call per level of the agent's dependency tree.
  for (let level = [AGENT]; level.length > 0; ) {
    const next: string[] = [];
    for (const pkg of level) {
      const version = shown.get(pkg)?.Version;
      if (!version) throw new Error(`apt cannot resolve ${pkg}, which ${AGENT} needs`);
      packages[pkg] = version;
    }
    for (const pkg of level)
      for (const dep of dependsOf(shown.get(pkg)?.Depends))
        if (!(dep in packages) && !next.includes(dep)) next.push(dep);
    level = next;
    if (level.length > 0) shown = await showPackages(level);
  }
  return packages;
}

/**
 * guestPackages is resolvePackages remembered until apt's package lists or this file change:
 * apt-cache takes about a second a call here, which every test file booting a guest would
 * otherwise pay several times over.
 */
async function guestPackages(log: Log): Promise<Record<string, string>> {
  const stamp = await stat(APT_LISTS).then(
    (s) => String(s.mtimeMs),
    () => '',
  );
  // Another build.ts (another checkout) may want other packages.
  const source = sha256(await readFile(fileURLToPath(import.meta.url)));
  const memo = path.join(GUEST_DIR, 'apt-versions.json');
  try {
    const m = JSON.parse(await readFile(memo, 'utf8')) as {
      stamp: string;
      source: string;
      packages: Record<string, string>;
    };
    if (stamp && m.stamp === stamp && m.source === source) return m.packages;
  } catch {
    // No memo yet, or a torn one: ask apt.
  }
  const packages = await resolvePackages(log);
  const fresh = await stat(APT_LISTS).then(
    (s) => String(s.mtimeMs),
    () => '',
  );
  await mkdir(GUEST_DIR, { recursive: true });
  const tmp = `${memo}.${process.pid}`;
  await writeFile(tmp, JSON.stringify({ stamp: fresh, source, packages }));
  await rename(tmp, memo);
  return packages;
}

async function installedVersions(pkgs: readonly string[]): Promise<Record<string, string>> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const out = await exec('dpkg-query', ['-W', '-f', '${Package} ${Version}\n', ...pkgs]);
  const versions: Record<string, string> = {};
  for (const line of out.trim().split('\n')) {
    const [name, version] = line.split(' ');
    if (name && version) versions[name] = version;
  }
  return versions;
}

async function listFiles(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(dir, r)));
    else out.push(r);
  }
  return out.sort();
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** BuildInputs are everything the image depends on; their hash names the cached image. */
interface BuildInputs {
  readonly packages: Readonly<Record<string, string>>;
  readonly tools: Readonly<Record<string, string>>;
  readonly sources: Readonly<Record<string, string>>;
}

async function buildInputs(log: Log): Promise<BuildInputs> {
  const packages = await guestPackages(log);
  const tools = await installedVersions(KEYED_TOOLS);
  const sources: Record<string, string> = {
    'build.ts': sha256(await readFile(fileURLToPath(import.meta.url))),
  };
  for (const f of await listFiles(ROOTFS)) {
    sources[`rootfs/${f}`] = sha256(await readFile(path.join(ROOTFS, f)));
  }
  return { packages, tools, sources };
}

/** download fetches one package version with apt into the shared cache, once. */
async function download(pkg: string, version: string, log: Log): Promise<string> {
  const cache = path.join(GUEST_DIR, 'debs');
  await mkdir(cache, { recursive: true });
  const file = path.join(cache, `${pkg}_${encodeURIComponent(version)}.deb`);
  if (existsSync(file)) return file;
  log(`apt-get download ${pkg}=${version}`);
  const tmp = await mkdtemp(path.join(cache, '.dl-'));
  try {
    // apt's sandbox user cannot write into root's directory; the download is ours anyway.
    const args = ['download', '-o', 'APT::Sandbox::User=root', `${pkg}=${version}`];
    try {
      await exec('apt-get', args, { cwd: tmp });
    } catch {
      log('apt-get update (download failed)');
      await exec('apt-get', ['update']);
      await exec('apt-get', args, { cwd: tmp });
    }
    const [deb] = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${pkg} left no .deb`);
    await rename(path.join(tmp, deb), file);
    return file;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** elfSection returns the bytes of a named section of a 64-bit little-endian ELF file. */
function elfSection(elf: Buffer, name: string): Buffer | undefined {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) return undefined;
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const header = (i: number) => {
    const h = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(h),
      offset: Number(elf.readBigUInt64LE(h + 0x18)),
      size: Number(elf.readBigUInt64LE(h + 0x20)),
    };
  };
  const strtab = header(shstrndx);
  for (let i = 0; i < shnum; i++) {
    const h = header(i);
    if (cString(elf, strtab.offset + h.name) === name)
      return elf.subarray(h.offset, h.offset + h.size);
  }
  return undefined;
}

/** cString reads the NUL-terminated string at `offset`. */
function cString(buf: Buffer, offset: number): string {
  return buf.toString('latin1', offset, buf.indexOf(0, offset));
}

/**
 * elfNeeds reads what a dynamically linked 64-bit little-endian ELF file asks of the dynamic
 * loader: the libraries of its DT_NEEDED entries and, for a program, the loader itself (.interp).
 */
function elfNeeds(elf: Buffer): { needed: string[]; interp: string | undefined } | undefined {
  const dynamic = elfSection(elf, '.dynamic');
  const dynstr = elfSection(elf, '.dynstr');
  if (!dynamic || !dynstr) return undefined;
  const needed: string[] = [];
  // Elf64_Dyn entries are d_tag and d_val, 8 bytes each; DT_NULL (0) ends them, DT_NEEDED is 1.
  for (let at = 0; at + 16 <= dynamic.length; at += 16) {
    const tag = dynamic.readBigInt64LE(at);
    if (tag === 0n) break;
    if (tag === 1n) needed.push(cString(dynstr, Number(dynamic.readBigUInt64LE(at + 8))));
  }
  const interp = elfSection(elf, '.interp');
  return { needed, interp: interp && cString(interp, 0) };
}

/**
 * resolveIn follows symlinks inside the unpacked packages under `root` and returns the regular
 * file a path ends at, relative to `root`: absolute link targets (libc6's /lib64 link) would
 * otherwise lead to the host's own files.
 */
async function resolveIn(root: string, rel: string): Promise<string | undefined> {
  let at = path.normalize(rel);
  for (let hops = 0; hops < 40; hops++) {
    if (at.startsWith('..')) return undefined;
    const st = await lstat(path.join(root, at)).catch(() => undefined);
    if (!st?.isSymbolicLink()) return st?.isFile() ? at : undefined;
    const target = await readlink(path.join(root, at));
    at = target.startsWith('/')
      ? path.normalize(target.slice(1))
      : path.join(path.dirname(at), target);
  }
  throw new Error(`${rel}: too many levels of symbolic links`);
}

/**
 * dynamicClosure maps what a dynamically linked program needs, as paths in the guest, to the
 * files of the unpacked packages under `root` that hold them: the program, the libraries its
 * DT_NEEDED entries name, transitively, where the loader looks for them, and the loader its
 * .interp names. (ldd would run the host's loader on the host's libraries.)
 */
async function dynamicClosure(root: string, program: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  const visit = async (at: string, neededBy: string): Promise<void> => {
    if (files.has(at)) return;
    const real = await resolveIn(root, at);
    if (!real) throw new Error(`/${at}, which ${neededBy} needs, is in none of the packages`);
    files.set(at, real);
    const needs = elfNeeds(await readFile(path.join(root, real)));
    if (!needs) throw new Error(`/${at} is not a dynamically linked 64-bit ELF file`);
    for (const lib of needs.needed) {
      const hits = await Promise.all(LIBRARY_DIRS.map((d) => resolveIn(root, path.join(d, lib))));
      const dir = LIBRARY_DIRS[hits.findIndex(Boolean)];
      if (!dir) throw new Error(`${lib}, which /${at} needs, is in none of the packages`);
      await visit(path.join(dir, lib), `/${at}`);
    }
    if (needs.interp) await visit(needs.interp.replace(/^\/+/, ''), `/${at}`);
  };
  await visit(program, program);
  return files;
}

// Module names treat '-' and '_' alike, as the kernel does.
const modName = (s: string) => s.replaceAll('-', '_');

/** moduleIndex maps module names to their files under lib/modules/<version>/kernel. */
async function moduleIndex(modDir: string): Promise<Map<string, string>> {
  const index = new Map<string, string>();
  for (const f of await listFiles(modDir)) {
    const m = /([^/]+)\.ko(\.xz|\.zst)?$/.exec(f);
    if (m?.[1]) index.set(modName(m[1]), path.join(modDir, f));
  }
  return index;
}

/** moduleBytes reads a module, decompressing it when the package ships it compressed. */
async function moduleBytes(file: string): Promise<Buffer> {
  const tool = file.endsWith('.xz') ? 'xz' : file.endsWith('.zst') ? 'zstd' : undefined;
  if (!tool) return readFile(file);
  const r = await execFileP(tool, ['-dc', file], {
    encoding: 'buffer',
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.stdout;
}

/**
 * resolveModules returns the wanted modules and their dependencies (read from each module's
 * .modinfo `depends=`, since the package ships no modules.dep) in load order, dependencies first.
 * Names the kernel has built in, or not at all, are skipped.
 */
async function resolveModules(
  modDir: string,
  wanted: readonly string[],
): Promise<Array<{ name: string; bytes: Buffer }>> {
  const index = await moduleIndex(modDir);
  const order: Array<{ name: string; bytes: Buffer }> = [];
  const seen = new Set<string>();
  const visit = async (name: string): Promise<void> => {
    if (seen.has(name)) return;
    seen.add(name);
    const file = index.get(name);
    if (!file) return;
    const bytes = await moduleBytes(file);
    const info = elfSection(bytes, '.modinfo');
    if (!info) throw new Error(`${file} has no .modinfo section`);
    const depends = info
      .toString('latin1')
      .split('\0')
      .find((kv) => kv.startsWith('depends='))
      ?.slice('depends='.length);
    for (const dep of depends ? depends.split(',') : []) if (dep) await visit(modName(dep));
    order.push({ name, bytes });
  };
  for (const w of wanted) await visit(modName(w));
  return order;
}

async function setTimes(dir: string): Promise<void> {
  // A fixed mtime keeps the initramfs the same from one build to the next.
  for (const f of [...(await listFiles(dir)), '.']) await lutimes(path.join(dir, f), 0, 0);
}

function syslinuxCfg(): string {
  return [
    'SERIAL 0 115200',
    'DEFAULT kumo',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL kumo',
    '  LINUX /vmlinuz',
    '  INITRD /initrd.gz',
    `  APPEND ${KERNEL_CMDLINE}`,
    '',
  ].join('\n');
}

async function fileSha512(file: string): Promise<string> {
  const h = createHash('sha512');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** buildInto writes disk.img into `work` from the downloaded packages. */
async function buildInto(work: string, inputs: BuildInputs, log: Log): Promise<string[]> {
  const debs = await Promise.all(
    Object.entries(inputs.packages).map(([p, version]) => download(p, version, log)),
  );
  const pkgRoot = path.join(work, 'pkg');
  for (const deb of debs) await exec('dpkg-deb', ['-x', deb, pkgRoot]);

  const [kver] = await readdir(path.join(pkgRoot, 'lib', 'modules'));
  if (!kver) throw new Error('the kernel package holds no modules');
  const vmlinuz = path.join(pkgRoot, 'boot', `vmlinuz-${kver}`);

  // The initramfs: busybox, our scripts, the modules and their load order.
  const ir = path.join(work, 'initramfs');
  await mkdir(path.join(ir, 'bin'), { recursive: true });
  await copyFile(path.join(pkgRoot, 'bin', 'busybox'), path.join(ir, 'bin', 'busybox'));
  for (const f of await listFiles(ROOTFS)) {
    const to = path.join(ir, f);
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(path.join(ROOTFS, f), to);
    await chmod(to, f === 'init' || f.startsWith('bin/') ? 0o755 : 0o644);
  }
  await chmod(path.join(ir, 'bin', 'busybox'), 0o755);
  const modules = await resolveModules(path.join(pkgRoot, 'lib', 'modules', kver), GUEST_MODULES);
  await mkdir(path.join(ir, 'lib', 'modules'), { recursive: true });
  for (const m of modules)
    await writeFile(path.join(ir, 'lib', 'modules', `${m.name}.ko`), m.bytes);
  const order = modules.map((m) => `${m.name} ${MODULE_PARAMS[m.name] ?? ''}`.trim());
  await writeFile(path.join(ir, 'etc', 'kumo-modules'), `${order.join('\n')}\n`);
  await writeFile(path.join(ir, 'etc', 'kumo-guest'), `kernel ${kver}\n`);
  // The agent and what it loads; a file needed under two names (the loader) is kept once.
  const agentFiles = await dynamicClosure(pkgRoot, AGENT_BINARY);
  const placed = new Map<string, string>();
  for (const [at, real] of agentFiles) {
    const to = path.join(ir, at);
    await mkdir(path.dirname(to), { recursive: true });
    const first = placed.get(real);
    if (first) {
      await symlink(`/${first}`, to);
    } else {
      placed.set(real, at);
      await copyFile(path.join(pkgRoot, real), to);
      await chmod(to, 0o755);
    }
  }
  await setTimes(ir);
  const initrd = path.join(work, 'initrd.gz');
  await exec('sh', [
    '-c',
    'cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 --reproducible | gzip -9n > "$2"',
    'sh',
    ir,
    initrd,
  ]);

  // The disk: a FAT "superfloppy" that SeaBIOS boots through SYSLINUX's boot sector.
  const disk = path.join(work, 'disk.img');
  writeFileSync(disk, '');
  await truncate(disk, DISK_MIB * 1024 * 1024);
  await exec('mkfs.vfat', ['-n', GUEST_LABEL, '-i', '4b554d4f', disk]);
  const cfg = path.join(work, 'syslinux.cfg');
  await writeFile(cfg, syslinuxCfg());
  const mtools = { MTOOLS_SKIP_CHECK: '1' };
  for (const [from, to] of [
    [vmlinuz, '::/vmlinuz'],
    [initrd, '::/initrd.gz'],
    [cfg, '::/syslinux.cfg'],
  ] as const) {
    await exec('mcopy', ['-i', disk, from, to], { env: mtools });
  }
  await exec('syslinux', ['--install', disk]);
  log(
    `built: kernel ${kver}, ${modules.length} modules, the agent's ${[...agentFiles.keys()].join(' ')}; ` +
      `initrd ${(await stat(initrd)).size} bytes`,
  );
  return debs;
}

/**
 * prune removes builds, packages and leftovers of crashed builds unused for a day: each kernel
 * update would otherwise leave some 60 MB behind. A cache hit touches its build.
 */
async function prune(keep: string, debs: readonly string[]): Promise<void> {
  const old = async (p: string) => Date.now() - (await stat(p)).mtimeMs > PRUNE_AGE_MS;
  for (const e of await readdir(GUEST_DIR)) {
    const p = path.join(GUEST_DIR, e);
    const build = /^[0-9a-f]{16}$/.test(e) && e !== keep;
    const leftover = /^\.(build|out)-/.test(e);
    if ((build || leftover) && (await old(p))) await rm(p, { recursive: true, force: true });
  }
  const cache = path.join(GUEST_DIR, 'debs');
  for (const e of await readdir(cache)) {
    const p = path.join(cache, e);
    if (!debs.includes(p) && (await old(p))) await rm(p, { recursive: true, force: true });
  }
}

/** tryLock takes the build lock of one key; a lock whose holder died is taken over. */
function tryLock(file: string): boolean {
  try {
    writeFileSync(file, String(process.pid), { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    if (!isRunning(readPidFile(file))) void rm(file, { force: true });
    return false;
  }
}

async function readImage(dir: string): Promise<GuestImage> {
  const meta = JSON.parse(await readFile(path.join(dir, 'image.json'), 'utf8')) as {
    bytes: string;
    sha512: string;
  };
  return {
    path: path.join(dir, 'disk.img'),
    format: 'raw',
    bytes: BigInt(meta.bytes),
    sha512: meta.sha512,
  };
}

/**
 * buildGuestImage returns the guest image for today's packages and sources, building it only
 * when no build of the same inputs exists. Builds happen in a temporary directory renamed into
 * place, under a per-key lock, so parallel test runs never see half an image.
 */
export async function buildGuestImage(log: Log = () => {}): Promise<GuestImage> {
  await ensureDebianPackages(BUILD_TOOLS, log);
  const inputs = await buildInputs(log);
  const key = sha256(JSON.stringify(inputs)).slice(0, 16);
  const dir = path.join(GUEST_DIR, key);
  if (existsSync(path.join(dir, 'image.json'))) {
    const now = new Date();
    await utimes(dir, now, now).catch(() => undefined);
    return readImage(dir);
  }

  await mkdir(GUEST_DIR, { recursive: true });
  const lock = path.join(GUEST_DIR, `.${key}.lock`);
  await waitUntil(
    `the guest build lock ${lock}`,
    () => existsSync(path.join(dir, 'image.json')) || tryLock(lock),
    LOCK_TIMEOUT_MS,
    200,
  );
  try {
    // Another process may have finished the build while this one waited.
    if (existsSync(path.join(dir, 'image.json'))) return await readImage(dir);
    const work = await mkdtemp(path.join(GUEST_DIR, `.build-${key}-`));
    try {
      log(`building the guest image ${key}`);
      const debs = await buildInto(work, inputs, log);
      const out = await mkdtemp(path.join(GUEST_DIR, `.out-${key}-`));
      await rename(path.join(work, 'disk.img'), path.join(out, 'disk.img'));
      const disk = path.join(out, 'disk.img');
      const meta = {
        bytes: String((await stat(disk)).size),
        sha512: await fileSha512(disk),
        cmdline: KERNEL_CMDLINE,
        ...inputs,
      };
      await writeFile(path.join(out, 'image.json'), `${JSON.stringify(meta, null, 2)}\n`);
      await chmod(out, 0o755);
      await rename(out, dir);
      await prune(key, debs);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    return await readImage(dir);
  } finally {
    if (readPidFile(lock) === process.pid) await rm(lock, { force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const started = performance.now();
  const image = await buildGuestImage((line) => console.error(line));
  console.log(
    JSON.stringify(
      { ...image, bytes: String(image.bytes), ms: Math.round(performance.now() - started) },
      null,
      2,
    ),
  );
}
