// vitest globalSetup: one rig of real hypervisor hosts for the whole run, shared by every test
// file through `inject('rig')`. KUMO_RIG=0 skips it (unit tests only). A rig this run had to
// start is taken down at the end unless KUMO_RIG_KEEP=1 or another run still uses it; a rig
// that was already up (a person's `cli up`) is reused and left running.
import type { TestProject } from 'vitest/node';
import { type Rig, rigAcquire, rigInstall, rigRelease } from './rig/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    rig: Rig;
  }
}

export default async function setup(
  project: TestProject,
): Promise<(() => Promise<void>) | undefined> {
  if (process.env.KUMO_RIG === '0') return undefined;
  await rigInstall((line) => console.log(`rig: ${line}`));
  const rig = await rigAcquire(4, { keep: process.env.KUMO_RIG_KEEP === '1' });
  project.provide('rig', rig);
  return () => rigRelease();
}
