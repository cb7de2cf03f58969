/** What to generate from which .x file. */

/** The libvirt release the .x files come from (stated in the generated headers). */
export const LIBVIRT_VERSION = '9.0.0';

export type StreamDirection = 'read' | 'write';

/** ProgramConfig describes an RPC program defined by a procedure enum. */
export interface ProgramConfig {
  /** procedureEnum is the enum listing the procedures: `remote_procedure`. */
  readonly procedureEnum: string;
  readonly programConst: string;
  readonly versionConst: string;
  /** memberPrefix starts every procedure name: `REMOTE_PROC_`. */
  readonly memberPrefix: string;
  /** structPrefix starts the args/ret/msg struct names: `remote_` (+ `domain_get_state_args`). */
  readonly structPrefix: string;
  /** tsPrefix names the generated program symbols: `Remote` → RemoteProcedures, RemoteProgram. */
  readonly tsPrefix: string;
  /** client: emit the client class and the event table (not for keepalive). */
  readonly client: boolean;
  /**
   * streamOverrides adds stream directions the .x does not annotate. Only procedures whose
   * server and client code is handwritten (`@generate: none`) can lack the annotation.
   */
  readonly streamOverrides: ReadonlyMap<string, StreamDirection>;
}

export interface ModuleConfig {
  /** source is the .x file name. */
  readonly source: string;
  /** outFile is the generated file's name in src/libvirt/generated/. */
  readonly outFile: string;
  /** typePrefix is stripped from type names: `remote_`. */
  readonly typePrefix: string;
  /** fallbackPrefix is put back when a stripped name would shadow a reserved one: `Remote`. */
  readonly fallbackPrefix: string;
  /** deps are the outFiles of modules whose definitions this one uses. */
  readonly deps: readonly string[];
  readonly program: ProgramConfig | null;
}

export const MODULES: readonly ModuleConfig[] = [
  {
    source: 'virnetprotocol.x',
    outFile: 'virnet-protocol.gen.ts',
    typePrefix: 'virNet',
    fallbackPrefix: 'VirNet',
    deps: [],
    program: null,
  },
  {
    source: 'virkeepaliveprotocol.x',
    outFile: 'keepalive-protocol.gen.ts',
    typePrefix: 'keepalive_',
    fallbackPrefix: 'Keepalive',
    deps: [],
    program: {
      procedureEnum: 'keepalive_procedure',
      programConst: 'KEEPALIVE_PROGRAM',
      versionConst: 'KEEPALIVE_PROTOCOL_VERSION',
      memberPrefix: 'KEEPALIVE_PROC_',
      structPrefix: 'keepalive_',
      tsPrefix: 'Keepalive',
      client: false,
      streamOverrides: new Map(),
    },
  },
  {
    source: 'remote_protocol.x',
    outFile: 'remote-protocol.gen.ts',
    typePrefix: 'remote_',
    fallbackPrefix: 'Remote',
    deps: [],
    program: {
      procedureEnum: 'remote_procedure',
      programConst: 'REMOTE_PROGRAM',
      versionConst: 'REMOTE_PROTOCOL_VERSION',
      memberPrefix: 'REMOTE_PROC_',
      structPrefix: 'remote_',
      tsPrefix: 'Remote',
      client: true,
      // virDomainMigratePrepareTunnel3Params takes a virStreamPtr like PREPARE_TUNNEL and
      // PREPARE_TUNNEL3 (both @writestream: 1), and remote_driver.c opens a client stream for it,
      // but its procedure is `@generate: none` and carries no @writestream annotation.
      streamOverrides: new Map([['REMOTE_PROC_DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS', 'write']]),
    },
  },
  {
    source: 'qemu_protocol.x',
    outFile: 'qemu-protocol.gen.ts',
    typePrefix: 'qemu_',
    fallbackPrefix: 'Qemu',
    deps: ['remote-protocol.gen.ts'],
    program: {
      procedureEnum: 'qemu_procedure',
      programConst: 'QEMU_PROGRAM',
      versionConst: 'QEMU_PROTOCOL_VERSION',
      memberPrefix: 'QEMU_PROC_',
      structPrefix: 'qemu_',
      tsPrefix: 'Qemu',
      client: true,
      streamOverrides: new Map(),
    },
  },
];
