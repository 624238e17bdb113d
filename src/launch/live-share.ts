/**
 * `share NAME DIR --live`: a folder of this machine that the running guest reads and writes.
 *
 * Mac OS 9 (and Mac OS X when asked: share --live --protocol afp) gets AFP instead: netatalk 4's afpd,
 * run as the user with a private afp.conf in the launch's runtime folder (startAfp below).
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
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { constants, existsSync } from 'node:fs';
import { access, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { basename, delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { AFPD_DIRS, afpdProblem, NETATALK_SERVICE_NOTE, parseAfpdVersion } from '../parse/afpd.js';
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
/**
 * The user name the guest types for WebDAV; the password is made per launch (or
 * TALOS_MAC_LIVE_SHARE_PASSWORD, for scripted guests). AFP's is the user's own login name: netatalk's
 * Randnum UAM looks the name up with getpwnam (uams_randnum.c rand_login).
 */
export const LIVE_SHARE_USER = 'mac';

/**
 * Mac OS X's Finder mounts WebDAV (Go → Connect to Server), or AFP when the guest's definition asks
 * (live_share_protocol); Mac OS 9 has no WebDAV client, only AppleShare (AFP).
 */
export const liveProtocol = (os: OsEntry, asked?: LiveProtocol): LiveProtocol => (os.family === 'osx' ? (asked ?? 'webdav') : 'afp');

/** The program the launcher runs, as /proc/PID/comm names it. */
const SERVER_PROGRAM: Readonly<Record<LiveProtocol, string>> = { webdav: 'rclone', afp: 'afpd' };

/** Which client the guest mounts with: the Finder (Mac OS X) or the Chooser (Mac OS 9, Rhapsody's Blue Box). */
export type LiveClient = 'finder' | 'chooser';
export const liveClient = (os: OsEntry): LiveClient => (os.family === 'osx' ? 'finder' : 'chooser');

