/**
 * A test-only AFP client over DSI, speaking just what the AFP live share's tests need, as Mac OS 9's
 * AppleShare client does (AFP 2.2 over TCP, "Randnum exchange" login). There is no maintained Linux
 * AFP client. Sources, for every command and layout below:
 * - DSI: Apple, "AppleShare IP 6.x / AFP over TCP" (DSI header: flags, command, request ID, error code
 *   or data offset, total data length, reserved; commands DSICloseSession 1, DSICommand 2,
 *   DSIGetStatus 3, DSIOpenSession 4, DSITickle 5, DSIWrite 6, DSIAttention 8) and netatalk's
 *   include/atalk/dsi.h (the same numbers, DSIFL_REQUEST 0 / DSIFL_REPLY 1).
 * - AFP command codes: netatalk include/atalk/afp.h (AFP_CREATEFILE 7, AFP_GETSRVPARAM 16,
 *   AFP_LOGIN 18, AFP_LOGINCONT 19, AFP_LOGOUT 20, AFP_OPENVOL 24, AFP_OPENFORK 26, AFP_READ 27,
 *   AFP_WRITE 33, AFP_GETFLDRPARAM 34, AFP_CLOSEFORK 4), the same as Apple's "Apple Filing Protocol
 *   Programming Guide" (FPCreateFile, FPGetSrvrParms, FPLogin, FPLoginCont, FPLogout, FPOpenVol,
 *   FPOpenFork, FPRead, FPWrite, FPGetFileDirParms, FPCloseFork).
 * - Parameter layouts: the same guide, and netatalk's etc/afpd (afp_login in auth.c: version and UAM
 *   Pascal strings; uams_randnum.c: the user name, then FPLoginCont's ID and the 8-byte random number
 *   DES-encrypted with the password as the key).
 */
import { spawnSync } from 'node:child_process';
import type { Socket } from 'node:net';

const DSI = { closeSession: 1, command: 2, getStatus: 3, openSession: 4, tickle: 5, write: 6, attention: 8 } as const;
export const FP = { closeFork: 4, createFile: 7, getSrvrParms: 16, login: 18, loginCont: 19, logout: 20, openVol: 24, openFork: 26, read: 27, write: 33, getFileDirParms: 34 } as const;
/** AFP result codes (the guide's kFP… values; netatalk include/atalk/afp.h AFPERR_*). */
export const AFPERR = { ok: 0, authContinue: -5001, access: -5000, eof: -5009, notAuth: -5023, objectNotFound: -5018, objectType: -5025, param: -5019, badUam: -5002 } as const;

/** The root folder's ID on every volume (the guide: "the root directory … always 2"). */
const ROOT_DIR = 2;
/** Path type 2: long names, Pascal strings with components separated by NUL (AFP 2.x). */
const LONG_NAMES = 2;

export interface Reply {
  code: number;
  data: Buffer;
}

export interface ServerInfo {
  serverName: string;
  machineType: string;
  afpVersions: string[];
  uams: string[];
}

const pstr = (s: string): Buffer => {
  const b = Buffer.from(s, 'latin1');
  return Buffer.concat([Buffer.from([b.length]), b]);
};
const readPstr = (b: Buffer, at: number): string => b.subarray(at + 1, at + 1 + b[at]!).toString('latin1');
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
};

/**
 * DES-ECB of one block, as uams_randnum.c checks it. OpenSSL 3 keeps DES in its legacy provider, which
 * Node loads only when started with --openssl-legacy-provider: a child Node does the one block.
 */
