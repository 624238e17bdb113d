import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { disableRadixValue } from '../../src/parse/cmdline.js';
import { addArgument, removeArgument } from '../../src/steps/host-changes/grub-default.js';

const T = 'disable_radix';
const dir = mkdtempSync(join(tmpdir(), 'talos-mac-hostile-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** What the system reads: bash sources the file (argv only), as grub-mkconfig does. */
function sourced(text: string): { linux: string; linuxDefault: string } {
  const file = join(dir, 'grub');
  writeFileSync(file, Buffer.from(text, 'latin1'));
  const r = spawnSync('bash', ['-c', 'set -a; . "$1" >/dev/null 2>&1 </dev/null; printf "%s\\0%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"', '_', file], {
    encoding: 'latin1',
    env: { PATH: '/usr/bin:/bin' },
  });
  const [linux = '', linuxDefault = ''] = r.stdout.split('\0');
  return { linux, linuxDefault };
}

const words = (s: string) => s.split(/[ \t\n]+/).filter(Boolean);

/** Either a refusal, or an edit that bash reads as the old value plus the token, winning on the kernel line. */
function refusedOrProven(text: string): 'refused' | 'edited' | 'unchanged' {
  const r = addArgument(text, T);
  if (!r.ok) {
    assert.ok(r.reason.length > 10, 'a refusal says why');
    return 'refused';
  }
  if (!r.changed) {
    const b = sourced(text);
    assert.equal(disableRadixValue(`${b.linux} ${b.linuxDefault}`), true, `left alone, so bash must read disable_radix winning already:\n${JSON.stringify(text)}`);
    return 'unchanged';
  }
  const b = sourced(text);
  const a = sourced(r.text);
  assert.deepEqual(words(a.linux), [...words(b.linux), T], `bash reads GRUB_CMDLINE_LINUX of\n${JSON.stringify(r.text)}`);
  assert.equal(a.linuxDefault, b.linuxDefault, 'GRUB_CMDLINE_LINUX_DEFAULT untouched');
  // grub-mkconfig's normal entry: linux … $GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT; the last disable_radix wins.
  assert.equal(disableRadixValue(`${a.linux} ${a.linuxDefault}`), true, 'disable_radix wins on the kernel line');
  const back = removeArgument(r.text, T);
  assert.ok(back.ok && back.changed && back.text === text, 'undo restores the bytes');
  return 'edited';
}

describe('grub editor: files written by people (each edit proven by bash sourcing it)', () => {
  const refused: Record<string, string> = {
    'command substitution in the value': 'GRUB_CMDLINE_LINUX="$(cat /proc/cmdline) quiet"\n',
    // Found by the property test below (seed 1238608004): the continuation makes "if" a command name, so "then" is a syntax error.
    'a line continuation that turns "if" into a command': 'GRUB_TIMEOUT=5 \\\nif false; then GRUB_CMDLINE_LINUX=""; fi\n',
    'backticks in the value': 'GRUB_CMDLINE_LINUX="`echo quiet`"\n',
    'a variable in the value': 'GRUB_CMDLINE_LINUX="$EXTRA quiet"\n',
    'the name inside another multi-line string, after the real one': 'GRUB_CMDLINE_LINUX="quiet"\nGRUB_NOTE="remember:\nGRUB_CMDLINE_LINUX=\\"splash\\"\n"\n',
    'CRLF line endings': 'GRUB_DEFAULT=0\r\nGRUB_CMDLINE_LINUX="quiet"\r\n',
    'a NUL byte': 'GRUB_CMDLINE_LINUX="quiet"\n\0GRUB_TIMEOUT=5\n',
    'disable_radix=0 in GRUB_CMDLINE_LINUX': 'GRUB_CMDLINE_LINUX="disable_radix=0 quiet"\n',
    'disable_radix=0 in GRUB_CMDLINE_LINUX_DEFAULT (it comes last on the line)': 'GRUB_CMDLINE_LINUX="quiet"\nGRUB_CMDLINE_LINUX_DEFAULT="splash disable_radix=0"\n',
    'an assignment after &&': 'GRUB_CMDLINE_LINUX="a"\n[ -e /etc/x ] && GRUB_CMDLINE_LINUX="b"\n',
    'an assignment inside if': 'GRUB_CMDLINE_LINUX="a"\nif [ -e /etc/x ]; then GRUB_CMDLINE_LINUX="b"; fi\n',
    'an assignment inside a function': 'f() { GRUB_CMDLINE_LINUX="b"; }\nGRUB_CMDLINE_LINUX="a"\n',
    '+=': 'GRUB_CMDLINE_LINUX="a"\nGRUB_CMDLINE_LINUX+=" b"\n',
    'an assignment before a command (it does not last)': 'GRUB_CMDLINE_LINUX="a" true\n',
    'a here-document': 'cat <<EOF >/dev/null\nGRUB_CMDLINE_LINUX="b"\nEOF\nGRUB_CMDLINE_LINUX="a"\n',
    'an unclosed quote': 'GRUB_CMDLINE_LINUX="quiet\n',
    'eval': 'GRUB_CMDLINE_LINUX="a"\neval "GRUB_CMDLINE_LINUX=b"\n',
  };
  for (const [name, text] of Object.entries(refused)) {
    it(`refuses: ${name}`, () => assert.equal(refusedOrProven(text), 'refused'));
  }

  const edited: Record<string, [string, string]> = {
    'an assignment after ;': ['GRUB_TIMEOUT=5; GRUB_CMDLINE_LINUX="quiet"\n', 'quiet'],
    'the last of several, one after ;': ['GRUB_CMDLINE_LINUX="a"\nGRUB_TIMEOUT=5; GRUB_CMDLINE_LINUX="b c"\n', 'b c'],
    'export NAME=value': ['export GRUB_CMDLINE_LINUX="quiet"\n', 'quiet'],
    'two assignments in one command': ['GRUB_CMDLINE_LINUX="quiet" GRUB_TIMEOUT=5\n', 'quiet'],
    "Fedora's $(sed …) distributor beside it": ['GRUB_DISTRIBUTOR="$(sed \'s, release .*$,,g\' /etc/system-release)"\nGRUB_CMDLINE_LINUX="rhgb quiet"\n', 'rhgb quiet'],
    "Ubuntu's backtick distributor with a subshell": ['GRUB_DISTRIBUTOR=`( . /etc/os-release; echo ${NAME:-Ubuntu} ) 2>/dev/null || echo Ubuntu`\nGRUB_CMDLINE_LINUX=""\n', ''],
    'a multi-line value': ['GRUB_CMDLINE_LINUX="quiet\n  splash"\n', 'quiet splash'],
    'the name only in comments and as _DEFAULT': ['# GRUB_CMDLINE_LINUX="disable_radix"\nGRUB_CMDLINE_LINUX_DEFAULT="quiet"  # not GRUB_CMDLINE_LINUX\n', ''],
    'export of the bare name': ['GRUB_CMDLINE_LINUX="a"; export GRUB_CMDLINE_LINUX\n', 'a'],
    'an escaped quote inside the value': ['GRUB_CMDLINE_LINUX="acpi_osi=\\"Linux\\" quiet"\n', 'acpi_osi="Linux" quiet'],
  };
  for (const [name, [text, value]] of Object.entries(edited)) {
    it(`edits, proven by bash: ${name}`, () => {
      assert.equal(words(sourced(text).linux).join(' '), value, 'the case reads as intended');
      assert.equal(refusedOrProven(text), 'edited');
    });
  }

  it('disable_radix=1 set by a person is left alone', () => {
    const r = addArgument('GRUB_CMDLINE_LINUX="disable_radix=1"\n', T);
    assert.equal(r.ok, false);
  });
});

const arg = fc.stringMatching(/^[a-z0-9][a-z0-9=._,:-]{0,8}$/).filter((a) => !a.startsWith(T));
const value = fc.array(arg, { maxLength: 3 }).chain((a) =>
  fc.constantFrom(`"${a.join(' ')}"`, `'${a.join(' ')}'`, a.join('\\ '), `"${a.join('\n')}"`, `"$(echo ${a.join(' ')})"`, `\`echo ${a[0] ?? ''}\``, `"\\$x ${a.join(' ')}"`),
);
const name = fc.constantFrom('GRUB_CMDLINE_LINUX', 'GRUB_CMDLINE_LINUX_DEFAULT', 'GRUB_TIMEOUT', 'GRUB_NOTE');
const hostileLine = fc.oneof(
  fc.tuple(name, value).map(([n, v]) => `${n}=${v}`),
  fc.tuple(name, value, name, value).map(([n, v, m, w]) => `${n}=${v}; ${m}=${w}`),
  fc.tuple(name, value).map(([n, v]) => `true && ${n}=${v}`),
  fc.tuple(name, value).map(([n, v]) => `false || ${n}=${v}`),
  fc.tuple(name, value).map(([n, v]) => `if false; then ${n}=${v}; fi`),
  fc.tuple(name, value).map(([n, v]) => `${n}+=${v}`),
  fc.tuple(name, value).map(([n, v]) => `export ${n}=${v}`),
  fc.tuple(name, value).map(([n, v]) => `${n}=${v} true`),
  fc.tuple(name, value).map(([n, v]) => `(${n}=${v})`),
  fc.tuple(value).map(([v]) => `GRUB_NOTE="x\nGRUB_CMDLINE_LINUX=${v.replace(/"/g, '\\"')}\n"`),
  fc.tuple(name, value).map(([n, v]) => `${n}=${v}\r`),
  fc.tuple(name, value).map(([n, v]) => `# ${n}=${v}`),
  fc.constantFrom('GRUB_CMDLINE_LINUX_DEFAULT="quiet disable_radix=0"', 'GRUB_CMDLINE_LINUX="disable_radix"', 'export GRUB_CMDLINE_LINUX', 'GRUB_TIMEOUT=5 \\', '\0', 'echo GRUB_CMDLINE_LINUX=x', ''),
);
const hostileFile = fc.tuple(fc.array(hostileLine, { maxLength: 6 }), fc.boolean()).map(([lines, nl]) => lines.join('\n') + (nl && lines.length ? '\n' : ''));

describe('grub editor: hostile files (fast-check, each edit sourced by bash)', () => {
  it('refuses, leaves alone, or edits so that bash reads exactly one more token that wins; undo restores the bytes', () => {
    const seen = { refused: 0, edited: 0, unchanged: 0 };
    fc.assert(
      fc.property(hostileFile, (text) => {
        seen[refusedOrProven(text)]++;
      }),
      { numRuns: 300 },
    );
    assert.ok(seen.refused > 20 && seen.edited > 20, `both outcomes exercised: ${JSON.stringify(seen)}`);
  });
});