export interface LiveShareSpec {
  dir: string;
  protocol: LiveProtocol;
  /** Absent: the Finder. */
  client?: LiveClient;
  user: string;
  password: string;
  /** AFP: the volume name the Chooser and the Finder list. */
  volume?: string;
  /** AFP: the server name, shown by the Chooser (the guest's name). */
  server?: string;
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
export const guestAddress = (p: LiveProtocol, client: LiveClient = 'finder'): string =>
  p === 'webdav' ? `http://${LIVE_SHARE_IP}/` : client === 'finder' ? `afp://${LIVE_SHARE_IP}/` : LIVE_SHARE_IP;

export function howToConnect(p: LiveProtocol, client: LiveClient = 'finder'): string {
  return client === 'finder'
    ? `in the Finder: Go → Connect to Server, ${guestAddress(p, client)}`
    : `in the Chooser: AppleShare → Server IP Address…, ${guestAddress(p, client)}`;
}

/**
 * AFP's password: Randnum exchange keys DES with at most 8 bytes of it (uams_randnum.c, PASSWDLEN 8),
 * so a longer one would be cut; letters and digits without look-alikes, typed by hand in the guest.
 */
const AFP_PASSWORD_CHARS = 'abcdefghijkmnpqrstuvwxyz23456789';
export const AFP_PASSWORD_MAX = 8;

/** The volume name: the folder's name in characters every afp.conf section and Mac OS 9 take, at most 27 (AFP 2's limit). */
export function afpVolumeName(dir: string): string {
  const name = basename(dir).replace(/[^A-Za-z0-9 ._-]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 27).trim();
  return name || 'Shared';
}

export function newLiveShareSpec(dir: string, protocol: LiveProtocol, client: LiveClient, env: NodeJS.ProcessEnv = process.env, guest?: string): LiveShareSpec {
  const given = env['TALOS_MAC_LIVE_SHARE_PASSWORD'];
  if (protocol === 'webdav') return { dir, protocol, client, user: LIVE_SHARE_USER, password: given || randomBytes(9).toString('base64url') };
  if (given && !new RegExp(`^[\\x21-\\x7e]{1,${AFP_PASSWORD_MAX}}$`).test(given)) {
    throw new UserError(`TALOS_MAC_LIVE_SHARE_PASSWORD: AFP's Randnum login takes 1–${AFP_PASSWORD_MAX} printable ASCII characters, without spaces; unset it for a password made for this launch.`, 2);
  }
  const password = given || Array.from({ length: AFP_PASSWORD_MAX }, () => AFP_PASSWORD_CHARS[randomInt(AFP_PASSWORD_CHARS.length)]).join('');
  return { dir, protocol, client, user: userInfo().username, password, volume: afpVolumeName(dir), server: `talos-mac ${guest ?? ''}`.trim().slice(0, 31) };
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

/** The program on PATH, as spawn would find it (afpd: also in AFPD_DIRS). */
async function onPath(program: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const dirs = (env['PATH'] ?? '').split(delimiter).filter(Boolean);
  for (const d of program === 'afpd' ? [...dirs, ...AFPD_DIRS] : dirs) {
    const p = join(d, program);
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return undefined;
}

const afpdVersion = (afpd: string): Promise<string> =>
  new Promise((resolve) => execFile(afpd, ['-V'], { timeout: 10_000 }, (_e, stdout, stderr) => resolve(`${stdout}${stderr}`)));

/**
 * Why this host cannot serve the live share for `protocol`, with what to install (the package from
 * the distribution table's row: `names.liveShare`); undefined when it can.
 */
export async function liveShareProblem(protocol: LiveProtocol, osRelease: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const missing = [SERVER_PROGRAM[protocol], 'setpriv'];
  const absent: string[] = [];
  for (const p of missing) if ((await onPath(p, env)) === undefined) absent.push(p);
  const { distroOf, installHint } = await import('../distro/distro.js');
  const { parseOsRelease } = await import('../parse/os-release.js');
  const d = distroOf(parseOsRelease(osRelease ?? ''));
  const pkg = d.names.liveShare?.[protocol];
  if (absent.length === 0) {
    if (protocol === 'webdav') return undefined;
    const problem = afpdProblem(parseAfpdVersion(await afpdVersion((await onPath('afpd', env))!)));
    const hint = installHint(d, [pkg]);
    return problem === undefined ? undefined : `${problem}. Install netatalk 4${hint ? ` (${hint})` : ''}, or use talos-mac share (a read-only CD).`;
  }
  if (protocol === 'afp' && absent.includes('afpd') && pkg === undefined) {
    return `${d.name} has no netatalk 4 package, whose afpd serves AFP to Mac OS 9 (Debian 13 ships netatalk 4.2.3; Debian 12 none). Mac OS 9 has no WebDAV client, so it has no live share here: use talos-mac share (a read-only CD) instead.`;
  }
  const packages = absent.map((p) => (p === 'setpriv' ? d.names.utilLinux : pkg));
  const hint = installHint(d, packages);
  const what = protocol === 'webdav' ? 'the WebDAV server (rclone serve webdav)' : "the AFP server (netatalk 4's afpd)";
  const note = protocol === 'afp' && absent.includes('afpd') ? ` ${NETATALK_SERVICE_NOTE}` : '';
  if (hint) return `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed: the live share needs ${what}. Install it: ${hint}${note}`;
  return `${absent.join(' and ')} ${absent.length > 1 ? 'are' : 'is'} not installed: the live share needs ${what}; install ${absent.includes('setpriv') ? 'util-linux and ' : ''}${protocol === 'webdav' ? 'rclone' : 'netatalk 4'}.${note}`;
}

export interface LiveShare {
  readonly state: LiveShareState;
  stop(): Promise<void>;
}

/** A server the launcher started: how it ended (undefined while it runs), and ending it (SIGTERM, SIGKILL after 3 s). */
function watchServer(child: ChildProcess): { gone: Promise<void>; exited(): string | undefined; terminate(): Promise<void> } {
  let exited: string | undefined;
  const gone = new Promise<void>((resolve) => {
    child.once('error', (e) => ((exited = e.message), resolve()));
    child.once('exit', (code, signal) => ((exited = signal ? `signal ${signal}` : `exit ${code}`), resolve()));
  });
  return {
    gone,
    exited: () => exited,
    async terminate() {
      if (exited !== undefined) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await gone;
      clearTimeout(t);
    },
  };
}

const STARTED = /started on \[?https?:\/\/127\.0\.0\.1:(\d+)\//;

/**
 * Starts the server for one launch and writes the state file; throws a UserError with the server's
 * words when it does not come up. The caller stops it (`stop()`) when the guest is off.
 */
export async function startLiveShare(spec: LiveShareSpec, runtimeDir: string, timeoutMs = 20_000): Promise<LiveShare> {
  if (!existsSync(spec.dir)) throw new UserError(`the live share's folder ${JSON.stringify(spec.dir)} does not exist: share another with talos-mac share NAME DIR --live, or stop sharing with --live --off.`, 1);
  if (spec.protocol === 'afp') return startAfp(spec, runtimeDir, timeoutMs);
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
  const server = watchServer(child);
  const { gone } = server;
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
    await server.terminate();
    await rm(liveShareStateFile(runtimeDir), { force: true });
    await rm(cache, { recursive: true, force: true });
  };
  if (port === undefined) {
    await stop();
    throw new UserError(`the live share's WebDAV server (rclone serve webdav) did not start${server.exited() ? ` (${server.exited()})` : ` within ${timeoutMs / 1000} s`}: ${said.trim().split('\n').slice(-3).join(' ') || 'it said nothing'}`, 1);
  }
  const state: LiveShareState = { ...spec, port, pid: child.pid!, address: guestAddress(spec.protocol, spec.client ?? 'finder') };
  await writeFile(liveShareStateFile(runtimeDir), JSON.stringify(state) + '\n', { mode: 0o600 });
  return { state, stop };
}

/** A port on 127.0.0.1 that nothing listens on now (afpd takes a port number, not 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Characters afp.conf cannot carry in a path: netatalk expands $-variables in it (afp.conf(5),
 * "Variable substitutions"), and its ini parser ends a line at a newline and reads ; and # as comments.
 */
// eslint-disable-next-line no-control-regex
const AFP_CONF_UNSAFE = /[$;#"\u0000-\u001f\u007f]/;

export function afpPathProblem(dir: string): string | undefined {
  return AFP_CONF_UNSAFE.test(dir) ? `the folder's path ${JSON.stringify(dir)} holds $, ;, #, " or a control character, which netatalk's afp.conf cannot carry: share a folder whose path has none` : undefined;
}

/** The processes whose command line has the word `word` (afpd's children keep its argv, with the private afp.conf). */
async function processesWithArg(word: string): Promise<number[]> {
  const pids: number[] = [];
  for (const e of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    if (cmd.split('\0').includes(word)) pids.push(Number(e));
  }
  return pids;
}

/**
 * AFP: netatalk 4's afpd alone (no netatalk supervisor, no cnid_metad), run as the user with a
 * private afp.conf in the runtime folder (mode 0700), listening on 127.0.0.1 on a free port:
 * - login: only Randnum exchange (uams_randnum.so; Mac OS 9's AppleShare client offers it) against
 *   a passwd file holding this launch's password for the user's own name (mode 0600, as
 *   uams_randnum.c's afppasswd reads it: "name:HEX"); no guest login, so another guest that reaches
 *   the port through the host's loopback needs the password too;
 * - `cnid scheme = last`: file IDs kept in memory for the session, not in a database, so no
 *   cnid_metad (which would be a second port, and raises its open-files limit to 65535, refused
 *   where the hard limit is lower); afp.conf(5) calls it the CD-ROM backend; reading and writing
 *   through it is what tests/live-share/afp.test.ts proves;
 * - `follow symlinks = no` (netatalk's default, said anyway): a link is shown as a file holding its
 *   target's path, never followed, and nothing is created through one;
 * - `signature` given, so afpd writes no afp_signature.conf into /var/lib/netatalk; it logs that
 *   it cannot store the volume's UUID there (only Time Machine uses it).
 * It runs under `setpriv --pdeathsig TERM`: a launcher that ends in any way makes the kernel send
 * afpd SIGTERM, which afpd passes on to each session's child (afpd(8), SIGTERM).
 */
async function startAfp(spec: LiveShareSpec, runtimeDir: string, timeoutMs: number): Promise<LiveShare> {
  const bad = afpPathProblem(spec.dir);
  if (bad) throw new UserError(`the live share cannot be served over AFP: ${bad}.`, 1);
  const afpd = await onPath('afpd', process.env);
  if (afpd === undefined) throw new UserError("the live share's AFP server (netatalk 4's afpd) is not installed.", 1);
  const dir = join(runtimeDir, 'afp');
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { mode: 0o700 });
  const conf = join(dir, 'afp.conf');
  const log = join(dir, 'afpd.log');
  const passwd = join(dir, 'afppasswd');
  const port = await freePort();
  await writeFile(passwd, `${spec.user}:${Buffer.from(spec.password, 'latin1').toString('hex').toUpperCase()}\n`, { mode: 0o600 });
  const volume = spec.volume ?? afpVolumeName(spec.dir);
  const lines = [
    '[Global]',
    `afp listen = 127.0.0.1:${port}`,
    `afp port = ${port}`,
    'uam list = uams_randnum.so',
    `passwd file = ${passwd}`,
    `server name = ${spec.server ?? 'talos-mac'}`,
    `signature = ${randomBytes(8).toString('hex')}`,
    `log file = ${log}`,
    'log level = default:note',
    'zeroconf = no',
    `vol dbpath = ${join(dir, 'db')}`,
    'max connections = 10',
    `[${volume}]`,
    `path = ${spec.dir}`,
    'cnid scheme = last',
    'follow symlinks = no',
    `valid users = ${spec.user}`,
    'umask = 022',
  ];
  await writeFile(conf, lines.join('\n') + '\n', { mode: 0o600 });
  const child: ChildProcess = spawn('setpriv', ['--pdeathsig', 'TERM', '--', afpd, '-d', '-F', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  const server = watchServer(child);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (said = (said + chunk).slice(-4000)));
  const listening = `listening on 127.0.0.1:${port}`;
  const end = Date.now() + timeoutMs;
  let up = false;
  while (!up && server.exited() === undefined && Date.now() < end) {
    up = (await readFile(log, 'utf8').catch(() => '')).includes(listening);
    if (!up) await new Promise((r) => setTimeout(r, 100));
  }
  const stop = async (): Promise<void> => {
    await server.terminate();
    await rm(liveShareStateFile(runtimeDir), { force: true });
    // A session's child that did not take its parent's SIGTERM in time.
    for (const pid of await processesWithArg(conf)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone meanwhile */
      }
    }
    await rm(dir, { recursive: true, force: true });
  };
  if (!up) {
    const logged = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-3).join(' ');
    await stop();
    throw new UserError(`the live share's AFP server (afpd) did not start${server.exited() ? ` (${server.exited()})` : ` within ${timeoutMs / 1000} s`}: ${logged || said.trim() || 'it said nothing'}`, 1);
  }
  const state: LiveShareState = { ...spec, volume, port, pid: child.pid!, address: guestAddress('afp', spec.client ?? 'finder') };
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
export function describeLiveShare(s: Pick<LiveShareSpec, 'dir' | 'protocol' | 'client' | 'user' | 'password' | 'volume'>): string {
  const volume = s.protocol === 'afp' && s.volume ? `, volume "${s.volume}"` : '';
  return `${s.dir} over ${s.protocol === 'webdav' ? 'WebDAV' : 'AFP'}: ${howToConnect(s.protocol, s.client ?? 'finder')}; user ${s.user}, password ${s.password} (this launch's)${volume}`;
}
