import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withSandbox } from './sandbox.js';
import { NODE18, NODE18_SKIP } from '../helpers/node18.js';


// The PR kernel booted with the hash MMU, disable_radix already in the boot configuration,
// kvm_pr not loaded yet and kvm_hv loaded: what a Talos II looks like after the reboot.
const HASH = 'pr-kernel-6.1.176-hash';
const HV_LOADED = 'kvm_hv 393216 0 - Live 0x0000000000000000\nkvm 524288 1 kvm_hv, Live 0x0000000000000000\n';
const exists = (p: string) => stat(p).then(() => true, () => false);

describe('setup: kvm_pr, kvm_hv and /dev/kvm (real CLI, sandbox root)', () => {
  it('--yes: loads kvm_pr, persists it, adds the user to the /dev/kvm group, unloads an idle kvm_hv (no blacklist); --undo reverts all', async () => {
    await withSandbox({ snapshot: HASH, grub: 'debian12', modules: HV_LOADED }, async (sb) => {
      // Running hash already: the boot configuration only needs to keep it, then the rest follows in one run.
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\[done\]\s+Boot with the hash MMU \(disable_radix\):/);
      const calls = await sb.commands();
      assert.deepEqual(calls, [['update-grub'], ['modprobe', 'kvm_pr'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice'], ['modprobe', '-r', 'kvm_hv']]);
      assert.match(r.stdout, /new login is needed|log out and back in/);
      assert.match(r.stdout, /Setup complete/);
      assert.equal((await sb.read('etc/modules-load.d/talos-mac.conf')).toString().split('\n').filter((l) => l && !l.startsWith('#')).join(), 'kvm_pr');
      assert.equal(await exists(join(sb.root, 'etc/modprobe.d/talos-mac-kvm-hv.conf')), false, 'blacklisting is only for a user who chose it');
      assert.match((await sb.read('etc/group')).toString(), new RegExp(`^kvm:x:${sb.kvmGid}:alice$`, 'm'));

      const u = await sb.setup(['--undo', '--yes']);
      assert.equal(u.code, 0, u.stdout + u.stderr);
      assert.deepEqual((await sb.commands()).slice(4), [
        ['modprobe', 'kvm_hv'],
        ['gpasswd', '-R', sb.root, '-d', 'alice', 'kvm'],
        ['modprobe', '-r', 'kvm_pr'],
        ['update-grub'],
      ]);
      assert.equal(await exists(join(sb.root, 'etc/modules-load.d/talos-mac.conf')), false);
      assert.match((await sb.read('etc/group')).toString(), new RegExp(`^kvm:x:${sb.kvmGid}:$`, 'm'));
      const again = await sb.setup(['--undo', '--yes']);
      assert.match(again.stdout, /Nothing to undo/);
    });
  });

  it('--kvm-hv blacklist writes the modprobe.d entry; --kvm-hv keep leaves kvm_hv alone', async () => {
    await withSandbox({ snapshot: HASH, grub: 'debian12', modules: HV_LOADED }, async (sb) => {
      const keep = await sb.setup(['--yes', '--user', 'alice', '--kvm-hv', 'keep']);
      assert.equal(keep.code, 0, keep.stdout + keep.stderr);
      assert.ok(!(await sb.commands()).some((c) => c.join(' ') === 'modprobe -r kvm_hv'));
      const bl = await sb.setup(['--yes', '--user', 'alice', '--kvm-hv', 'blacklist']);
      assert.equal(bl.code, 0, bl.stdout + bl.stderr);
      assert.match((await sb.read('etc/modprobe.d/talos-mac-kvm-hv.conf')).toString(), /^blacklist kvm_hv$/m);
    });
  });

  it('kvm_hv in use (use count 2): left loaded, and said why', async () => {
    await withSandbox({ snapshot: HASH, grub: 'debian12', modules: 'kvm_pr 393216 0 - Live 0x0\nkvm_hv 393216 2 - Live 0x0\nkvm 524288 2 kvm_pr,kvm_hv, Live 0x0\n' }, async (sb) => {
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.match(r.stdout, /kvm_hv is loaded too and in use \(use count 2: KVM-HV guests running\?\)/);
      assert.match(r.stdout, /not done by setup in this run: kvm_hv is in use: stop the KVM-HV guests first/);
      assert.ok(!(await sb.commands()).some((c) => c[0] === 'modprobe' && c[1] === '-r'));
    });
  });

  const failures: [string, string, RegExp][] = [
    ['radix', "modprobe: ERROR: could not insert 'kvm_pr': Input/output error", /radix MMU: run the hash-MMU step first/],
    ['missing module', 'modprobe: FATAL: Module kvm_pr not found in directory /lib/modules/6.1.176', /no kvm_pr module for this kernel: it must be built/],
    ['signature', "modprobe: ERROR: could not insert 'kvm_pr': Key was rejected by service", /unsigned or wrongly signed modules/],
  ];
  for (const [name, stderr, explained] of failures) {
    it(`modprobe kvm_pr fails (${name}): the reason is translated, nothing is persisted`, async () => {
      await withSandbox({ snapshot: HASH, grub: 'debian12', modules: 'kvm 524288 0 - Live 0x0\n' }, async (sb) => {
        const r = await sb.setup(['--yes', '--user', 'alice'], { FAKE_FAIL_MODPROBE: `1:${stderr}` });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, explained);
        assert.ok(r.stderr.includes(stderr), 'the tool\'s own words are kept');
        assert.equal(await exists(join(sb.root, 'etc/modules-load.d/talos-mac.conf')), false);
      });
    });
  }

  it('Fedora-style BLS: grubby on every entry plus GRUB_CMDLINE_LINUX; --undo removes both', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', bls: true, grub: undefined }, async (sb) => {
      const entries = join(sb.root, 'boot/loader/entries');
      const entry = join(entries, '6a9857a393724b7a981ebb5b8495b9ea-6.1.176.conf');
      const before = await readFile(entry);
      const defBefore = await sb.read('etc/default/grub');
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, EXIT.REBOOT_NEEDED, r.stdout + r.stderr);
      assert.deepEqual(await sb.commands(), [['grubby', '--update-kernel=ALL', '--args=disable_radix'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice']]);
      assert.match((await readFile(entry)).toString(), /^options .* disable_radix$/m);
      assert.match(r.stdout, /→ ✓ \[done\]\s+Boot with the hash MMU \(disable_radix\): the boot loader passes disable_radix \(2 BootLoaderSpec entries\)/);
      assert.match(r.stdout, /\[reboot\]\s+Run the hash MMU:/);
      assert.match((await sb.read('etc/default/grub')).toString(), /^GRUB_CMDLINE_LINUX="rhgb quiet disable_radix"$/m);
      const u = await sb.setup(['--undo', '--yes']);
      assert.equal(u.code, 0, u.stdout + u.stderr);
      assert.deepEqual((await sb.commands())[3], ['grubby', '--update-kernel=ALL', '--remove-args=disable_radix']);
      assert.deepEqual(await readFile(entry), before);
      assert.deepEqual(await sb.read('etc/default/grub'), defBefore);
    });
  });

  it('Debian kernel without KVM-PR: a real run keeps the boot config, sets KVM-PR aside (no kernel here), ends done for TCG', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash', grub: 'debian12' }, async (sb) => {
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /^✗ \[todo\]\s+Run a kernel that can do KVM-PR: this kernel was built without KVM-PR: .*CONTEXT_TRACKING_USER/m);
      assert.match(r.stdout, /not done by setup in this run: KVM-PR is set aside in this run \(no kernel that can do it\)/);
      assert.match(r.stdout, /run setup on that system itself \(never under --root\) with --build-kernel/);
      assert.match(r.stdout, /^✗ \[blocked\] Load the kvm_pr module:/m);
      assert.match(r.stdout, /Setup complete for TCG guests/);
      assert.ok(!(await sb.commands()).some((c) => c[0] === 'modprobe'));
    });
  });

  it('runs on Node 18: a full apply and undo', { skip: NODE18_SKIP }, async () => {
    await withSandbox({ snapshot: HASH, grub: 'debian12', modules: HV_LOADED }, async (sb) => {
      const r = await sb.setup(['--yes', '--user', 'alice'], {}, NODE18);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal((await sb.commands()).length, 4);
      const u = await sb.setup(['--undo', '--yes'], {}, NODE18);
      assert.equal(u.code, 0, u.stdout + u.stderr);
      assert.equal((await sb.commands()).length, 8);
    });
  });
});
