import { describe, expect, it } from 'vitest';
import type { RpcCaller, RpcStream } from '../rpc/caller.ts';
import { type Decoder, type Encoder, XdrError, XdrReader, XdrWriter } from '../xdr/index.ts';
import { KEEPALIVE_PROGRAM, KeepaliveProcedure } from './keepalive-protocol.gen.ts';
import { QEMU_PROGRAM, QemuEvents, QemuProcedures } from './qemu-protocol.gen.ts';
import {
  type ConnectListAllDomainsRet,
  type DomainMigratePrepare3ParamsArgs,
  decodeConnectGetLibVersionRet,
  decodeConnectListAllDomainsRet,
  decodeDomainGetStateRet,
  decodeDomainMigratePrepare3ParamsArgs,
  decodeNodeGetInfoRet,
  decodeRemoteError,
  decodeRemoteEvent,
  decodeTypedParam,
  encodeConnectListAllDomainsRet,
  encodeDomainGetStateRet,
  encodeDomainMigratePrepare3ParamsArgs,
  encodeNodeGetInfoRet,
  encodeRemoteError,
  encodeTypedParam,
  type NodeGetInfoRet,
  REMOTE_PROGRAM,
  type RemoteError,
  RemoteEvents,
  RemoteProcedure,
  RemoteProcedures,
  RemoteProgram,
  type TypedParam,
  VIR_TYPED_PARAM_ULLONG,
} from './remote-protocol.gen.ts';
import { decodeMessageError, decodeMessageHeader, MessageType } from './virnet-protocol.gen.ts';

function encode<T>(enc: Encoder<T>, v: T): Buffer {
  const w = new XdrWriter();
  enc(w, v);
  return Buffer.from(w.finish());
}

function roundTrip<T>(enc: Encoder<T>, dec: Decoder<T>, v: T): Buffer {
  const bytes = encode(enc, v);
  const r = new XdrReader(bytes);
  expect(dec(r)).toEqual(v);
  r.done();
  return bytes;
}

function hex(s: string): Buffer {
  return Buffer.from(s.replace(/\s+/g, ''), 'hex');
}

const uuid = Buffer.from('6e2ab6ba9d9c4b1f8b3a1c2d3e4f5061', 'hex');

