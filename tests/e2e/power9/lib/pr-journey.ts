// The PR journey on a KVM-PR kernel, as a user runs it (issue 10's scenario 4, and issue 24's
// Debian 13 userland and Linux 7.2 kernel): boot 1 (radix, as Debian installs it): `setup --yes`
// edits GRUB and stops for the reboot; boot 2 with the command line the regenerated grub.cfg
// carries: `setup` resumes and loads kvm_pr, doctor says ready, `demo --accel kvm` runs under
// KVM-PR as QEMU itself reports over QMP. Scenarios add their own lines to either boot.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { EXIT } from '../../../../src/exit-codes.js';
import { DoctorReportSchema, type DoctorReport } from '../../../../src/doctor/report-schema.js';
import type { KernelRow } from '../kernels.js';
import { REPO, bootBox, cmd, sendDir, type BoxResults } from './box.js';
import { log } from './cache.js';
import type { CpioEntry } from './cpio.js';
import type { BootKernel } from './debian-kernel.js';
import { grubCfgCmdlines } from './grub.js';
import { freshRoot, hostFiles } from './host.js';
import type { PersistentRoot } from './persistent-root.js';
import { HOST_DIRS, debianAccounts, prBoxFiles, qmpProbe, reportRetries, retry, retryFunction } from './pr-scenario.js';
import type { Userland } from './userland.js';

/** doctor --snapshot on this side: what the snapshot the box collected says here. */
export const replay = (snapshot: string): DoctorReport => {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'talos-mac.js'), 'doctor', '--json', '--snapshot', snapshot], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return DoctorReportSchema.parse(JSON.parse(r.stdout));
};

export const doctorOf = (r: BoxResults, name: string): DoctorReport => DoctorReportSchema.parse(JSON.parse(r.command(name).stdout));

export interface Probe {
  queryKvm: { enabled: boolean; present: boolean } | null;
  /** QMP query-version's qemu part. */
  version: { major: number; minor: number; micro: number } | null;
  /** query-accelerators' answer, or its error class (CommandNotFound before QEMU 10.2). */
  queryAccelerators: unknown;
  events: string[];
  code: number | null;
  timedOut: boolean;
  console: string;
  stderr: string;
}

export const probeOf = (r: BoxResults, name: string): Probe => {
  const c = r.command(name);
  assert.equal(c.code, 0, `${name}: ${c.stderr}`);
  return JSON.parse(c.stdout) as Probe;
};

export const attempts = (r: BoxResults, names: string[]) => names.map((name) => ({ name, attempts: Number(r.text(`${name}.attempts`).trim()) }));

/** The demo ran under KVM-PR: QEMU's own answer (printed), and the guest got to power itself off. */
export function assertUnderKvm(p: Probe, who: string): void {
  const v = p.version ? `${p.version.major}.${p.version.minor}.${p.version.micro}` : '?';
  log(`${who}: QEMU ${v} says over QMP: query-kvm ${JSON.stringify(p.queryKvm)}, query-accelerators ${JSON.stringify(p.queryAccelerators)}`);
  assert.deepEqual(p.queryKvm, { enabled: true, present: true }, `${who}: QEMU's query-kvm`);
  assert.equal(p.timedOut, false, `${who}: the demo guest powered off in time; console:\n${p.console}\n${p.stderr}`);
  assert.equal(p.code, 0, `${who}: QEMU exit; ${p.stderr}`);
  assert.match(p.console, /TALOS-MAC-DEMO booted from/, `${who}: the firmware booted the demo disk`);
  assert.ok(p.events.includes('SHUTDOWN'), `${who}: QMP saw the guest's SHUTDOWN (${p.events.join(', ')})`);
}

export const DEMO_ARGS = ['--accel', 'kvm', '--timeout', '90'];

export interface Journey {
  label: string;
  row: KernelRow;
  kernel: BootKernel;
  userland: Userland;
  disk: Buffer;
  /** Lines run in boot 1 before `setup --yes` (e.g. installing the kernel's package). */
  boot1?: string[];
  /** Lines run in boot 2 after the demo (e.g. scenario 5's users). */
  boot2?: string[];
  /** Files for every boot (beyond the host's and the demo's). */
  files?: CpioEntry[];
}

export interface JourneyResult {
  one: BoxResults;
  two: BoxResults;
  root: PersistentRoot;
  /** Boot 2's kernel command line, from the regenerated grub.cfg. */
  cmdline: string;
}

