import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Duplex, PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { desEncryptBlock } from './des.ts';
import { readBytes, rfbGreet, rfbLogin, vncAuthResponse } from './rfb.ts';

const run = promisify(execFile);

// OpenSSL's DES, from a node started with its legacy provider, is the reference.
async function opensslDes(pairs: { key: string; block: string }[]): Promise<string[]> {
  const script = `
    const { createCipheriv } = require('node:crypto');
    const pairs = JSON.parse(process.argv[1]);
    console.log(JSON.stringify(pairs.map(({ key, block }) => {
      const c = createCipheriv('des-ecb', Buffer.from(key, 'hex'), null);
      c.setAutoPadding(false);
      return c.update(Buffer.from(block, 'hex')).toString('hex');
    })));`;
  const { stdout } = await run(process.execPath, [
    '--openssl-legacy-provider',
    '-e',
    script,
    JSON.stringify(pairs),
  ]);
  return JSON.parse(stdout) as string[];
}

describe('DES', () => {
  it('encrypts the textbook block', () => {
    const out = desEncryptBlock(
      Buffer.from('133457799bbcdff1', 'hex'),
      Buffer.from('0123456789abcdef', 'hex'),
    );
    expect(out.toString('hex')).toBe('85e813540f0ab405');
  });

  it('agrees with OpenSSL on 300 random keys and blocks', async () => {
    const pairs = Array.from({ length: 300 }, () => ({
      key: randomBytes(8).toString('hex'),
      block: randomBytes(8).toString('hex'),
    }));
    const ours = pairs.map(({ key, block }) =>
      desEncryptBlock(Buffer.from(key, 'hex'), Buffer.from(block, 'hex')).toString('hex'),
    );
    expect(ours).toEqual(await opensslDes(pairs));
  });

  it('answers a VNC challenge with the bit-reversed password as key', async () => {
    const challenge = randomBytes(16);
    // "pass" reversed bit by bit in each byte, zero-padded to 8 bytes.
    const key = Buffer.from([0x0e, 0x86, 0xce, 0xce, 0, 0, 0, 0]).toString('hex');
    const expected = await opensslDes([
      { key, block: challenge.subarray(0, 8).toString('hex') },
      { key, block: challenge.subarray(8).toString('hex') },
    ]);
    expect(vncAuthResponse('pass', challenge).toString('hex')).toBe(expected.join(''));
  });
});

// Two Duplexes joined back to back, as a socket's two ends.
function socketPair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const end = (input: PassThrough, output: PassThrough) =>
    Duplex.from({ readable: input, writable: output });
  return [end(ba, ab), end(ab, ba)];
}

describe('RFB opening', () => {
  it('logs in to a server that needs no password, leaving what follows unread', async () => {
    const [client, server] = socketPair();
    const greeted = rfbGreet(server);
    await rfbLogin(client, 'unused');
    await greeted;
    client.write(Buffer.from([1]));
    expect((await readBytes(server, 1))[0]).toBe(1);
  });

  it('speaks 3.3 to a client that asks for it', async () => {
    const [client, server] = socketPair();
    const greeted = rfbGreet(server);
    expect((await readBytes(client, 12)).toString()).toBe('RFB 003.008\n');
    client.write('RFB 003.003\n');
    await greeted;
    expect((await readBytes(client, 4)).readUInt32BE(0)).toBe(1);
  });

  it('refuses a client speaking something else, and a server that closes', async () => {
    const [client, server] = socketPair();
    const greeted = rfbGreet(server);
    await readBytes(client, 12);
    client.write('GET / HTTP/1.\n');
    await expect(greeted).rejects.toThrow(/not RFB 3.3, 3.7 or 3.8/);

    const [c2, s2] = socketPair();
    const login = rfbLogin(c2, 'x');
    s2.end('RFB 0');
    await expect(login).rejects.toThrow(/closed during the RFB opening/);
  });

  it('reports a refused password with the server’s reason', async () => {
    const [client, server] = socketPair();
    const login = rfbLogin(client, 'secret');
    server.write('RFB 003.008\n');
    await readBytes(server, 12);
    server.write(Buffer.from([1, 2]));
    expect((await readBytes(server, 1))[0]).toBe(2);
    const challenge = randomBytes(16);
    server.write(challenge);
    expect(await readBytes(server, 16)).toEqual(vncAuthResponse('secret', challenge));
    const why = Buffer.from('Authentication failed');
    const result = Buffer.alloc(8);
    result.writeUInt32BE(1, 0);
    result.writeUInt32BE(why.length, 4);
    server.write(Buffer.concat([result, why]));
    await expect(login).rejects.toMatchObject({ refused: true, message: /Authentication failed/ });
  });
});
