import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, symlink, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildPrModule, type ModuleBuildResult } from '../../../src/kernel/module-build.js';
import { installPrModules, loadPrModules } from '../../../src/kernel/module-load.js';
import { applyPatch, parsePatchHeader } from '../../../src/kernel/patches.js';
import { PrivilegedRunner } from '../../../src/privileged/runner.js';
import { kernelPrModule } from '../../../src/steps/checks/kernel.js';
import { readModinfo } from '../../../src/kernel/vermagic.js';
import { BuildError } from '../../../src/kernel/kbuild.js';
import { CROSS, SOURCE_TARBALL, cacheDir, fixtures, requireKernelToolchain } from './env.js';
import { LiveHost } from '../../../src/host/live-host.js';
import { RootedHost } from '../../../src/host/rooted-host.js';

const RELEASE = '6.1.192-talosmac-test';
const prConfig = join(fixtures, 'pr-kernel-6.1.176.config');
const base = { kernelSrc: SOURCE_TARBALL, config: prConfig, crossCompile: CROSS, cacheDir, symvers: false as const, ui: () => {}, host: new LiveHost() };

/**
 * The project's runner in dry run over a directory standing for the host (its /proc/modules):
 * it prints what it would change, and changes nothing (no ppc64 kernel to load into here).
 */
async function dryRunner(procModules = ''): Promise<PrivilegedRunner & { lines: string[] }> {
  const root = await mkdtemp(join(tmp, 'root-'));
  await mkdir(join(root, 'proc'));
  await writeFile(join(root, 'proc', 'modules'), procModules);
  const lines: string[] = [];
  return Object.assign(new PrivilegedRunner({ dryRun: true, root, out: (l) => lines.push(l), uid: 0, interactive: false, host: new RootedHost(root) }), { lines });
}

let tmp: string;
let built: ModuleBuildResult;

before(async () => {
  requireKernelToolchain();
  tmp = await mkdtemp(join(tmpdir(), 'talos-mac-kernel-'));
});
after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('module-only build (cross-compiled for ppc64le)', () => {
  test('builds kvm.ko + kvm-pr.ko whose vermagic equals the requested release', { timeout: 30 * 60_000 }, async () => {
    built = await buildPrModule({ ...base, release: RELEASE });
    const info = readModinfo(await readFile(built.modules.kvmPr));
    console.log(`kvm-pr.ko vermagic: ${info.get('vermagic')}`);
    assert.equal(info.get('vermagic')!.split(' ')[0], RELEASE);
    assert.equal(info.get('name'), 'kvm_pr');
    assert.equal(built.vermagic, info.get('vermagic'));
    assert.match(built.warnings.join('\n'), /no symbol version for module_layout.*--no-symvers/);
    const log = await readFile(built.log, 'utf8');
    assert.match(log, /modules_prepare/);
    assert.match(log, /M=arch\/powerpc\/kvm modules/);
    assert.match(log, /CROSS_COMPILE=powerpc64le-linux-gnu-/);
  });

  test('a second run resumes: every finished stage is skipped', { timeout: 10 * 60_000 }, async () => {
    const t0 = Date.now();
    const again = await buildPrModule({ ...base, release: RELEASE });
    assert.deepEqual(again.resumed, ['tree', 'patch', 'configure', 'symvers', 'prepare', 'modules']);
    assert.equal(again.buildDir, built.buildDir);
    console.log(`resumed run: ${Date.now() - t0} ms`);
  });

  test('the CLI builds (resumed from the cache) and, with --dry-run --load, only prints what it would run', { timeout: 10 * 60_000 }, async () => {
    const { spawnSync } = await import('node:child_process');
    const { repoRoot } = await import('./env.js');
    const r = spawnSync(
      process.execPath,
      ['bin/talos-mac.js', 'kernel', 'build-module', '--kernel-src', SOURCE_TARBALL, '--release', RELEASE, '--config', prConfig,
        '--cross', CROSS, '--no-symvers', '--cache-dir', cacheDir, '--dry-run', '--load'],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`vermagic: {2}${RELEASE.replace(/\./g, '\\.')} `));
    assert.match(r.stderr, /already done \(resumed\)/);
    assert.match(r.stderr, /would: \$ (sudo (-n )?-- )?insmod \S+\/kvm\.ko/);
    assert.match(r.stderr, /would: \$ (sudo (-n )?-- )?insmod \S+\/kvm-pr\.ko/);
  });

  test('loads kvm.ko then kvm-pr.ko after unloading the old kvm modules (dry run)', async () => {
    const runner = await dryRunner('kvm_hv 163840 0 - Live 0x0\nkvm 196608 1 kvm_hv, Live 0x0\n');
    const r = await loadPrModules({ release: RELEASE, modules: built.modules, runner, step: kernelPrModule });
    assert.equal(r.loaded, false);
    assert.deepEqual(runner.lines, ['  would: $ modprobe -r kvm_hv kvm', `  would: $ insmod ${built.modules.kvm}`, `  would: $ insmod ${built.modules.kvmPr}`]);
    assert.deepEqual(r.commands, [
      ['modprobe', '-r', 'kvm_hv', 'kvm'],
      ['insmod', built.modules.kvm],
      ['insmod', built.modules.kvmPr],
    ]);
  });

  test('installs under /lib/modules/<release>/updates/ and runs depmod (dry run)', async () => {
    const runner = await dryRunner();
    await installPrModules({ release: RELEASE, modules: built.modules, runner, step: kernelPrModule });
    assert.deepEqual(runner.lines, [
      `  would: create /lib/modules/${RELEASE}/updates/talos-mac/kvm.ko`,
      `  would: create /lib/modules/${RELEASE}/updates/talos-mac/kvm-pr.ko`,
      `  would: $ depmod -b ${runner.options.root} -a ${RELEASE}`,
    ]);
  });

  test('a mismatched release is refused before anything runs, showing both strings', async () => {
    const runner = await dryRunner();
    await assert.rejects(loadPrModules({ release: '6.1.0-50-powerpc64le', modules: built.modules, runner, step: kernelPrModule }), (err: Error) => {
      assert.match(err.message, /refusing to load/);
      assert.match(err.message, /module vermagic: 6\.1\.192-talosmac-test /);
      assert.match(err.message, /target release: {2}6\.1\.0-50-powerpc64le/);
      return true;
    });
    assert.deepEqual(runner.lines, []);
  });
});