describe('generated codecs', () => {
  it('NodeGetInfoRet: char model[32] is 32 words, 160 bytes in all', () => {
    const model = [...'x86_64'].map((c) => c.charCodeAt(0));
    const v: NodeGetInfoRet = {
      model: [...model, ...new Array<number>(32 - model.length).fill(0)],
      memory: 16384000n,
      cpus: 8,
      mhz: 2400,
      nodes: 1,
      sockets: 1,
      cores: 4,
      threads: 2,
    };
    const bytes = roundTrip(encodeNodeGetInfoRet, decodeNodeGetInfoRet, v);
    expect(bytes.length).toBe(160);
    expect(bytes.subarray(0, 4)).toEqual(hex('00000078'));
    expect(() => encode(encodeNodeGetInfoRet, { ...v, model })).toThrow(XdrError);
  });

  it('DomainGetStateRet and the CONNECT_GET_LIB_VERSION reply', () => {
    const bytes = roundTrip(encodeDomainGetStateRet, decodeDomainGetStateRet, {
      state: 3,
      reason: -1,
    });
    expect(bytes).toEqual(hex('00000003 ffffffff'));
    expect(decodeConnectGetLibVersionRet(new XdrReader(hex('00000000 00895440')))).toEqual({
      libVer: 9000000n,
    });
  });

  it('TypedParam: all seven arms, and the exact bandwidth encoding', () => {
    const params: TypedParam[] = [
      { field: 'i', value: { type: 1, i: -5 } },
      { field: 'ui', value: { type: 2, ui: 0xffffffff } },
      { field: 'l', value: { type: 3, l: -(2n ** 63n) } },
      { field: 'ul', value: { type: 4, ul: 2n ** 64n - 1n } },
      { field: 'd', value: { type: 5, d: 0.25 } },
      { field: 'b', value: { type: 6, b: 1 } },
      { field: 's', value: { type: 7, s: 'héllo' } },
    ];
    for (const p of params) roundTrip(encodeTypedParam, decodeTypedParam, p);
    const bandwidth: TypedParam = {
      field: 'bandwidth',
      value: { type: VIR_TYPED_PARAM_ULLONG, ul: 100n },
    };
    expect(encode(encodeTypedParam, bandwidth)).toEqual(
      hex('00000009 62616e64 77696474 68000000 00000004 00000000 00000064'),
    );
    expect(() => decodeTypedParam(new XdrReader(hex('00000001 61000000 00000008')))).toThrow(
      /unknown type 8/,
    );
    const bad = { field: 'x', value: { type: 9, i: 1 } } as unknown as TypedParam;
    expect(() => encode(encodeTypedParam, bad)).toThrow(XdrError);
  });

  it('ConnectListAllDomainsRet: arrays of structs with fixed opaque uuids', () => {
    const v: ConnectListAllDomainsRet = {
      domains: [
        { name: 'vm-a', uuid, id: 7 },
        { name: 'vm-b', uuid: Buffer.alloc(16, 0xab), id: -1 },
      ],
      ret: 2,
    };
    const bytes = roundTrip(encodeConnectListAllDomainsRet, decodeConnectListAllDomainsRet, v);
    expect(bytes.length).toBe(4 + 2 * (8 + 16 + 4) + 4);
    roundTrip(encodeConnectListAllDomainsRet, decodeConnectListAllDomainsRet, {
      domains: [],
      ret: 0,
    });
    const tooMany = { domains: new Array(16385).fill(v.domains[0]), ret: 0 };
    expect(() => encode(encodeConnectListAllDomainsRet, tooMany)).toThrow(/bound 16384/);
  });

  it('DomainMigratePrepare3ParamsArgs: typed params, opaque cookie, flags', () => {
    const v: DomainMigratePrepare3ParamsArgs = {
      params: [
        { field: 'destination_xml', value: { type: 7, s: '<domain/>' } },
        { field: 'migrate_uri', value: { type: 7, s: 'tcp://10.0.0.2' } },
        { field: 'bandwidth', value: { type: 4, ul: 100n } },
      ],
      cookieIn: Buffer.from('<qemu-migration/>'),
      flags: (1 | 8 | (1 << 31)) >>> 0,
    };
    roundTrip(encodeDomainMigratePrepare3ParamsArgs, decodeDomainMigratePrepare3ParamsArgs, v);
  });

  it('RemoteError (remote_error) with and without its optional fields', () => {
    const full: RemoteError = {
      code: 42,
      domain: 10,
      message: "Domain not found: no domain with matching name 'x'",
      level: 2,
      dom: { name: 'x', uuid, id: -1 },
      str1: 'a',
      str2: null,
      str3: 'c',
      int1: -1,
      int2: 0,
      net: { name: 'default', uuid },
    };
    roundTrip(encodeRemoteError, decodeRemoteError, full);
    const bare: RemoteError = {
      ...full,
      message: null,
      dom: null,
      str1: null,
      str3: null,
      net: null,
    };
    const bytes = roundTrip(encodeRemoteError, decodeRemoteError, bare);
    expect(bytes).toEqual(
      hex(
        '0000002a 0000000a 00000000 00000002 00000000 00000000 00000000 00000000 ffffffff 00000000 00000000',
      ),
    );
    // virnetprotocol.x's virNetMessageError has the same wire shape.
    expect(decodeMessageError(new XdrReader(bytes))).toEqual(bare);
  });

  it('virnet header', () => {
    const h = decodeMessageHeader(
      new XdrReader(hex('20008086 00000001 0000009d 00000001 00000001 00000000')),
    );
    expect(h).toEqual({
      prog: REMOTE_PROGRAM,
      vers: 1,
      proc: 157,
      type: MessageType.REPLY,
      serial: 1,
      status: 0,
    });
  });
});

