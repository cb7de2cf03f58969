import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestKumo, type TestKumo, tlsCredentialsInput } from '../api/support.ts';
import { launchBrowser } from '../support/browser.ts';
import { rig, rigHost } from '../support/rig.ts';

// GraphiQL as a person uses it, in headless Chromium: Kumo serves the page and its bundle
// itself.
async function replaceEditor(page: Page, index: number, text: string): Promise<void> {
  await page.locator('.graphiql-editor:not(.hidden) .monaco-editor').nth(index).click();
  await page.keyboard.press('Control+A');
  await page.keyboard.insertText(text);
  // Monaco may still auto-close the first bracket after the cursor: drop whatever follows.
  await page.keyboard.press('Control+Shift+End');
  await page.keyboard.press('Delete');
}

async function responseText(page: Page): Promise<string> {
  // The rendered text, on purpose: Monaco draws each line in its own element, and only the
  // rendering keeps the line breaks between them.
  // biome-ignore lint/performance/useDomNodeTextContent: see above
  return (await page.locator('.graphiql-response').innerText()).replace(/\s+/g, ' ');
}

describe('GraphiQL in a browser', () => {
  let k: TestKumo;
  let admin: string;
  let hostId: string;
  beforeAll(async () => {
    k = await startTestKumo();
    admin = await k.signIn(ADMIN.email, ADMIN.password);
    const added = await k.gql<{ hostAdd: { host: { id: string } | null } }>(
      'mutation($i: HostAddInput!) { hostAdd(input: $i) { host { id } userErrors { message } } }',
      {
        i: {
          name: 'hv1',
          uri: `qemu+tls://${rigHost('hv1').ip}/system`,
          credentials: tlsCredentialsInput(rig().pki.clientDir),
        },
      },
      admin,
    );
    hostId = added.data?.hostAdd.host?.id ?? '';
  });
  afterAll(() => k.stop());

  it('signs in, runs a query and receives a subscription event over the WebSocket', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const signIn = `mutation { sessionCreate(input: {email: "${ADMIN.email}", password: "${ADMIN.password}"}) { token } }`;
      await page.goto(`${k.url}?query=${encodeURIComponent(signIn)}`);
      await page.click('.graphiql-execute-button');
      await page.waitForFunction(() =>
        /kumo_[\w-]{43}/.test(document.querySelector('.graphiql-response')?.textContent ?? ''),
      );
      const token = /kumo_[\w-]{43}/.exec(await responseText(page))?.[0];
      expect(token).toBeDefined();

      await page.getByText('Headers', { exact: true }).click();
      await replaceEditor(page, 1, JSON.stringify({ authorization: `Bearer ${token}` }));
      await replaceEditor(
        page,
        0,
        '{ viewer { email isAdmin } hosts(first: 5) { edges { node { name state } } } }',
      );
      await page.click('.graphiql-execute-button');
      await page.waitForFunction(() =>
        (document.querySelector('.graphiql-response')?.textContent ?? '').includes('isAdmin'),
      );
      expect(await responseText(page)).toContain(
        '"viewer": { "email": "admin@kumo.test", "isAdmin": true }',
      );
      expect(await responseText(page)).toContain('"name": "hv1", "state": "ONLINE"');

      await replaceEditor(
        page,
        0,
        'subscription { hostStateChanged { state previous host { name } } }',
      );
      await page.click('.graphiql-execute-button');
      // Put the host in maintenance until the subscriber shows it (the WebSocket subscribes lazily).
      for (let i = 0; i < 50 && !(await responseText(page)).includes('MAINTENANCE'); i++) {
        const maintenance = i % 2 === 0;
        await k.gql(
          'mutation($id: ID!, $m: Boolean!) { hostUpdate(input: {id: $id, maintenance: $m}) { host { state } } }',
          { id: hostId, m: maintenance },
          admin,
        );
        await page.waitForTimeout(200);
      }
      expect(await responseText(page)).toMatch(
        /"state": "MAINTENANCE", "previous": "ONLINE", "host": \{ "name": "hv1" \}/,
      );
    } catch (err) {
      await (await browser.contexts()[0]?.pages()[0])?.screenshot({
        path: '/tmp/graphiql-fail.png',
      });
      throw err;
    } finally {
      await browser.close();
    }
  });
});
