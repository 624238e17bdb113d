import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DoctorReportSchema, type DoctorReport } from '../../src/doctor/report-schema.js';
import { runCli, SNAPSHOTS, withTempDir } from '../helpers/cli.js';
import { SETUP_FIXTURES } from '../setup/sandbox.js';

// Hosts the POWER9 captures do not show (tests/fixtures/README.md, "Other hosts"), and the wording
// rules on the Debian 12 stock-kernel captures: say what this host showed.

async function doctorJson(dir: string): Promise<DoctorReport> {
  const r = await runCli(['doctor', '--json', '--snapshot', dir]);
  assert.equal(r.stderr, '', r.stderr);
  return DoctorReportSchema.parse(JSON.parse(r.stdout));
}

async function doctorText(dir: string, ...extra: string[]): Promise<string> {
  const r = await runCli(['doctor', '--snapshot', dir, ...extra]);
  assert.equal(r.stderr, '', r.stderr);
  return r.stdout;
}

const snap = (name: string) => join(SNAPSHOTS, name);
const check = (report: DoctorReport, id: string) => {
  const c = report.checks.find((x) => x.id === id);
  assert.ok(c, `check ${id} present`);
  return c;
};
const closingLine = (stdout: string) => stdout.trimEnd().split('\n').at(-2) ?? '';

/** A copy of a snapshot, edited, for the variants that differ from a committed one in one file. */
async function withCopy<T>(name: string, edit: (dir: string) => Promise<void>, fn: (dir: string) => Promise<T>): Promise<T> {
  return withTempDir(async (tmp) => {
    const dir = join(tmp, name);
    await cp(snap(name), dir, { recursive: true });
    await edit(dir);
    return fn(dir);
  });
}

const withDebianGrub = async (dir: string) => {
  await mkdir(join(dir, 'etc/default'), { recursive: true });
  await cp(join(SETUP_FIXTURES, 'grub', 'debian12'), join(dir, 'etc/default/grub'));
};

test('POWER8: the MMU checks are not-applicable (already hash), and disable_radix is never suggested', async () => {
  for (const grub of [false, true]) {
    await withCopy('varied-power8', grub ? withDebianGrub : async () => {}, async (dir) => {
      const report = await doctorJson(dir);
      for (const id of ['mmu.active', 'mmu.cmdline', 'mmu.next-boot']) {
        const c = check(report, id);
        assert.equal(c.state, 'not-applicable', `${id} (grub: ${grub})`);
        assert.match(c.summary, /already hash.*POWER8/, id);
      }
      assert.equal(report.host.mmu, 'hash');
      // Check titles name the checks; what doctor says about this host is in summaries, details, fixes, verdict.
      const said = { verdict: report.verdict, checks: report.checks.map(({ title: _title, ...rest }) => rest) };
      assert.doesNotMatch(JSON.stringify(said), /disable_radix/, `JSON, grub: ${grub}`);
      for (const args of [[], ['-v']]) {
        const text = await doctorText(dir, ...args);
        assert.doesNotMatch(text, /disable_radix/, `human ${args.join(' ')}, grub: ${grub}`);
        assert.match(text, args.length ? /^\s+- mmu\.active\s+the MMU is already hash: POWER8/m : /^\[-\] MMU — skipped: the MMU is already hash: POWER8 has only the hash MMU/m);
      }
    });
  }
});

test('POWER9 with a kernel built without radix: the MMU checks are not-applicable too', async () => {
  const edit = async (dir: string) => {
    const cfg = join(dir, 'boot/config-6.1.0-50-powerpc64le');
    const text = (await readFile(cfg, 'utf8')).replace('CONFIG_PPC_RADIX_MMU=y\n', '# CONFIG_PPC_RADIX_MMU is not set\n');
    await writeFile(cfg, text.replace('CONFIG_PPC_RADIX_MMU_DEFAULT=y\n', ''));
    await withDebianGrub(dir);
  };
  await withCopy('debian12-6.1.0-50-hash', edit, async (dir) => {
    const report = await doctorJson(dir);
    assert.equal(check(report, 'mmu.next-boot').state, 'not-applicable');
    assert.match(check(report, 'mmu.active').summary, /CONFIG_PPC_RADIX_MMU is not set/);
    assert.doesNotMatch(await doctorText(dir), /disable_radix/);
  });
});

test('pSeries guest: never described as PowerNV, in the JSON host object or the human report', async () => {
  for (const name of ['varied-pseries-radix', 'varied-pseries-hash']) {
    const report = await doctorJson(snap(name));
    assert.equal(report.host.platform, 'pSeries');
    assert.doesNotMatch(JSON.stringify(report.host), /PowerNV/i, name);
    assert.match(report.host.board ?? '', /pSeries/);
    assert.doesNotMatch(check(report, 'platform.machine').summary, /PowerNV|bare metal/i);
    for (const args of [[], ['-v']]) assert.doesNotMatch(await doctorText(snap(name), ...args), /PowerNV|Petitboot/, `${name} ${args.join(' ')}`);
  }
});

