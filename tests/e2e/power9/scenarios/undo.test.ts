// Issue 11 in the box: `setup --undo` reverts what the kernel pipeline installed, on the real
// ppc64el Debian userland booted on the PR kernel. talos-mac's own PrivilegedRunner (the box's CLI
// bundle) installs kvm.ko/kvm-pr.ko under updates/talos-mac (real kmod depmod) and a kernel
// package with real apt-get/dpkg; then the CLI's `setup --undo --yes` removes both, newest first.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { SetupRecord } from '../../../../src/privileged/record.js';
import { KERNELS } from '../kernels.js';
import { REPO, bootBox, boxChunk, cmd } from '../lib/box.js';
import { buildDeb } from '../lib/deb.js';
import { freshRoot, hostFiles } from '../lib/host.js';
import { prKernelSkip } from '../lib/pr-kernel.js';
import { userland } from '../lib/userland.js';

const missing = await prKernelSkip(KERNELS.debian12.fetch);
const row = KERNELS.pr;

const RECORD = '/var/lib/talos-mac/setup-record.json';
const DUMMY_RELEASE = '6.1.999-talosmac';
const DUMMY_PACKAGE = `linux-image-${DUMMY_RELEASE}`;
const DUMMY_FILE = `/boot/talos-mac-dummy-${DUMMY_RELEASE}`;
const DUMMY_DEB = `/box/${DUMMY_PACKAGE}_1_all.deb`;
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const STATUS = '${db:Status-Abbrev}|${db:Status-Status}|${Package}|${Version}\n';

