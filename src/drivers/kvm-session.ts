import type { LibvirtConnection } from '../libvirt/connection.ts';
import { type DriverError, toDriverError } from './errors.ts';
import { readFacts } from './kvm-facts.ts';
import { MetricsSampler } from './kvm-metrics.ts';
import type { FactsOptions, HostFacts, HostMetrics, HypervisorSession } from './session.ts';

/** KvmSession is the HypervisorSession of every driver built on the libvirt client. */
export class KvmSession implements HypervisorSession {
  readonly driver: string;
  readonly uri: string;
  readonly connection: LibvirtConnection;
  readonly closed: Promise<DriverError>;
  private readonly sampler: MetricsSampler;

  constructor(driver: string, uri: string, connection: LibvirtConnection) {
    this.driver = driver;
    this.uri = uri;
    this.connection = connection;
    this.closed = connection.closed.then((reason) => toDriverError(reason, uri, 'session'));
    this.sampler = new MetricsSampler(connection.host);
  }

  get isOpen(): boolean {
    return this.connection.isOpen;
  }

  async facts(opts: FactsOptions = {}): Promise<HostFacts> {
    try {
      return await readFacts(this.connection, opts);
    } catch (err) {
      throw toDriverError(err, this.uri, 'session');
    }
  }

  async metrics(): Promise<HostMetrics> {
    try {
      return await this.sampler.sample();
    } catch (err) {
      throw toDriverError(err, this.uri, 'session');
    }
  }

  close(): Promise<void> {
    return this.connection.close();
  }
}
