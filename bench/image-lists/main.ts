// Verifying a signed image list: Kumo's in-process check (S/MIME signature and chain with
// pkijs, then the list's JSON parsed and validated) against `openssl smime -verify` on the same
// message, the check vmcatcher's users run, with the JSON parsed after it. Lists of 10, 100 and
// 1,000 images, signed by `openssl smime -sign` from a test endorser; rounds alternate the two.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { verifySmime } from '../../src/pki/index.ts';
import {
  formatImageList,
  parseImageList,
} from '../../src/services/image-lists/image-list-format.ts';
import { makeEndorser, signList } from '../../test/support/endorsers.ts';

const run = promisify(execFile);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const CALLS = Number(process.env.BENCH_CALLS ?? 50);
const dir = mkdtempSync(join(tmpdir(), 'kumo-bench-lists-'));

function list(n: number, dn: string, ca: string): string {
  const id = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
  return formatImageList({
    identifier: id(0),
    title: `bench list of ${n}`,
    description: '',
    source: 'bench',
    version: '1',
    uri: 'https://example.invalid/list',
    createdAt: new Date(),
    expiresAt: new Date(Date.now() + 86_400_000),
    endorser: { dn, ca, creator: 'bench', email: 'bench@example.invalid' },
    images: Array.from({ length: n }, (_, i) => ({
      identifier: id(i + 1),
      title: `image ${i}`,
      description: 'a benchmark image with a description of ordinary length',
      version: '1',
      uri: `https://example.invalid/images/${i}.qcow2`,
      sha512: 'ab'.repeat(64),
      sizeBytes: 1n << 30n,
      hypervisor: 'QEMU,KVM',
      arch: 'x86_64',
      os: 'Linux',
      osName: 'Debian',
      osVersion: '12',
      comments: '',
    })),
  });
}

async function time(calls: number, once: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < calls; i++) await once();
  return (performance.now() - start) / calls;
}

try {
  const e = await makeEndorser(dir, 'bench');
  console.log('| images | bytes | Kumo ms | openssl ms | openssl / Kumo |');
  console.log('| -----: | ----: | ------: | ---------: | -------------: |');
  for (const n of [10, 100, 1000]) {
    const message = await signList(e, list(n, e.dn, e.caDn));
    const file = join(dir, `list-${n}`);
    await writeFile(file, message);
    const kumo = () =>
      verifySmime(message, { caCertificates: [e.caPem] }, new Date()).then((v) =>
        parseImageList(v.content),
      );
    const openssl = () =>
      run('openssl', ['smime', '-verify', '-in', file, '-CAfile', e.caPath], {
        maxBuffer: 1 << 26,
      }).then(({ stdout }) => JSON.parse(stdout));
    await kumo();
    await openssl();
    let best = { kumo: Number.POSITIVE_INFINITY, openssl: Number.POSITIVE_INFINITY };
    for (let r = 0; r < ROUNDS; r++)
      best = {
        kumo: Math.min(best.kumo, await time(CALLS, kumo)),
        openssl: Math.min(best.openssl, await time(CALLS, openssl)),
      };
    console.log(
      `| ${n} | ${message.length} | ${best.kumo.toFixed(2)} | ${best.openssl.toFixed(2)} | ${(best.openssl / best.kumo).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
