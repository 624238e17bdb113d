// Scenarios 3–5 on the KVM-PR kernel built by talos-mac's own pipeline (KERNELS.pr):
// 3. radix: kvm_pr cannot load though /dev/kvm exists; 4. the journey: setup edits GRUB and stops
// for the reboot, the next boot uses the command line the regenerated grub.cfg carries, setup
// resumes, doctor says ready, the demo runs under KVM-PR as QEMU itself reports (QMP query-kvm),
// a created guest chooses KVM on its own; 5. a user in group kvm, and one without it.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { KERNELS } from '../kernels.js';
import { bootBox, cmd, sendDir } from '../lib/box.js';
import { freshRoot, hostFiles } from '../lib/host.js';
import { prKernel, prKernelSkip, type PrKernel } from '../lib/pr-kernel.js';
import { DEMO_ARGS, assertUnderKvm, attempts, doctorOf, prJourney, probeOf, replay } from '../lib/pr-journey.js';
import { asUser, demoDisk, qmpProbe, reportRetries, retry } from '../lib/pr-scenario.js';
import { receiveSnapshot } from '../lib/snapshots.js';
import { userland } from '../lib/userland.js';
import { assertPrRadixVerdicts, assertReadyVerdicts, check } from '../verdicts.js';

const missing = await prKernelSkip(KERNELS.debian12.fetch);
const row = KERNELS.pr;

describe('PR kernel built by talos-mac (scenarios 3–5)', { skip: missing ?? false }, () => {
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
    const { two } = await prJourney({
      label: 'pr journey',
      row,
      kernel: await row.fetch(),
      userland: await userland('bookworm'),
      disk: disk.data,
      boot2: [
        // A guest whose disk is a copy of the demo's (an empty disk is refused without an installer CD).
        'cp /opt/demo.qcow2 /root/g1.qcow2',
        cmd('create', ['talos-mac', 'create', 'g1', '--os', '10.4', '--disk', '/root/g1.qcow2']),
        cmd('launch-cmd', ['talos-mac', 'launch', 'g1', '--accel', 'auto', '--display', 'serial', '--print-cmd', '--json']),
        retry('launch', ['talos-mac', 'launch', 'g1', '--accel', 'auto', '--display', 'serial', '--timeout', '60']),
        // Scenario 5: alice is in group kvm, bob is not.
        'useradd -m -s /bin/sh alice && usermod -aG kvm alice && useradd -m -s /bin/sh bob',
        cmd('alice-doctor', asUser('alice', ['talos-mac', 'doctor', '--json'])),
        ...qmpProbe('alice-probe', DEMO_ARGS, 'alice'),
        cmd('bob-doctor', asUser('bob', ['talos-mac', 'doctor', '--json'])),
        cmd('bob-setup', asUser('bob', ['talos-mac', 'setup', '--dry-run'])),
      ],
    });
    reportRetries('pr journey boot 2, scenario 5', attempts(two, ['launch', 'alice-probe']));

    assertReadyVerdicts(doctorOf(two, 'doctor'));
    assertReadyVerdicts(replay(await receiveSnapshot(two, 'snapshot.tar.gz', 'box-pr-6.1-hash-ready')));

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
