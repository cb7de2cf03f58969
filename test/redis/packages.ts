import { ensureDebianPackages } from '../support/debian.ts';

/**
 * REDIS_PACKAGES are the Debian packages the test Redis runs on. Debian's own service is never
 * used: a test run starts its own redis-server with its own config, port and directory.
 */
export const REDIS_PACKAGES = ['redis-server'] as const;

/** REDIS_SERVER is the server binary Debian installs. */
export const REDIS_SERVER = '/usr/bin/redis-server';

/** redisInstall installs Redis from Debian when it is missing; a fast no-op otherwise. */
export function redisInstall(log: (line: string) => void = () => {}): Promise<void> {
  return ensureDebianPackages(REDIS_PACKAGES, log);
}
