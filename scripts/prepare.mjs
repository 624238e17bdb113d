// npm's `prepare`: runs on `npm install` in a checkout and, for a git install, in npm's clone
// before npm packs it. Any failure fails the install rather than leaving a package without dist/.
//
// `npm install -g git+…` prepares the clone with `npm install --force` that inherits
// npm_config_global (npm/cli#8440; pacote#494 passes --global=false, not yet in every npm). That
// child (1) installs nothing into the clone, so the build tools are installed here, and (2) links
// the global package directory to the clone: npm then unpacks the package through the link into
// the clone and deletes the clone, leaving a dangling link (npm/cli#3692, #6984). So after
// building, the link is replaced with a real directory. That child also deletes whatever npm had
// already unpacked into the package's node_modules: the package has no dependencies for this
// reason (the CLI and the exports are bundles).
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const env = { ...process.env };
for (const key of Object.keys(env)) {
  if (/^npm_config_(global|location|prefix|include|omit|production|only)$/i.test(key)) delete env[key];
}
// The npm (and its node) that runs this script; a bare `npm` is the fallback when run by hand.
const { npm_execpath: npmCli, npm_node_execpath: npmNode } = process.env;
const npm = npmCli && npmNode ? [npmNode, npmCli] : ['npm'];

function step(what, [cmd, ...args]) {
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`talos-mac prepare: ${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

function resolvable(name) {
  try {
    require.resolve(name);
    return true;
  } catch {
    return false;
  }
}

/** The global package directory while it is the link to this clone that npm's git preparation made. */
function globalLinkToHere() {
  const prefix = process.env.npm_config_global_prefix;
  // _PACOTE_NO_PREPARE_ is set only for that preparation: `npm install -g .` links on purpose.
  if (process.env.npm_config_global !== 'true' || process.env._PACOTE_NO_PREPARE_ === undefined || !prefix) return undefined;
  const { name } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dir = join(prefix, process.platform === 'win32' ? 'node_modules' : join('lib', 'node_modules'), name);
  try {
    return lstatSync(dir).isSymbolicLink() && realpathSync(dir) === realpathSync(root) ? dir : undefined;
  } catch {
    return undefined;
  }
}

if (!['esbuild', 'zod', 'commander'].every(resolvable)) {
  // --ignore-scripts: else this install runs `prepare` (this script) again.
  step('installing the build tools (npm ci)', [...npm, 'ci', '--global=false', `--prefix=${root}`, '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
}
// The bundles only (esbuild): what the package ships. `npm run build` adds tsc (type check, tests).
step('scripts/bundle.mjs', [process.execPath, join(root, 'scripts', 'bundle.mjs')]);

const link = globalLinkToHere();
if (link) {
  // npm goes on to link bin/ through it (it chmods bin/talos-mac.js), then unpacks the package
  // over it; until then it holds a runnable CLI.
  rmSync(link);
  mkdirSync(join(link, 'dist', 'cli'), { recursive: true });
  for (const part of ['package.json', 'bin']) cpSync(join(root, part), join(link, part), { recursive: true });
  for (const f of readdirSync(join(root, 'dist', 'cli')).filter((n) => n.endsWith('.js'))) cpSync(join(root, 'dist', 'cli', f), join(link, 'dist', 'cli', f));
}
