import { describe, expect, it } from 'vitest';
import { parseUri } from './uri.ts';

describe('parseUri', () => {
  it('takes the transport and host out of the name sent to the daemon', () => {
    const u = parseUri('qemu+tls://10.0.0.1/system?pkipath=/etc/x');
    expect(u).toMatchObject({
      driver: 'qemu',
      transport: 'tls',
      host: '10.0.0.1',
      port: null,
      path: '/system',
    });
    expect(u.remoteName).toBe('qemu:///system');
    expect(u.params.get('pkipath')).toBe('/etc/x');
  });

  it('parses ssh with user, port and key, and keeps driver parameters', () => {
    const u = parseUri('qemu+ssh://root@h.example:2222/system?keyfile=/k&known_hosts=/kh&foo=bar');
    expect(u).toMatchObject({ transport: 'ssh', user: 'root', host: 'h.example', port: 2222 });
    expect(u.remoteName).toBe('qemu:///system?foo=bar');
  });

  it('chooses unix without a host and tls with one, as libvirt does', () => {
    expect(parseUri('qemu:///system').transport).toBe('unix');
    expect(parseUri('test:///default').remoteName).toBe('test:///default');
    expect(parseUri('qemu://h/system').transport).toBe('tls');
    expect(parseUri('test+tls://10.1.1.1/default').remoteName).toBe('test:///default');
    expect(parseUri('qemu+libssh2://u@h/system').transport).toBe('ssh');
  });

  it('accepts IPv6 hosts', () => {
    expect(parseUri('qemu+tls://[::1]:16514/system')).toMatchObject({ host: '::1', port: 16514 });
  });

  it('refuses what is unsafe or malformed, saying why', () => {
    expect(() => parseUri('qemu+tcp://h/system')).toThrow(/unencrypted/);
    expect(() => parseUri('qemu+tls://h/system?no_verify=1')).toThrow(/always verifies/);
    expect(() => parseUri('qemu+tls:///system')).toThrow(/needs a host/);
    expect(() => parseUri('qemu+ftp://h/system')).toThrow(/unsupported transport/);
    expect(() => parseUri('not a uri')).toThrow(/not a libvirt URI/);
  });
});
