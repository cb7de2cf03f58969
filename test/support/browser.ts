import { type Browser, chromium } from 'playwright-core';
import { ensureDebianPackages } from './debian.ts';

/** CHROMIUM is Debian's Chromium; tests never download a browser of their own. */
export const CHROMIUM = '/usr/bin/chromium';

/**
 * launchBrowser starts headless Chromium, installing Debian's package when missing (playwright
 * gives it a fresh profile). The flags keep it from reaching for Google's services: the network
 * here is closed.
 */
export async function launchBrowser(): Promise<Browser> {
  await ensureDebianPackages(['chromium']);
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
