// Output wraps to the terminal at spaces only: words, paths and commands stay whole.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { wrapLine } from '../../src/ui/wrap.js';

test('a long line wraps at spaces, under its text, never splitting a word or a path', () => {
  const line = '  ✗ kernel.pr-support: this kernel was built without KVM-PR: see /usr/src/linux-source-6.1/arch/powerpc/kvm/Kconfig and run talos-mac setup --build-kernel';
  const out = wrapLine(line, 50);
  assert.ok(out.length > 1);
  for (const l of out) assert.ok(l.length <= 50 || !l.trim().includes(' '), `too long and breakable: ${JSON.stringify(l)}`);
  assert.ok(out.some((l) => l.includes('/usr/src/linux-source-6.1/arch/powerpc/kvm/Kconfig')), 'the path is whole');
  for (const l of out.slice(1)) assert.match(l, /^ {4}\S/, 'continuations start under the text');
  assert.equal(out.map((l) => l.trim()).join(' '), line.trim());
});

test('width 0 (not a terminal) and short lines are left alone; colour codes do not count', () => {
  assert.deepEqual(wrapLine('a b c', 0), ['a b c']);
  assert.deepEqual(wrapLine('short', 80), ['short']);
  assert.deepEqual(wrapLine('\x1b[32m✓\x1b[39m done', 6), ['\x1b[32m✓\x1b[39m done']);
});

test('any words at any width: the same words in order, every breakable line fits', () => {
  // Words of output, not markers: a leading "-" or "$" is kept with the word after it.
  const word = fc.stringMatching(/^[a-z][a-z/._-]{0,29}$/);
  fc.assert(
    fc.property(fc.array(word, { minLength: 1, maxLength: 40 }), fc.integer({ min: 10, max: 120 }), (words, width) => {
      const line = words.join(' ');
      const out = wrapLine(line, width);
      assert.deepEqual(out.join(' ').split(/\s+/).filter(Boolean), words);
      for (const l of out) assert.ok(l.length <= width || l.trim().split(' ').length === 1, JSON.stringify({ l, width }));
    }),
  );
});

test('a command to type moves to a line of its own rather than breaking', () => {
  const line = '! TCG only: this is not a POWER host, so guests run under TCG. Next: talos-mac setup --os tiger (creates a guest), or talos-mac launch NAME.';
  for (const width of [40, 50, 60, 80]) {
    const out = wrapLine(line, width);
    assert.ok(out.some((l) => l.includes('talos-mac setup --os tiger')), `${width}: ${JSON.stringify(out)}`);
    assert.ok(out.some((l) => l.includes('talos-mac launch NAME.')), `${width}: ${JSON.stringify(out)}`);
    for (const l of out) assert.ok(l.length <= width, JSON.stringify(l));
  }
  const quoted = wrapLine('  i kernel.source: no source for this kernel; planned for `talos-mac setup --build-kernel` later', 50);
  assert.ok(quoted.some((l) => l.includes('`talos-mac setup --build-kernel`')), JSON.stringify(quoted));
});

test('a fix line is a command: outdented to fit, else continued as a shell reads it; its comment on a line of its own', () => {
  const deep = ' '.repeat(31);
  assert.deepEqual(wrapLine(`${deep}  $ sudo update-grub`, 60), ['        $ sudo update-grub'], 'a narrow terminal: the fix commands come in with their text');
  assert.deepEqual(wrapLine(`${deep}  $ sudo update-grub`, 80), [`${deep}  $ sudo update-grub`], 'room enough: as it was');
  const long = wrapLine('    $ sudo apt-get install -y --no-install-recommends linux-source-6.1 build-essential flex bison', 50);
  assert.ok(long.length > 1);
  for (const l of long.slice(0, -1)) assert.match(l, / \\$/, 'every part but the last continues the command');
  assert.equal(long.map((l) => l.replace(/ \\$/, '').trim()).join(' '), '$ sudo apt-get install -y --no-install-recommends linux-source-6.1 build-essential flex bison');
  const commented = wrapLine('      $ sudoedit /etc/default/grub   # add disable_radix to GRUB_CMDLINE_LINUX="…"', 50);
  assert.equal(commented[0], '      $ sudoedit /etc/default/grub');
  assert.ok(commented.slice(1).every((l) => l.trimStart().startsWith('#')), `no comment text outside a comment: ${JSON.stringify(commented)}`);
});

test('a "key  value" row hangs under its value, or puts the value under the key when the key leaves no room', () => {
  const row = '    ✓ qemu.vga-rom             the ROM of mac99\'s VGA card: /usr/share/seabios/vgabios-stdvga.bin';
  const wide = wrapLine(row, 80);
  assert.equal(wide.length, 2);
  assert.match(wide[1] ?? '', /^ {31}\/usr\/share/);
  const narrow = wrapLine(row, 60);
  assert.equal(narrow[0], '    ✓ qemu.vga-rom');
  for (const l of narrow.slice(1)) assert.match(l, /^ {6}\S/);
});
