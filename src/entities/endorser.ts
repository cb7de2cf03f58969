import { defineEntity, p } from '@mikro-orm/core';
import { type EndorserId, newId } from './ids.ts';

/**
 * EndorserSchema maps Endorser to `endorsers`: someone whose signed image lists the cloud
 * trusts, named by the DN of the certificate they sign with and the CA that issues it.
 */
export const EndorserSchema = defineEntity({
  name: 'Endorser',
  tableName: 'endorsers',
  properties: {
    id: p
      .uuid()
      .$type<EndorserId>()
      .primary()
      .onCreate(() => newId<EndorserId>()),
    /** dn is the signing certificate's subject, in OpenSSL's slash form as lists write it. */
    dn: p.string().length(512).unique(),
    /** caCertificate is the PEM of the CA a signing certificate must chain up to. */
    caCertificate: p.text(),
    /** caDn is that CA's subject (the list's `hv:ca`), in slash form. */
    caDn: p.string().length(512),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

/** Endorser is a trusted signer of image lists. */
export class Endorser extends EndorserSchema.class {}
EndorserSchema.setClass(Endorser);