test('pSeries radix: "lpar: Using radix MMU under hypervisor" is evidence of radix', async () => {
  const report = await doctorJson(snap('varied-pseries-radix'));
  assert.match(check(report, 'mmu.active').detail ?? '', /dmesg: radix/);
  const noMmuLine = async (dir: string) => {
    const f = join(dir, 'proc/cpuinfo');
    await writeFile(f, (await readFile(f, 'utf8')).replace(/^MMU\s*:.*\n/m, ''));
  };
  await withCopy('varied-pseries-radix', noMmuLine, async (dir) => {
    const r = await doctorJson(dir);
    const mmu = check(r, 'mmu.active');
    assert.equal(mmu.state, 'todo', 'radix from dmesg alone, without the cpuinfo MMU line');
    assert.match(mmu.summary, /^Radix MMU/);
  });
});

test('pSeries guest booted with disable_radix (hash): not told to boot with it', async () => {
  const report = await doctorJson(snap('varied-pseries-hash'));
  assert.equal(check(report, 'mmu.active').status, 'pass');
  assert.match(check(report, 'mmu.cmdline').summary, /is on the running kernel command line/);
  const machine = check(report, 'platform.machine');
  assert.notEqual(machine.status, 'warn');
  assert.notEqual(machine.status, 'fail');
  const advice = report.checks.flatMap((c) => [c.summary, c.fix?.text ?? '', ...(c.fix?.commands ?? [])]).join('\n');
  assert.doesNotMatch(advice, /boot (it )?with disable_radix|add disable_radix/i);
  assert.doesNotMatch(report.verdict.text, /hash MMU/);
});

test('Debian 12 stock kernel: no modprobe Input/output error where there is no kvm-pr to load', async () => {
  for (const name of ['debian12-6.1.0-50-radix', 'varied-debian12-kvm-hv-loaded', 'varied-pseries-radix']) {
    for (const args of [[], ['-v']]) assert.doesNotMatch(await doctorText(snap(name), ...args), /Input\/output error/, `${name} ${args.join(' ')}`);
    assert.match(check(await doctorJson(snap(name)), 'mmu.active').summary, /^Radix MMU: .*hash MMU/);
  }
  // Where kvm-pr.ko exists and the MMU is radix, that error is what happens: it is still said.
  assert.match(await doctorText(snap('pr-kernel-6.1.176-radix')), /Input\/output error/);
});

test('Debian 12 stock kernel with kvm_hv loaded: no "mac99 still gets a PR VM" when there is no kvm_pr', async () => {
  const report = await doctorJson(snap('varied-debian12-kvm-hv-loaded'));
  const hv = check(report, 'kvm.hv-loaded');
  assert.match(hv.summary, /kvm_hv is loaded/);
  assert.doesNotMatch(hv.summary + (hv.detail ?? ''), /still gets a PR VM/);
  assert.notEqual(hv.status, 'warn', 'unloading kvm_hv changes nothing while there is no kvm_pr');
  assert.doesNotMatch(await doctorText(snap('varied-debian12-kvm-hv-loaded'), '-v'), /still gets a PR VM/);
});

test('closing line: counts only what can be done now, and names the first one', async () => {
  const radix = closingLine(await doctorText(snap('debian12-6.1.0-50-radix')));
  // The kernel first: the MMU switch alone gains nothing here, and both can share one reboot.
  assert.match(radix, /^✗ 2 problems to fix now\. First: Run a kernel that can do KVM-PR\. Then: Run the hash MMU\./);
  assert.doesNotMatch(radix, /Load the kvm_pr module/, 'kvm.pr-loaded is blocked: a consequence, not a problem to act on');
  const hash = closingLine(await doctorText(snap('debian12-6.1.0-50-hash')));
  assert.match(hash, /^✗ 1 problem to fix now\. First: Run a kernel that can do KVM-PR\./);
  assert.doesNotMatch(hash, /Load the kvm_pr module|Then:/);
  const report = await doctorJson(snap('debian12-6.1.0-50-hash'));
  assert.equal(report.counts.fail, 2, 'the blocked check still shows as failing in its own line');
  const pending = closingLine(await doctorText(snap('varied-reboot-pending')));
  assert.match(pending, /^✗ Nothing to fix right now\. Reboot to finish what is already configured\. Waiting: Load the kvm_pr module\./);
});
