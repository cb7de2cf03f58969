/**
 * Emits the RPC program part of a module: the `Procedure` descriptors, the client class with
 * one method per procedure, and the event MESSAGE table and decoder.
 *
 * A procedure's args/ret/msg types are found by libvirt's naming convention:
 * REMOTE_PROC_DOMAIN_GET_STATE ↔ remote_domain_get_state_{args,ret,msg}. A procedure with a
 * `_msg` struct and neither args nor ret is an event MESSAGE sent by the server: it gets no
 * method but an entry in the event table. `@readstream`/`@writestream` (plus the config's
 * overrides) make a method open a data stream.
 */
import type { ProgramConfig, StreamDirection } from './config.ts';
import { doc, enumMemberNames } from './emit-types.ts';
import { methodName } from './names.ts';
import { GenError, type Scope } from './scope.ts';

/** ProcedureInfo is one procedure with its linked types. */
export interface ProcedureInfo {
  /** xdrName is the enum member: `REMOTE_PROC_DOMAIN_GET_STATE`. */
  readonly xdrName: string;
  /** name is the member without its prefix: `DOMAIN_GET_STATE`. */
  readonly name: string;
  readonly number: number;
  readonly args: string | null;
  readonly ret: string | null;
  readonly msg: string | null;
  readonly stream: StreamDirection | null;
}

/** procedures links the members of the procedure enum to their types. */
export function procedures(scope: Scope, cfg: ProgramConfig): ProcedureInfo[] {
  const e = scope.lookup(cfg.procedureEnum);
  if (e.kind !== 'enum') throw new GenError(`${cfg.procedureEnum} is not an enum`);
  const names = enumMemberNames(e, cfg.memberPrefix);
  return e.members.map((m) => {
    if (!m.name.startsWith(cfg.memberPrefix)) {
      throw new GenError(`procedure ${m.name} does not start with ${cfg.memberPrefix}`);
    }
    const base = cfg.structPrefix + m.name.slice(cfg.memberPrefix.length).toLowerCase();
    const find = (suffix: string): string | null => {
      const n = `${base}_${suffix}`;
      if (!scope.has(n)) return null;
      const def = scope.lookup(n);
      if (def.kind !== 'struct') throw new GenError(`${n} is not a struct`);
      return n;
    };
    const read = m.annotations.some((a) => a.key === 'readstream');
    const write = m.annotations.some((a) => a.key === 'writestream');
    if (read && write) throw new GenError(`${m.name} has both @readstream and @writestream`);
    const override = cfg.streamOverrides.get(m.name) ?? null;
    const info: ProcedureInfo = {
      xdrName: m.name,
      name: names.get(m.name) ?? m.name,
      number: m.value,
      args: find('args'),
      ret: find('ret'),
      msg: find('msg'),
      stream: read ? 'read' : write ? 'write' : override,
    };
    if (info.msg !== null && (info.args !== null || info.ret !== null || info.stream !== null)) {
      throw new GenError(`${m.name} has a _msg struct and args, ret or a stream`);
    }
    return info;
  });
}

/**
 * emitProcedureTable emits `<Prefix>Procedures`: a Procedure descriptor per procedure, built by
 * a private helper so each entry keeps its literal number and name types.
 */
export function emitProcedureTable(
  scope: Scope,
  cfg: ProgramConfig,
  procs: readonly ProcedureInfo[],
): string {
  const program = scope.ref({ kind: 'ref', name: cfg.programConst });
  const version = scope.ref({ kind: 'ref', name: cfg.versionConst });
  const helper = `${cfg.tsPrefix.charAt(0).toLowerCase()}${cfg.tsPrefix.slice(1)}Procedure`;
  const lines = [
    doc(`Builds the Procedure descriptor of one ${cfg.programConst} procedure.`),
    `function ${helper}<const N extends number, const S extends string>(procedure: N, name: S) {`,
    `return { program: ${program}, version: ${version}, procedure, name } as const;`,
    '}',
    '',
    doc(`The procedures of ${cfg.procedureEnum}, keyed by name without ${cfg.memberPrefix}.`),
    `export const ${cfg.tsPrefix}Procedures = {`,
  ];
  for (const p of procs) {
    lines.push(doc(p.xdrName), `${p.name}: ${helper}(${p.number}, '${p.name}'),`);
  }
  lines.push('} as const satisfies Record<string, Procedure>;', '');
  return lines.join('\n');
}

