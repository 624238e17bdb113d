import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { addArgument, hasArgument, removeArgument } from '../../src/steps/host-changes/grub-default.js';
import { SETUP_FIXTURES } from './sandbox.js';

const T = 'disable_radix';

/** GRUB_CMDLINE_LINUX after bash sources the text, as grub-mkconfig does. */
function bashCmdline(text: string): string[] {
  const r = spawnSync('bash', ['-c', 'eval "$(cat)" >/dev/null 2>&1; printf %s "$GRUB_CMDLINE_LINUX"'], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split(/\s+/).filter(Boolean);
}

function mustAdd(text: string): { changed: boolean; text: string } {
  const r = addArgument(text, T);
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r;
}

const arg = fc.stringMatching(/^[a-z0-9][a-z0-9=._,:-]{0,10}$/).filter((a) => a !== T);
const args = fc.array(arg, { maxLength: 4 });
const value = fc.oneof(
  args.map((a) => `"${a.join(' ')}"`),
  args.map((a) => `'${a.join(' ')}'`),
  fc.option(arg, { nil: '' }),
  args.map((a) => `" ${a.join('  ')} "`),
);
const trailing = fc.constantFrom('', '  # kernel arguments', ' ', '\t# x', '; export GRUB_CMDLINE_LINUX');
const assignment = fc.tuple(fc.constantFrom('', '  ', 'export '), value, trailing).map(([pre, v, post]) => `${pre}GRUB_CMDLINE_LINUX=${v}${post}`);
const otherLine = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9 ,.]{0,30}$/).map((c) => `# ${c}`),
  fc.constantFrom('', 'GRUB_DEFAULT=0', 'GRUB_TIMEOUT=5', 'GRUB_CMDLINE_LINUX_DEFAULT="quiet"', '#GRUB_CMDLINE_LINUX="disable_radix"', '#GRUB_TERMINAL=console', 'GRUB_DISTRIBUTOR=`lsb_release -i -s 2> /dev/null || echo Debian`'),
);
const grubFile = fc
  .tuple(fc.array(fc.oneof({ weight: 4, arbitrary: otherLine }, { weight: 1, arbitrary: assignment }), { maxLength: 12 }), fc.boolean())
  .map(([lines, finalNewline]) => lines.join('\n') + (finalNewline && lines.length ? '\n' : ''));

describe('grub editor (pure): fixtures', () => {
  const dir = join(SETUP_FIXTURES, 'grub');
  for (const name of readdirSync(dir)) {
    it(`${name}: one token, read back by bash; idempotent; removal restores the bytes`, () => {
      const text = readFileSync(join(dir, name)).toString('latin1');
      const once = mustAdd(text);
      assert.ok(once.changed);
      assert.deepEqual(bashCmdline(once.text), [...bashCmdline(text), T]);
      assert.ok(hasArgument(once.text, T));
      assert.equal(mustAdd(once.text).changed, false);
      const back = removeArgument(once.text, T);
      assert.ok(back.ok && back.changed);
      assert.equal(back.ok && back.text, text);
    });
  }

  it('handles a value over two lines, refuses an unclosed quote, leaves a token a person put elsewhere', () => {
    const multi = 'GRUB_CMDLINE_LINUX="quiet\n  splash"\nGRUB_TIMEOUT=5\n';
    assert.deepEqual(bashCmdline(mustAdd(multi).text), ['quiet', 'splash', T]);
    assert.equal(addArgument('GRUB_CMDLINE_LINUX="quiet\n', T).ok, false);
    const elsewhere = 'GRUB_CMDLINE_LINUX="disable_radix quiet"\n';
    assert.equal(mustAdd(elsewhere).changed, false);
    const rm = removeArgument(elsewhere, T);
    assert.equal(rm.ok, false);
  });

  it('uses the last assignment, as the shell does', () => {
    const text = 'GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b"\n';
    assert.equal(mustAdd(text).text, 'GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX="b disable_radix"\n');
  });
});

describe('grub editor (pure): properties', () => {
  it('apply changes no other line (only the assignment, or one appended line)', () => {
    fc.assert(
      fc.property(grubFile, (text) => {
        const out = mustAdd(text).text;
        const a = text.split('\n');
        const b = out.split('\n');
        if (b.length === a.length) {
          assert.equal(a.filter((l, i) => l !== b[i]).length, 1);
        } else {
          // GRUB_CMDLINE_LINUX was missing: one line appended, the old lines untouched.
          assert.deepEqual(b.slice(0, a.length - 1), a.slice(0, a.length - 1));
          assert.ok(b.length - a.length <= 2);
        }
      }),
      { numRuns: 400 },
    );
  });

  it('apply is idempotent, and undo restores the original bytes', () => {
    fc.assert(
      fc.property(grubFile, (text) => {
        const once = mustAdd(text);
        assert.equal(mustAdd(once.text).changed, false);
        const back = removeArgument(once.text, T);
        assert.ok(back.ok, back.ok ? '' : back.reason);
        assert.equal(back.text, text);
      }),
      { numRuns: 400 },
    );
  });

  it('adds exactly one token, as bash reads the file', () => {
    fc.assert(
      fc.property(grubFile, (text) => {
        assert.deepEqual(bashCmdline(mustAdd(text).text), [...bashCmdline(text), T]);
      }),
      { numRuns: 80 },
    );
  });
});
