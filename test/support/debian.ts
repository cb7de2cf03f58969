import { run } from '../rig/processes.ts';

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
const STATUS_FORMAT = '${Package} ${db:Status-Abbrev}\n';

/** missingDebianPackages names the packages of `names` that are not installed. */
export async function missingDebianPackages(names: readonly string[]): Promise<string[]> {
  // dpkg-query exits non-zero when some package is unknown, but still prints the known ones.
  const out = await run('dpkg-query', ['-W', '-f', STATUS_FORMAT, ...names], {
    allowFailure: true,
  });
  const installed = new Set(
    out
      .split('\n')
      .map((l) => l.trim().split(/\s+/))
      .filter(([, status]) => status === 'ii')
      .map(([name]) => name),
  );
  return names.filter((p) => !installed.has(p));
}

/**
 * ensureDebianPackages installs what is missing of `names` with apt-get (the test set-up runs
 * as root on Debian), and is a fast no-op when everything is there.
 */
export async function ensureDebianPackages(
  names: readonly string[],
  log: (line: string) => void = () => {},
): Promise<void> {
  const missing = await missingDebianPackages(names);
  if (missing.length === 0) return;
  log(`installing ${missing.join(' ')}`);
  await run('apt-get', ['update'], { timeoutMs: 300_000 });
  await run(
    'env',
    [
      'DEBIAN_FRONTEND=noninteractive',
      'apt-get',
      'install',
      '-y',
      '--no-install-recommends',
      ...missing,
    ],
    {
      timeoutMs: 600_000,
    },
  );
}
