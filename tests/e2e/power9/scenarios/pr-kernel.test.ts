// Scenarios 3–5 on the KVM-PR kernel built by talos-mac's own pipeline (KERNELS.pr):
// 3. radix: kvm_pr cannot load though /dev/kvm exists; 4. the journey: setup edits GRUB and stops
// for the reboot, the next boot uses the command line the regenerated grub.cfg carries, setup
// resumes, doctor says ready, the demo runs under KVM-PR as QEMU itself reports (QMP query-kvm),
// a created guest chooses KVM on its own; 5. a user in group kvm, and one without it.
import { EXIT } from '../../../../src/cli/exit-codes.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DoctorReportSchema, type DoctorReport } from '../../../../src/doctor/report-schema.js';
import { KERNELS } from '../kernels.js';
import { REPO, bootBox, cmd, sendDir, type BoxResults } from '../lib/box.js';
import { log } from '../lib/cache.js';
import { grubCfgCmdlines } from '../lib/grub.js';
import { freshRoot, hostFiles } from '../lib/host.js';
import { prKernel, prKernelMissing, type PrKernel } from '../lib/pr-kernel.js';
import { HOST_DIRS, asUser, debianAccounts, demoDisk, prBoxFiles, qmpProbe, reportRetries, retry, retryFunction } from '../lib/pr-scenario.js';
import { receiveSnapshot } from '../lib/snapshots.js';
import { userland } from '../lib/userland.js';
import { assertPrRadixVerdicts, assertReadyVerdicts, check } from '../verdicts.js';

const missing = prKernelMissing();
const row = KERNELS.pr;