/** Runs both boots and checks what every PR journey must show; scenarios check their own lines. */
export async function prJourney(j: Journey): Promise<JourneyResult> {
  const root = await freshRoot(j.label.replace(/[^a-z0-9.-]+/gi, '-'), j.row, j.kernel, { grub: true });
  const accounts = await debianAccounts();
  root.seed('etc/passwd', accounts.passwd).seed('etc/group', accounts.group);
  const files = [...(await hostFiles(j.row)), ...(await prBoxFiles(j.disk)), ...(j.files ?? [])];

  // Boot 1: radix, as Debian installs it (its kvm group is udev's: created here by groupadd).
  const one = await bootBox({
    label: `${j.label} boot 1`,
    kernel: j.kernel,
    userland: j.userland,
    root,
    files,
    script: [
      'pwconv; grpconv; groupadd -f -r kvm',
      ...(j.boot1 ?? []),
      cmd('doctor', ['talos-mac', 'doctor', '--json']),
      // The wizard unattended, as a user would script it: the host steps and a guest.
      cmd('setup', ['talos-mac', 'setup', '--yes', '--without-live-share', '--os', 'tiger']),
    ],
  });
  const setup1 = one.command('setup');
  assert.equal(setup1.code, EXIT.REBOOT_NEEDED, setup1.stdout + setup1.stderr);
  assert.match(setup1.stdout, /Reboot now \(for (?:.*; )?Run the hash MMU(?:; .*)?\), then run `talos-mac setup` again/);
  assert.match(setup1.stdout, /Created the guest tiger: Mac OS X 10\.4 Tiger/, 'the guest is created before the reboot');
  assert.match(setup1.stdout, /Next: sudo reboot {2}then {2}talos-mac setup/);
  assert.equal(doctorOf(one, 'doctor').host.mmu, 'radix');
  assert.match((await root.read('etc/default/grub')) ?? '', /^GRUB_CMDLINE_LINUX=.*disable_radix/m);
  const cfg = await root.read('boot/grub/grub.cfg');
  assert.ok(cfg, 'update-grub regenerated grub.cfg');
  const cmdline = grubCfgCmdlines(cfg)[0]!;
  assert.match(cmdline, /(^| )disable_radix( |$)/, `grub.cfg's default entry: ${cmdline}`);
  log(`${j.label}: boot 2 command line, from the regenerated grub.cfg: ${cmdline}`);

  // Boot 2: the command line GRUB would now pass.
  const two = await bootBox({
    label: `${j.label} boot 2`,
    kernel: j.kernel,
    userland: j.userland,
    root,
    cmdline,
    files,
    script: [
      HOST_DIRS,
      retryFunction,
      cmd('setup', ['talos-mac', 'setup', '--yes', '--without-live-share', '--os', 'tiger']),
      cmd('modules', ['cat', '/proc/modules']),
      cmd('modules-load', ['sh', '-c', 'cat /etc/modules-load.d/*']),
      // Debian's udev gives /dev/kvm to group kvm, mode 0660 (its 50-udev-default.rules); the box runs no udev.
      'chgrp kvm /dev/kvm && chmod 0660 /dev/kvm',
      cmd('dev-kvm', ['ls', '-l', '/dev/kvm']),
      cmd('doctor', ['talos-mac', 'doctor', '--json', '--collect', '/tmp/snapshot']),
      sendDir('snapshot.tar.gz', '/tmp/snapshot'),
      retry('demo', ['talos-mac', 'demo', ...DEMO_ARGS, '--image', '/opt/demo.qcow2']),
      ...qmpProbe('probe', DEMO_ARGS),
      ...(j.boot2 ?? []),
    ],
  });
  reportRetries(`${j.label} boot 2`, attempts(two, ['demo', 'probe']));

  const setup2 = two.command('setup');
  assert.equal(setup2.code, 0, setup2.stdout + setup2.stderr);
  assert.match(setup2.stdout, /^(?: {2}→ )?✓ \[done\]\s+Load the kvm_pr module: /m);
  assert.match(setup2.stdout, /The reboot did what setup expected \(hash MMU\)/);
  assert.match(setup2.stdout, /The guest tiger exists already .*: left as it is/);
  assert.match(setup2.stdout, /Next: talos-mac launch tiger$/m);
  assert.match(two.command('modules').stdout, /^kvm_pr /m);
  assert.match(two.command('modules-load').stdout, /^kvm_pr$/m);
  assert.match(await root.read('etc/modules-load.d/talos-mac.conf').then((s) => s ?? '', () => ''), /kvm_pr/);
  const demo = two.command('demo');
  assert.equal(demo.code, 0, demo.stdout + demo.stderr);
  assert.match(demo.stderr, /under KVM-PR/);
  assertUnderKvm(probeOf(two, 'probe'), `${j.label}: root`);
  return { one, two, root, cmdline };
}
