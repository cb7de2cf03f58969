import { mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, addRigHost, addUser, startTestKumo, type TestKumo } from '../api/support.ts';
import { guestDomainType, guestImage } from '../guest/index.ts';
import { launchBrowser } from '../support/browser.ts';
import { type FileServer, serveFiles, slowly } from '../support/file-server.ts';
import { ensureGuestNetwork } from '../support/guest-network.ts';
import { openTls, rig, rigHost } from '../support/rig.ts';
import { until, within } from '../support/wait.ts';

// The web console (clients/web) as a person uses it, in headless Chromium, against a controller
// serving its committed build and a rig host. Screenshots land in test-artifacts/web-console.
const ARTIFACTS = 'test-artifacts/web-console';
const BUILD_MS = 600_000;

let k: TestKumo;
let files: FileServer;
let browser: Browser;
let admin: string;
let alice: string;
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
  // The test guest (test/guest: boots to a root shell on its serial console), served slowly
  // enough that the import's progress shows.
  const guest = await within(guestImage(), BUILD_MS, 'building the guest image');
  files.route('/tiny.img', slowly(await readFile(guest.path)));
  k = await startTestKumo(
    {},
    {
      overrides: {
        images: { allowedAddresses: ['127.0.0.1/32'] },
        vms: { network: 'kumo-guests', reconcileIntervalSeconds: 3600, shutdownTimeoutSeconds: 2 },
        metering: { intervalSeconds: 2 },
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
  // Where /dev/kvm cannot boot Linux (test/guest/README.md), the host runs guests under TCG.
  const tcg = guestDomainType() === 'qemu' && rig().domainType === 'kvm';
  await addRigHost(k, admin, 'hv3', {
    settings: { cpuOvercommit: 8, ...(tcg ? { acceleration: 'TCG' } : {}) },
  });
  alice = await addUser(k, admin, 'alice');
  await addUser(k, admin, 'bob');
  browser = await launchBrowser();
}, BUILD_MS + 120_000);

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
    const page = await browser.newPage({ bypassCSP: true });
    try {
      await page.goto(`${origin}/`);
      await page.getByRole('heading', { name: 'Sign in to Kumo' }).waitFor();
      // By keyboard alone: Tab to each field, Enter to send.
      await page.keyboard.press('Tab');
      await page.keyboard.type(ADMIN.email);
      await page.keyboard.press('Tab');
      await page.keyboard.type('not-the-password');
      await page.keyboard.press('Enter');
      await expectAlert(page, /password/i);
      await shot(page, 'sign-in-refused');
      await expectAccessible(page, 'the refused sign-in');
      await page.getByLabel('Password').fill(ADMIN.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'VMs' }).waitFor();
      expect(await page.getByText(ADMIN.email).count()).toBe(1);
      // The first Tab offers to skip the navigation.
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe(
        'Skip to content',
      );
      // The session is an HttpOnly cookie: nothing the page's scripts can read.
      expect(await page.evaluate(() => document.cookie)).toBe('');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.getByRole('button', { name: 'Sign in' }).waitFor();
    } finally {
      await page.close();
    }
  });

  it('imports an image with progress, creates a VM that turns RUNNING live, opens its serial console, shares it and removes it', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    try {
      await signIn(page, 'alice@kumo.test', 'alice-password');
      await page.getByText('No VMs yet.').waitFor();

      await page.getByRole('link', { name: 'Images' }).click();
      const importForm = page.getByRole('form', { name: 'Import from a URL' });
      await importForm.getByLabel('URL', { exact: true }).fill(`${files.base}/tiny.img`);
      await importForm.getByLabel('Name', { exact: true }).fill('tiny');
      await importForm.getByRole('button', { name: 'Import' }).click();
      await page.getByRole('progressbar', { name: 'Importing tiny' }).waitFor();
      await shot(page, 'image-importing');
      const imageRow = page.locator('tr[data-image="tiny"]');
      await imageRow.getByText('AVAILABLE').waitFor({ timeout: 30_000 });
      await expectAccessible(page, 'the images');

      const uploadForm = page.getByRole('form', { name: 'Upload a file' });
      await uploadForm.getByLabel('qcow2 or raw file').setInputFiles({
        name: 'spare.raw',
        mimeType: 'application/octet-stream',
        buffer: Buffer.alloc(1024 * 1024, 7),
      });
      await uploadForm.getByRole('button', { name: 'Upload' }).click();
      const spare = page.locator('tr[data-image="spare.raw"]');
      await spare.getByText('AVAILABLE').waitFor();
      await spare.getByRole('link', { name: 'spare.raw' }).click();
      // Only admins make images public: the owner is not offered it.
      expect(await page.getByRole('button', { name: 'Make public' }).count()).toBe(0);
      await page.getByRole('button', { name: 'Remove image' }).click();
      await page.getByRole('heading', { name: 'Images' }).waitFor();
      await spare.waitFor({ state: 'detached' });

      await page.getByRole('link', { name: 'VMs' }).click();
      await page.getByRole('button', { name: 'Create VM' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create a VM' });
      await dialog.getByLabel('Name').fill('web');
      await dialog.getByLabel('Image').selectOption({ label: 'tiny' });
      await dialog.getByLabel('Memory (MiB)').fill('128');
      await shot(page, 'vm-create');
      await expectAccessible(page, 'the create dialog');
      await dialog.getByRole('button', { name: 'Create' }).click();
      const row = page.locator('tr[data-vm="web"]');
      await row.getByText('RUNNING').waitFor({ timeout: 60_000 });
      await shot(page, 'vm-running');
      await expectAccessible(page, 'the VM table');

      // On a phone's width the table scrolls in its own box; the page does not.
      await page.setViewportSize({ width: 360, height: 740 });
      const overflow = await page.evaluate(
        () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
      );
      expect(overflow).toBe(0);
      await shot(page, 'vm-running-narrow');
      await page.setViewportSize({ width: 1280, height: 800 });

      await row.getByRole('link', { name: 'web' }).click();
      await page.getByRole('heading', { name: /VM web/ }).waitFor();

      // Charts fed by vmMetrics: a sample every metering interval.
      await page.getByRole('img', { name: /^CPU: busy [\d.]+% now/ }).waitFor();
      await page.getByRole('img', { name: /^Network: in .+ now/ }).waitFor();

      await page.getByRole('button', { name: 'Open serial console' }).click();
      const terminal = page.getByRole('application', { name: 'Serial console of web' });
      await terminal.waitFor();
      // The rendered text, on purpose: xterm draws each row in its own element, and only the
      // rendering keeps the line breaks between them.
      // biome-ignore lint/performance/useDomNodeTextContent: see above
      const screen = () => page.locator('.xterm-rows').innerText();
      // The guest may still be booting: Enter until its shell answers with a prompt.
      await until(
        async () => {
          await terminal.click();
          await page.keyboard.press('Enter');
          await page.waitForTimeout(1000);
          return /#\s*$/m.test(await screen()) ? true : undefined;
        },
        120_000,
        'a shell prompt on the console',
      );
      await page.keyboard.type('echo web-$((6*7))');
      await page.keyboard.press('Enter');
      await until(
        async () => ((await screen()).includes('web-42') ? true : undefined),
        30_000,
        'the guest answering on the console',
      );
      await shot(page, 'vm-serial-console');

      // The graphical console: noVNC through the controller, drawing the guest's VGA screen.
      await page.getByRole('button', { name: 'Open graphical console' }).click();
      await page.getByRole('application', { name: 'Screen of web' }).waitFor();
      await page.getByText(/^Showing QEMU \(kumo-[0-9a-f-]+\)$/).waitFor({ timeout: 30_000 });
      const drawn = () =>
        page.locator('.screen canvas').evaluate((canvas: HTMLCanvasElement) => {
          const pixels = canvas
            .getContext('2d')
            ?.getImageData(0, 0, canvas.width, canvas.height).data;
          let lit = 0;
          for (let i = 0; pixels && i < pixels.length; i += 4)
            if ((pixels[i] ?? 0) + (pixels[i + 1] ?? 0) + (pixels[i + 2] ?? 0) > 96) lit++;
          return lit;
        });
      await until(async () => ((await drawn()) > 200 ? true : undefined), 30_000, 'text drawn');
      await shot(page, 'vm-graphical-console');
      await expectAccessible(page, 'a VM’s page');
      await page.getByRole('button', { name: 'Close', exact: true }).click();
      await page.getByText('The graphical console closed.').waitFor();

      const snap = page.getByRole('form', { name: 'Take a snapshot of web' });
      await snap.getByLabel('Snapshot name').fill('before');
      await snap.getByRole('button', { name: 'Take snapshot' }).click();
      await page.locator('li[data-snapshot="before"]').waitFor({ timeout: 60_000 });
      const share = page.getByRole('form', { name: 'Share web' });
      await share.getByLabel('Email').fill('bob@kumo.test');
      await share.getByLabel('Role').selectOption('VIEWER');
      await share.getByRole('button', { name: 'Share' }).click();
      await page.getByText('bob@kumo.test: VIEWER').waitFor();
      await shot(page, 'vm-detail-shared');

      const bobs = await browser.newPage();
      try {
        await signIn(bobs, 'bob@kumo.test', 'bob-password');
        const seen = bobs.locator('tr[data-vm="web"]');
        await seen.getByText('RUNNING').waitFor();
        // A viewer is shown no buttons for what the API would refuse.
        expect(await seen.getByRole('button').count()).toBe(0);
        await shot(bobs, 'vm-seen-by-viewer');
      } finally {
        await bobs.close();
      }

      await page.getByRole('button', { name: 'Power off web' }).click();
      await page.getByText('STOPPED').first().waitFor({ timeout: 30_000 });
      await page.getByRole('button', { name: 'Remove web' }).click();
      await page.getByRole('button', { name: 'Confirm removing web' }).click();
      await page.getByText('No VMs yet.').waitFor({ timeout: 30_000 });
      const left = await k.gql<{ vms: { edges: unknown[] } }>(
        '{ vms(first: 5) { edges { node { id } } } }',
        {},
        alice,
      );
      expect(left.data?.vms.edges).toEqual([]);
    } catch (err) {
      await shot(page, 'failure');
      throw err;
    } finally {
      await page.close();
    }
  }, 240_000);

  it('shows a user their quota live and what their VMs consumed, by hour and by VM', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    try {
      await signIn(page, 'alice@kumo.test', 'alice-password');
      await page.getByRole('link', { name: 'My usage' }).click();
      await page.locator('tr[data-limit="VMS"]').waitFor();
      await page.getByRole('img', { name: /^CPU time by hour: / }).waitFor();
      // The VM of the test before, removed since, still shows what it used.
      await page.getByRole('rowheader', { name: 'web' }).waitFor();
      await shot(page, 'usage');
      await expectAccessible(page, 'my usage');
    } finally {
      await page.close();
    }
  });

  it('lets admins add a user, set their quota, see what another used, and find it in the audit log', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    try {
      await signIn(page, ADMIN.email, ADMIN.password);
      await page.getByRole('link', { name: 'Users' }).click();
      const add = page.getByRole('form', { name: 'Add a user' });
      await add.getByLabel('Email').fill('carol@kumo.test');
      await add.getByLabel('Password').fill('carol-password');
      await add.getByRole('button', { name: 'Add user' }).click();
      await page.getByRole('button', { name: 'Quota of carol@kumo.test' }).click();
      const quota = page.getByRole('form', { name: 'Quota of carol@kumo.test' });
      await quota.getByLabel('VMs', { exact: true }).fill('3');
      await quota.getByLabel('Memory', { exact: true }).fill('2G');
      await quota.getByLabel('Disk', { exact: true }).fill('lots');
      await quota.getByRole('button', { name: 'Save quota' }).click();
      await expectAlert(page, /Disk: not a size/);
      await quota.getByLabel('Disk', { exact: true }).fill('');
      await quota.getByRole('button', { name: 'Save quota' }).click();
      await quota.waitFor({ state: 'detached' });
      const carol = await k.gql<{
        users: { edges: { node: { quota: Record<string, unknown> } }[] };
      }>(
        '{ users(first: 1, search: "carol") { edges { node { quota { vms memoryBytes diskBytes } } } } }',
        {},
        admin,
      );
      expect(carol.data?.users.edges[0]?.node.quota).toEqual({
        vms: 3,
        memoryBytes: String(2 * 1024 ** 3),
        diskBytes: null,
      });

      // Showback: what Alice's VM used, as she sees it herself, with her quota.
      await page.getByRole('link', { name: 'Usage of alice@kumo.test' }).click();
      await page.getByRole('heading', { name: 'Usage of alice@kumo.test' }).waitFor();
      await page.locator('tr[data-limit="VMS"]').waitFor();
      await page.getByRole('rowheader', { name: 'web' }).waitFor();
      await expectAccessible(page, 'a user’s usage');

      await page.getByRole('link', { name: 'Audit log' }).click();
      const filter = page.getByRole('form', { name: 'Filter the audit log' });
      await filter.getByLabel(/Action/).fill('quotaSet');
      await filter.getByRole('button', { name: 'Filter' }).click();
      await page.getByRole('rowheader', { name: 'quotaSet' }).first().waitFor();
      await shot(page, 'audit');
      await expectAccessible(page, 'the audit log');
    } catch (err) {
      await shot(page, 'admin-failure');
      throw err;
    } finally {
      await page.close();
    }
  });

  it('shows admins the hosts with live use and allocation, and puts one in maintenance and back', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    try {
      await signIn(page, ADMIN.email, ADMIN.password);
      await page.getByRole('link', { name: 'Hosts' }).click();
      const row = page.locator('tr[data-host="hv3"]');
      await row.getByText('ONLINE', { exact: true }).waitFor();
      // hostMetrics: every 5 s.
      await row.getByRole('meter', { name: 'CPU use of hv3' }).waitFor({ timeout: 20_000 });
      await row.getByRole('meter', { name: 'Memory use of hv3' }).waitFor();
      // What VMs hold of it (the user's VM is gone by now), against its capacity.
      await row.getByRole('meter', { name: 'vCPUs allocated on hv3' }).waitFor();
      await row.getByText(/^0 of \d+ vCPUs/).waitFor();
      await row.getByText('0 VMs', { exact: true }).waitFor();
      await shot(page, 'hosts');
      await expectAccessible(page, 'the hosts');
      await row.getByRole('button', { name: 'Maintenance for hv3' }).click();
      await row.getByText('MAINTENANCE', { exact: true }).waitFor();
      await row.getByRole('button', { name: 'Leave maintenance for hv3' }).click();
      await row.getByText('ONLINE', { exact: true }).waitFor();
    } catch (err) {
      await shot(page, 'hosts-failure');
      throw err;
    } finally {
      await page.close();
    }
  });
});

// axe-core's WCAG 2 A and AA rules over the page as shown: no violation allowed. The test's
// pages bypass the console's CSP for this one injected script.
async function expectAccessible(page: Page, where: string): Promise<void> {
  await page.addScriptTag({ path: createRequire(import.meta.url).resolve('axe-core/axe.min.js') });
  const violations = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (o: unknown) => Promise<AxeResults> } }).axe;
    const r = await axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
  expect(violations, `accessibility of ${where}`).toEqual([]);
}

interface AxeResults {
  violations: { id: string; nodes: { target: string[] }[] }[];
}

async function expectAlert(page: Page, text: RegExp): Promise<void> {
  await page.getByRole('alert').filter({ hasText: text }).waitFor();
}
