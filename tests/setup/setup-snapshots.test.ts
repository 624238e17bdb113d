import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, SNAPSHOTS, withTempDir } from '../helpers/cli.js';
import { SETUP_FIXTURES } from './sandbox.js';
import { SUDO_RE } from '../helpers/sudo.js';

async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await readdir(d)).sort()) {
      const p = join(d, e);
      const s = await stat(p);
      h.update(`${p}\0${s.mode}\0${s.mtimeMs}\0`);
      if (s.isDirectory()) await walk(p);
      else h.update(await readFile(p));
    }
  };
  await walk(dir);
  return h.digest('hex');
}

function states(stdout: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of stdout.matchAll(/^[✓!✗i-] \[([a-z/-]+)\]\s+([\w.-]+): /gm)) out[m[2]!] = m[1]!;
  // -v sums up what does not concern the host: "Not for this host: a, b (why); c (why)."
  for (const m of stdout.matchAll(/^Not for this host: (.*)\.$/gm)) {
    for (const id of m[1]!.match(/(?:^|; )[\w., -]+? \(/g) ?? []) for (const one of id.replace(/^; /, '').replace(/ \($/, '').split(', ')) out[one] = 'n/a';
  }
  return out;
}

const EXPECTED: Record<string, { states: Record<string, string>; says: RegExp[] }> = {
  'debian12-6.1.0-50-radix': {
    // The captures booted with -append: no boot loader files, so the next boot cannot be checked.
    states: { 'mmu.next-boot': 'unknown', 'mmu.active': 'todo', 'kernel.pr-module': 'n/a', 'kernel.pr-support': 'todo', 'kvm.pr-loaded': 'blocked', 'kvm.hv-loaded': 'done' },
    says: [/Radix MMU: /, /GRUB_CMDLINE_LINUX in \/etc\/default\/grub/, /built without KVM-PR.*CONTEXT_TRACKING_USER.*a new kernel is needed/, /\$ talos-mac setup --build-kernel/],
  },
  'debian12-6.1.0-50-hash': {
    states: { 'mmu.next-boot': 'unknown', 'mmu.active': 'done', 'kernel.pr-support': 'todo', 'kvm.pr-loaded': 'blocked' },
    says: [/a new kernel is needed/],
  },
  'pr-kernel-6.1.176-radix': {
    states: { 'mmu.next-boot': 'unknown', 'mmu.active': 'todo', 'kernel.pr-module': 'done', 'kernel.pr-support': 'done', 'kvm.pr-loaded': 'blocked' },
    says: [/Radix MMU: /, /cannot be while the radix MMU runs .*: after the reboot into hash/],
  },
  'pr-kernel-6.1.176-hash': {
    states: { 'mmu.next-boot': 'unknown', 'mmu.active': 'done', 'kernel.pr-module': 'done', 'kernel.pr-support': 'done', 'kvm.pr-loaded': 'done', 'kvm.pr-at-boot': 'todo', 'kvm.device': 'done', 'kvm.hv-loaded': 'done' },
    says: [/nothing loads kvm_pr at boot/, /would: create \/etc\/modules-load.d\/talos-mac.conf/],
  },
};

describe('setup --dry-run --snapshot: the plan for the captured POWER9 hosts', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    it(name, async () => {
      const dir = join(SNAPSHOTS, name);
      const before = await treeHash(dir);
      // The plan is for the user setup runs for (kvm.device): root, as these hosts were captured, whoever runs the tests.
      const r = await runCli(['setup', '--dry-run', '-v', '--snapshot', dir, '--user', 'root']);
      assert.equal(r.code, 0, r.stderr);
      for (const [id, state] of Object.entries(want.states)) assert.equal(states(r.stdout)[id], state, `${id}\n${r.stdout}`);
      for (const re of want.says) assert.match(r.stdout, re);
      assert.match(r.stdout, /nothing was changed/i);
      assert.equal(await treeHash(dir), before, 'the snapshot is untouched');
    });
  }

  it('Debian radix with its /etc/default/grub: a new kernel needed; the MMU switch via update-grub only with the kernel', async () => {
    await withTempDir(async (tmp) => {
      const dir = join(tmp, 'snap');
      await cp(join(SNAPSHOTS, 'debian12-6.1.0-50-radix'), dir, { recursive: true });
      await mkdir(join(dir, 'etc/default'), { recursive: true });
      await cp(join(SETUP_FIXTURES, 'grub', 'debian12'), join(dir, 'etc/default/grub'));
      const r = await runCli(['setup', '--dry-run', '-v', '--snapshot', dir]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(states(r.stdout)['mmu.next-boot'], 'todo');
      assert.equal(states(r.stdout)['kernel.pr-support'], 'todo');
      // Without a kernel that can do KVM-PR, the hash MMU gains nothing: no reboot for it.
      assert.doesNotMatch(r.stdout, /would: .*update-grub/);
      assert.match(r.stdout, /^Reboots: none\.$/m);
      const k = await runCli(['setup', '--dry-run', '--build-kernel', '--snapshot', dir]);
      assert.match(k.stdout, /would: replace \/etc\/default\/grub atomically/);
      assert.match(k.stdout, new RegExp(`would: \\$ ${SUDO_RE}update-grub`));
      assert.match(k.stdout, /^Then one reboot \(the boot configuration and the new kernel share it\)/m);
    });
  });

  it('a pending reboot is reported as such', async () => {
    const r = await runCli(['setup', '--dry-run', '-v', '--snapshot', join(SNAPSHOTS, 'varied-reboot-pending')]);
    assert.equal(states(r.stdout)['mmu.next-boot'], 'done');
    assert.equal(states(r.stdout)['mmu.active'], 'reboot');
  });

  it('--snapshot without --dry-run is refused (exit 2)', async () => {
    const r = await runCli(['setup', '--snapshot', join(SNAPSHOTS, 'pr-kernel-6.1.176-hash')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /add --dry-run/);
  });
});

describe('setup: a whole kernel build starts only when asked for by name', () => {
  it('without --build-kernel the plan says how to start it; with it, the dry run describes the build', async () => {
    const dir = join(SNAPSHOTS, 'debian12-6.1.0-50-hash');
    const plain = await runCli(['setup', '--dry-run', '-v', '--snapshot', dir]);
    assert.match(plain.stdout, /It takes hours: talos-mac starts it only when asked/);
    assert.match(plain.stdout, /`talos-mac setup --build-kernel` builds and installs one \(about \d+ GB of disk and [\d.]+ hours with -j1 on 1 CPU\b/);
    assert.doesNotMatch(plain.stdout, /would: build the kernel/);
    const asked = await runCli(['setup', '--dry-run', '--build-kernel', '--snapshot', dir]);
    assert.equal(asked.code, 0, asked.stderr);
    assert.match(asked.stdout, /would: build the kernel from \/boot\/config-6\.1\.0-50-powerpc64le with KVM-PR/);
    assert.match(asked.stdout, /nothing was changed/i);
  });
});
