import { createServer } from 'node:net';

/**
 * freePort is a TCP port of host that nobody listens on right now. The caller binds it a moment
 * later, so another process may take it first: rare enough for test daemons, which fail loudly.
 */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
