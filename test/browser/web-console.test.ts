import { mkdirSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  addRigHost,
  addUser,
  importImage,
  settled,
  startTestKumo,
  type TestKumo,
} from '../api/support.ts';
import { launchBrowser } from '../support/browser.ts';
import { bytes, type FileServer, serveFiles } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rigHost } from '../support/rig.ts';

// The web console (clients/web) as a person uses it, in headless Chromium, against a controller
// serving its committed build and a rig host. Screenshots land in test-artifacts/web-console.
const ARTIFACTS = 'test-artifacts/web-console';
const MiB = 1024n * 1024n;

let k: TestKumo;
let files: FileServer;
let browser: Browser;
let admin: string;
let alice: string;
let imageId: string;
let origin: string;

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(`${origin}/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'VMs' }).waitFor();
}

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  files = await serveFiles();
  // No OS: SeaBIOS finds nothing to boot and waits, which is all a state change needs.
  files.route('/disk.raw', bytes(Buffer.alloc(1024 * 1024)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', reconcileIntervalSeconds: 3600, shutdownTimeoutSeconds: 2 },
      },
    },
  );
  origin = new URL(k.url).origin;
  admin = await k.signIn(ADMIN.email, ADMIN.password);
  const conn = await openTls(rigHost('hv3'));
  try {
    await ensureGuestNetwork(conn);
  } finally {
    await conn.close();
  }
  await addRigHost(k, admin, 'hv3', { settings: { cpuOvercommit: 8 } });
  alice = await addUser(k, admin, 'alice');
  imageId = await importImage(k, alice, `${files.base}/disk.raw`, 'blank');
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await k?.stop();
  await files?.close();
});

describe('the web console', () => {
  it('is served at / with its own strict headers, and any page path gets the page', async () => {
    const page = await fetch(`${origin}/vms/anything`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await page.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${origin}${script}`);
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect((await fetch(`${origin}/assets/missing.js`)).status).toBe(404);
    expect((await fetch(`${origin}/assets/../../package.json`)).status).toBe(404);
    // Not a browser asking for a page: no page.
    expect((await fetch(`${origin}/vms`, { headers: { accept: 'application/json' } })).status).toBe(
      404,
    );
  });

  it('refuses a wrong password with the API’s message and signs in with the right one', async () => {
    const page = await browser.newPage();
    try {
      await page.goto(`${origin}/`);
      await page.getByLabel('Email').fill(ADMIN.email);
      await page.getByLabel('Password').fill('not-the-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expectAlert(page, /password/i);
      await shot(page, 'sign-in-refused');
      await page.getByLabel('Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'VMs' }).waitFor();
      expect(await page.getByText(ADMIN.email).count()).toBe(1);
      // The session is an HttpOnly cookie: nothing the page's scripts can read.
      expect(await page.evaluate(() => document.cookie)).toBe('');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    } finally {
      await page.close();
    }
  });

  it('shows a VM appear and turn RUNNING without reloading, and stops and removes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await signIn(page, 'alice@kumo.test', 'alice-password');
      await page.getByText('No VMs yet.').waitFor();
      // Created elsewhere (as through the CLI): the page hears of it from its subscription.
      const created = await k.gql<{ vmCreate: { operation: { id: string } | null } }>(
        `mutation($input: VmCreateInput!) { vmCreate(input: $input) {
          vm { id } operation { id } userErrors { message } } }`,
        { input: { name: 'web', image: imageId, vcpus: 1, memoryBytes: String(64n * MiB) } },
        alice,
      );
      const op = created.data?.vmCreate.operation?.id;
      expect(op, JSON.stringify(created)).toBeDefined();
      const row = page.locator('tr[data-vm="web"]');
      await row.waitFor();
      await row.getByText('RUNNING').waitFor({ timeout: 60_000 });
      expect((await settled(k, op as string, alice)).status).toBe('SUCCEEDED');
      await shot(page, 'vm-running');

      // On a phone's width the table scrolls in its own box; the page does not.
      await page.setViewportSize({ width: 360, height: 740 });
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow).toBe(0);
      await shot(page, 'vm-running-narrow');
      await page.setViewportSize({ width: 1280, height: 800 });

      await row.getByRole('button', { name: 'Power off web' }).click();
      await row.getByText('STOPPED').waitFor({ timeout: 30_000 });
      await row.getByRole('button', { name: 'Start web' }).waitFor();

      await row.getByRole('button', { name: 'Remove web' }).click();
      await row.getByRole('button', { name: 'Confirm removing web' }).click();
      await page.getByText('No VMs yet.').waitFor({ timeout: 30_000 });
      const left = await k.gql<{ vms: { edges: unknown[] } }>(
        '{ vms(first: 5) { edges { node { id } } } }',
        {},
        alice,
      );
      expect(left.data?.vms.edges).toEqual([]);
    } catch (err) {
      await shot(page, 'vm-failure');
      throw err;
    } finally {
      await page.close();
    }
  });
});

async function expectAlert(page: Page, text: RegExp): Promise<void> {
  await page.getByRole('alert').filter({ hasText: text }).waitFor();
}
