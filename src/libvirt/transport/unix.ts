import { connect, type Socket } from 'node:net';
import { connectError, withTimeout } from './errors.ts';

/** DEFAULT_UNIX_SOCKET is the monolithic libvirtd's read-write socket (Debian 12). */
export const DEFAULT_UNIX_SOCKET = '/run/libvirt/libvirt-sock';

/** dialUnix connects to a local daemon's unix socket. */
export function dialUnix(path: string, timeoutMs: number): Promise<Socket> {
  const socket = connect(path);
  const ready = new Promise<Socket>((resolve, reject) => {
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('error', (err) => reject(connectError(err, path)));
  });
  return withTimeout(ready, timeoutMs, path, () => socket.destroy());
}
