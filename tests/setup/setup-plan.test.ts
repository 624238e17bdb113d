// setup's plan on the project's host snapshots (captured in the POWER9 box, tests/fixtures/README.md)
// and on this x86 machine: the reboots this run really leads to, the timeline's order, the
// snapshot's own CPU count in a kernel's cost, and no step ids or Kconfig symbols without -v.
import assert from 'node:assert/strict';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runSetup } from '../../src/setup/setup.js';
import { RootedHost } from '../../src/host/rooted-host.js';
import { SetupReportSchema } from '../../src/setup/report-schema.js';
import { STEPS } from '../../src/steps/registry.js';
import { runCli, SNAPSHOTS, withTempDir } from '../helpers/cli.js';
import { confirmOnly } from '../helpers/prompts.js';
import { isRoot } from '../helpers/sudo.js';
import { withSandbox } from './sandbox.js';

const snap = (name: string) => join(SNAPSHOTS, name);

// The plan names sudo where the person running it is not root (tests/helpers/sudo.ts): CI runs as root, a newcomer's npm test does not.
const NOW = new RegExp(`^Now${isRoot ? '' : ' \\(through sudo, which may ask for your password once\\)'}:$`, 'm');
const WITH_SUDO = isRoot ? '' : 'with sudo: ';

async function plan(name: string, ...args: string[]): Promise<string> {
  const r = await runCli(['setup', '--dry-run', '--snapshot', snap(name), ...args]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.stdout;
}

async function planJson(name: string, ...args: string[]) {
  const r = await runCli(['setup', '--dry-run', '--json', '--snapshot', snap(name), ...args]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return SetupReportSchema.parse(JSON.parse(r.stdout));
}

/** Every step id (and former id) that shows in the text. */
const idsIn = (text: string): string[] => STEPS.flatMap((s) => [s.id, ...(s.aliases ?? [])]).filter((id) => new RegExp(`(^|[^\\w.-])${id.replace(/\./g, '\\.')}(?![\\w-])`).test(text));

/** The lines of the plan, in order, up to the dry run's last line. */
function assertOrder(text: string, ...parts: RegExp[]): void {
  let at = 0;
  for (const p of parts) {
    const m = p.exec(text.slice(at));
    assert.ok(m, `${p} after position ${at} in:\n${text}`);
    at += m.index + m[0].length;
  }
}

const radix = [
  ['Debian 12', 'box-debian12-6.1-radix'],
  ['Debian 13', 'box-debian13-6.12-radix'],
] as const;

describe('setup plan: a stock Debian kernel (no KVM-PR) on the radix MMU', () => {
  for (const [label, name] of radix) {
    it(`${label} without --build-kernel: no MMU switch, no reboot; the kernel is named for later with the snapshot's CPUs`, async () => {
      const out = await plan(name, '--yes', '--no-guest');
      assert.match(out, /^Reboots: none\.$/m);
      assert.doesNotMatch(out, /Then one reboot/);
      assert.doesNotMatch(out, /update-grub/, 'the boot configuration is not touched for nothing');
      assert.match(out, /KVM-PR: this kernel cannot do it, and the hash MMU alone gains nothing .*`talos-mac setup --build-kernel` builds and installs one \(about \d+ GB of disk and [\d.]+ hours with -j1 on 1 CPU\)/);
      assert.match(out, /This is the plan for the machine the snapshot was taken on: run `talos-mac setup` there/);
      assert.doesNotMatch(out, /Run (the same command )?without --dry-run/, '--snapshot refuses to apply');
      assert.deepEqual(idsIn(out), [], 'no step ids without -v');
      assert.doesNotMatch(out, /CONTEXT_TRACKING_USER|NO_HZ_FULL/, 'no Kconfig detail without -v');
      const doc = await planJson(name, '--yes', '--no-guest');
      assert.equal(doc.reboots, 0);
      assert.ok(!doc.plan.find((s) => s.id === 'mmu.next-boot')!.applies, 'the MMU switch waits for the kernel');
    });

    it(`${label} with --build-kernel: the kernel and the MMU share one reboot, in timeline order`, async () => {
      const out = await plan(name, '--yes', '--no-guest', '--build-kernel');
      assertOrder(
        out,
        /^The plan:$/m,
        NOW,
        new RegExp(`^ {2}\\d\\. Boot with the hash MMU \\(disable_radix\\), for the next boot — ${WITH_SUDO}edit /etc/default/grub, run update-grub$`, 'm'),
        /^ {2}\d\. Build and install a kernel that can do KVM-PR, for the next boot$/m,
        /^ {5}Building it: about \d+ GB of disk and [\d.]+ hours with -j1 on 1 CPU /m,
        /^Then one reboot \(the boot configuration and the new kernel share it\): in Petitboot, pick the entry of the new kernel/m,
        /^After the reboot, run `talos-mac setup` again: .*load the kvm_pr module/m,
        /^Then: boot the demo guest/m,
        /^Dry run: nothing was changed\./m,
      );
      assert.equal(out.match(/^Then one reboot/gm)?.length, 1);
      assert.deepEqual(idsIn(out), [], 'no step ids without -v');
      assert.equal((await planJson(name, '--yes', '--no-guest', '--build-kernel')).reboots, 1);
    });
  }

  it('-v names the ids and the Kconfig detail; each step is in the timeline once', async () => {
    const quiet = await plan('box-debian12-6.1-radix', '--yes', '--no-guest', '--build-kernel');
    assert.equal(quiet.match(/Build and install a kernel that can do KVM-PR/g)?.length, 1, 'the kernel step once');
    const verbose = await plan('box-debian12-6.1-radix', '--yes', '--no-guest', '-v');
    assert.ok(idsIn(verbose).includes('kernel.pr-support'));
    assert.match(verbose, /CONTEXT_TRACKING_USER=y \(selected by NO_HZ_FULL=y\)/);
  });
});

describe('setup plan: a PR kernel on the radix MMU', () => {
  it('the MMU switch is worth its reboot: usual boot entry, then kvm_pr after it', async () => {
    const out = await plan('box-pr-6.1-radix', '--yes', '--no-guest');
    assertOrder(
      out,
      NOW,
      new RegExp(`Boot with the hash MMU \\(disable_radix\\), for the next boot — ${WITH_SUDO}edit /etc/default/grub, run update-grub`),
      /^Then one reboot: in Petitboot, boot this system's usual entry\.$/m,
      /^After the reboot, run `talos-mac setup` again: it checks that the reboot did what it should, then: load the kvm_pr module/m,
    );
    assert.doesNotMatch(out, /KVM-PR: this kernel cannot do it/);
    assert.deepEqual(idsIn(out), []);
    assert.equal((await planJson('box-pr-6.1-radix', '--yes', '--no-guest')).reboots, 1);
  });
});

describe('setup plan: the snapshot is the host', () => {
  it("the kernel cost counts the snapshot's CPUs, not this machine's", async () => {
    const out = await plan('debian12-6.1.0-50-radix', '--yes', '--no-guest');
    assert.match(out, /on 1 CPU\)/);
    if (cpus().length !== 1) assert.doesNotMatch(out, new RegExp(`on ${cpus().length} CPUs`));
  });

  it("/dev/kvm: setup and doctor answer from the same check for the snapshot's user", async () => {
    const setup = await plan('varied-no-kvm-access', '--yes', '--no-guest', '-v');
    const doctor = await runCli(['doctor', '--snapshot', snap('varied-no-kvm-access'), 'kvm.device']);
    assert.match(doctor.stdout, /\/dev\/kvm is not read-write for this user/);
    assert.match(setup, /kvm\.device: \/dev\/kvm is not read-write for this user/);
    assert.doesNotMatch(setup, /root may use \/dev\/kvm/);
  });

  it("the guest is proposed for the snapshot's machine, whatever guests this machine has", async () => {
    await withTempDir(async (dir) => {
      const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_STATE_HOME: join(dir, 'state'), XDG_CACHE_HOME: join(dir, 'cache') };
      const made = await runCli(['create', 'tiger', '--os', 'tiger'], { env });
      assert.equal(made.code, 0, made.stderr);
      const r = await runCli(['setup', '--dry-run', '--os', 'tiger', '--snapshot', snap('pr-kernel-6.1.176-hash')], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^Then the guest: tiger, Mac OS X 10\.4 Tiger, .* \(setup on that machine looks at its guests first: a snapshot holds none\)$/m);
      assert.doesNotMatch(r.stdout, /exists already/, "this machine's tiger is not the snapshot's");
      const here = await runCli(['setup', '--dry-run', '--os', 'tiger', '--no-demo'], { env });
      assert.match(here.stdout, /^Then the guest: tiger \(Mac OS X 10\.4 Tiger\) exists already: left as it is\.$/m, 'on this machine the same store is looked at');
    });
  });
});

