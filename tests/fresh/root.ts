// Fresh Debian roots for npm run test:fresh: `debootstrap --variant=minbase` plus what a newcomer has
// (Node, npm, git, sudo and a user with passwordless sudo), cached; each run works on an overlay of
// the cached root inside a private mount and PID namespace (tests/fresh/enter.sh), so the cache
// stays as debootstrap and apt-get left it.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chown, copyFile, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO } from '../helpers/cli.js';

export type Suite = 'bookworm' | 'trixie';
export const DEBIAN: Record<Suite, number> = { bookworm: 12, trixie: 13 };
/** What a newcomer has: Node, npm, git, sudo (ca-certificates: npm and git over https). */
export const BASE_PACKAGES = ['nodejs', 'npm', 'git', 'sudo', 'ca-certificates'] as const;
export const USER = 'newcomer';
const MIRROR = process.env['TALOS_MAC_FRESH_MIRROR'] ?? 'http://deb.debian.org/debian';
const SECURITY = process.env['TALOS_MAC_FRESH_SECURITY_MIRROR'] ?? 'http://deb.debian.org/debian-security';
/** A cached root older than this is made again (its packages would lag too far behind the archive). */
const MAX_AGE_DAYS = 30;
const ENTER = join(REPO, 'tests', 'fresh', 'enter.sh');

const has = (cmd: string): boolean => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
/** Why the fresh roots cannot be made or entered here (root, debootstrap, mount and PID namespaces), or false. */
export function freshSkip(): string | false {
  const canRun = process.getuid?.() === 0 && has('debootstrap') && has('unshare') && spawnSync('unshare', ['--mount', '--pid', '--fork', 'true']).status === 0;
  return !canRun && 'needs root, debootstrap and unshare (mount and PID namespaces)';
}

export const CACHE = join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'talos-mac-dev', 'fresh');

/** The cache folder of a suite: keyed by the suite and what goes into the root (a change makes a new one). */
export function cacheDir(suite: Suite): string {
  const key = createHash('sha256').update(JSON.stringify({ suite, BASE_PACKAGES, MIRROR, SECURITY, USER, format: 1 })).digest('hex').slice(0, 10);
  return join(CACHE, `${suite}-${key}`);
}

/** Whether the suite's root is cached and young enough to be used as it is. */
export function isWarm(suite: Suite): boolean {
  const ready = join(cacheDir(suite), 'ready');
  if (process.env['TALOS_MAC_FRESH_REBUILD'] === '1' || !existsSync(ready)) return false;
  return Date.now() - statSync(ready).mtimeMs < MAX_AGE_DAYS * 86_400_000;
}

export interface StepResult {
  code: number | null;
  seconds: number;
  /** The last 6000 characters of stdout and stderr together, for assertion messages. */
  tail: string;
  /** Everything it printed. */
  output: string;
  log: string;
}

/** Runs argv on the host, its output into `log` (appended), never longer than `timeoutMs`. */
export function runLogged(argv: readonly string[], log: string, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<StepResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const out = createWriteStream(log, { flags: 'a' });
    out.write(`$ ${argv.join(' ')}\n`);
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env, detached: true });
    let output = '';
    const take = (d: Buffer) => {
      out.write(d);
      output += d.toString();
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    // The whole process group: unshare and everything in its namespace.
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      out.end(`\n[exit ${code}, ${((Date.now() - started) / 1000).toFixed(1)} s]\n`);
      resolve({ code, seconds: (Date.now() - started) / 1000, tail: output.slice(-6000), output, log });
    });
  });
}

/** argv that runs `argv` chrooted in `root` (over an overlay in `run`, or the root itself with "-"). */
export function enterArgv(root: string, run: string, argv: readonly string[], binds: ReadonlyArray<readonly [string, string]> = []): string[] {
  return ['unshare', '--mount', '--propagation', 'private', '--pid', '--fork', 'sh', ENTER, root, run, ...binds.flatMap(([src, dst]) => ['--bind', src, dst]), '--', ...argv];
}

/** The user's uid and gid in the root's /etc/passwd. */
export function userIds(root: string, user = USER): { uid: number; gid: number } {
  const line = readFileSync(join(root, 'etc', 'passwd'), 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no user ${user} in ${root}/etc/passwd`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export interface CachedRoot {
  suite: Suite;
  root: string;
  /** Downloaded .deb files, kept between runs (bound at /var/cache/apt/archives). */
  aptArchives: string;
  /** The newcomer's npm cache, kept between runs (bound at ~/.npm). */
  npmCache: string;
  /** Seconds spent making it now; 0 when it was cached. */
  builtSeconds: number;
}

async function must(step: Promise<StepResult>, what: string): Promise<void> {
  const r = await step;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}); log: ${r.log}\n${r.tail}`);
}

