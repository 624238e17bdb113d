/**
 * `share NAME DIR --live`: a folder of this machine that the running guest reads and writes.
 *
 * The server is the distribution's own (Mac OS X: WebDAV by `rclone serve webdav`; its handler is
 * golang.org/x/net/webdav, DAV class 1 and 2 with LOCK kept in memory, which the Finder needs to
 * mount read-write), listening on 127.0.0.1 only, on a port the kernel picks, behind a user and
 * password made for each launch. The guest reaches it at a fixed address of QEMU's user network:
 * `guestfwd=tcp:10.0.2.100:80-cmd:…` runs live-share-pipe.js for every connection the guest opens
 * there, and that relays it to the port. The launcher (foreground, or the --detach supervisor)
 * starts the server before QEMU and stops it when the guest is off; the server is started under
 * `setpriv --pdeathsig KILL`, so the kernel ends it when the launcher ends in any way (kill -9 too).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, readFile, rm, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import type { OsEntry } from '../guests/catalog.js';
import { shellQuote } from '../ui/shell-quote.js';
import { alive } from './state.js';

export type LiveProtocol = 'webdav' | 'afp';

/**
 * The share's address inside the guest. QEMU's user network is 10.0.2.0/24 with the host at .2,
 * DNS at .3, its SMB server at .4 and DHCP handing out .15 onwards (qemu-options.hx, -netdev user):
 * .100 is none of them.
 */
export const LIVE_SHARE_IP = '10.0.2.100';
export const LIVE_SHARE_PORT: Readonly<Record<LiveProtocol, number>> = { webdav: 80, afp: 548 };
/** The user name the guest types; the password is made per launch (or TALOS_MAC_LIVE_SHARE_PASSWORD, for scripted guests). */
export const LIVE_SHARE_USER = 'mac';

/** Mac OS X's Finder mounts WebDAV (Go → Connect to Server); Mac OS 9 has no WebDAV client, only AppleShare (AFP). */
export const liveProtocol = (os: OsEntry): LiveProtocol => (os.family === 'osx' ? 'webdav' : 'afp');

const SERVER_PROGRAM: Readonly<Record<LiveProtocol, string>> = { webdav: 'rclone', afp: 'afpd' };

export interface LiveShareSpec {
  dir: string;
  protocol: LiveProtocol;
  user: string;
  password: string;
}

/** What a running launch writes in its runtime folder (mode 0600): what status prints, and the port live-share-pipe.js reads. */
export interface LiveShareState extends LiveShareSpec {
  port: number;
  /** The server's pid (the setpriv that became it). */
  pid: number;
  /** What to type in the guest. */
  address: string;
}

export const liveShareStateFile = (runtimeDir: string): string => join(runtimeDir, 'live-share.json');

/** What the guest types: Finder's Go → Connect to Server, or the Chooser's AppleShare server address. */
export const guestAddress = (p: LiveProtocol): string => (p === 'webdav' ? `http://${LIVE_SHARE_IP}/` : LIVE_SHARE_IP);

export function howToConnect(p: LiveProtocol): string {
  return p === 'webdav'
    ? `in the Finder: Go → Connect to Server, ${guestAddress(p)}`
    : `in the Chooser: AppleShare → Server IP Address, ${guestAddress(p)} (Mac OS X: Go → Connect to Server, afp://${LIVE_SHARE_IP})`;
}

export function newLiveShareSpec(dir: string, protocol: LiveProtocol, env: NodeJS.ProcessEnv = process.env): LiveShareSpec {
  return { dir, protocol, user: LIVE_SHARE_USER, password: env['TALOS_MAC_LIVE_SHARE_PASSWORD'] || randomBytes(9).toString('base64url') };
}

/** The relay QEMU runs per connection: beside this module in the build (dist/src/launch/, and dist/cli/ in the bundle). */
export const PIPE_SCRIPT = fileURLToPath(new URL('./live-share-pipe.js', import.meta.url));

/**
 * The `guestfwd` value for the user netdev. libslirp parses the command with g_shell_parse_argv
 * (POSIX-shell quoting, no shell run); QEMU's option parser needs its commas doubled (argv.ts optValue).
 */
export function guestfwdRule(protocol: LiveProtocol, runtimeDir: string, node = process.execPath, pipe = PIPE_SCRIPT): string {
  const words = [node, pipe, liveShareStateFile(runtimeDir)];
  // eslint-disable-next-line no-control-regex
  const bad = words.find((w) => /[\u0000-\u001f\u007f]/.test(w));
  if (bad !== undefined) throw new UserError(`the live share cannot be set up: ${JSON.stringify(bad)} holds a control character`);
  const rule = `tcp:${LIVE_SHARE_IP}:${LIVE_SHARE_PORT[protocol]}-cmd:${words.map(shellQuote).join(' ')}`;
  // QEMU copies each rule into a 1024-byte buffer and cuts what does not fit without a word (net/slirp.c, struct slirp_config_str).
  if (Buffer.byteLength(rule) > 1023) throw new UserError(`the live share cannot be set up: its QEMU rule would be ${Buffer.byteLength(rule)} bytes, and QEMU keeps 1023 (the runtime folder's path ${JSON.stringify(runtimeDir)} is too long; set XDG_RUNTIME_DIR to a shorter one)`, 1);
  return rule;
}

/** The program on PATH, as spawn would find it. */
async function onPath(program: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const d of (env['PATH'] ?? '').split(delimiter)) {
    if (!d) continue;
    const p = join(d, program);
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return undefined;
}

/**
 * Why this host cannot serve the live share for `protocol`, with what to install (the package from
 * the distribution table's row: `names.liveShare`); undefined when it can.
 */