describe('setup plan: this x86 machine', () => {
  it('no reboot, KVM-PR categories in one line, no ids', async () => {
    const r = await runCli(['setup', '--dry-run', '--no-guest', '--no-demo']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Reboots: none\.$/m);
    assert.match(r.stdout, /^Not for this host: MMU, Kernel, KVM \(not a POWER host \(x86_64\)\)\.$/m);
    assert.deepEqual(idsIn(r.stdout), []);
  });
});

describe('setup plan: this invocation, and the plan before the questions', () => {
  it('the dry run shows what Enter would give in a terminal, and what --yes gives', async () => {
    const run = async (yes: boolean) => {
      const lines: string[] = [];
      await runSetup({ dryRun: true, snapshot: snap('box-pr-6.1-radix'), ...(yes ? { yes } : {}) }, { out: (l) => lines.push(l), interactive: true, env: process.env, uid: 1000 });
      return lines.join('\n');
    };
    assert.match(await run(false), /^Then the guest: tiger, Mac OS X 10\.4 Tiger/m, 'Enter creates a guest (the default answer in a terminal)');
    assert.match(await run(true), /^Then: boot the demo guest/m, '--yes creates no guest without --os');
  });

  it('the plan comes first; an answer that changes it is shown as a change', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash', onlyFakes: true }, async (sb) => {
      const lines: string[] = [];
      const seenAt: Record<string, number> = {};
      const env = { ...process.env, ...sb.env };
      const code = await runSetup(
        { user: 'alice', guest: false, demo: false },
        {
          out: (l) => lines.push(l),
          interactive: false,
          env,
          uid: 0,
          host: new RootedHost(sb.root, env),
          stateRoot: sb.root,
          prompts: confirmOnly(async (q) => {
            seenAt[q.message] = lines.length;
            return q.message !== 'Proceed?';
          }),
        },
      );
      const out = lines.join('\n');
      const kernelQuestion = Object.keys(seenAt).find((m) => /^This kernel cannot do KVM-PR: build and install one that can, in this run \(about .*\)\?$/.test(m));
      assert.ok(kernelQuestion, JSON.stringify(seenAt));
      const planAt = lines.indexOf('The plan:');
      assert.ok(planAt >= 0 && planAt < seenAt[kernelQuestion]!, 'the plan before the first question');
      assert.match(lines.slice(0, seenAt[kernelQuestion]).join('\n'), /KVM-PR: this kernel cannot do it/, 'the plan as Enter leaves it: no kernel');
      assertOrder(out, /^Your answers change the plan:$/m, /^ {2}\d\. Build and install a kernel that can do KVM-PR, for the next boot/m);
      assert.ok(lines.indexOf('Your answers change the plan:') < seenAt['Proceed?']!, 'the change before Proceed?');
      assert.match(out, /Nothing was changed\./);
      assert.equal(code, 0);
      assert.deepEqual(await sb.commands(), []);
    });
  });
});
