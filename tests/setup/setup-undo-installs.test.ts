// What the kernel pipeline installs (modules, packages, a kernel) is recorded by the one runner and
// reverted by `setup --undo`, newest first, whichever command made it: real files in a sandbox
// root, the fake apt-get/dpkg-query/depmod on PATH logging their argv, the real CLI for the undo.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { APT } from '../../src/distro/package-manager.js';
import { installPrModules } from '../../src/kernel/module-load.js';
import { PrivilegedRunner } from '../../src/privileged/runner.js';
import { trusted } from '../../src/setup/undo.js';
import { kernelPrModule, kernelPrSupport } from '../../src/steps/checks/kernel.js';
import { buildTools, kernelHeaders, kernelSource } from '../../src/steps/checks/kernel-build.js';
import { qemuPackages } from '../../src/steps/checks/qemu-packages.js';
import type { Change, SetupRecord } from '../../src/privileged/record.js';
import { ALL_TOOLS, withSandbox, type Sandbox } from './sandbox.js';
import { provenancePath } from '../../src/kernel/provenance.js';
import { RootedHost } from '../../src/host/rooted-host.js';

const DEBIAN = 'debian12-6.1.0-50-hash';
/** The fakes, and depmod (not among the defaults: the build-tool probes would find it as kmod's). */
const SANDBOX = { snapshot: DEBIAN, tools: [...ALL_TOOLS, 'depmod', 'dpkg'] };
const RELEASE = '6.1.0-50-powerpc64le';
const NEW_KERNEL = '6.1.192-talosmac';
const RECORD = 'var/lib/talos-mac/setup-record.json';
const OURS = `/lib/modules/${RELEASE}/updates/talos-mac`;

function runnerIn(sb: Sandbox, lines: string[] = []): PrivilegedRunner {
  return new PrivilegedRunner({ dryRun: false, root: sb.root, out: (l) => lines.push(l), uid: process.getuid?.() ?? 0, interactive: false, env: { ...process.env, ...sb.env }, host: new RootedHost(sb.root, { ...process.env, ...sb.env }) });
}

/** A relocatable ELF object with a .modinfo section, as a built kvm(-pr).ko has (vermagic is checked before install). */
async function fakeModule(dir: string, name: string, release: string): Promise<string> {
  const c = join(dir, `${name}.c`);
  await writeFile(c, `static const char v[] __attribute__((section(".modinfo"), used)) = "vermagic=${release} SMP mod_unload modversions ";\nint ${name.replace(/-/g, '_')}_f(void) { return 1; }\n`);
  const ko = join(dir, `${name}.ko`);
  execFileSync('gcc', ['-c', c, '-o', ko]);
  return ko;
}

const record = async (sb: Sandbox): Promise<SetupRecord> => JSON.parse(await readFile(join(sb.root, RECORD), 'utf8')) as SetupRecord;
/** The fakes' calls without sudo's own lines (sudo appears only when the tests run as a non-root user). */
const calls = (sb: Sandbox) => sb.commands();
const installedPackages = async (sb: Sandbox) => (await readFile(join(sb.root, 'var/lib/dpkg/fake-installed'), 'utf8').catch(() => '')).split('\n').filter(Boolean);