export async function liveShareProblem(protocol: LiveProtocol, osRelease: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const missing = [SERVER_PROGRAM[protocol], 'setpriv'];
  const absent: string[] = [];
  for (const p of missing) if ((await onPath(p, env)) === undefined) absent.push(p);
  if (absent.length === 0) return protocol === 'afp' ? AFP_NOT_PROVEN : undefined;
  const { distroOf, installHint } = await import('../distro/distro.js');
  const { parseOsRelease } = await import('../parse/os-release.js');
  const d = distroOf(parseOsRelease(osRelease ?? ''));
  const pkg = d.names.liveShare?.[protocol];
  const packages = absent.map((p) => (p === 'setpriv' ? d.names.utilLinux : pkg));
  const hint = installHint(d, packages);
  const what = protocol === 'webdav' ? 'the WebDAV server (rclone serve webdav)' : "the AFP server (netatalk 4's afpd)";
  if (hint) return `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed: the live share needs ${what}. Install it: ${hint}`;
  if (protocol === 'afp' && pkg === undefined) {
    return `${d.name} has no netatalk 4 package, whose afpd serves AFP to Mac OS 9 (Debian 13 ships netatalk 4.2.3; Debian 12 none). Mac OS 9 has no WebDAV client, so it has no live share here: use talos-mac share (a read-only CD) instead.`;
  }
  return `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed: the live share needs ${what}; install ${absent.includes('setpriv') ? 'util-linux and ' : ''}${protocol === 'webdav' ? 'rclone' : 'netatalk 4'}.`;
}

/** AFP: the server is not run by this version (see docs/guests.md "Live share"). */
const AFP_NOT_PROVEN =
  "the AFP live share (netatalk 4's afpd, run as you with a private afp.conf) is not available in this version: it has not been proven on a machine with netatalk 4. Mac OS 9 guests can use talos-mac share (a read-only CD).";

export interface LiveShare {
  readonly state: LiveShareState;
  stop(): Promise<void>;
}

const STARTED = /started on \[?https?:\/\/127\.0\.0\.1:(\d+)\//;

/**
 * Starts the server for one launch and writes the state file; throws a UserError with the server's
 * words when it does not come up. The caller stops it (`stop()`) when the guest is off.
 */
export async function startLiveShare(spec: LiveShareSpec, runtimeDir: string, timeoutMs = 20_000): Promise<LiveShare> {
  if (spec.protocol !== 'webdav') throw new UserError(AFP_NOT_PROVEN, 1);
  if (!existsSync(spec.dir)) throw new UserError(`the live share's folder ${JSON.stringify(spec.dir)} does not exist: share another with talos-mac share NAME DIR --live, or stop sharing with --live --off.`, 1);
  const cache = join(runtimeDir, 'live-share-cache');
  // --config /dev/null: no rclone.conf read or written; links are neither followed nor listed
  // (rclone's local backend without -L/--copy-links; tests/live-share pins it).
  const argv = ['--pdeathsig', 'KILL', '--', 'rclone', 'serve', 'webdav', spec.dir, '--addr', '127.0.0.1:0', '--config', '/dev/null', '--cache-dir', cache, '--log-level', 'NOTICE'];
  // Credentials through the environment (rclone reads every flag from RCLONE_<FLAG>): /proc/PID/environ is the user's alone, a command line is everyone's.
  const child: ChildProcess = spawn('setpriv', argv, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, RCLONE_USER: spec.user, RCLONE_PASS: spec.password },
  });
  let said = '';
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('error', (e) => ((exited = e.message), resolve()));
    child.once('exit', (code, signal) => ((exited = signal ? `signal ${signal}` : `exit ${code}`), resolve()));
  });
  const port = await new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      said += chunk;
      const m = STARTED.exec(said);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void gone.then(() => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  // Drained, so a chatty server never blocks on a full pipe.
  child.stderr!.on('data', () => undefined);
  const stop = async (): Promise<void> => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    }
    await rm(liveShareStateFile(runtimeDir), { force: true });
    await rm(cache, { recursive: true, force: true });
  };
  if (port === undefined) {
    await stop();
    throw new UserError(`the live share's WebDAV server (rclone serve webdav) did not start${exited ? ` (${exited})` : ` within ${timeoutMs / 1000} s`}: ${said.trim().split('\n').slice(-3).join(' ') || 'it said nothing'}`, 1);
  }
  const state: LiveShareState = { ...spec, port, pid: child.pid!, address: guestAddress(spec.protocol) };
  await writeFile(liveShareStateFile(runtimeDir), JSON.stringify(state) + '\n', { mode: 0o600 });
  return { state, stop };
}

/** The running launch's live share, from its state file, while its server runs (undefined: none). */
export async function readLiveShare(runtimeDir: string): Promise<LiveShareState | undefined> {
  let s: LiveShareState;
  try {
    s = JSON.parse(await readFile(liveShareStateFile(runtimeDir), 'utf8')) as LiveShareState;
  } catch {
    return undefined;
  }
  // A launcher killed with -9 leaves the file; its server ended with it (pdeathsig).
  const comm = await readFile(`/proc/${s.pid}/comm`, 'utf8').catch(() => '');
  return alive(s.pid) && comm.trim() === SERVER_PROGRAM[s.protocol] ? s : undefined;
}

/** The line the launch summary and status print. */
export function describeLiveShare(s: Pick<LiveShareSpec, 'dir' | 'protocol' | 'user' | 'password'>): string {
  return `${s.dir} over ${s.protocol === 'webdav' ? 'WebDAV' : 'AFP'}: ${howToConnect(s.protocol)}; user ${s.user}, password ${s.password} (this launch's)`;
}