/** The suite's cached root, made first when there is none (or it is too old, or TALOS_MAC_FRESH_REBUILD=1). */
export async function cachedRoot(suite: Suite, log: string): Promise<CachedRoot> {
  const dir = cacheDir(suite);
  const got = { suite, root: join(dir, 'root'), aptArchives: join(dir, 'apt-archives'), npmCache: join(dir, 'npm'), builtSeconds: 0 };
  if (isWarm(suite)) return got;
  const started = Date.now();
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(got.aptArchives, 'partial'), { recursive: true });
  const tmp = join(dir, 'root.tmp');
  const hour = 3_600_000;
  await must(runLogged(['debootstrap', '--variant=minbase', suite, tmp, MIRROR], log, hour), `debootstrap ${suite}`);
  const sources = [`deb ${MIRROR} ${suite} main`, `deb ${MIRROR} ${suite}-updates main`, `deb ${SECURITY} ${suite}-security main`];
  await writeFile(join(tmp, 'etc', 'apt', 'sources.list'), sources.join('\n') + '\n');
  // A machine behind a TLS-inspecting proxy (like the one these tests were written on) trusts its CA:
  // the root gets the host's local CAs, and Node is told to use the system bundle.
  const localCas = '/usr/local/share/ca-certificates';
  if (existsSync(localCas)) {
    await mkdir(join(tmp, localCas), { recursive: true });
    for (const f of readdirSync(localCas).filter((n) => n.endsWith('.crt'))) await copyFile(join(localCas, f), join(tmp, localCas, f));
  }
  if (process.env['NODE_EXTRA_CA_CERTS']) {
    await writeFile(join(tmp, 'etc', 'profile.d', 'node-extra-ca-certs.sh'), 'export NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n');
  }
  const inRoot = (argv: readonly string[], what: string) => must(runLogged(enterArgv(tmp, '-', argv, [[got.aptArchives, '/var/cache/apt/archives']]), log, hour), what);
  await inRoot(['apt-get', 'update', '-q'], 'apt-get update');
  // Without Recommends: a newcomer's machine need not have a compiler or anything else npm recommends.
  await inRoot(['env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...BASE_PACKAGES], `apt-get install ${BASE_PACKAGES.join(' ')}`);
  await inRoot(['update-ca-certificates'], 'update-ca-certificates');
  await inRoot(['useradd', '--create-home', '--shell', '/bin/bash', USER], `useradd ${USER}`);
  await writeFile(join(tmp, 'etc', 'sudoers.d', USER), `${USER} ALL=(ALL) NOPASSWD:ALL\n`, { mode: 0o440 });
  await rename(tmp, got.root);
  await writeFile(join(dir, 'ready'), `${new Date().toISOString()} ${suite} ${BASE_PACKAGES.join(' ')}\n`);
  return { ...got, builtSeconds: (Date.now() - started) / 1000 };
}

/** One run: an overlay over the cached root with a fresh clone of this repository's HEAD in the newcomer's home. */
export class FreshRun {
  readonly logs: string;
  private constructor(
    readonly cached: CachedRoot,
    readonly dir: string,
  ) {
    this.logs = join(dir, 'logs');
  }

  static async start(cached: CachedRoot): Promise<FreshRun> {
    const dir = await mkdtemp(join(tmpdir(), `talos-fresh-${cached.suite}-`));
    const run = new FreshRun(cached, dir);
    await mkdir(run.logs);
    const { uid, gid } = userIds(cached.root);
    await mkdir(cached.npmCache, { recursive: true });
    await chown(cached.npmCache, uid, gid);
    const clone = join(dir, 'clone');
    const git = spawnSync('git', ['clone', '--quiet', '--no-hardlinks', REPO, clone], { encoding: 'utf8' });
    if (git.status !== 0) throw new Error(`git clone ${REPO}: ${git.stderr}`);
    const log = join(run.logs, 'prepare.log');
    const home = `/home/${USER}`;
    await must(run.asRoot(['cp', '-a', '/mnt/clone', `${home}/talos-mac`], log, 600_000, [[clone, '/mnt/clone']]), 'copying the clone in');
    await must(run.asRoot(['chown', '-R', `${USER}:${USER}`, `${home}/talos-mac`], log, 600_000), 'chown');
    // A fresh machine's package lists are as new as the machine.
    await must(run.asRoot(['apt-get', 'update', '-q'], log, 600_000), 'apt-get update');
    return run;
  }

  private binds(): Array<readonly [string, string]> {
    return [
      [this.cached.aptArchives, '/var/cache/apt/archives'],
      [this.cached.npmCache, `/home/${USER}/.npm`],
    ];
  }

  asRoot(argv: readonly string[], log: string, timeoutMs: number, extra: ReadonlyArray<readonly [string, string]> = []): Promise<StepResult> {
    return runLogged(enterArgv(this.cached.root, this.dir, argv, [...this.binds(), ...extra]), log, timeoutMs);
  }

  /** A shell line typed by the newcomer in a login shell, in the clone. */
  asNewcomer(line: string, log: string, timeoutMs: number): Promise<StepResult> {
    return this.asRoot(['runuser', '--login', USER, '--command', `cd ~/talos-mac && ${line}`], log, timeoutMs);
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** The Quick start's commands, parsed as .ci/run parses them (scripts/quick-start.mjs). */
export async function quickStart(readme: string): Promise<string[]> {
  const parser = (await import(pathToFileURL(join(REPO, 'scripts', 'quick-start.mjs')).href)) as typeof import('../../scripts/quick-start.mjs');
  return parser.quickStart(readme);
}