describe('module-only build: failure paths', () => {
  test('wrong source version: 6.1.192 source for a 6.1.176 kernel is refused', async () => {
    await assert.rejects(buildPrModule({ ...base, release: '6.1.176' }), /wrong kernel source: the tree is Linux 6\.1\.192 but the target kernel 6\.1\.176 is 6\.1\.176/);
    await assert.rejects(buildPrModule({ ...base, release: '5.10.0-20-powerpc64le' }), /wrong kernel source/);
    // Debian's release hides the sublevel; uname -v tells it ("Debian 6.1.176-1").
    await assert.rejects(buildPrModule({ ...base, release: '6.1.0-50-powerpc64le', upstream: [6, 1, 176] }), /is 6\.1\.176/);
  });

  test("no Module.symvers for a MODVERSIONS kernel: refused before building, the headers package named", async () => {
    const { symvers: _omit, ...withoutSymvers } = base;
    await assert.rejects(buildPrModule({ ...withoutSymvers, release: '6.1.192-nowhere' }), (err: Error) => {
      assert.match(err.message, /no Module\.symvers for 6\.1\.192-nowhere/);
      assert.match(err.message, /linux-headers-6\.1\.192-nowhere/);
      return true;
    });
  });

  test('missing tool: no cross compiler on PATH names the package to install', async () => {
    const bin = join(tmp, 'bin');
    await mkdir(bin);
    for (const tool of ['sh', 'make', 'gcc', 'flex', 'bison', 'bc', 'perl', 'patch', 'cc1', 'as', 'ld']) {
      await symlink(`/usr/bin/${tool}`, join(bin, tool)).catch(() => {});
    }
    await assert.rejects(buildPrModule({ ...base, release: RELEASE, env: { ...process.env, PATH: bin }, host: new LiveHost({ ...process.env, PATH: bin }) }), (err: Error) => {
      assert.match(err.message, /missing build tools: .*cross compiler powerpc64le-linux-gnu-gcc/);
      assert.match(err.message, /apt-get install .*gcc-powerpc64le-linux-gnu/);
      return true;
    });
  });

  test('a patch that does not apply changes nothing and says so', { timeout: 10 * 60_000 }, async () => {
    const patch = join(fixtures, 'patches', 'does-not-apply.patch');
    const pristine = await readFile(join(built.tree, 'arch/powerpc/kvm/book3s_pr.c'), 'utf8');
    await assert.rejects(buildPrModule({ ...base, release: RELEASE, patches: [patch] }), /patch does-not-apply .* does not apply to this source tree; nothing was changed/);
    await assert.rejects(applyPatch(built.tree, parsePatchHeader(await readFile(patch, 'utf8'), patch)), /does not apply/);
    assert.equal(await readFile(join(built.tree, 'arch/powerpc/kvm/book3s_pr.c'), 'utf8'), pristine);
  });

  test('a build error shows the log tail and stops before anything is loaded', { timeout: 20 * 60_000 }, async () => {
    const patch = join(fixtures, 'patches', 'build-error.patch');
    let buildDir = '';
    await assert.rejects(buildPrModule({ ...base, release: RELEASE, patches: [patch], ui: (e) => e.kind === 'fail' && (buildDir = e.stage.id) }), (err: Error) => {
      assert.ok(err instanceof BuildError, String(err));
      assert.match(err.message, /Last lines of the log/);
      assert.match(err.message, /talos-mac test: deliberate build error/);
      console.log(err.message);
      return true;
    });
    assert.equal(buildDir, 'modules');
    // The pristine source (shared by hard links) is untouched by the patch.
    const pristineDir = join(cacheDir, 'sources');
    const { readdir } = await import('node:fs/promises');
    const src = (await readdir(pristineDir)).find((d) => d.startsWith('linux-source-6.1-') && !d.endsWith('.complete'))!;
    assert.doesNotMatch(await readFile(join(pristineDir, src, 'arch/powerpc/kvm/book3s_pr.c'), 'utf8'), /deliberate build error/);
  });
});