describe('setup --undo in the box (issue 11)', { skip: missing ?? false }, () => {
  test('modules and a kernel package installed by the runner; setup --undo removes both, newest first', async () => {
    const kernel = await row.fetch();
    const rel = kernel.release;
    const ours = `/lib/modules/${rel}/updates/talos-mac`;
    const dep = `/lib/modules/${rel}/modules.dep`;
    const own = `/lib/modules/${rel}/kernel/arch/powerpc/kvm`;
    // A stand-in for a kernel package, not a kernel: installKernel and undo only see its name and release.
    const deb = await buildDeb({
      name: DUMMY_PACKAGE,
      version: '1',
      description: 'talos-mac e2e stand-in for a kernel package (holds no kernel)',
      files: { [DUMMY_FILE]: 'a stand-in, not a kernel\n' },
    });
    const installs = ['node', '/box/runner-installs.mjs', await boxChunk('PrivilegedRunner'), await boxChunk('APT'), await boxChunk('thisMachine'), await boxChunk('stepById')];
    const query = ['dpkg-query', '-W', '-f', STATUS, DUMMY_PACKAGE];
    const root = await freshRoot('pr-undo', row, kernel, { grub: false });
    const r = await bootBox({
      label: 'pr undo',
      kernel,
      userland: await userland('bookworm'),
      root,
      files: [
        ...(await hostFiles(row)),
        { path: 'box/runner-installs.mjs', type: 'file', data: await readFile(join(REPO, 'tests', 'e2e', 'power9', 'box', 'runner-installs.mjs')) },
        { path: DUMMY_DEB.slice(1), type: 'file', data: deb },
        // dpkg's database as on an installed host: its status file (deb-status(5)); the dpkg package ships only the directories.
        { path: 'var/lib/dpkg/status', type: 'file', data: '' },
      ],
      script: [
        // apt-get runs dpkg on a pseudo-terminal it logs (apt's "Can not write log (Is /dev/pts mounted?)"); a Debian host has it mounted.
        'mkdir -p /dev/pts && mount -t devpts devpts /dev/pts',
        cmd('uname', ['uname', '-r']),
        // The kernel's own modules, copied as a build would leave them (plain .ko).
        `mkdir -p /tmp/mods && for m in kvm kvm-pr; do if [ -f ${own}/$m.ko ]; then cp ${own}/$m.ko /tmp/mods/; else xz -dc ${own}/$m.ko.xz > /tmp/mods/$m.ko; fi; done`,
        cmd('install-modules', [...installs, 'modules', rel, '/tmp/mods/kvm.ko', '/tmp/mods/kvm-pr.ko']),
        cmd('same-bytes', ['sh', '-c', `cmp /tmp/mods/kvm.ko ${ours}/kvm.ko && cmp /tmp/mods/kvm-pr.ko ${ours}/kvm-pr.ko`]),
        cmd('dep-installed', ['cat', dep]),
        cmd('install-kernel', [...installs, 'kernel', DUMMY_DEB, DUMMY_PACKAGE, DUMMY_RELEASE]),
        cmd('query-installed', query),
        cmd('file-installed', ['cat', DUMMY_FILE]),
        cmd('record-installed', ['cat', RECORD]),
        cmd('undo', ['talos-mac', 'setup', '--undo', '--yes']),
        cmd('ours-undone', ['ls', '-A', ours]),
        cmd('dep-undone', ['cat', dep]),
        cmd('query-undone', query),
        cmd('file-undone', ['ls', DUMMY_FILE]),
        cmd('record-undone', ['cat', RECORD]),
      ],
    });
    const ok = (name: string) => {
      const c = r.command(name);
      assert.equal(c.code, 0, `${name}: ${c.stdout}${c.stderr}`);
      return c;
    };
    assert.equal(ok('uname').stdout.trim(), rel);

    // 1. modules: the runner's files, real depmod's modules.dep, the record.
    assert.match(ok('install-modules').stdout, new RegExp(`depmod -a ${rel.replace(/[.+]/g, '\\$&')}`));
    ok('same-bytes');
    const depInstalled = ok('dep-installed').stdout;
    assert.match(depInstalled, /^updates\/talos-mac\/kvm\.ko:/m);
    assert.match(depInstalled, /^updates\/talos-mac\/kvm-pr\.ko: updates\/talos-mac\/kvm\.ko$/m);

    // 2. the kernel package: real apt-get installed it from the local file.
    const kernelInstall = ok('install-kernel');
    assert.match(kernelInstall.stdout, new RegExp(`apt-get install -y --no-install-recommends ${DUMMY_DEB}`));
    assert.equal(ok('query-installed').stdout, `ii |installed|${DUMMY_PACKAGE}|1\n`);
    assert.equal(ok('file-installed').stdout, 'a stand-in, not a kernel\n');
    const installed = JSON.parse(ok('record-installed').stdout) as SetupRecord;
    assert.deepEqual(installed.changes.map((c) => [c.kind, c.step, c.state]), [
      ['modules-installed', 'kernel.pr-module', 'finished'],
      ['kernel-installed', 'kernel.pr-support', 'finished'],
    ]);
    const [mods, kern] = installed.changes;
    assert.ok(mods?.kind === 'modules-installed' && kern?.kind === 'kernel-installed');
    // The bytes recorded are the kernel's own modules (as built on this side).
    const built = (m: string) => readFile(join(kernel.modulesRoot, 'lib', 'modules', rel, 'kernel', 'arch', 'powerpc', 'kvm', `${m}.ko`));
    assert.deepEqual(mods.files, [
      { path: `${ours}/kvm.ko`, sha256Written: sha256(await built('kvm')) },
      { path: `${ours}/kvm-pr.ko`, sha256Written: sha256(await built('kvm-pr')) },
    ]);
    assert.equal(mods.release, rel);
    assert.deepEqual([kern.release, kern.packages, kern.remove], [DUMMY_RELEASE, [DUMMY_PACKAGE], ['dpkg', '--remove', DUMMY_PACKAGE]]);

    // 3. setup --undo: newest first, both gone, depmod again, the record says what was undone.
    const undo = ok('undo');
    const at = (s: string) => undo.stdout.indexOf(s);
    assert.ok(at(`Undo kernel.pr-support: remove Linux ${DUMMY_RELEASE}`) >= 0 && at('Undo kernel.pr-module') > at('Undo kernel.pr-support'), undo.stdout);
    assert.match(undo.stdout, /Undo finished\.$/m);
    assert.equal(r.command('ours-undone').stdout, '', 'no module file left under updates/talos-mac');
    const depUndone = ok('dep-undone').stdout;
    assert.doesNotMatch(depUndone, /updates\/talos-mac/);
    assert.match(depUndone, /^kernel\/arch\/powerpc\/kvm\/kvm-pr\.ko(\.xz)?: kernel\/arch\/powerpc\/kvm\/kvm\.ko(\.xz)?$/m, "depmod again: the kernel's own modules are found");
    // Removed with no conffiles left, dpkg forgets the package (not even "rc").
    const gone = r.command('query-undone');
    assert.deepEqual([gone.code, gone.stdout, gone.stderr.trim()], [1, '', `dpkg-query: no packages found matching ${DUMMY_PACKAGE}`]);
    assert.notEqual(r.command('file-undone').code, 0, `${DUMMY_FILE} is gone`);
    const undone = JSON.parse(ok('record-undone').stdout) as SetupRecord;
    assert.deepEqual(undone.changes, []);
    assert.deepEqual(undone.undone.map((c) => [c.kind, c.step]), [
      ['kernel-installed', 'kernel.pr-support'],
      ['modules-installed', 'kernel.pr-module'],
    ]);
  });
});