/** emitClient emits the `<Prefix>Program` class. */
export function emitClient(
  scope: Scope,
  cfg: ProgramConfig,
  procs: readonly ProcedureInfo[],
): string {
  const cls = `${cfg.tsPrefix}Program`;
  const lines = [
    doc(
      `Client stubs of the ${cfg.programConst} procedures (${cfg.procedureEnum}), one method per procedure; event MESSAGEs are in ${cfg.tsPrefix}Events.`,
    ),
    `export class ${cls} {`,
    'readonly rpc: RpcCaller;',
    '',
    'constructor(rpc: RpcCaller) {',
    'this.rpc = rpc;',
    '}',
  ];
  const seen = new Set<string>(['rpc', 'constructor']);
  for (const p of procs) {
    if (p.msg !== null) continue;
    const method = methodName(p.name);
    if (seen.has(method)) throw new GenError(`two procedures map to the method ${method}`);
    seen.add(method);
    const argsT = p.args === null ? 'undefined' : scope.tsName(p.args);
    const retT = p.ret === null ? 'void' : scope.tsName(p.ret);
    const params = p.args === null ? 'opts?: CallOptions' : `args: ${argsT}, opts?: CallOptions`;
    const enc = p.args === null ? 'null' : scope.codec('encode', p.args);
    const dec = p.ret === null ? 'null' : scope.codec('decode', p.ret);
    const callArgs = `${cfg.tsPrefix}Procedures.${p.name}, ${enc}, ${p.args === null ? 'undefined' : 'args'}, ${dec}`;
    const sig = `${p.xdrName} (${p.number}): ${p.args ?? 'void'} → ${p.ret ?? 'void'}`;
    lines.push('');
    if (p.stream === null) {
      lines.push(
        doc(sig),
        `${method}(${params}): Promise<${retT}> {`,
        `return this.rpc.call<${argsT}, ${retT}>(${callArgs}, opts);`,
        '}',
      );
    } else {
      lines.push(
        doc(`${sig}, then a ${p.stream} stream`),
        `${method}(${params}): Promise<{ ret: ${retT}; stream: RpcStream }> {`,
        `return this.rpc.callStream<${argsT}, ${retT}>(${callArgs}, '${p.stream}', opts);`,
        '}',
      );
    }
  }
  lines.push('}', '');
  return lines.join('\n');
}

/** emitEvents emits `<Prefix>Events`, `<Prefix>EventMessage` and `decode<Prefix>Event`. */
export function emitEvents(
  scope: Scope,
  cfg: ProgramConfig,
  procs: readonly ProcedureInfo[],
): string {
  const events = procs.filter((p) => p.msg !== null);
  const table = [
    doc(
      `The event MESSAGEs of the ${cfg.programConst} program by procedure number: name and payload decoder.`,
    ),
    `export const ${cfg.tsPrefix}Events = {`,
  ];
  const union = [
    doc(`One decoded event MESSAGE of the ${cfg.programConst} program.`),
    `export type ${cfg.tsPrefix}EventMessage =`,
  ];
  const cases: string[] = [];
  for (const p of events) {
    const msg = p.msg ?? '';
    const t = scope.tsName(msg);
    const dec = scope.codec('decode', msg);
    table.push(doc(`${p.xdrName}: ${msg}`), `${p.number}: { name: '${p.name}', decode: ${dec} },`);
    union.push(`| { procedure: ${p.number}; name: '${p.name}'; msg: ${t} }`);
    cases.push(
      `case ${p.number}:`,
      `return { procedure: ${p.number}, name: '${p.name}', msg: ${dec}(r) };`,
    );
  }
  table.push('} as const;', '');
  if (events.length === 0) union.push('never');
  return [
    ...table,
    `${union.join('\n')};`,
    '',
    doc(
      `decode${cfg.tsPrefix}Event decodes the payload of a ${cfg.programConst} MESSAGE; null when the procedure is not an event. The caller checks that the payload was consumed (r.done()).`,
    ),
    `export function decode${cfg.tsPrefix}Event(procedure: number, r: XdrReader): ${cfg.tsPrefix}EventMessage | null {`,
    'switch (procedure) {',
    ...cases,
    'default:',
    'return null;',
    '}',
    '}',
    '',
  ].join('\n');
}
