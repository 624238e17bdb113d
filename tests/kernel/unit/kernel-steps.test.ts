// The kernel steps' verify against hosts made from the real POWER9 captures (tests/fixtures/kernel).
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { CommandResult, DirResult, Host, PathInfo, ReadResult } from '../../../src/host/host.js';
import { Facts } from '../../../src/host/facts.js';
import { kernelSteps } from '../../../src/steps/checks/kernel.js';
import { DEFAULT_HOST_OPTIONS, bySetup, type Changes, type StepResult } from '../../../src/steps/step.js';
import { PrivilegedRunner } from '../../../src/privileged/runner.js';
import { confirmOnly } from '../../helpers/prompts.js';

const fixtures = fileURLToPath(new URL('../../../../tests/fixtures/kernel/', import.meta.url));

/** A host from a table of files and command outputs; everything else is missing. */
class TableHost implements Host {
  readonly description = 'table';
  constructor(
    private readonly files: Record<string, string>,
    private readonly commands: Record<string, string>,
  ) {}
  async readFile(path: string): Promise<ReadResult> {
    const t = this.files[path];
    return t === undefined ? { ok: false, reason: 'missing', message: 'does not exist' } : { ok: true, data: Buffer.from(t) };
  }
  async readDir(path: string): Promise<DirResult> {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const entries = [...new Set(Object.keys(this.files).filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length).split('/')[0]!))];
    return entries.length ? { ok: true, entries: entries.sort() } : { ok: false, reason: 'missing', message: 'does not exist' };
  }
  async pathInfo(path: string): Promise<PathInfo> {
    return { exists: path in this.files || Object.keys(this.files).some((f) => f.startsWith(`${path}/`)) };
  }
  async run(argv: readonly string[]): Promise<CommandResult> {
    const key = argv.join(' ');
    const out = this.commands[key];
    // Tool probes (sh -c 'command -v …', gcc -E <header>) succeed: a host with everything installed.
    if (out === undefined && argv[0] === 'sh') return { argv: [...argv], exitCode: 0, stdout: '/usr/bin/x\n', stderr: '', notFound: false, timedOut: false };
    return out === undefined
      ? { argv: [...argv], exitCode: 127, stdout: '', stderr: '', notFound: true, timedOut: false }
      : { argv: [...argv], exitCode: 0, stdout: out, stderr: '', notFound: false, timedOut: false };
  }
}

async function verifyAll(host: Host): Promise<Record<string, StepResult>> {
  const out: Record<string, StepResult> = {};
  const ctx = { host, facts: new Facts(host), options: DEFAULT_HOST_OPTIONS };
  for (const s of kernelSteps) out[s.id] = await s.verify(ctx);
  return out;
}

/** A runner that records the commands it is asked to run instead of running them. */
async function recordingChanges(ran: string[][]): Promise<Changes> {
  // Its record goes to a scratch root, and no package counts as installed yet.
  const root = await mkdtemp(join(tmpdir(), 'talos-mac-steps-'));
  const host = new TableHost({}, {});
  host.run = async (argv) => ({ argv: [...argv], exitCode: 1, stdout: '', stderr: '', notFound: false, timedOut: false });
  const runner = new PrivilegedRunner({ dryRun: false, root, out: () => {}, uid: 0, interactive: false, host });
  runner.run = async (argv) => (ran.push([...argv]), { argv: [...argv], exitCode: 0, stdout: '', stderr: '', output: '', notFound: false, timedOut: false });
  return { runner, prompts: confirmOnly(async () => true) };
}

const osRelease = 'ID=debian\nVERSION_ID="12"\n';

/** Debian 12's captured kernel (its config, kvm-hv only in modules.dep), plus `extra` files. */
async function debian12Host(extra: Record<string, string> = {}): Promise<TableHost> {
  const rel = '6.1.0-50-powerpc64le';
  return new TableHost(
    {
      [`/boot/config-${rel}`]: await readFile(`${fixtures}debian12-6.1.0-50-powerpc64le.config`, 'utf8'),
      '/proc/modules': 'kvm_hv 163840 0 - Live 0x0\nkvm 196608 1 kvm_hv, Live 0x0\n',
      [`/lib/modules/${rel}/modules.dep`]: 'kernel/arch/powerpc/kvm/kvm-hv.ko.xz: kernel/arch/powerpc/kvm/kvm.ko.xz\n',
      '/etc/os-release': osRelease,
      ...extra,
    },
    { 'uname -m': 'ppc64le\n', 'uname -r': `${rel}\n`, 'uname -v': '#1 SMP Debian 6.1.176-1 (2026-06-01)\n' },
  );
}

