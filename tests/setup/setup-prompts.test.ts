import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { spawn, spawnSync } from 'node:child_process';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Question } from '../../src/ui/prompts.js';
import { makePrompts } from '../../src/ui/prompts.js';
import { runSetup } from '../../src/setup/setup.js';
import { BIN } from '../helpers/cli.js';
import { confirmOnly } from '../helpers/prompts.js';
import { withSandbox, type Sandbox } from './sandbox.js';

const HV_LOADED = 'kvm_hv 393216 0 - Live 0x0\nkvm 524288 1 kvm_hv, Live 0x0\n';

describe('setup questions go through the Prompts wrapper (replaced here)', () => {
  /** setup with a wrapper that answers from `answers` and records every question. */
  async function withAnswers(sb: Sandbox, answers: [RegExp, boolean][]): Promise<{ code: number; asked: Question[]; lines: string[] }> {
    const asked: Question[] = [];
    const lines: string[] = [];
    const code = await runSetup(
      { user: 'alice', root: sb.root },
      {
        out: (l) => lines.push(l),
        interactive: true,
        env: { ...process.env, ...sb.env },
        uid: 0,
        prompts: confirmOnly(async (q) => {
          asked.push(q);
          for (const [re, a] of answers) if (re.test(q.message)) return a;
          throw new Error(`unexpected question: ${q.message}`);
        }),
      },
    );
    return { code, asked, lines };
  }

  it('one question for the whole plan: "no" changes nothing', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12', modules: HV_LOADED }, async (sb) => {
      const before = await sb.read('etc/default/grub');
      const r = await withAnswers(sb, [[/Create a Mac OS guest/, false], [/^Proceed\?$/, false]]);
      assert.deepEqual(r.asked.map((q) => q.message), ['Create a Mac OS guest now?', 'Proceed?']);
      assert.equal(r.code, 0);
      assert.ok(r.lines.includes('Nothing was changed.'));
      assert.deepEqual(await sb.commands(), []);
      assert.deepEqual(await sb.read('etc/default/grub'), before);
    });
  });

  it('"yes" applies the plan; the kvm_hv blacklist is still asked separately, defaulting to no', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12', modules: HV_LOADED }, async (sb) => {
      const r = await withAnswers(sb, [[/Create a Mac OS guest/, false], [/^Proceed\?$/, true], [/keep kvm_hv from loading at boot/, true]]);
      assert.deepEqual(r.asked.map((q) => q.message), [
        'Create a Mac OS guest now?',
        'Proceed?',
        'Also keep kvm_hv from loading at boot (writes /etc/modprobe.d/talos-mac-kvm-hv.conf)?',
      ]);
      assert.equal(r.asked[2]!.default, false, 'blacklisting defaults to no');
      assert.equal(r.code, 0, r.lines.join('\n'));
      assert.deepEqual((await sb.commands()).map((c) => c.join(' ')), ['update-grub', 'modprobe kvm_pr', `usermod -R ${sb.root} -aG kvm alice`, 'modprobe -r kvm_hv']);
      assert.ok(await stat(join(sb.root, 'etc/modprobe.d/talos-mac-kvm-hv.conf')));
    });
  });

  it('--yes answers yes, except questions only a person should answer; no terminal refuses to ask', async () => {
    const yes = makePrompts({ yes: true, interactive: false });
    assert.equal(await yes.confirm({ message: 'x', default: false }), true);
    assert.equal(await yes.confirm({ message: 'x', default: true, unattended: false }), false);
    const none = makePrompts({ yes: false, interactive: false });
    await assert.rejects(none.confirm({ message: 'Load kvm_pr?', default: true }), /not a terminal.*--yes/);
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs setup in a real pseudo-terminal (script(1)) and types `keys[i]` when the i-th yes/no question shows. */
function inTerminal(sb: Sandbox, keys: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...sb.env, NO_COLOR: '1' };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const cmd = `'${process.execPath}' '${BIN}' setup --root '${sb.root}' --user alice`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let answered = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const asked = out.match(/\? \((?:Y\/n|y\/N)\)/g)?.length ?? 0;
      if (asked > answered && answered < keys.length) {
        const k = keys[answered]!;
        answered = asked;
        setTimeout(() => child.stdin.write(k), 150);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('setup in a real terminal (script(1) pseudo-terminal, @inquirer/prompts)', { skip: !hasScript && 'script(1) not installed' }, () => {
  it('asks, and "y" applies the step', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      const r = await inTerminal(sb, ['n\r', 'y\r']);
      assert.equal(r.code, EXIT.REBOOT_NEEDED, r.out);
      assert.match(r.out, /Create a Mac OS guest now\? No/);
      assert.match(r.out, /Proceed\? Yes/);
      assert.deepEqual(await sb.commands(), [['update-grub'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice']]);
    });
  });

  it('Ctrl-C at the question: exit 130, nothing changed', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      const before = await sb.read('etc/default/grub');
      const r = await inTerminal(sb, ['\x03']);
      assert.equal(r.code, 130, r.out);
      assert.match(r.out, /interrupted/);
      assert.deepEqual(await sb.read('etc/default/grub'), before);
      assert.deepEqual(await sb.commands(), []);
    });
  });
});