describe('procedures', () => {
  const all = Object.values(RemoteProcedures);

  it('numbers the remote procedures like libvirt 9.0.0', () => {
    expect(REMOTE_PROGRAM).toBe(0x20008086);
    expect(RemoteProcedures.DOMAIN_GET_STATE.procedure).toBe(212);
    expect(RemoteProcedures.CONNECT_GET_LIB_VERSION.procedure).toBe(157);
    expect(RemoteProcedure.DOMAIN_GET_STATE).toBe(212);
    expect(RemoteProcedures.DOMAIN_GET_STATE).toEqual({
      program: 0x20008086,
      version: 1,
      procedure: 212,
      name: 'DOMAIN_GET_STATE',
    });
    expect(all).toHaveLength(443);
    expect(Math.max(...all.map((p) => p.procedure))).toBe(443);
    expect(new Set(all.map((p) => p.procedure)).size).toBe(443);
    expect(QEMU_PROGRAM).toBe(0x20008087);
    expect(QemuProcedures.DOMAIN_MONITOR_COMMAND.procedure).toBe(1);
    expect(KEEPALIVE_PROGRAM).toBe(0x6b656570);
    expect(KeepaliveProcedure).toEqual({ PING: 1, PONG: 2 });
  });

  /** A fake RpcCaller recording what the generated methods pass. */
  function recorder() {
    const calls: { proc: number; kind: string; direction?: string; payload: Buffer | null }[] = [];
    const stream = {} as RpcStream;
    const caller: RpcCaller = {
      call<A, R>(
        proc: { procedure: number },
        enc: Encoder<A> | null,
        args: A,
        dec: Decoder<R> | null,
      ) {
        const payload = enc === null ? null : encode(enc, args);
        calls.push({ proc: proc.procedure, kind: 'call', payload });
        const ret = dec === null ? undefined : dec(new XdrReader(hex('00000001 00000002')));
        return Promise.resolve(ret as R);
      },
      callStream<A, R>(
        proc: { procedure: number },
        enc: Encoder<A> | null,
        args: A,
        dec: Decoder<R> | null,
        direction: 'read' | 'write',
      ) {
        const payload = enc === null ? null : encode(enc, args);
        calls.push({ proc: proc.procedure, kind: 'stream', direction, payload });
        return Promise.resolve({
          ret: (dec === null ? undefined : dec(new XdrReader(Buffer.alloc(0)))) as R,
          stream,
        });
      },
    };
    return { calls, caller, stream };
  }

  it('calls through RpcCaller with the right procedure, codecs and stream direction', async () => {
    const { calls, caller, stream } = recorder();
    const remote = new RemoteProgram(caller);
    const dom = { name: 'vm', uuid, id: 1 };
    expect(await remote.domainGetState({ dom, flags: 0 })).toEqual({ state: 1, reason: 2 });
    await remote.connectClose();
    const up = await remote.storageVolUpload({
      vol: { pool: 'p', name: 'v', key: 'k' },
      offset: 0n,
      length: 0n,
      flags: 0,
    });
    expect(up.stream).toBe(stream);
    expect(up.ret).toBeUndefined();
    expect(calls.map((c) => [c.proc, c.kind, c.direction])).toEqual([
      [212, 'call', undefined],
      [2, 'call', undefined],
      [208, 'stream', 'write'],
    ]);
    expect(calls[1]?.payload).toBeNull();
  });

  it('has exactly the stream procedures libvirt opens streams for', async () => {
    // A caller that records without touching the arguments, so any method can be called with {}.
    const seen: { proc: number; direction: string | null }[] = [];
    const caller: RpcCaller = {
      call<_A, R>(proc: { procedure: number }) {
        seen.push({ proc: proc.procedure, direction: null });
        return Promise.resolve(undefined as R);
      },
      callStream<A, R>(
        proc: { procedure: number },
        _enc: Encoder<A> | null,
        _args: A,
        _dec: Decoder<R> | null,
        direction: 'read' | 'write',
      ) {
        seen.push({ proc: proc.procedure, direction });
        return Promise.resolve({ ret: undefined as R, stream: {} as RpcStream });
      },
    };
    const remote = new RemoteProgram(caller);
    const proto = Object.getPrototypeOf(remote) as Record<string, unknown>;
    const methods = Object.getOwnPropertyNames(proto).filter((m) => m !== 'constructor');
    // Every procedure but the 51 event MESSAGEs has a method.
    expect(methods).toHaveLength(443 - Object.keys(RemoteEvents).length);
    for (const m of methods) {
      const f = proto[m];
      if (typeof f === 'function') await (f as (a: unknown) => Promise<unknown>).call(remote, {});
    }
    expect(seen).toHaveLength(methods.length);
    const byNumber = new Map<number, string>(all.map((p) => [p.procedure, p.name]));
    const streams = seen
      .filter((c) => c.direction !== null)
      .map((c) => `${byNumber.get(c.proc)}:${c.direction}`)
      .sort();
    expect(streams).toEqual([
      'DOMAIN_MIGRATE_PREPARE_TUNNEL3:write',
      'DOMAIN_MIGRATE_PREPARE_TUNNEL3_PARAMS:write',
      'DOMAIN_MIGRATE_PREPARE_TUNNEL:write',
      'DOMAIN_OPEN_CHANNEL:read',
      'DOMAIN_OPEN_CONSOLE:read',
      'DOMAIN_SCREENSHOT:read',
      'STORAGE_VOL_DOWNLOAD:read',
      'STORAGE_VOL_UPLOAD:write',
    ]);
    const events = new Set<number>(Object.keys(RemoteEvents).map(Number));
    expect(seen.some((c) => events.has(c.proc))).toBe(false);
  });
});

describe('events', () => {
  it('maps event MESSAGE procedures to their decoders', () => {
    expect(Object.keys(RemoteEvents)).toHaveLength(51);
    expect(RemoteEvents[318].name).toBe('DOMAIN_EVENT_CALLBACK_LIFECYCLE');
    expect(QemuEvents[6].name).toBe('DOMAIN_MONITOR_EVENT');
    const w = new XdrWriter();
    w.int(5); // callbackID
    w.string('vm');
    w.fixedOpaque(uuid, 16);
    w.int(-1);
    w.int(2); // STARTED
    w.int(0);
    const r = new XdrReader(w.finish());
    const ev = decodeRemoteEvent(318, r);
    r.done();
    expect(ev).toEqual({
      procedure: 318,
      name: 'DOMAIN_EVENT_CALLBACK_LIFECYCLE',
      msg: { callbackID: 5, msg: { dom: { name: 'vm', uuid, id: -1 }, event: 2, detail: 0 } },
    });
    if (ev?.procedure === 318) expect(ev.msg.msg.event).toBe(2); // narrowed by procedure
    expect(decodeRemoteEvent(212, new XdrReader(Buffer.alloc(0)))).toBeNull();
  });
});
