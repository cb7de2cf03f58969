import { execFileSync, spawnSync } from 'node:child_process';
import { type Browser, chromium } from 'playwright-core';

/** CHROMIUM is Debian's Chromium; tests never download a browser of their own. */
export const CHROMIUM = '/usr/bin/chromium';

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
const STATUS_FORMAT = '${db:Status-Abbrev}';

/** ensureChromium installs Debian's chromium package when it is missing. */
export function ensureChromium(): void {
  const status = spawnSync('dpkg-query', ['-W', '-f', STATUS_FORMAT, 'chromium']).stdout.toString();
  if (status.startsWith('ii')) return;
  execFileSync('apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], {
    stdio: 'ignore',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/**
 * launchBrowser starts headless Chromium (playwright gives it a fresh profile). The flags keep
 * it from reaching for Google's services: the network here is closed.
 */
export function launchBrowser(): Promise<Browser> {
  ensureChromium();
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
