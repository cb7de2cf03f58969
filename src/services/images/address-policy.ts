import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { ServiceError } from '../errors.ts';

// Ranges an image URL may not point into: this machine, link-local and private networks, and
// addresses that are not unicast on the internet at all (RFC 6890 and friends).
const FORBIDDEN: ReadonlyArray<readonly [string, number, 'ipv4' | 'ipv6']> = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.0.2.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'],
  ['2001:db8::', 32, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

/**
 * AddressPolicy decides which addresses image downloads may connect to: public unicast
 * addresses, plus whatever an admin allow-lists (CIDRs such as `10.20.0.0/16`, `127.0.0.1/32`).
 */
export class AddressPolicy {
  private readonly forbidden = new BlockList();
  private readonly allowed = new BlockList();

  constructor(allowList: readonly string[] = []) {
    for (const [net, prefix, type] of FORBIDDEN) this.forbidden.addSubnet(net, prefix, type);
    for (const cidr of allowList) {
      const [net, bits] = cidr.split('/');
      const type = isIP(net ?? '') === 6 ? 'ipv6' : 'ipv4';
      const prefix = Number(bits ?? (type === 'ipv6' ? 128 : 32));
      if (!isIP(net ?? '') || !Number.isInteger(prefix))
        throw new Error(`not a CIDR: ${JSON.stringify(cidr)}`);
      this.allowed.addSubnet(net as string, prefix, type);
    }
  }

  /** allows says whether connecting to `ip` is permitted. */
  allows(ip: string): boolean {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
    const address = mapped ?? ip;
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (this.allowed.check(address, type)) return true;
    return !this.forbidden.check(address, type);
  }

  /**
   * checkHost refuses a URL host that is an IP address the policy does not allow. Node's HTTP
   * client does not call `lookup` for IP literals, so they must be checked here.
   */
  checkHost(hostname: string): void {
    const literal = hostname.replace(/^\[(.*)\]$/, '$1');
    if (isIP(literal) !== 0 && !this.allows(literal)) {
      throw new ServiceError(
        'REFUSED',
        `${literal} is an address images may not be fetched from (loopback, link-local, private or reserved); an admin can allow-list it`,
        'input.url',
      );
    }
  }

  /**
   * lookup resolves like dns.lookup but fails when any address the name resolves to is not
   * allowed. Given to the HTTP request as its lookup, the check and the connection use the same
   * answer, so a name cannot resolve to a public address for the check and a private one after.
   */
  readonly lookup = (
    hostname: string,
    options: object,
    callback: (
      err: NodeJS.ErrnoException | null,
      address: string | LookupAddress[],
      family?: number,
    ) => void,
  ): void => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, []);
        return;
      }
      const refused = addresses.find((a) => !this.allows(a.address));
      if (refused) {
        callback(
          new ServiceError(
            'REFUSED',
            `${hostname} resolves to ${refused.address}, which images may not be fetched from (loopback, link-local, private or reserved); an admin can allow-list it`,
            'input.url',
          ) as NodeJS.ErrnoException,
          [],
        );
        return;
      }
      const all = (options as { all?: boolean }).all === true;
      const first = addresses[0] as LookupAddress;
      if (all) callback(null, addresses);
      else callback(null, first.address, first.family);
    });
  };
}
