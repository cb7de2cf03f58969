import type { NonnullDomainSnapshot, RemoteProgram } from '../generated/remote-protocol.gen.ts';
import { UNBOUNDED } from '../rpc/caller.ts';
import type { DomainRef } from './domains.ts';

/** SnapshotRef names one snapshot of a domain. */
export type SnapshotRef = NonnullDomainSnapshot;

/** SnapshotDeleteFlags are virDomainSnapshotDeleteFlags. */
export const SnapshotDeleteFlags = { CHILDREN: 1, METADATA_ONLY: 2, CHILDREN_ONLY: 4 } as const;

/** SnapshotApi creates, lists, reverts and deletes domain snapshots. */
export class SnapshotApi {
  private readonly remote: RemoteProgram;

  constructor(remote: RemoteProgram) {
    this.remote = remote;
  }

  /** create takes a snapshot from its XML (`<domainsnapshot>`). */
  async create(dom: DomainRef, xml: string, flags = 0): Promise<SnapshotRef> {
    return (
      await this.remote.domainSnapshotCreateXML({ dom: dom.handle, xmlDesc: xml, flags }, UNBOUNDED)
    ).snap;
  }

  async list(dom: DomainRef, flags = 0): Promise<SnapshotRef[]> {
    return (await this.remote.domainListAllSnapshots({ dom: dom.handle, needResults: 1, flags }))
      .snapshots;
  }

  async lookup(dom: DomainRef, name: string): Promise<SnapshotRef> {
    return (await this.remote.domainSnapshotLookupByName({ dom: dom.handle, name, flags: 0 })).snap;
  }

  async xml(snap: SnapshotRef): Promise<string> {
    return (await this.remote.domainSnapshotGetXMLDesc({ snap, flags: 0 })).xml;
  }

  async revert(snap: SnapshotRef, flags = 0): Promise<void> {
    await this.remote.domainRevertToSnapshot({ snap, flags }, UNBOUNDED);
  }

  async delete(snap: SnapshotRef, flags = 0): Promise<void> {
    await this.remote.domainSnapshotDelete({ snap, flags }, UNBOUNDED);
  }
}
