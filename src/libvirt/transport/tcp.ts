import { connect, type Socket } from 'node:net';
import { connectError, withTimeout } from './errors.ts';

/** dialTcp opens a plain TCP connection (a port a host serves beside libvirtd). */
export function dialTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const where = `${host}:${port}`;
  const socket = connect({ host, port });
  socket.setNoDelay(true);
  const ready = new Promise<Socket>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => reject(connectError(err, where));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      resolve(socket);
    });
  });
  return withTimeout(ready, timeoutMs, where, () => socket.destroy());
}
