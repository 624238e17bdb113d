// The kernel pipeline's installs against the captured POWER9 hosts, with real processes: the
// sandbox's files through a RootedHost, its fake apt-get on an isolated PATH (so the build-tool
// probes find nothing of this machine's), and setup acting on "the running system" (root /),
// since the kernel steps never run under --root. Only the kernel questions may be answered yes:
// nothing else may touch this machine's /.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.js';
import { PrivilegedRunner } from '../../src/privileged/runner.js';
import { RootedHost } from '../../src/host/rooted-host.js';
import { runSetup, type SetupOptions } from '../../src/setup/setup.js';
import { runCli, SNAPSHOTS } from '../helpers/cli.js';
import { confirmOnly } from '../helpers/prompts.js';
import { withSandbox, type Sandbox } from './sandbox.js';
import { SUDO_RE } from '../helpers/sudo.js';
import { LiveHost } from '../../src/host/live-host.js';

const DEBIAN = 'debian12-6.1.0-50-hash';
const KBUILD = ['make', 'gcc', 'flex', 'bison', 'bc', 'perl', 'patch', 'libelf-dev', 'libssl-dev'];
const PACKAGING = ['dpkg-dev', 'fakeroot', 'rsync', 'cpio', 'kmod', 'debhelper'];
/** pahole: Debian's config records CONFIG_PAHOLE_VERSION=124, the new kernel's build needs it too. */
const FROM_CONFIG = ['dwarves'];
const INSTALL = ['apt-get', 'install', '-y', '--no-install-recommends'];
const KERNEL_QUESTION = /^This kernel cannot do KVM-PR: build and install one that can, in this run \(about \d+ GB of disk and [\d.]+ (minutes|hours) with -j\d+ on \d+ CPUs?\)\?$/;

interface Run {
  code: number;
  out: string;
  asked: string[];
}

/** setup with its one question answered yes, the kernel question as `buildNow` says, and no guest. */
async function setupHere(sb: Sandbox, opts: SetupOptions, extraEnv: NodeJS.ProcessEnv = {}, buildNow = false): Promise<Run> {
  const lines: string[] = [];
  const asked: string[] = [];
  const env = { ...process.env, ...sb.env, ...extraEnv };
  const code = await runSetup(
    { user: 'alice', guest: false, demo: false, ...opts },
    {
      out: (l) => lines.push(l),
      interactive: false,
      env,
      uid: 0,
      host: new RootedHost(sb.root, env),
      stateRoot: sb.root,
      prompts: confirmOnly(async (q) => {
        asked.push(q.message);
        if (q.message === 'Proceed?') return true;
        if (KERNEL_QUESTION.test(q.message)) return buildNow;
        throw new Error(`unexpected question: ${q.message}`);
      }),
    },
  );
  return { code, out: lines.join('\n'), asked };
}

/** A step's state line, by what names the step there: its id with -v, else its title. */
const line = (out: string, name: string) => out.split('\n').find((l) => /^[✓!✗i-] \[[a-z/-]+\] +(.+)$/.exec(l)?.[1]!.startsWith(`${name}: `)) ?? '';
const BUILD_TOOLS = 'Install the kernel build tools';

