import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { SNAPSHOTS } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const snap = (name: string): string => join(SNAPSHOTS, name);
const accelOf = (argv: string[]): string | undefined => argv[argv.indexOf('-accel') + 1];

describe('the KVM-PR decision uses doctor\'s checks against captured POWER9 hosts', () => {
  let w: TestWorld;
  let disk: string;
  before(async () => {
    w = await makeWorld();
    disk = await buildBootImage(new LiveHost(), w.dir, 'disk');
    for (const [name, os, cpu] of [['tiger', 'tiger', undefined], ['nine', 'os9', undefined], ['leo', 'leopard', undefined], ['fast', 'tiger', '7450']] as const) {
      const r = await w.run(['create', name, '--os', os, '--disk', disk, '--share-disk', ...(cpu ? ['--cpu', cpu] : [])]);
      assert.equal(r.code, 0, r.stderr);
    }
  });
  after(() => w.cleanup());

  const json = async (args: string[]): Promise<string[]> => {
    const r = await w.run([...args, '--print-cmd', '--json']);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return JSON.parse(r.stdout) as string[];
  };

  it('a host ready for KVM-PR (PR kernel, hash MMU): Tiger runs under KVM, pinned to one SMT4 core, on a G3', async () => {
    const argv = await json(['launch', 'tiger', '--snapshot', snap('pr-kernel-6.1.176-hash')]);
    assert.deepEqual(argv.slice(0, 5), ['taskset', '-a', '-c', '0-3', 'qemu-system-ppc']);
    assert.equal(accelOf(argv), 'kvm');
    assert.equal(argv[argv.indexOf('-cpu') + 1], 'g3');
    const leo = await json(['launch', 'leo', '--snapshot', snap('pr-kernel-6.1.176-hash')]);
    assert.equal(leo[leo.indexOf('-cpu') + 1], '7410', 'Leopard needs a G4: Nitro');
  });

  it('the same ready host: OS 9 and a 7450 CPU stay on TCG under auto', async () => {
    for (const args of [['launch', 'nine'], ['launch', 'fast']]) {
      const argv = await json([...args, '--snapshot', snap('pr-kernel-6.1.176-hash')]);
      assert.equal(accelOf(argv), 'tcg', args.join(' '));
      assert.equal(argv[0], 'qemu-system-ppc');
    }
  });

  for (const [name, reason] of [
    ['pr-kernel-6.1.176-radix', /Radix MMU/],
    ['debian12-6.1.0-50-radix', /Radix MMU/],
    ['debian12-6.1.0-50-hash', /kvm_pr is not loaded: it needs a kernel with KVM-PR \(kernel.pr-support\) first/],
  ] as const) {
    it(`${name}: auto falls back to TCG and says why; --accel kvm refuses with doctor's reason`, async () => {
      const argv = await json(['launch', 'tiger', '--snapshot', snap(name)]);
      assert.equal(accelOf(argv), 'tcg');
      const refused = await w.run(['launch', 'tiger', '--accel', 'kvm', '--print-cmd', '--snapshot', snap(name)]);
      assert.equal(refused.code, 1, 'this host cannot (yet): exit 1');
      assert.match(refused.stderr, /cannot use KVM-PR here: /);
      assert.match(refused.stderr, reason);
    });
  }

  it('demo --accel kvm uses KVM on a ready host', async () => {
    const argv = await json(['demo', '--accel', 'kvm', '--snapshot', snap('pr-kernel-6.1.176-hash')]);
    assert.equal(accelOf(argv), 'kvm');
    assert.equal(argv[0], 'taskset');
    assert.ok(argv.includes('-nographic'));
  });

  it('a KVM launch that QEMU refuses (x86 here) is explained; the checkstop warning is shown once', async () => {
    const first = await w.run(['launch', 'tiger', '--display', 'none', '--snapshot', snap('pr-kernel-6.1.176-hash')]);
    assert.equal(first.code, 1);
    assert.match(first.stderr, /Accelerator\s+KVM-PR: the host is ready/);
    assert.match(first.stderr, /checkstop/);
    assert.match(first.stderr, /QEMU failed: This QEMU cannot use KVM on this host/);
    const second = await w.run(['launch', 'tiger', '--display', 'none', '--snapshot', snap('pr-kernel-6.1.176-hash')]);
    assert.equal(second.code, 1);
    assert.doesNotMatch(second.stderr, /checkstop/);
    assert.ok((await readdir(join(w.env['XDG_STATE_HOME']!, 'talos-mac'))).includes('kvm-checkstop-warning.shown'));
  });
});
