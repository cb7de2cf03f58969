import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { XdrError, XdrReader, XdrWriter } from '../../src/libvirt/xdr/index.ts';
import type { ModuleConfig } from './config.ts';
import { emitModule } from './emit.ts';
import { externalValues } from './externals.ts';
import { emitAll } from './generate.ts';
import { camelCase, commonPrefix, methodName, pascalCase, typeName } from './names.ts';
import { parseProtocol } from './parser.ts';

const config: ModuleConfig = {
  source: 'test.x',
  outFile: 'test.gen.ts',
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
    streamOverrides: new Map(),
  },
};

function emit(src: string, program = true): string {
  const spec = parseProtocol(src, { file: 'test.x', known: externalValues() });
  return emitModule({ config: program ? config : { ...config, program: null }, spec }, []);
}

const PROGRAM = `
const REMOTE_PROGRAM = 0x20008086;
const REMOTE_PROTOCOL_VERSION = 1;
const REMOTE_STRING_MAX = 4194304;
typedef string remote_nonnull_string<REMOTE_STRING_MAX>;
typedef remote_nonnull_string *remote_string;
struct remote_error { int code; remote_string message; };
struct remote_thing_get_args { remote_nonnull_string name; unsigned int flags; };
struct remote_thing_get_ret { unsigned hyper value; char model[4]; int list<8>; };
struct remote_thing_event_msg { int callbackID; };
struct remote_thing_upload_args { opaque data<>; };
enum remote_procedure {
  REMOTE_PROC_THING_GET = 1,
  /** @writestream: 1 */
  REMOTE_PROC_THING_UPLOAD = 2,
  REMOTE_PROC_THING_EVENT = 3,
  REMOTE_PROC_THING_CLOSE = 4
};
`;

describe('names', () => {
  it('CamelCases types, fixing abbreviations as whole words', () => {
    expect(typeName('remote_domain_get_xml_desc_args', 'remote_', 'Remote')).toBe(
      'DomainGetXMLDescArgs',
    );
    expect(typeName('remote_nonnull_domain', 'remote_', 'Remote')).toBe('NonnullDomain');
    expect(typeName('remote_typed_param', 'remote_', 'Remote')).toBe('TypedParam');
    expect(typeName('remote_node_get_sev_info_ret', 'remote_', 'Remote')).toBe('NodeGetSEVInfoRet');
    expect(typeName('remote_domain_get_iothread_info_ret', 'remote_', 'Remote')).toBe(
      'DomainGetIothreadInfoRet',
    );
    expect(typeName('remote_uuid', 'remote_', 'Remote')).toBe('UUID');
    expect(typeName('virNetMessageHeader', 'virNet', 'VirNet')).toBe('MessageHeader');
  });

  it('keeps the prefix when the name would shadow a global or an import', () => {
    expect(typeName('remote_error', 'remote_', 'Remote')).toBe('RemoteError');
    expect(typeName('remote_string', 'remote_', 'Remote')).toBe('RemoteString');
    expect(typeName('remote_procedure', 'remote_', 'Remote')).toBe('RemoteProcedure');
  });

  it('camelCases fields and methods', () => {
    expect(camelCase('need_results')).toBe('needResults');
    expect(camelCase('nrVirtCpu')).toBe('nrVirtCpu');
    expect(camelCase('start_cpu')).toBe('startCPU');
    expect(methodName('DOMAIN_GET_STATE')).toBe('domainGetState');
    expect(methodName('DOMAIN_GET_XML_DESC')).toBe('domainGetXMLDesc');
    expect(pascalCase('MessageUUID')).toBe('MessageUUID');
  });

  it('finds the common member prefix on word boundaries', () => {
    expect(commonPrefix(['REMOTE_PROC_A', 'REMOTE_PROC_B_C'])).toBe('REMOTE_PROC_');
    expect(commonPrefix(['VIR_NET_OK', 'VIR_NET_ERROR'])).toBe('VIR_NET_');
    expect(commonPrefix(['A_1', 'A_2'])).toBe('');
    expect(commonPrefix(['ONLY_ONE'])).toBe('ONLY_');
  });
});