test("Debian 12's kernel: a new kernel is needed, its cost is said up front, no module build", async () => {
  const host = await debian12Host({ '/usr/src/linux-source-6.1.tar.xz': 'x' });
  const r = await verifyAll(host);
  assert.equal(r['kernel.pr-support']!.state, 'todo');
  assert.match(r['kernel.pr-support']!.detail!, /About \d+ GB of disk and [\d.]+ (minutes|hours) with -j\d+ on \d+ CPUs? \(\d+ objects; /);
  assert.match(r['kernel.pr-support']!.detail!, /CONFIG_KVM_BOOK3S_64_PR=m, NO_HZ_FULL off/);
  assert.equal(r['kernel.pr-module']!.state, 'not-applicable');
  assert.equal(r['kernel.headers']!.state, 'not-applicable');
  assert.equal(r['kernel.build-tools']!.state, 'done');
  assert.equal(r['kernel.source']!.state, 'done');
});

test("the source's download size comes from the package manager (apt-cache, as Debian 12 printed it)", async () => {
  const host = await debian12Host();
  const show = await readFile(`${fixtures}apt-cache-show-linux-source-6.1.txt`, 'utf8');
  const run = host.run.bind(host);
  host.run = async (argv) => (argv.join(' ') === 'apt-cache show --no-all-versions linux-source-6.1' ? { argv: [...argv], exitCode: 0, stdout: show, stderr: '', notFound: false, timedOut: false } : run(argv));
  const r = await verifyAll(host);
  assert.match(r['kernel.source']!.summary, /linux-source-6\.1 is a 139 MB download/);
});

test("Debian 12's kernel without --build-kernel: the source is planned, not installed; with it, installed", async () => {
  const host = await debian12Host();
  const ctx = (buildKernel: boolean) => ({ host, facts: new Facts(host), options: { ...DEFAULT_HOST_OPTIONS, buildKernel } });
  const ran: string[][] = [];
  const changes = await recordingChanges(ran);
  const source = kernelSteps.find((s) => s.id === 'kernel.source')!;
  const later = await source.verify(ctx(false));
  assert.equal(later.state, 'todo');
  assert.equal(later.onlyWith, '--build-kernel');
  assert.match(later.summary, /planned for `talos-mac setup --build-kernel`/);
  assert.deepEqual(later.fix!.commands, ['apt-get install -y --no-install-recommends linux-source-6.1']);
  await source.apply!(ctx(false), changes);
  assert.deepEqual(ran, [], 'apply installs nothing when the build does not follow');
  const now = await source.verify(ctx(true));
  assert.equal(now.onlyWith, undefined);
  assert.equal(bySetup(source, now), true);
  await source.apply!(ctx(true), changes);
  assert.deepEqual(ran, [['apt-get', 'install', '-y', '--no-install-recommends', 'linux-source-6.1']]);
});

test('a PR-capable kernel without kvm-pr.ko: module build is todo; a stale talos-mac module is noticed', async () => {
  const rel = '6.1.176';
  const files: Record<string, string> = {
    [`/boot/config-${rel}`]: await readFile(`${fixtures}pr-kernel-6.1.176.config`, 'utf8'),
    '/proc/modules': '',
    [`/lib/modules/${rel}/modules.dep`]: 'kernel/arch/powerpc/kvm/kvm.ko:\n',
    '/lib/modules/6.1.170/updates/talos-mac/kvm-pr.ko': 'x',
    '/etc/os-release': osRelease,
  };
  const host = new TableHost(files, { 'uname -m': 'ppc64le\n', 'uname -r': `${rel}\n` });
  const r = await verifyAll(host);
  assert.equal(r['kernel.pr-module']!.state, 'todo');
  assert.match(r['kernel.pr-module']!.summary, /kvm-pr\.ko must be built for 6\.1\.176/);
  assert.equal(r['kernel.source']!.state, 'todo');
  assert.deepEqual(r['kernel.source']!.fix!.commands, ['apt-get install -y --no-install-recommends linux-source-6.1']);
  assert.equal(r['kernel.headers']!.state, 'todo');
  assert.deepEqual(r['kernel.headers']!.fix!.commands, ['apt-get install -y --no-install-recommends linux-headers-6.1.176']);
  assert.equal(r['kernel.module-installed']!.state, 'todo');
  assert.match(r['kernel.module-installed']!.summary, /built for 6\.1\.170, not for the running 6\.1\.176/);
  assert.equal(r['kernel.pr-support']!.state, 'done', 'this kernel can do KVM-PR: only the module is missing');
});

test('talos-mac kernel installed but not running: reboot required', async () => {
  const rel = '6.1.0-50-powerpc64le';
  const host = new TableHost(
    {
      [`/boot/config-${rel}`]: await readFile(`${fixtures}debian12-6.1.0-50-powerpc64le.config`, 'utf8'),
      '/proc/modules': '',
      [`/lib/modules/${rel}/modules.dep`]: '',
      '/lib/modules/6.1.192-talosmac/kernel/arch/powerpc/kvm/kvm-pr.ko': 'x',
      '/etc/os-release': osRelease,
    },
    { 'uname -m': 'ppc64le\n', 'uname -r': `${rel}\n` },
  );
  const r = await verifyAll(host);
  assert.equal(r['kernel.pr-support']!.state, 'reboot-required');
  assert.match(r['kernel.pr-support']!.summary, /6\.1\.192-talosmac is installed: reboot into it/);
});

test('a kernel older than 4.18 is blocked: no patch is guessed', async () => {
  const rel = '4.17.0-1-powerpc64le';
  const host = new TableHost(
    { [`/boot/config-${rel}`]: 'CONFIG_KVM_BOOK3S_64_PR=m\nCONFIG_KVM_BOOK3S_PR_POSSIBLE=y\n', '/proc/modules': '', '/etc/os-release': osRelease },
    { 'uname -m': 'ppc64le\n', 'uname -r': `${rel}\n` },
  );
  const r = await verifyAll(host);
  assert.equal(r['kernel.pr-module']!.state, 'todo');
  assert.match(r['kernel.pr-module']!.manual!, /before 4\.18 need a POWER9 enablement patch/);
  assert.equal(bySetup(kernelSteps.find((s) => s.id === 'kernel.pr-module')!, r['kernel.pr-module']!), false, 'setup does not offer what it cannot do');
});

test('module signing: sig_enforce and lockdown are reported before a build', async () => {
  const { moduleSigningState } = await import('../../../src/kernel/preflight.js');
  const strict = await moduleSigningState(
    new TableHost({ '/sys/module/module/parameters/sig_enforce': 'Y\n', '/sys/kernel/security/lockdown': 'none [integrity] confidentiality\n' }, {}),
  );
  assert.equal(strict.refusesUnsigned, true);
  assert.equal(strict.warnings.length, 2);
  assert.match(strict.warnings[0]!, /module\.sig_enforce is on/);
  assert.match(strict.warnings[1]!, /lockdown is "integrity"/);
  const relaxed = await moduleSigningState(
    new TableHost({ '/sys/module/module/parameters/sig_enforce': 'N\n', '/sys/kernel/security/lockdown': '[none] integrity confidentiality\n' }, {}),
  );
  assert.deepEqual(relaxed, { warnings: [], refusesUnsigned: false });
});

test("setup takes the kernel steps from the one registry, preparation before the builds", async () => {
  const { SETUP_STEPS } = await import('../../../src/steps/registry.js');
  const { applyInOrder } = await import('../../../src/steps/runner.js');
  // The very step objects of the kernel's lists, not steps of the same names.
  for (const s of kernelSteps.filter((k) => k.apply)) assert.ok(SETUP_STEPS.includes(s), s.id);
  const ids = SETUP_STEPS.map((s) => s.id).filter((id) => id.startsWith('kernel.'));
  // The update steps (issue 14) after the builds: the rebuilds, then the boot entry that must point at what they built.
  assert.deepEqual(ids, ['kernel.build-tools', 'kernel.source', 'kernel.headers', 'kernel.pr-support', 'kernel.pr-module', 'kernel.module-installed', 'kernel.distro-newer', 'kernel.module-stale', 'kernel.default-entry', 'kernel.update-hook']);

  // Setup's plan for Debian 12's kernel with --build-kernel (a dry run over the registry): the source
  // is installed before the build starts, each line under the step that prints it.
  const host = await debian12Host();
  const lines: string[] = [];
  let current = '';
  // The runner asks the package manager what is installed: nothing yet.
  const packages = new TableHost({}, {});
  packages.run = async (argv) => ({ argv: [...argv], exitCode: 1, stdout: '', stderr: '', notFound: false, timedOut: false });
  const runner = new PrivilegedRunner({ dryRun: true, root: '/', out: (l) => lines.push(`${current}: ${l.trim()}`), uid: 0, interactive: false, host: packages });
  const options = { ...DEFAULT_HOST_OPTIONS, buildKernel: true };
  const applied: string[] = [];
  await applyInOrder(SETUP_STEPS, () => ({ host, facts: new Facts(host), options }), { runner, prompts: confirmOnly(async () => true) }, {
    async confirm(step) {
      if (!step.id.startsWith('kernel.')) return false;
      current = step.id;
      applied.push(step.id);
      return true;
    },
  });
  assert.deepEqual(applied, ['kernel.source', 'kernel.pr-support']);
  const install = lines.findIndex((l) => l === 'kernel.source: would: $ apt-get install -y --no-install-recommends linux-source-6.1');
  const build = lines.findIndex((l) => /^kernel\.pr-support: would: build the kernel from \/boot\/config-6\.1\.0-50-powerpc64le with KVM-PR/.test(l));
  assert.ok(install >= 0 && build > install, lines.join('\n'));
});
