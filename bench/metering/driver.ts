// The bench's driver package (config drivers.packages): libvirt's test driver over TLS, loaded
// from a file of simulated domains that each rig host holds at the same path in its own
// /var/lib/libvirt (written by fleet.ts). Like test/fixtures/kumo-driver-libvirt-test, but that
// one accepts only `/default`, whose domains the bench would have to define one call at a time
// and would share with anyone else using the test driver on the rig. Only types come from Kumo.
import type { DriverFactory } from '../../src/drivers/driver.ts';

/** FLEET_PATH is where each rig host's test driver file is, inside the host. */
export const FLEET_PATH = '/var/lib/libvirt/kumo-bench-metering.xml';

/** createDriver returns the `libvirt-test-file` driver for `test+tls://host/<FLEET_PATH>`. */
export const createDriver: DriverFactory = (kit) =>
  kit.createLibvirtDriver({
    name: 'libvirt-test-file',
    schemes: ['test+tls'],
    paths: [FLEET_PATH],
    capabilities: ['events'],
    transport: kit.transports.tls,
  });