describe('emitModule', () => {
  const out = emit(PROGRAM);

  it('emits straight-line codecs with inlined typedefs and bound constants', () => {
    expect(out).toContain('message: r.optional() ? r.string(REMOTE_STRING_MAX) : null,');
    expect(out).toContain('w.string(v.name, REMOTE_STRING_MAX);');
    expect(out).toContain('model: readFixedChar(r, 4),');
    expect(out).toContain('list: readListInt(r, 8),');
    expect(out).toContain('data: r.varOpaque(),');
    expect(out).toContain('export interface RemoteError {');
  });

  it('emits procedures, client methods, streams and events', () => {
    expect(out).toContain("THING_GET: remoteProcedure(1, 'THING_GET'),");
    expect(out).toContain(
      'thingGet(args: ThingGetArgs, opts?: CallOptions): Promise<ThingGetRet> {',
    );
    expect(out).toContain("'write', opts);");
    expect(out).toContain('thingClose(opts?: CallOptions): Promise<void> {');
    expect(out).not.toContain('thingEvent(');
    expect(out).toContain("3: { name: 'THING_EVENT', decode: decodeThingEventMsg },");
    expect(out).toContain("| { procedure: 3; name: 'THING_EVENT'; msg: ThingEventMsg }");
  });

  it('maps union discriminants through the header table and fails on unknown ones', () => {
    const u = emit(
      'union remote_v switch (int type) { case VIR_TYPED_PARAM_INT: int i; case VIR_TYPED_PARAM_STRING: void; };',
      false,
    );
    expect(u).toContain('| { type: 1; i: number }');
    expect(u).toContain('| { type: 7 };');
    expect(u).toContain('export const VIR_TYPED_PARAM_INT = 1;');
    expect(() =>
      emit('union remote_v switch (int type) { case VIR_NOPE: int i; };', false),
    ).toThrow(/unknown constant VIR_NOPE/);
    expect(() => emit('struct remote_s { remote_missing m; };', false)).toThrow(
      /unknown type remote_missing/,
    );
  });

  it('generates all four real protocol files', () => {
    const spec =
      process.env.KUMO_LIBVIRT_SPEC ??
      path.resolve(import.meta.dirname, '../../../shared/spec/libvirt');
    const files = emitAll(spec);
    expect([...files.keys()].sort()).toEqual([
      'keepalive-protocol.gen.ts',
      'qemu-protocol.gen.ts',
      'remote-protocol.gen.ts',
      'virnet-protocol.gen.ts',
    ]);
    for (const src of files.values()) {
      expect(src.startsWith('// Code generated by scripts/lvgen from ')).toBe(true);
      expect(src).not.toMatch(/\bany\b\s*[;,)>\]]/);
    }
  });

  it('emits working codecs for unions with shared cases, void arms and defaults', async () => {
    const src = emit(
      `enum remote_kind { K_A = 1, K_B = 2, K_C = 3 };
       union remote_u switch (remote_kind kind) {
         case K_A: case K_B: int i;
         case K_C: void;
         default: string s<8>;
       };
       union remote_w switch (unsigned d) { case 0: hyper h; };
       struct remote_s { remote_u list<2>; remote_w *w; remote_u pair[2]; };`,
      false,
    );
    const dir = mkdtempSync(path.join(tmpdir(), 'lvgen-test-'));
    try {
      const file = path.join(dir, 'union.gen.ts');
      const xdr = path.resolve(import.meta.dirname, '../../src/libvirt/xdr/index.ts');
      writeFileSync(file, src.replace("'../xdr/index.ts'", JSON.stringify(xdr)));
      const mod: Record<string, unknown> = await import(file);
      const enc = mod.encodeS as (w: XdrWriter, v: unknown) => void;
      const dec = mod.decodeS as (r: XdrReader) => unknown;
      const value = {
        list: [{ kind: 2, i: -1 }, { kind: 3 }],
        w: { d: 0, h: 5n },
        pair: [
          { kind: 9, s: 'other' },
          { kind: 1, i: 7 },
        ],
      };
      const w = new XdrWriter();
      enc(w, value);
      const bytes = Buffer.from(w.finish());
      expect(bytes.toString('hex')).toBe(
        [
          '00000002',
          '00000002',
          'ffffffff',
          '00000003', // list
          '00000001',
          '00000000',
          '00000000',
          '00000005', // w
          '00000009',
          '00000005',
          '6f746865',
          '72000000',
          '00000001',
          '00000007', // pair
        ].join(''),
      );
      const r = new XdrReader(bytes);
      expect(dec(r)).toEqual(value);
      r.done();
      expect(() => enc(new XdrWriter(), { ...value, w: { d: 1, h: 1n } })).toThrow(/unknown d 1/);
      const mismatched = { ...value, list: [{ kind: 1, s: 'x' }] };
      expect(() => enc(new XdrWriter(), mismatched)).toThrow(/does not fit kind 1/);
      expect(() => enc(new XdrWriter(), { ...value, pair: [] })).toThrow(XdrError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
