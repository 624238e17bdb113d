import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { REPO, type CliResult } from '../helpers/cli.js';
import { NODE18 } from '../helpers/node18.js';

/** The Node that runs npm (npm 11 does not run on Node 18). */
export const NODE = process.env['npm_node_execpath'] ?? process.execPath;
const NPM_CLI = process.env['npm_execpath'] && basename(process.env['npm_execpath']) === 'npm-cli.js' ? process.env['npm_execpath'] : undefined;
/** npm's cache, warm after `npm ci`: installs read dependencies from it (--prefer-offline). */
const NPM_CACHE = process.env['npm_config_cache'] ?? join(homedir(), '.npm');

export const VERSION = (JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** A temp dir with its own HOME, XDG dirs and npm prefix: npm and the CLI never see the user's config. */
export interface Sandbox {
  dir: string;
  prefix: string;
  /** The installed package directory in the global prefix. */
  installed: string;
  env: NodeJS.ProcessEnv;
  npm(args: readonly string[], cwd?: string): Promise<CliResult>;
  /** The installed `talos-mac` (its #!/usr/bin/env node shebang) with `node` first on PATH. */
  cli(args: readonly string[], node: string): Promise<CliResult>;
  /** Gives `path` to the sandbox's user (nobody), when it is not root. */
  own(path: string): void;
  cleanup(): Promise<void>;
}

export function run(cmd: string, args: readonly string[], options: { env: NodeJS.ProcessEnv; cwd: string; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `setpriv` to `nobody` (as the setup tests do), for installs by a normal user. */
export const AS_NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
export const canBeNobody = process.getuid?.() === 0 && spawnSync('setpriv', [...AS_NOBODY, 'true']).status === 0;

/**
 * With `nobody`, npm and the CLI run as nobody, the sandbox is nobody's and npm uses a copy of
 * the cache (npm writes to its cache, and root's is not nobody's to write).
 */
export async function makeSandbox(options: { nobody?: boolean } = {}): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'talos-mac-pack-'));
  const home = join(dir, 'home');
  const globalPrefix = join(dir, 'prefix');
  await Promise.all([home, globalPrefix, join(dir, 'tmp')].map((d) => mkdir(d, { recursive: true })));
  // No npm_* variables from the `npm test` that runs this: the child npm must be a fresh one.
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|INIT_CWD$|NODE$|FORCE_COLOR$)/i.test(k)));
  const path = (process.env['PATH'] ?? '/usr/bin:/bin').split(delimiter).filter((p) => !p.includes('node_modules'));
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: join(dir, 'config'),
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_STATE_HOME: join(dir, 'state'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_RUNTIME_DIR: join(dir, 'run'),
    TMPDIR: join(dir, 'tmp'),
    PATH: [dirname(NODE), ...path].join(delimiter),
    NO_COLOR: '1',
    npm_config_cache: options.nobody ? join(dir, 'npm-cache') : NPM_CACHE,
    npm_config_update_notifier: 'false',
  });
  const withNode = (node: string): NodeJS.ProcessEnv => ({ ...env, PATH: [dirname(node), ...path].join(delimiter) });
  const own = (path: string): void => {
    if (!options.nobody) return;
    const chown = spawnSync('chown', ['-R', '65534:65534', path], { encoding: 'utf8' });
    if (chown.status !== 0) throw new Error(`chown nobody ${path}: ${chown.stderr}`);
  };
  if (options.nobody) {
    // cp(1): three times faster than fs.cp on cacache's thousands of small files.
    await mkdir(join(dir, 'npm-cache'));
    const copied = spawnSync('cp', ['-r', join(NPM_CACHE, '_cacache'), join(dir, 'npm-cache')], { encoding: 'utf8' });
    if (copied.status !== 0) throw new Error(`copying npm's cache: ${copied.stderr}`);
  }
  own(dir);
  const exec: typeof run = options.nobody ? (cmd, args, o) => run('setpriv', [...AS_NOBODY, cmd, ...args], o) : run;
  return {
    dir,
    prefix: globalPrefix,
    installed: join(globalPrefix, 'lib', 'node_modules', 'talos-mac'),
    env,
    npm: (args, cwd = dir) => (NPM_CLI ? exec(NODE, [NPM_CLI, ...args], { env, cwd }) : exec('npm', args, { env, cwd })),
    cli: (args, node) => exec(join(globalPrefix, 'bin', 'talos-mac'), args, { env: withNode(node), cwd: dir, timeoutMs: 90_000 }),
    own,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Flags for every install: dependencies from the warm cache, nothing printed that is not needed. */
export const INSTALL = ['--prefer-offline', '--no-audit', '--no-fund'];

/** The Node binaries the installed CLI must run on: the one running npm and the tests' Node 18. */
export const NODES = NODE18 && existsSync(NODE18) ? [NODE, NODE18] : [NODE];