export function desEncrypt(key: Buffer, block: Buffer): Buffer {
  const script =
    "const c=require('crypto');const [k,b]=process.argv.slice(1);const e=c.createCipheriv('des-ecb',Buffer.from(k,'hex'),null);e.setAutoPadding(false);process.stdout.write(e.update(Buffer.from(b,'hex')).toString('hex'))";
  const r = spawnSync(process.execPath, ['--openssl-legacy-provider', '-e', script, key.toString('hex'), block.toString('hex')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`DES through node --openssl-legacy-provider failed: ${r.stderr}`);
  return Buffer.from(r.stdout, 'hex');
}

export class AfpClient {
  private buf = Buffer.alloc(0);
  private nextId = 1;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private closed: Error | undefined;

  constructor(private readonly sock: Socket) {
    sock.on('data', (d: Buffer) => this.take(d));
    const fail = (e: Error) => {
      this.closed = e;
      for (const w of this.waiting.values()) w({ code: Number.NaN, data: Buffer.alloc(0) });
      this.waiting.clear();
    };
    sock.on('error', fail);
    sock.on('close', () => fail(new Error('the server closed the connection')));
  }

  private take(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    while (this.buf.length >= 16) {
      const len = this.buf.readUInt32BE(8);
      if (this.buf.length < 16 + len) return;
      const [flags, command] = [this.buf[0]!, this.buf[1]!];
      const id = this.buf.readUInt16BE(2);
      const code = this.buf.readInt32BE(4);
      const data = Buffer.from(this.buf.subarray(16, 16 + len));
      this.buf = this.buf.subarray(16 + len);
      if (flags === 1) {
        this.waiting.get(id)?.({ code, data });
        this.waiting.delete(id);
      } else if (command === DSI.tickle) {
        // The server's keep-alive; answered with one of ours (DSI: either side tickles).
        this.send(DSI.tickle, Buffer.alloc(0));
      }
    }
  }

  private send(command: number, payload: Buffer, writeOffset = 0): Promise<Reply> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++ & 0xffff;
    const head = Buffer.alloc(16);
    head[0] = 0;
    head[1] = command;
    head.writeUInt16BE(id, 2);
    head.writeUInt32BE(writeOffset, 4);
    head.writeUInt32BE(payload.length, 8);
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DSI reply to command ${command} within 20 s`)), 20_000);
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        if (Number.isNaN(r.code)) reject(this.closed ?? new Error('connection lost'));
        else resolve(r);
      });
    });
    this.sock.write(Buffer.concat([head, payload]));
    // Neither a tickle nor DSICloseSession is answered.
    if (command === DSI.tickle || command === DSI.closeSession) {
      this.waiting.get(id)?.({ code: 0, data: Buffer.alloc(0) });
      return Promise.resolve({ code: 0, data: Buffer.alloc(0) });
    }
    return reply;
  }

  /** DSIGetStatus: the server's FPGetSrvrInfo block (offsets from its start). */
  async getStatus(): Promise<ServerInfo> {
    const { data } = await this.send(DSI.getStatus, Buffer.alloc(0));
    const list = (at: number): string[] => {
      const out: string[] = [];
      let p = data.readUInt16BE(at);
      const n = data[p++]!;
      for (let i = 0; i < n; i++) {
        out.push(readPstr(data, p));
        p += 1 + data[p]!;
      }
      return out;
    };
    return { machineType: readPstr(data, data.readUInt16BE(0)), afpVersions: list(2), uams: list(4), serverName: readPstr(data, 10) };
  }

  /** DSIOpenSession with the attention quantum option (type 1, 4 bytes). */
  async openSession(): Promise<Reply> {
    return this.send(DSI.openSession, Buffer.from([1, 4, 0, 0, 4, 0]));
  }

  command(payload: Buffer): Promise<Reply> {
    return this.send(DSI.command, payload);
  }

  /** FPLogin with "Randnum exchange", then FPLoginCont with the server's number DES-encrypted by the password (8 bytes, NUL-padded). */
  async loginRandnum(user: string, password: string, version = 'AFP2.2'): Promise<Reply> {
    const first = await this.command(Buffer.concat([Buffer.from([FP.login]), pstr(version), pstr('Randnum exchange'), pstr(user)]));
    if (first.code !== AFPERR.authContinue) return first;
    const id = first.data.subarray(0, 2);
    const random = first.data.subarray(2, 10);
    const key = Buffer.alloc(8);
    Buffer.from(password, 'latin1').copy(key, 0, 0, 8);
    return this.command(Buffer.concat([Buffer.from([FP.loginCont, 0]), id, desEncrypt(key, random)]));
  }

  async loginGuest(version = 'AFP2.2'): Promise<Reply> {
    return this.command(Buffer.concat([Buffer.from([FP.login]), pstr(version), pstr('No User Authent')]));
  }

  /** FPGetSrvrParms: the volume names. */
  async volumes(): Promise<string[]> {
    const r = await this.command(Buffer.from([FP.getSrvrParms, 0]));
    if (r.code !== 0) throw new Error(`FPGetSrvrParms: ${r.code}`);
    const out: string[] = [];
    let p = 5;
    for (let i = 0; i < r.data[4]!; i++) {
      out.push(readPstr(r.data, p + 1));
      p += 2 + r.data[p + 1]!;
    }
    return out;
  }

  /** FPOpenVol asking for the volume ID (bitmap bit 5). */
  async openVol(name: string): Promise<number> {
    const r = await this.command(Buffer.concat([Buffer.from([FP.openVol, 0]), u16(1 << 5), pstr(name)]));
    if (r.code !== 0) throw new Error(`FPOpenVol ${name}: ${r.code}`);
    return r.data.readUInt16BE(2);
  }

  private path(p: string): Buffer {
    return Buffer.concat([Buffer.from([LONG_NAMES]), pstr(p.split('/').join('\0'))]);
  }

  /** FPCreateFile (hard create: replaces an existing file). */
  createFile(vol: number, path: string): Promise<Reply> {
    return this.command(Buffer.concat([Buffer.from([FP.createFile, 0x80]), u16(vol), u32(ROOT_DIR), this.path(path)]));
  }

  /** FPOpenFork of the data fork; mode 1 read, 2 write. Resolves the fork ref, or the error code as a negative number. */
  async openFork(vol: number, path: string, mode: 1 | 2 | 3): Promise<Reply & { fork?: number }> {
    const r = await this.command(Buffer.concat([Buffer.from([FP.openFork, 0]), u16(vol), u32(ROOT_DIR), u16(0), u16(mode), this.path(path)]));
    return r.code === 0 ? { ...r, fork: r.data.readUInt16BE(2) } : r;
  }

  /** FPRead from `offset`, up to `count` bytes; kFPEOFErr with the bytes up to the end is a full read. */
  async read(fork: number, offset: number, count: number): Promise<Reply> {
    return this.command(Buffer.concat([Buffer.from([FP.read, 0]), u16(fork), u32(offset), u32(count), Buffer.from([0, 0])]));
  }

  /** FPWrite through DSIWrite: the AFP header (12 bytes) is the data offset, the bytes follow it. */
  async write(fork: number, offset: number, bytes: Buffer): Promise<Reply> {
    const head = Buffer.concat([Buffer.from([FP.write, 0]), u16(fork), u32(offset), u32(bytes.length)]);
    return this.send(DSI.write, Buffer.concat([head, bytes]), head.length);
  }

  closeFork(fork: number): Promise<Reply> {
    return this.command(Buffer.concat([Buffer.from([FP.closeFork, 0]), u16(fork)]));
  }

  /** FPGetFileDirParms with no bitmaps: answers whether the name is there (0), and whether as a folder (0x80). */
  async kind(vol: number, path: string): Promise<Reply & { dir?: boolean }> {
    const r = await this.command(Buffer.concat([Buffer.from([FP.getFileDirParms, 0]), u16(vol), u32(ROOT_DIR), u16(0), u16(0), this.path(path)]));
    return r.code === 0 ? { ...r, dir: (r.data[4]! & 0x80) !== 0 } : r;
  }

  /** Reads a whole file's data fork, or returns the AFP error code. */
  async readFile(vol: number, path: string): Promise<Buffer | number> {
    const f = await this.openFork(vol, path, 1);
    if (f.fork === undefined) return f.code;
    const chunks: Buffer[] = [];
    for (let off = 0; ; ) {
      const r = await this.read(f.fork, off, 4096);
      chunks.push(r.data);
      off += r.data.length;
      if (r.code === AFPERR.eof || r.data.length === 0) break;
      if (r.code !== 0) return r.code;
    }
    await this.closeFork(f.fork);
    return Buffer.concat(chunks);
  }

  /** Creates (or replaces) a file and writes its data fork; 0 or the AFP error code. */
  async writeFile(vol: number, path: string, bytes: Buffer): Promise<number> {
    const c = await this.createFile(vol, path);
    if (c.code !== 0) return c.code;
    const f = await this.openFork(vol, path, 3);
    if (f.fork === undefined) return f.code;
    const w = await this.write(f.fork, 0, bytes);
    await this.closeFork(f.fork);
    return w.code;
  }

  async logout(): Promise<void> {
    await this.command(Buffer.from([FP.logout, 0])).catch(() => undefined);
    await this.send(DSI.closeSession, Buffer.alloc(0));
    this.sock.destroy();
  }

  close(): void {
    this.sock.destroy();
  }
}
