import type { HostCredentials } from './credentials.ts';
import type { ConnectTarget, HostKeyProbe, HypervisorDriver } from './driver.ts';
import { DriverError } from './errors.ts';
import { kvmLocalDriver } from './kvm-local.ts';
import { kvmSshDriver } from './kvm-ssh.ts';
import { kvmTlsDriver } from './kvm-tls.ts';
import { importDriverPackage } from './packages.ts';
import type { HypervisorSession } from './session.ts';
import { redactUri, schemeOf } from './uri.ts';

/** builtinDrivers are the drivers Kumo ships: QEMU/KVM over TLS, over SSH and on the local socket. */
export function builtinDrivers(): HypervisorDriver[] {
  return [kvmTlsDriver(), kvmSshDriver(), kvmLocalDriver()];
}

/**
 * DriverRegistry maps URI schemes to drivers. The built-in drivers come first; packages named
 * in the configuration (`drivers.packages`) add theirs with loadPackages. A scheme has one driver.
 */
export class DriverRegistry {
  private readonly byScheme = new Map<string, { driver: HypervisorDriver; origin: string }>();

  /** withBuiltins returns a registry holding the built-in drivers. */
  static withBuiltins(): DriverRegistry {
    const r = new DriverRegistry();
    for (const d of builtinDrivers()) r.register(d);
    return r;
  }

  /** register adds a driver under each of its schemes; `origin` names where it came from in errors. */
  register(driver: HypervisorDriver, origin = 'built in'): void {
    this.checkFree([driver], origin);
    for (const s of driver.schemes) this.byScheme.set(s.toLowerCase(), { driver, origin });
  }

  /** drivers lists each registered driver once. */
  drivers(): HypervisorDriver[] {
    return [...new Set([...this.byScheme.values()].map((e) => e.driver))];
  }

  /** schemes lists the registered schemes, sorted. */
  schemes(): string[] {
    return [...this.byScheme.keys()].sort();
  }

  /** forScheme returns the driver for a scheme (`qemu+tls`), if any. */
  forScheme(scheme: string): HypervisorDriver | undefined {
    return this.byScheme.get(scheme.toLowerCase())?.driver;
  }

  /** forUri returns the driver for a URI's scheme; INVALID_URI or UNSUPPORTED_SCHEME otherwise. */
  forUri(uri: string): HypervisorDriver {
    const scheme = schemeOf(uri);
    const driver = this.forScheme(scheme);
    if (!driver) {
      throw new DriverError(
        'UNSUPPORTED_SCHEME',
        `${redactUri(uri)}: no driver serves the scheme ${scheme}; known schemes: ${this.schemes().join(', ')} (drivers.packages in the configuration loads more)`,
      );
    }
    return driver;
  }

  /** validate picks the driver for a URI and lets it check the URI and credentials offline. */
  async validate(uri: string, credentials: HostCredentials): Promise<HypervisorDriver> {
    const driver = this.forUri(uri);
    await driver.validate(uri, credentials);
    return driver;
  }

  /** connect opens a session through the driver for the target's URI. */
  async connect(target: ConnectTarget): Promise<HypervisorSession> {
    return this.forUri(target.uri).connect(target);
  }

  /** probeHostKey asks the host for its SSH key, for drivers that declare `hostKeyProbe`. */
  async probeHostKey(uri: string, opts?: { timeoutMs?: number }): Promise<HostKeyProbe> {
    const driver = this.forUri(uri);
    if (!driver.probeHostKey) {
      throw new DriverError(
        'UNSUPPORTED',
        `${redactUri(uri)}: the ${driver.name} driver pins no host key (only SSH hosts have one)`,
      );
    }
    return driver.probeHostKey(uri, opts);
  }

  /**
   * loadPackages imports each named package (a package name, or a path or file: URL of a package
   * directory or module), calls its driver factory and registers what it returns. A package is
   * registered whole or not at all; errors are DRIVER_LOAD_FAILED and name the package.
   */
  async loadPackages(names: readonly string[]): Promise<HypervisorDriver[]> {
    const loaded: HypervisorDriver[] = [];
    for (const name of names) {
      const drivers = await importDriverPackage(name);
      const origin = `package ${name}`;
      this.checkFree(drivers, origin);
      for (const d of drivers) this.register(d, origin);
      loaded.push(...drivers);
    }
    return loaded;
  }

  private checkFree(drivers: readonly HypervisorDriver[], origin: string): void {
    const seen = new Set<string>();
    for (const d of drivers) {
      for (const raw of d.schemes) {
        const s = raw.toLowerCase();
        const taken = this.byScheme.get(s);
        if (taken || seen.has(s)) {
          const by = taken ? `${taken.driver.name} (${taken.origin})` : 'another of its drivers';
          throw new DriverError(
            'DRIVER_LOAD_FAILED',
            `${origin}: driver ${d.name} wants the scheme ${s}, already served by ${by}`,
          );
        }
        seen.add(s);
      }
    }
  }
}