describe('setup --undo reverts what the kernel pipeline installed', () => {
  it('module files: removed when unchanged, then depmod for that release; packages: only those talos-mac installed', async () => {
    await withSandbox(SANDBOX, async (sb) => {
      const build = join(sb.root, '..', 'build');
      await mkdir(build);
      const modules = { kvm: await fakeModule(build, 'kvm', RELEASE), kvmPr: await fakeModule(build, 'kvm-pr', RELEASE) };
      await mkdir(join(sb.root, 'var/lib/dpkg'), { recursive: true });
      await writeFile(join(sb.root, 'var/lib/dpkg/fake-installed'), 'bc\n');
      const runner = runnerIn(sb);
      // As `talos-mac setup` (kernel.headers) and then `talos-mac kernel build-module --install` would.
      assert.deepEqual(await runner.installPackages(kernelHeaders, APT, ['bc', `linux-headers-${RELEASE}`]), [`linux-headers-${RELEASE}`]);
      await installPrModules({ release: RELEASE, modules, runner, step: kernelPrModule });
      for (const f of ['kvm.ko', 'kvm-pr.ko']) assert.deepEqual(await sb.read(`${OURS}/${f}`), await readFile(join(build, f)));
      const before = await record(sb);
      assert.deepEqual(before.changes.map((c) => [c.kind, c.step, c.state]), [
        ['packages-installed', 'kernel.headers', 'finished'],
        ['modules-installed', 'kernel.pr-module', 'finished'],
      ]);
      assert.deepEqual((before.changes[0] as Extract<Change, { kind: 'packages-installed' }>).packages, [`linux-headers-${RELEASE}`], 'bc was there before: not recorded');
      assert.deepEqual(await calls(sb), [
        ['apt-get', 'install', '-y', '--no-install-recommends', `linux-headers-${RELEASE}`],
        ['depmod', '-b', sb.root, '-a', RELEASE],
      ]);

      await writeFile(sb.log, '');
      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stderr);
      for (const f of ['kvm.ko', 'kvm-pr.ko']) assert.equal(existsSync(join(sb.root, OURS, f)), false, f);
      assert.deepEqual(await calls(sb), [
        ['depmod', '-b', sb.root, '-a', RELEASE],
        ['dpkg', '--remove', `linux-headers-${RELEASE}`],
      ], 'newest first');
      assert.deepEqual(await installedPackages(sb), ['bc']);
      const after = await record(sb);
      assert.deepEqual(after.changes, []);
      assert.deepEqual(after.undone.map((c) => c.kind), ['modules-installed', 'packages-installed']);
    });
  });

  it('a package something installed since depends on is kept: dpkg refuses, the entry stays for a later undo', async () => {
    await withSandbox(SANDBOX, async (sb) => {
      await mkdir(join(sb.root, 'var/lib/dpkg'), { recursive: true });
      await runnerIn(sb).installPackages(buildTools, APT, ['libssl-dev']);
      // The user installed a package of their own that needs it (the fake dpkg refuses like dpkg does).
      await writeFile(join(sb.root, 'var/lib/dpkg/fake-installed'), 'libssl-dev\ntheir-app\n');
      await writeFile(sb.log, '');
      const r = await sb.setup(['--undo', '--yes'], { FAKE_DEPENDS: 'libssl-dev:their-app' });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /dependency problems prevent removal of libssl-dev/);
      assert.match(r.stdout, /kept installed, and kept in the record/);
      assert.deepEqual(await installedPackages(sb), ['libssl-dev', 'their-app'], 'nothing of theirs removed');
      const after = await record(sb);
      assert.deepEqual(after.changes.map((c) => c.kind), ['packages-installed']);
      assert.deepEqual(after.undone, []);
    });
  });

  it('a module file replaced since is left in place (depmod still runs); the note says why', async () => {
    await withSandbox(SANDBOX, async (sb) => {
      const build = join(sb.root, '..', 'build');
      await mkdir(build);
      const modules = { kvm: await fakeModule(build, 'kvm', RELEASE), kvmPr: await fakeModule(build, 'kvm-pr', RELEASE) };
      await installPrModules({ release: RELEASE, modules, runner: runnerIn(sb), step: kernelPrModule });
      await writeFile(join(sb.root, OURS, 'kvm.ko'), 'someone else built this');
      await writeFile(sb.log, '');
      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`${OURS}/kvm\\.ko was replaced since talos-mac installed it: left in place`));
      assert.equal(await readFile(join(sb.root, OURS, 'kvm.ko'), 'utf8'), 'someone else built this');
      assert.equal(existsSync(join(sb.root, OURS, 'kvm-pr.ko')), false);
      assert.deepEqual(await calls(sb), [['depmod', '-b', sb.root, '-a', RELEASE]]);
    });
  });

  it('a kernel talos-mac installed: removed by its packages, but never while it is the running kernel', async () => {
    await withSandbox(SANDBOX, async (sb) => {
      const deb = join(sb.root, '..', `linux-image-${NEW_KERNEL}_${NEW_KERNEL}-1_ppc64el.deb`);
      await writeFile(deb, 'not really a package');
      await runnerIn(sb).installKernel(kernelPrSupport, APT, [deb], [`linux-image-${NEW_KERNEL}`], NEW_KERNEL);
      // What buildNewKernel records after the install (src/kernel/provenance.ts): it goes with the kernel.
      await runnerIn(sb).createFile(kernelPrSupport, provenancePath(NEW_KERNEL), Buffer.from('{"format":"talos-mac-kernel"}\n'));
      assert.deepEqual(await calls(sb), [['apt-get', 'install', '-y', '--no-install-recommends', deb]]);
      assert.deepEqual(await installedPackages(sb), [`linux-image-${NEW_KERNEL}`]);

      await writeFile(sb.log, '');
      const booted = await sb.setup(['--undo', '--yes'], { FAKE_UNAME_R: NEW_KERNEL });
      assert.equal(booted.code, 0, booted.stderr);
      assert.match(booted.stdout, /6\.1\.192-talosmac is the running kernel: not removed\. Boot another kernel, then run `talos-mac setup --undo` again/);
      assert.deepEqual(await calls(sb), []);
      assert.deepEqual((await record(sb)).changes.map((c) => c.kind), ['kernel-installed', 'file-created'], 'both kept for a later undo');
      assert.match(booted.stdout, /talos-mac\/kernels\/6\.1\.192-talosmac\.json is kept with its kernel/);
      assert.ok(await sb.read(provenancePath(NEW_KERNEL)), 'the record of the kernel that stays is still there');

      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await calls(sb), [['dpkg', '--remove', `linux-image-${NEW_KERNEL}`]]);
      assert.deepEqual(await installedPackages(sb), []);
      const after = await record(sb);
      assert.deepEqual(after.changes, []);
      assert.deepEqual(after.undone.map((c) => [c.kind, c.step]).sort(), [['file-created', 'kernel.pr-support'], ['kernel-installed', 'kernel.pr-support']]);
      await assert.rejects(sb.read(provenancePath(NEW_KERNEL)), /ENOENT/);
    });
  });

  it('a failed install records only what did get installed; an install that installed nothing leaves no record', async () => {
    await withSandbox(SANDBOX, async (sb) => {
      const runner = new PrivilegedRunner({ ...runnerIn(sb).options, env: { ...process.env, ...sb.env, FAKE_FAIL_APT_GET: '100:E: Unable to locate package linux-source-6.1' } });
      await assert.rejects(runner.installPackages(kernelSource, APT, ['linux-source-6.1']), /E: Unable to locate package linux-source-6\.1/);
      assert.equal(existsSync(join(sb.root, RECORD)), true);
      assert.deepEqual((await record(sb)).changes, []);
    });
  });

  it('a tampered record is refused: nothing outside updates/talos-mac is removed, no name with shell characters reaches a package manager', async () => {
    await withSandbox(SANDBOX, async (sb) => {
      const victim = `/lib/modules/${RELEASE}/kernel/arch/powerpc/kvm/kvm-hv.ko`;
      await mkdir(join(sb.root, victim, '..'), { recursive: true });
      await writeFile(join(sb.root, victim), 'the distribution module');
      const { createHash } = await import('node:crypto');
      const sha = createHash('sha256').update('the distribution module').digest('hex');
      const at = new Date().toISOString();
      const changes = [
        { kind: 'modules-installed', step: kernelPrModule.id, at, release: RELEASE, files: [{ path: victim, sha256Written: sha }] },
        { kind: 'modules-installed', step: kernelPrModule.id, at, release: RELEASE, files: [{ path: `${OURS}/../../kernel/arch/powerpc/kvm/kvm-hv.ko`, sha256Written: sha }] },
        { kind: 'packages-installed', step: buildTools.id, at, packages: ['bc; touch /tmp/pwned'], remove: ['dpkg', '--remove', 'bc; touch /tmp/pwned'] },
        { kind: 'packages-installed', step: buildTools.id, at, packages: ['bc'], remove: ['sh', '-c', 'apt-get remove -y bc'] },
        { kind: 'packages-installed', step: buildTools.id, at, packages: ['--purge'], remove: ['dpkg', '--remove', '--purge'] },
        { kind: 'kernel-installed', step: kernelPrSupport.id, at, release: RELEASE, packages: [`linux-image-${RELEASE}`], remove: ['dpkg', '--remove', `linux-image-${RELEASE}`] },
        { kind: 'kernel-installed', step: kernelPrSupport.id, at, release: NEW_KERNEL, packages: ['libc6'], remove: ['dpkg', '--remove', 'libc6'] },
      ];
      await mkdir(join(sb.root, RECORD, '..'), { recursive: true });
      await writeFile(join(sb.root, RECORD), JSON.stringify({ format: 'talos-mac-setup-record', version: 1, changes }));
      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.match(/the record holds a change talos-mac setup does not make/g)?.length, changes.length, r.stdout);
      assert.deepEqual(await calls(sb), []);
      assert.equal(await readFile(join(sb.root, victim), 'utf8'), 'the distribution module');
    });
  });
});

