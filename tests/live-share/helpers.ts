/**
 * Reaching a guest's live share the way QEMU's user network does, for tests here and for the
 * test guest's end-to-end test (tests/guest/, another branch): a guest that boots with
 * `talos.share=${LIVE_SHARE_GUEST_ADDRESS}` on its kernel command line and sends
 * `Authorization: ${basicAuth(LIVE_SHARE_USER, password)}` reaches the folder; run its launch with
 * TALOS_MAC_LIVE_SHARE_PASSWORD=password to know the password before it boots.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIVE_SHARE_IP, LIVE_SHARE_PORT, LIVE_SHARE_USER, PIPE_SCRIPT, liveShareStateFile, type LiveShareState } from '../../src/launch/live-share.js';
import { alive } from '../../src/launch/state.js';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

export { LIVE_SHARE_USER };
export const LIVE_SHARE_GUEST_ADDRESS = `${LIVE_SHARE_IP}:${LIVE_SHARE_PORT.webdav}`;

export const basicAuth = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

export interface RawResponse {
  status: number;
  headers: string;
  body: string;
}

/**
 * Sends one HTTP request through the relay exactly as libslirp's guestfwd `cmd:` runs it: the relay
 * gets one end of a connected Unix socket as its fds 0, 1 and 2 (libslirp fork_exec), reads the port
 * from the launch's state file, and relays to the server. `command` is the relay's argv as it
 * stands in the QEMU command line (default: this build's).
 */
export async function throughGuestfwd(runtimeDir: string, request: string | Buffer, command?: readonly string[]): Promise<RawResponse> {
  const { guest, relay, done: cleanup } = await guestfwdConnection(runtimeDir, command);
  try {
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve, reject) => {
      guest.on('data', (d: Buffer) => chunks.push(d));
      guest.on('end', resolve);
      guest.on('error', reject);
      setTimeout(() => reject(new Error('no answer through the relay within 20 s')), 20_000).unref();
    });
    guest.write(request);
    await done;
    guest.destroy();
    await new Promise<void>((resolve) => (relay.exitCode !== null ? resolve() : relay.once('exit', () => resolve())));
    const text = Buffer.concat(chunks).toString('utf8');
    const cut = text.indexOf('\r\n\r\n');
    return { status: Number(/^HTTP\/1\.[01] (\d+)/.exec(text)?.[1] ?? 0), headers: text.slice(0, cut), body: cut < 0 ? '' : text.slice(cut + 4) };
  } finally {
    await cleanup();
  }
}

/**
 * One guest connection as libslirp's guestfwd `cmd:` makes it: the relay runs with one end of a
 * connected Unix socket as its fds 0, 1 and 2 (libslirp fork_exec); `guest` is the other end, what
 * the guest's TCP stack would write to and read from.
 */
export async function guestfwdConnection(runtimeDir: string, command?: readonly string[]): Promise<{ guest: Socket; relay: ChildProcess; done(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'talos-relay-'));
  const path = join(dir, 's');
  const accepted = new Promise<Socket>((resolve) => {
    const srv = createServer((s) => {
      srv.close();
      resolve(s);
    });
    srv.listen(path);
  });
  await new Promise((r) => setTimeout(r, 20));
  const guest = connect(path);
  const end = await accepted;
  const [file, ...args] = command ?? [process.execPath, PIPE_SCRIPT, liveShareStateFile(runtimeDir)];
  const relay = spawn(file!, args, { stdio: [end, end, end] });
  end.destroy();
  return { guest, relay, done: () => rm(dir, { recursive: true, force: true }) };
}

/** An HTTP/1.1 request with Connection: close (one request per guest connection). */
export function httpRequest(method: string, path: string, o: { auth?: string; body?: string; headers?: Record<string, string> } = {}): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${LIVE_SHARE_IP}`, 'Connection: close'];
  if (o.auth) lines.push(`Authorization: ${o.auth}`);
  for (const [k, v] of Object.entries(o.headers ?? {})) lines.push(`${k}: ${v}`);
  if (o.body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(o.body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${o.body ?? ''}`;
}

export async function readState(runtimeDir: string): Promise<LiveShareState | undefined> {
  return JSON.parse(await readFile(liveShareStateFile(runtimeDir), 'utf8').catch(() => 'null')) as LiveShareState | undefined;
}

/** Waits until `pid` has ended (true) or `ms` passed (false). */
export async function endsWithin(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !alive(pid);
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface ShareWorld {
  w: TestWorld;
  /** Two boot disks (demo boot script images): two guests running side by side need one each. */
  disks: [string, string];
  /** The folder shared: from-host.txt ("host bytes\n"), sub/, link-out (to outside/secret.txt), dir-out (to outside). */
  shared: string;
  /** Outside the folder: secret.txt ("not for the guest\n"). */
  outside: string;
}

export async function makeShareWorld(prefix: string, folder: string): Promise<ShareWorld> {
  const w = await makeWorld(prefix);
  const disks: string[] = [];
  for (const img of ['img', 'img2']) {
    await mkdir(join(w.dir, img));
    disks.push(await buildBootImage(new LiveHost(), join(w.dir, img), 'disk', 'STAYS-UP', 'begin again'));
  }
  const shared = join(w.dir, folder);
  const outside = join(w.dir, 'secret');
  await mkdir(join(shared, 'sub'), { recursive: true });
  await mkdir(outside);
  await writeFile(join(shared, 'from-host.txt'), 'host bytes\n');
  await writeFile(join(outside, 'secret.txt'), 'not for the guest\n');
  await symlink(join(outside, 'secret.txt'), join(shared, 'link-out'));
  await symlink(outside, join(shared, 'dir-out'));
  return { w, disks: [disks[0]!, disks[1]!], shared, outside };
}
