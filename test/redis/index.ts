/**
 * The test Redis: one private redis-server (Debian's `redis-server`) on a free port of
 * 127.0.0.1, shared by every test run on the machine. See test/redis/README.md.
 */

export { openReplicaLinks, subscribers, testPrefix } from './links.ts';
export { REDIS_PACKAGES, redisInstall } from './packages.ts';
export {
  type RedisLease,
  redisAcquire,
  redisDown,
  redisRelease,
  redisStatus,
  redisUpDetailed,
} from './redis.ts';
export { redisCommand } from './server.ts';
export { loadRedis, type RedisServer, redisUrl } from './state.ts';
