import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explainQemuError } from '../../src/launch/qemu-errors.js';
import { FIXTURES } from '../helpers/guest-env.js';

const fixture = (p: string): string => readFileSync(join(FIXTURES, p), 'utf8');

describe('QEMU stderr becomes a sentence with a fix (real captured messages)', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['qemu-7.2/errors/bad-cpu.txt', 'bad-cpu', /no CPU model "g44"/],
    ['qemu-7.2/errors/bad-machine.txt', 'no-mac99', /no mac99 machine/],
    ['qemu-7.2/errors/bad-via.txt', 'bad-via', /via=/],
    ['qemu-7.2/errors/kvm-on-x86.txt', 'no-kvm-accel', /cannot use KVM/],
    ['qemu-7.2/errors/missing-disk.txt', 'file-missing', /\/nonexistent.qcow2 does not exist/],
    ['qemu-7.2/errors/ram-too-big.txt', 'ram-too-big', /at most 2 GiB/],
    ['qemu-7.2/errors/missing-vga-rom.txt', 'rom-missing', /could not find vgabios-stdvga\.bin/],
    ['qemu-7.2/errors/missing-nic-rom.txt', 'rom-missing', /could not find efi-rtl8139\.rom/],
    ['power9/pr-kernel-6.1.176-radix/probe-transcript.txt', 'kvm-pr-missing', /kvm_pr module is not loaded/],
  ];
  for (const [file, id, re] of cases) {
    it(`${file} → ${id}`, () => {
      // Only QEMU's own lines: drop the "$ command" and "[exit N]" lines the capture added.
      const stderr = fixture(file).split('\n').filter((l) => !l.startsWith('$ ') && !l.startsWith('[exit')).join('\n');
      const e = explainQemuError(stderr, { file: '/c/g.toml', name: 'g' });
      assert.equal(e?.id, id);
      assert.match(e!.message, re);
      assert.ok(e!.fix.length > 10);
    });
  }

  it('the radix transcript points at modprobe kvm_pr, not at /dev/kvm', () => {
    const e = explainQemuError(fixture('power9/pr-kernel-6.1.176-radix/probe-transcript.txt'));
    assert.match(e!.fix, /sudo modprobe kvm_pr/);
    assert.match(e!.message, /\/dev\/kvm is not enough/);
  });

  it('unknown errors are not guessed at', () => {
    assert.equal(explainQemuError('qemu-system-ppc: something entirely new\n'), undefined);
  });
});