/** doctor --snapshot on this side: the snapshot the box collected gives the same verdicts. */
const replay = (snapshot: string): DoctorReport => {
  const r = spawnSync(process.execPath, [join(REPO, 'bin', 'talos-mac.js'), 'doctor', '--json', '--snapshot', snapshot], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return DoctorReportSchema.parse(JSON.parse(r.stdout));
};

const doctorOf = (r: BoxResults, name: string): DoctorReport => DoctorReportSchema.parse(JSON.parse(r.command(name).stdout));

interface Probe {
  queryKvm: { enabled: boolean; present: boolean } | null;
  events: string[];
  code: number | null;
  timedOut: boolean;
  console: string;
  stderr: string;
}

const probeOf = (r: BoxResults, name: string): Probe => {
  const c = r.command(name);
  assert.equal(c.code, 0, `${name}: ${c.stderr}`);
  return JSON.parse(c.stdout) as Probe;
};

const attempts = (r: BoxResults, names: string[]) => names.map((name) => ({ name, attempts: Number(r.text(`${name}.attempts`).trim()) }));

/** The demo ran under KVM-PR: QEMU's own answer, and the guest got to power itself off. */
function assertUnderKvm(p: Probe, who: string): void {
  assert.deepEqual(p.queryKvm, { enabled: true, present: true }, `${who}: QEMU's query-kvm`);
  assert.equal(p.timedOut, false, `${who}: the demo guest powered off in time; console:\n${p.console}\n${p.stderr}`);
  assert.equal(p.code, 0, `${who}: QEMU exit; ${p.stderr}`);
  assert.match(p.console, /TALOS-MAC-DEMO booted from/, `${who}: the firmware booted the demo disk`);
  assert.ok(p.events.includes('SHUTDOWN'), `${who}: QMP saw the guest's SHUTDOWN (${p.events.join(', ')})`);
}

describe('PR kernel built by talos-mac (scenarios 3–5)', { skip: missing ? `the PR kernel ${missing}` : false }, () => {
  test("the PR kernel: talos-mac's pipeline, Debian 12's config reduced, KVM-PR kept; a second run builds nothing", async () => {
    const first = (await row.fetch()) as PrKernel;
    const config = await readFile(first.config, 'utf8');
    assert.match(config, /^CONFIG_KVM_BOOK3S_64_PR=m$/m);
    assert.match(config, /^# CONFIG_NO_HZ_FULL is not set$/m);
    assert.match(config, /^# CONFIG_VIRT_CPU_ACCOUNTING_GEN is not set$/m);
    assert.ok((config.match(/=m$/gm) ?? []).length < 20);
    assert.ok(existsSync(join(first.modulesRoot, 'lib', 'modules', first.release, 'kernel', 'arch', 'powerpc', 'kvm', 'kvm-pr.ko')));
    const again = await prKernel(await KERNELS.debian12.fetch());
    assert.ok(again.image.resumed.includes('build-image') && again.image.resumed.includes('install-image'), `resumed: ${again.image.resumed.join(', ')}`);
    assert.equal(again.vmlinux, first.vmlinux);
    assert.ok(again.seconds < 120, `a cached run took ${again.seconds} s`);
  });

  test('scenario 3: PR kernel, radix: kvm_pr cannot load though /dev/kvm exists; doctor says why', async () => {
    const kernel = await row.fetch();
    const root = await freshRoot('pr-radix', row, kernel, { grub: true });
    const r = await bootBox({
      label: 'pr radix',
      kernel,
      userland: await userland('bookworm'),
      root,
      files: await hostFiles(row),
      script: [
        cmd('modprobe-pr', ['/sbin/modprobe', 'kvm_pr']),
        cmd('dev-kvm', ['ls', '-l', '/dev/kvm']),
        cmd('modules', ['cat', '/proc/modules']),
        cmd('doctor', ['talos-mac', 'doctor', '--json', '--collect', '/tmp/snapshot']),
        sendDir('snapshot.tar.gz', '/tmp/snapshot'),
      ],
    });
    const pr = r.command('modprobe-pr');
    assert.notEqual(pr.code, 0);
    assert.match(pr.stderr, /kvm_pr.*Input\/output error/);
    assert.equal(r.command('dev-kvm').code, 0, 'kvm.ko loaded as kvm_pr\'s dependency and made /dev/kvm');
    assert.match(r.command('dev-kvm').stdout, /^c.* \/dev\/kvm$/m);
    assert.match(r.command('modules').stdout, /^kvm /m);
    assert.doesNotMatch(r.command('modules').stdout, /^kvm_pr /m);
    assertPrRadixVerdicts(doctorOf(r, 'doctor'));
    const snapshot = await receiveSnapshot(r, 'snapshot.tar.gz', 'box-pr-6.1-radix');
    assertPrRadixVerdicts(replay(snapshot));
  });

  test('scenarios 4 and 5: setup, reboot by grub.cfg, setup resumes, KVM-PR proven by QEMU, users with and without kvm', async (t) => {
    const disk = await demoDisk();
    if ('missing' in disk) {
      t.skip(disk.missing);
      return;
    }
    const kernel = await row.fetch();
    const root = await freshRoot('pr-journey', row, kernel, { grub: true });
    const accounts = await debianAccounts();
    root.seed('etc/passwd', accounts.passwd).seed('etc/group', accounts.group);
    const files = [...(await hostFiles(row)), ...(await prBoxFiles(disk.data))];
    const land = await userland('bookworm');

    // Boot 1: radix, as Debian installs it (its kvm group is udev's: created here by groupadd).
    const one = await bootBox({
      label: 'pr journey boot 1',
      kernel,
      userland: land,
      root,
      files,
      script: [
        'pwconv; grpconv; groupadd -f -r kvm',
        cmd('doctor', ['talos-mac', 'doctor', '--json']),
        // The wizard unattended, as a user would script it: the host steps and a guest.
        cmd('setup', ['talos-mac', 'setup', '--yes', '--os', 'tiger']),
      ],
    });
    const setup1 = one.command('setup');
    assert.equal(setup1.code, EXIT.REBOOT_NEEDED, setup1.stdout + setup1.stderr);
    assert.match(setup1.stdout, /Reboot now \(for [^)]*mmu\.active[^)]*\), then run `talos-mac setup` again/);
    assert.match(setup1.stdout, /Created the guest tiger: Mac OS X 10\.4 Tiger/, 'the guest is created before the reboot');
    assert.match(setup1.stdout, /Next: sudo reboot {2}then {2}talos-mac setup/);
    assert.equal(doctorOf(one, 'doctor').host.mmu, 'radix');
    const defaults = await root.read('etc/default/grub');
    assert.match(defaults ?? '', /^GRUB_CMDLINE_LINUX=.*disable_radix/m);
    const cfg = await root.read('boot/grub/grub.cfg');
    assert.ok(cfg, 'update-grub regenerated grub.cfg');
    const cmdline = grubCfgCmdlines(cfg)[0]!;
    assert.match(cmdline, /(^| )disable_radix( |$)/, `grub.cfg's default entry: ${cmdline}`);
    log(`boot 2 command line, from the regenerated grub.cfg: ${cmdline}`);

    // Boot 2: the command line GRUB would now pass.
    const demoArgs = ['--accel', 'kvm', '--timeout', '90'];
    const two = await bootBox({
      label: 'pr journey boot 2',
      kernel,
      userland: land,
      root,
      cmdline,
      files,
      script: [
        HOST_DIRS,
        retryFunction,
        cmd('setup', ['talos-mac', 'setup', '--yes', '--os', 'tiger']),
        cmd('modules', ['cat', '/proc/modules']),
        cmd('modules-load', ['sh', '-c', 'cat /etc/modules-load.d/*']),
        // Debian's udev gives /dev/kvm to group kvm, mode 0660 (its 50-udev-default.rules); the box runs no udev.
        'chgrp kvm /dev/kvm && chmod 0660 /dev/kvm',
        cmd('dev-kvm', ['ls', '-l', '/dev/kvm']),
        cmd('doctor', ['talos-mac', 'doctor', '--json', '--collect', '/tmp/snapshot']),
        sendDir('snapshot.tar.gz', '/tmp/snapshot'),
        retry('demo', ['talos-mac', 'demo', ...demoArgs, '--image', '/opt/demo.qcow2']),
        ...qmpProbe('probe', demoArgs),
        // A guest whose disk is a copy of the demo's (an empty disk is refused without an installer CD).
        'cp /opt/demo.qcow2 /root/g1.qcow2',
        cmd('create', ['talos-mac', 'create', 'g1', '--os', '10.4', '--disk', '/root/g1.qcow2']),
        cmd('launch-cmd', ['talos-mac', 'launch', 'g1', '--accel', 'auto', '--display', 'serial', '--print-cmd', '--json']),
        retry('launch', ['talos-mac', 'launch', 'g1', '--accel', 'auto', '--display', 'serial', '--timeout', '60']),
        // Scenario 5: alice is in group kvm, bob is not.
        'useradd -m -s /bin/sh alice && usermod -aG kvm alice && useradd -m -s /bin/sh bob',
        cmd('alice-doctor', asUser('alice', ['talos-mac', 'doctor', '--json'])),
        ...qmpProbe('alice-probe', demoArgs, 'alice'),
        cmd('bob-doctor', asUser('bob', ['talos-mac', 'doctor', '--json'])),
        cmd('bob-setup', asUser('bob', ['talos-mac', 'setup', '--dry-run'])),
      ],
    });
    reportRetries('pr journey boot 2', attempts(two, ['demo', 'probe', 'launch', 'alice-probe']));

    const setup2 = two.command('setup');
    assert.equal(setup2.code, 0, setup2.stdout + setup2.stderr);
    assert.match(setup2.stdout, /kvm\.pr-loaded/);
    assert.match(setup2.stdout, /The reboot did what setup expected \(hash MMU\)/);
    assert.match(setup2.stdout, /The guest tiger exists already .*: left as it is/);
    assert.match(setup2.stdout, /Next: talos-mac launch tiger$/m);
    assert.match(two.command('modules').stdout, /^kvm_pr /m);
    assert.match(two.command('modules-load').stdout, /^kvm_pr$/m);
    assert.match(await root.read('etc/modules-load.d/talos-mac.conf').then((s) => s ?? '', () => ''), /kvm_pr/);

    assertReadyVerdicts(doctorOf(two, 'doctor'));
    assertReadyVerdicts(replay(await receiveSnapshot(two, 'snapshot.tar.gz', 'box-pr-6.1-hash-ready')));

    const demo = two.command('demo');
    assert.equal(demo.code, 0, demo.stdout + demo.stderr);
    assert.match(demo.stderr, /under KVM-PR/);
    assertUnderKvm(probeOf(two, 'probe'), 'root');

    assert.equal(two.command('create').code, 0, two.command('create').stderr);
    assert.equal(two.command('launch-cmd').code, 0, two.command('launch-cmd').stderr);
    const argv = JSON.parse(two.command('launch-cmd').stdout) as string[];
    assert.ok(argv.join(' ').includes('kvm'), `launch --accel auto picks KVM: ${argv.join(' ')}`);
    const launch = two.command('launch');
    assert.match(launch.stderr, /Accelerator\s+KVM-PR: /, launch.stderr);
    assert.match(launch.stdout + launch.stderr, /TALOS-MAC-DEMO booted from/);

    const alice = doctorOf(two, 'alice-doctor');
    assert.equal(alice.verdict.kind, 'ready', alice.verdict.text);
    assertUnderKvm(probeOf(two, 'alice-probe'), 'alice');
    const bob = doctorOf(two, 'bob-doctor');
    assert.notEqual(bob.verdict.kind, 'ready');
    const access = check(bob, 'kvm.device');
    assert.equal(access.status, 'fail');
    assert.match(access.summary, /\/dev\/kvm is not read-write for this user \(0660 0:kvm\)/);
    assert.match(JSON.stringify(access.fix), /usermod -aG kvm/);
    const bobSetup = two.command('bob-setup');
    assert.equal(bobSetup.code, 0, bobSetup.stdout + bobSetup.stderr);
    assert.match(bobSetup.stdout, /usermod -aG kvm bob/);
  });
});