describe('trusted(): the record kinds the runner writes, and nothing like them', () => {
  const at = '2026-01-01T00:00:00.000Z';
  const mods = (release: string, ...paths: string[]): Change => ({ kind: 'modules-installed', step: kernelPrModule.id, at, release, files: paths.map((path) => ({ path, sha256Written: 'x' })) });
  const kernel = (release: string, name: string, remove: string[]): Change => ({ kind: 'kernel-installed', step: kernelPrSupport.id, at, release, packages: [name], remove });
  it('accepts what the runner records', () => {
    assert.ok(trusted(mods(RELEASE, `${OURS}/kvm.ko`, `/usr${OURS}/kvm-pr.ko`)));
    assert.ok(trusted({ kind: 'packages-installed', step: qemuPackages.id, at, packages: ['gcc', 'libssl-dev'], remove: ['rpm', '-e', 'gcc', 'libssl-dev'] }));
    assert.ok(trusted(kernel(NEW_KERNEL, `linux-image-${NEW_KERNEL}`, ['dpkg', '--remove', `linux-image-${NEW_KERNEL}`])));
    assert.ok(trusted(kernel(NEW_KERNEL, 'kernel-6.1.192_talosmac-1', ['rpm', '-e', 'kernel-6.1.192_talosmac-1'])));
    // Chimera's row installs with apk: its removal is one of the package managers' too.
    assert.ok(trusted({ kind: 'packages-installed', step: qemuPackages.id, at, packages: ['qemu-system-ppc'], remove: ['apk', 'del', 'qemu-system-ppc'] }));
  });
  it('a change is trusted only from the step that makes it, named by its id, an earlier id, or the name older versions recorded it under', () => {
    const hook = { kind: 'file-created', at, path: '/etc/kernel/postinst.d/zz-talos-mac', sha256Written: 'x' } as const;
    assert.ok(trusted({ ...hook, step: 'kernel.update-hook' }));
    assert.equal(trusted({ ...hook, step: 'kvm.pr-at-boot' }), false, "another step's file");
    assert.equal(trusted({ ...hook, step: 'no.such-step' }), false);
    assert.ok(trusted({ ...mods(RELEASE, `${OURS}/kvm.ko`), step: 'kernel build-module' }), 'kernel build-module --install, before records named steps');
    assert.ok(trusted({ ...mods(RELEASE, `${OURS}/kvm.ko`), step: 'kernel.build-module' }), "kernel.pr-module's earlier id");
    assert.ok(trusted({ ...kernel(NEW_KERNEL, `linux-image-${NEW_KERNEL}`, ['dpkg', '--remove', `linux-image-${NEW_KERNEL}`]), step: 'kernel build-kernel' }));
    assert.equal(trusted({ ...mods(RELEASE, `${OURS}/kvm.ko`), step: qemuPackages.id }), false, 'qemu.packages installs no modules');
  });
  it('refuses lookalikes', () => {
    assert.equal(trusted(mods(RELEASE, `${OURS}/sub/kvm.ko`)), false);
    assert.equal(trusted(mods(RELEASE, `${OURS}/kvm.conf`)), false);
    assert.equal(trusted(mods('6.1/../..', `/lib/modules/6.1/../../updates/talos-mac/kvm.ko`)), false);
    assert.equal(trusted(mods(RELEASE)), false, 'no files');
    assert.equal(trusted({ kind: 'packages-installed', step: qemuPackages.id, at, packages: ['gcc'], remove: ['dpkg', '--remove', 'gcc', 'libc6'] }), false);
    assert.equal(trusted({ kind: 'packages-installed', step: qemuPackages.id, at, packages: ['gcc'], remove: ['apt-get', 'purge', '-y', 'gcc'] }), false);
    assert.equal(trusted({ kind: 'packages-installed', step: qemuPackages.id, at, packages: [], remove: ['apt-get', 'remove', '-y'] }), false);
    assert.equal(trusted(kernel(`${NEW_KERNEL}-evil`, `linux-image-${NEW_KERNEL}-evil`, ['dpkg', '--remove', `linux-image-${NEW_KERNEL}-evil`])), false);
    assert.equal(trusted(kernel(NEW_KERNEL, 'kernel', ['rpm', '-e', 'kernel'])), false, "the bare name would remove the distribution's kernels too");
  });
});
