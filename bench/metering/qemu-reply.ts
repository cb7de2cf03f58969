// The get-all-domain-stats reply a QEMU host would send for the fleet's simulated domains.
import {
  type DomainStatsRecord,
  encodeConnectGetAllDomainStatsRet,
  type NonnullDomain,
  type TypedParam,
} from '../../src/libvirt/generated/remote-protocol.gen.ts';
import { formatUuid } from '../../src/libvirt/uuid.ts';
import { XdrWriter } from '../../src/libvirt/xdr/index.ts';
import { shapedRecord } from './capture.ts';

/**
 * qemuShapedReply encodes the payload of a CONNECT_GET_ALL_DOMAIN_STATS reply for these
 * domains (the handles the test driver gave) as a QEMU host would send it at `step`, each
 * record shaped on `template` (see capture.ts).
 */
export function qemuShapedReply(
  handles: readonly NonnullDomain[],
  taps: ReadonlyMap<string, string>,
  template: readonly TypedParam[],
  step: number,
): Buffer {
  const retStats: DomainStatsRecord[] = handles.map((dom, i) => {
    const uuid = formatUuid(dom.uuid);
    return { dom, params: shapedRecord(template, i, step, uuid, taps.get(uuid) ?? 'vnet0') };
  });
  const w = new XdrWriter(handles.length * 2048);
  encodeConnectGetAllDomainStatsRet(w, { retStats });
  return w.finish();
}
