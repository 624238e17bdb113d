// What `npm test` needs from the system, installed before any test runs: the packages are named by
// the row of this system in the distribution table (src/distro/table.ts, read from the build) and
// installed with its package manager, as root or with passwordless sudo. What cannot be installed
// is one line naming it and the command that installs it, and the tests do not start.
//   node scripts/test-prereqs.mjs   the same on its own (after npm run build)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

/** What the default suite runs, by what uses it; each names its packages in a table row `d`. */
const NEEDS = [
  { what: 'QEMU with its firmware, ROMs and GUI module', packages: (d) => Object.values(d.names.qemu), commands: ['qemu-system-ppc', 'qemu-img'] },
  { what: 'demo, share', packages: (d) => [d.names.xorriso], commands: ['xorriso'] },
  { what: 'files, media check', packages: (d) => [d.names.sevenZip], commands: ['7zz|7z'] },
  { what: 'share --live (WebDAV)', packages: (d) => [d.names.liveShare?.webdav], commands: ['rclone'] },
  { what: 'stand-in kernel modules', packages: (d) => [d.names.build.gcc], commands: ['gcc'] },
  { what: 'the kernel patch tests', packages: (d) => [d.names.build.patch], commands: ['patch'] },
  ...['unshare', 'setpriv', 'script', 'chattr', 'strace', 'ip', 'git'].map((tool) => ({ what: tool, packages: (d) => [d.names.test?.[tool]], commands: [tool] })),
];

/** "a, b (what needs them), c (…)": packages in order, each need said once after its last package. */
function grouped(missing) {
  return missing
    .map((m, i) => {
      const name = m.package ?? m.command;
      const last = missing[i + 1]?.what !== m.what;
      return last && name !== m.what ? `${name} (${m.what})` : name;
    })
    .join(', ');
}

const run = (argv, env) => spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'], env });
const quiet = (argv) => spawnSync(argv[0], argv.slice(1), { stdio: 'ignore' });
const onPath = (alternatives) => alternatives.split('|').some((c) => quiet(['sh', '-c', 'command -v "$1"', 'sh', c]).status === 0);

/** Installs what is missing; returns undefined when everything is there, else the one line to print. */
export async function ensureTestPrerequisites(distDir = fileURLToPath(new URL('../dist/', import.meta.url))) {
  const distro = await import(pathToFileURL(join(distDir, 'src', 'distro', 'distro.js')).href);
  const { parseOsRelease } = await import(pathToFileURL(join(distDir, 'src', 'parse', 'os-release.js')).href);
  const d = distro.distroOf(parseOsRelease(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : ''));
  const missing = []; // { what, package } or { what, command } where the row names no package
  for (const need of NEEDS) {
    const packages = need.packages(d);
    if (d.packages && packages.every((p) => p !== undefined)) {
      for (const p of packages) if (quiet(d.packages.query(p)).status !== 0 && !missing.some((m) => m.package === p)) missing.push({ what: need.what, package: p });
    } else if (!need.commands.every(onPath)) {
      missing.push({ what: need.what, package: undefined, command: need.commands.filter((c) => !onPath(c)).join(', ').replaceAll('|', ' or ') });
    }
  }
  if (missing.length === 0) return undefined;
  const names = missing.map((m) => m.package).filter(Boolean);
  const unknown = missing.filter((m) => !m.package).map((m) => m.command);
  const hint = distro.installHint(d, names);
  const line = (why) =>
    `talos-mac tests: ${why}; missing: ${grouped(missing)}. ` +
    (unknown.length > 0 ? `Install ${unknown.join(', ')} with ${d.name}'s package manager (no package is known for it in src/distro/table.ts)${hint ? `, and: ${hint}` : ''}` : `Install them: ${hint}`) +
    ', then run npm test again.';
  if (unknown.length > 0 || !hint) return line(`cannot install what the tests need on ${d.name}`);
  const asRoot = process.getuid?.() === 0;
  if (!asRoot && quiet(['sudo', '-n', 'true']).status !== 0) return line('not root and no passwordless sudo to install what the tests need');
  const argv = ['env', 'DEBIAN_FRONTEND=noninteractive', ...distro.installArgv(d, names)];
  console.error(`talos-mac tests: installing what the tests need: ${names.join(' ')}`);
  const r = run(asRoot ? argv : ['sudo', '-n', ...argv], process.env);
  if (r.status !== 0) return line(`${argv.slice(2).join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const missing = await ensureTestPrerequisites();
  if (missing) console.error(missing);
  process.exit(missing ? 1 : 0);
}
