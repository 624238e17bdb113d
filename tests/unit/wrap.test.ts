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
