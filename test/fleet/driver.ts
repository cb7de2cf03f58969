// The fleet's driver package (config drivers.packages): libvirt's test driver over TLS, opened
// on a simulated host's file (fleet.ts). Like test/fixtures/kumo-driver-libvirt-test, which
// accepts only `/default`, a single state shared by every client of the daemon. Only types and
// constants come from Kumo's tree; what it runs comes in the kit.
import type { DriverFactory } from '../../src/drivers/driver.ts';
import { FLEET_PATH } from './fleet.ts';

/** createDriver returns the `libvirt-test-fleet` driver for `test+tls://host/<fleet file>`. */
export const createDriver: DriverFactory = (kit) =>
  kit.createLibvirtDriver({
    name: 'libvirt-test-fleet',
    schemes: ['test+tls'],
    paths: [FLEET_PATH],
    // The test driver simulates domains and their events; it runs no guest and stores no volume.
    capabilities: ['events'],
    transport: kit.transports.tls,
  });
