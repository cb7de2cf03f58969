/**
 * Constants the .x files use but do not define: they come from libvirt's public C headers
 * (rpcgen copies the names into C, where the headers supply them). Values are those of
 * libvirt 9.0.0. A name used by a .x file that is neither defined there nor listed here is a
 * generator error, so a new one cannot slip through unnoticed.
 */

export interface ExternalConstant {
  readonly value: number;
  /** header is where libvirt defines it. */
  readonly header: string;
}

export const LIBVIRT_HEADER_CONSTANTS: ReadonlyMap<string, ExternalConstant> = new Map([
  // Buffer sizes (include/libvirt/libvirt-host.h).
  ['VIR_UUID_BUFLEN', { value: 16, header: 'libvirt-host.h' }],
  ['VIR_SECURITY_MODEL_BUFLEN', { value: 256 + 1, header: 'libvirt-host.h' }],
  ['VIR_SECURITY_LABEL_BUFLEN', { value: 4096 + 1, header: 'libvirt-host.h' }],
  ['VIR_SECURITY_DOI_BUFLEN', { value: 256 + 1, header: 'libvirt-host.h' }],
  // virTypedParameterType: the discriminant of remote_typed_param_value (libvirt-common.h).
  ['VIR_TYPED_PARAM_INT', { value: 1, header: 'libvirt-common.h' }],
  ['VIR_TYPED_PARAM_UINT', { value: 2, header: 'libvirt-common.h' }],
  ['VIR_TYPED_PARAM_LLONG', { value: 3, header: 'libvirt-common.h' }],
  ['VIR_TYPED_PARAM_ULLONG', { value: 4, header: 'libvirt-common.h' }],
  ['VIR_TYPED_PARAM_DOUBLE', { value: 5, header: 'libvirt-common.h' }],
  ['VIR_TYPED_PARAM_BOOLEAN', { value: 6, header: 'libvirt-common.h' }],
  ['VIR_TYPED_PARAM_STRING', { value: 7, header: 'libvirt-common.h' }],
]);

/** externalValues is LIBVIRT_HEADER_CONSTANTS as name → value, for the parser's `known`. */
export function externalValues(): Map<string, number> {
  return new Map([...LIBVIRT_HEADER_CONSTANTS].map(([k, v]) => [k, v.value]));
}