describe("setup on Debian 12's stock kernel (no KVM-PR: a new kernel is needed)", () => {
  it('--dry-run --snapshot: the kernel source is planned for --build-kernel, no install is shown as "would"', async () => {
    const r = await runCli(['setup', '--dry-run', '-v', '--snapshot', join(SNAPSHOTS, DEBIAN)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(line(r.stdout, 'kernel.source'), /no source for 6\.1\.0-50-powerpc64le \(needed for building a new kernel\); planned for `talos-mac setup --build-kernel`/);
    assert.match(r.stdout, /Not installed by this run: `talos-mac setup --build-kernel` installs linux-source-6\.1/);
    assert.match(r.stdout, /\$ apt-get install -y --no-install-recommends linux-source-6\.1\n {2}\(not done by setup in this run/);
    assert.doesNotMatch(r.stdout, /would: \$ apt-get/);
    const asked = await runCli(['setup', '--dry-run', '--build-kernel', '--snapshot', join(SNAPSHOTS, DEBIAN)]);
    assert.match(asked.stdout, new RegExp(`would: \\$ ${SUDO_RE}apt-get install -y --no-install-recommends linux-source-6\\.1`));
  });

  it('dry run: the plan lists the missing build tools and their packages for a later --build-kernel run', async () => {
    await withSandbox({ snapshot: DEBIAN, onlyFakes: true }, async (sb) => {
      const r = await setupHere(sb, { dryRun: true, verbose: true });
      assert.equal(r.code, 0, r.out);
      assert.match(line(r.out, 'kernel.build-tools'), /^i \[todo\] +kernel\.build-tools: missing for building a new kernel: make, host C compiler, .*libelf headers, OpenSSL headers, dpkg-buildpackage, .*; planned for `talos-mac setup --build-kernel`$/);
      assert.ok(r.out.includes(`$ ${[...INSTALL, ...KBUILD, ...PACKAGING, ...FROM_CONFIG].join(' ')}\n  (not done by setup in this run`), r.out);
      assert.doesNotMatch(r.out, /would: \$ apt-get/);
      assert.deepEqual(await sb.commands(), []);
      const build = await setupHere(sb, { dryRun: true, verbose: true, buildKernel: true });
      assert.match(line(build.out, 'kernel.build-tools'), /missing for building a new kernel: make/);
      assert.ok(build.out.includes(`would: $ ${[...INSTALL, ...KBUILD, ...PACKAGING, ...FROM_CONFIG].join(' ')}`), build.out);
      assert.deepEqual(await sb.commands(), []);
    });
  });

  it('the kernel question answered no: installs nothing for the kernel', async () => {
    await withSandbox({ snapshot: DEBIAN, onlyFakes: true }, async (sb) => {
      const r = await setupHere(sb, {});
      assert.deepEqual((await sb.commands()).filter((c) => c[0] === 'apt-get'), [], 'no apt-get ran');
      assert.equal(r.asked.length, 1, 'one question about the kernel, with its cost; nothing else to confirm');
      assert.match(r.asked[0]!, KERNEL_QUESTION);
      assert.match(r.out, /KVM-PR: this kernel cannot do it, and the hash MMU alone gains nothing .*Until then guests run under TCG/);
      assert.match(line(r.out, BUILD_TOOLS), /planned for `talos-mac setup --build-kernel`/);
      assert.match(r.out, /Setup complete for TCG guests: this kernel cannot do KVM-PR, and no kernel is built in this run/);
      assert.equal(r.code, 0, 'declined kernel work: done for TCG');
    });
  });

  it('with --build-kernel: the build tools and packaging tools are installed first', async () => {
    await withSandbox({ snapshot: DEBIAN, onlyFakes: true }, async (sb) => {
      const r = await setupHere(sb, { buildKernel: true });
      assert.deepEqual(r.asked, ['Proceed?'], '--build-kernel answers the kernel question');
      // The fake installs nothing, so the tools are still missing and setup stops there.
      assert.deepEqual(await sb.commands(), [[...INSTALL, ...KBUILD, ...PACKAGING, ...FROM_CONFIG]]);
      assert.match(r.out, /Not finished: Install the kernel build tools/);
      assert.equal(r.code, 1);
    });
  });

  it('apt-get fails: the error names the command and shows its last lines of output', async () => {
    await withSandbox({ snapshot: DEBIAN, onlyFakes: true }, async (sb) => {
      await assert.rejects(setupHere(sb, { buildKernel: true }, { FAKE_FAIL_APT_GET: '100:E: Unable to locate package libelf-dev' }), (err: Error) => {
        assert.ok(err instanceof UserError);
        const [first, ...rest] = err.message.split('\n');
        assert.equal(first, `\`${[...INSTALL, ...KBUILD, ...PACKAGING, ...FROM_CONFIG].join(' ')}\` exited with status 100; its last 15 lines of output:`);
        const shown = rest.slice(0, 15);
        assert.deepEqual(shown, [...Array.from({ length: 14 }, (_, i) => `    fake apt-get progress line ${i + 7}`), '    E: Unable to locate package libelf-dev']);
        assert.equal(rest[15], 'This run changed nothing else.');
        return true;
      });
    });
  });
});

describe('setup on a module-only host (the kernel has KVM-PR, kvm-pr.ko is missing)', () => {
  it('the module build follows in this run, so its build tools are installed without --build-kernel', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', modules: '', onlyFakes: true }, async (sb) => {
      // Varied from the capture: kvm-pr.ko taken out of modules.dep, nothing loaded.
      const dep = join(sb.root, 'lib/modules/6.1.176/modules.dep');
      await writeFile(dep, (await readFile(dep, 'utf8')).replace(/^kernel\/arch\/powerpc\/kvm\/kvm-pr\.ko:.*\n/m, ''));
      const r = await setupHere(sb, {});
      assert.match(line(r.out, BUILD_TOOLS), /missing for building kvm-pr\.ko: make/);
      assert.deepEqual(r.asked, ['Proceed?']);
      assert.deepEqual(await sb.commands(), [[...INSTALL, ...KBUILD]]);
    });
  });
});

describe('the privileged runner: a failed command is reported once, for every mutating command', () => {
  const runner = (out: string[] = []) => new PrivilegedRunner({ dryRun: false, root: '/', out: (l) => out.push(l), uid: 0, interactive: false, host: new LiveHost() });
  const fail = (script: string) => runner().run(['sh', '-c', script, 'sh']).then(() => assert.fail('expected a failure'), (err: Error) => err);

  it('many lines: the last 15 of stdout and stderr together, in order, progress redraws collapsed', async () => {
    const err = await fail('for i in $(seq 1 30); do echo "out $i"; done; printf "0%%\\r50%%\\r100%%\\n"; sleep 0.2; echo "err: the reason" >&2; exit 3');
    assert.ok(err instanceof UserError);
    const lines = err.message.split('\n');
    assert.match(lines[0]!, /^`sh -c .*` exited with status 3; its last 15 lines of output:$/);
    assert.deepEqual(lines.slice(1), [...Array.from({ length: 13 }, (_, i) => `    out ${i + 18}`), '    100%', '    err: the reason']);
  });

  it('one line or none: said on the same line', async () => {
    assert.match((await fail('echo "mkdir: cannot create directory" >&2; exit 1')).message, /^`sh -c .*` exited with status 1: mkdir: cannot create directory$/);
    assert.match((await fail('exit 4')).message, /exited with status 4 \(it printed nothing\)$/);
  });

  it('allowFailure returns the result, with the combined output', async () => {
    const r = await runner().run(['sh', '-c', 'echo a; sleep 0.1; echo b >&2; exit 2'], { allowFailure: true });
    assert.equal(r.exitCode, 2);
    assert.equal(r.output, 'a\nb\n');
  });
});
