// Pieces of the PR-kernel scenarios (issue 10, scenarios 3–5): the host's users and groups as
// Debian's base-passwd and udev make them, the demo disk (built on this side: the box has no
// xorriso), the QMP probe, and bounded retries for the OpenBIOS IDE race.
import { readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { REPO, cmd, shq } from './box.js';
import { cacheRoot, log } from './cache.js';
import type { CpioEntry } from './cpio.js';
import { run } from './run.js';
import { packageFile } from './userland.js';

/** OpenBIOS's `go` prints this when boot loaded nothing: under load it sometimes misses the IDE drive [inferred: seen by hand]. */
export const IDE_RACE = 'No valid state has been set by load or init-program';
export const RACE_ATTEMPTS = 3;

/** Debian's initial /etc/passwd and /etc/group (base-passwd's masters), for the persistent root. */
export async function debianAccounts(): Promise<{ passwd: Buffer; group: Buffer }> {
  return {
    passwd: await packageFile('bookworm', 'base-passwd', 'usr/share/base-passwd/passwd.master'),
    group: await packageFile('bookworm', 'base-passwd', 'usr/share/base-passwd/group.master'),
  };
}

/**
 * The talos-mac demo disk, built once here by the CLI itself, as a qcow2 image (the box's guests
 * keep a qcow2 disk, so launch there runs qemu-img on it); undefined (with the reason) when this
 * machine cannot build it. A demo command without its disk is the harness's failure, not a skip.
 */
export async function demoDisk(): Promise<{ data: Buffer } | { missing: string }> {
  const xdg = join(cacheRoot(), 'demo-xdg');
  const r = await run([process.execPath, join(REPO, 'bin', 'talos-mac.js'), 'demo', '--print-cmd', '--json'], { check: false, env: { XDG_CACHE_HOME: xdg } });
  if (r.code !== 0) return { missing: `talos-mac demo cannot build its disk on this machine: ${r.stderr.trim()}` };
  const argv = JSON.parse(r.stdout) as string[];
  const drive = argv.map((a) => /(?:^|,)file=([^,]+),format=(raw|qcow2)(?:,|$)/.exec(a)).find(Boolean);
  if (!drive) throw new Error(`no disk in the demo's command: ${r.stdout}`);
  const [, file, format] = drive as unknown as [string, string, string];
  if (format === 'qcow2') return { data: await readFile(file) };
  // The demo keeps its disk raw (src/demo/image.ts): the same bytes as qcow2.
  const qcow2 = join(xdg, `${basename(file)}.qcow2`);
  await run(['qemu-img', 'convert', '-q', '-f', 'raw', '-O', 'qcow2', file, `${qcow2}.part`]);
  await rename(`${qcow2}.part`, qcow2);
  return { data: await readFile(qcow2) };
}

export const DEMO_IMAGE = '/opt/demo.qcow2';

export async function prBoxFiles(disk: Buffer): Promise<CpioEntry[]> {
  return [
    { path: DEMO_IMAGE.slice(1), type: 'file', data: disk },
    { path: 'box/qmp-probe.mjs', type: 'file', data: await readFile(join(REPO, 'tests', 'e2e', 'power9', 'box', 'qmp-probe.mjs')) },
  ];
}

/** sh: the `retry NAME ARGV…` function: runs like `run`, again (at most RACE_ATTEMPTS) while the IDE race shows; NAME.attempts says how often. */
export const retryFunction = `retry() { n=$1; shift; i=0; while [ $i -lt ${RACE_ATTEMPTS} ]; do i=$((i+1)); run "$n" "$@"; grep -q ${shq(IDE_RACE)} "/box/out/$n.stdout" "/box/out/$n.stderr" || break; done; echo $i > "/box/out/$n.attempts"; }`;

/** What a Debian host has and the box's /init does not make: /var/tmp (QEMU's snapshot=on writes its overlay there). */
export const HOST_DIRS = 'mkdir -p /var/tmp && chmod 1777 /var/tmp';

export const retry = (name: string, argv: readonly string[]): string => cmd(name, argv).replace(/^run /, 'retry ');

/** argv run as USER through busybox su (initgroups: the user's groups, as at a login), with the box's PATH. */
export function asUser(user: string, argv: readonly string[]): string[] {
  const line = argv.map(shq).join(' ');
  return ['su', '-s', '/bin/sh', user, '-c', `PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/${user} LANG=C.UTF-8 ${line}`];
}

/** The demo's printed QEMU command run by the QMP probe: QEMU's own answer to query-kvm. */
export function qmpProbe(name: string, demoArgs: readonly string[], user?: string): string[] {
  const argvFile = `/tmp/${name}.argv.json`;
  const print = ['talos-mac', 'demo', ...demoArgs, '--image', DEMO_IMAGE, '--print-cmd', '--json'];
  const probe = ['node', '/box/qmp-probe.mjs', argvFile, '90'];
  return [
    `${user ? asUser(user, print).map(shq).join(' ') : print.map(shq).join(' ')} > ${argvFile}`,
    retry(name, user ? asUser(user, probe) : probe),
  ];
}

export interface Attempts {
  name: string;
  attempts: number;
}

/** Counts the retries a boot needed and prints them (flakes are counted, not hidden). */
export function reportRetries(label: string, got: Attempts[]): number {
  const extra = got.reduce((n, a) => n + a.attempts - 1, 0);
  log(`${label}: OpenBIOS IDE race retries: ${extra}${extra ? ` (${got.filter((a) => a.attempts > 1).map((a) => `${a.name} ×${a.attempts}`).join(', ')})` : ''}`);
  return extra;
}
