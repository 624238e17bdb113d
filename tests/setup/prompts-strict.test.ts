import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { UserError } from '../../src/errors.js';
import { checkText, collectingPrompts, makePrompts, missingAnswers, parseYesNo, yesNoHint, type Prompts } from '../../src/ui/prompts.js';

const OS_CHOICES = [
  { value: '9.2', name: 'Mac OS 9.2.2' },
  { value: '10.4', name: 'Mac OS X 10.4 Tiger' },
] as const;
const guestName = (s: string) => (/^[a-z0-9][a-z0-9-]*$/.test(s) ? undefined : 'use lowercase letters, digits and -');

/** Rejects with a UserError of this exit code whose message matches `re`. */
async function rejectsUser(p: Promise<unknown>, code: number, re: RegExp) {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.equal(err.exitCode, code);
    assert.match(err.message, re);
    return true;
  });
}

describe('yes/no answers: only yes or no, never stray typing', () => {
  it('accepts "", y, yes, n, no in any case with spaces around; Enter is the default', () => {
    for (const dflt of [true, false]) {
      assert.equal(parseYesNo('', dflt), dflt);
      assert.equal(parseYesNo('   ', dflt), dflt);
    }
    for (const s of ['y', 'Y', 'yes', 'YES', ' Yes ', '\tyEs']) assert.equal(parseYesNo(s, false), true, JSON.stringify(s));
    for (const s of ['n', 'N', 'no', 'NO', ' No ']) assert.equal(parseYesNo(s, true), false, JSON.stringify(s));
  });

  it('refuses what @inquirer/prompts confirm would turn into the default or a yes', () => {
    for (const s of ['x', '?', 'yesterday', 'nope', 'ye', 'yes please', 'y y', '1', 'true', 'oui', 'nn']) {
      assert.equal(parseYesNo(s, true), undefined, JSON.stringify(s));
      assert.equal(parseYesNo(s, false), undefined, JSON.stringify(s));
    }
    assert.equal(yesNoHint(true), 'Answer yes or no (Enter: yes)');
    assert.equal(yesNoHint(false), 'Answer yes or no (Enter: no)');
  });
});

describe('text answers', () => {
  it('an empty answer is the default, else refused; spaces around are dropped before validation', () => {
    assert.equal(checkText({ message: 'Guest name?', flag: '--name' }, '  '), 'Type an answer');
    assert.equal(checkText({ message: 'Guest name?', flag: '--name', validate: guestName }, ' mac9 '), undefined);
    assert.equal(checkText({ message: 'Guest name?', flag: '--name', validate: guestName }, 'My Mac'), 'use lowercase letters, digits and -');
    assert.equal(checkText({ message: 'Guest name?', flag: '--name', default: 'mac9', validate: guestName }, ''), undefined);
    assert.equal(checkText({ message: 'Guest name?', flag: '--name', default: 'Bad Default', validate: guestName }, ''), 'use lowercase letters, digits and -');
  });
});

describe('--yes answers every question with its default, or names the flag it needs', () => {
  const yes = makePrompts({ yes: true, interactive: true });

  it('confirm: yes unless the question is only for a person; choose and text: their default', async () => {
    assert.equal(await yes.confirm({ message: 'Load kvm_pr?', default: false }), true);
    assert.equal(await yes.confirm({ message: 'Blacklist kvm_hv?', default: true, unattended: false }), false);
    assert.equal(await yes.choose({ message: 'Which Mac OS?', flag: '--os', choices: OS_CHOICES, default: '10.4' }), '10.4');
    assert.equal(await yes.text({ message: 'Guest name?', flag: '--name', default: 'mac9', validate: guestName }), 'mac9');
  });

  it('a question with no default (or a refused one) is a UserError naming its flag', async () => {
    await rejectsUser(yes.choose({ message: 'Which Mac OS?', flag: '--os', choices: OS_CHOICES }), 2, /--yes cannot answer "Which Mac OS\?".*give it with --os/);
    await rejectsUser(yes.text({ message: 'Guest name?', flag: '--name' }), 2, /--yes cannot answer "Guest name\?".*give it with --name/);
    await rejectsUser(yes.text({ message: 'Guest name?', flag: '--name', default: 'My Mac', validate: guestName }), 2, /default "My Mac" is refused: use lowercase.*--name/);
  });
});

describe('without a terminal nothing is asked', () => {
  const none = makePrompts({ yes: false, interactive: false });

  it('each question is a UserError (exit 2) naming the flag that answers it', async () => {
    await rejectsUser(none.confirm({ message: 'Load kvm_pr?', default: true }), 2, /"Load kvm_pr\?".*not a terminal.*--yes/);
    await rejectsUser(none.choose({ message: 'Which Mac OS?', flag: '--os', choices: OS_CHOICES, default: '9.2' }), 2, /"Which Mac OS\?".*not a terminal.*Give it with --os\./);
    await rejectsUser(none.text({ message: 'Guest name?', flag: '--name', default: 'mac9' }), 2, /"Guest name\?".*not a terminal.*Give it with --name\./);
  });

  /** A wizard's question phase: what it asks depends on earlier answers. */
  async function questions(p: Prompts, opts: { os?: string; name?: string; iso?: string } = {}) {
    const os = opts.os ?? (await p.choose({ message: 'Which Mac OS?', flag: '--os', choices: OS_CHOICES }));
    const name = opts.name ?? (await p.text({ message: 'Guest name?', flag: '--name', default: `mac${os.replace('.', '')}`, validate: guestName }));
    const replace = await p.confirm({ message: 'Replace the old guest?', default: true });
    const disk = await p.confirm({ message: 'Create its disk?', default: true });
    const iso = opts.iso ?? (await p.text({ message: 'Install CD image?', flag: '--iso' }));
    return { os, name, replace, disk, iso };
  }

  it('collect mode runs the whole question phase, then one error lists every missing flag once', async () => {
    const c = collectingPrompts({ yes: false });
    assert.deepEqual(await questions(c), { os: '9.2', name: 'mac92', replace: true, disk: true, iso: '' });
    assert.throws(
      () => c.finish(),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(err.exitCode, 2);
        assert.equal(
          err.message,
          'setup needs answers it cannot ask for without a terminal: --os (Which Mac OS?), --name (Guest name?), --yes (to proceed), --iso (Install CD image?). Nothing was changed.',
        );
        return true;
      },
    );
  });

  it('collect mode with --yes lists only questions with no default; flags given are not asked', async () => {
    const c = collectingPrompts({ yes: true });
    await questions(c);
    assert.throws(() => c.finish(), /without a terminal: --os \(Which Mac OS\?\), --iso \(Install CD image\?\)\. Nothing/);
    const given = collectingPrompts({ yes: true });
    assert.deepEqual(await questions(given, { os: '10.4', iso: '/srv/tiger.iso' }), { os: '10.4', name: 'mac104', replace: true, disk: true, iso: '/srv/tiger.iso' });
    given.finish();
  });

  it('missingAnswers: nothing missing is no error; the same flag is named once', () => {
    missingAnswers([{ flag: '--os', about: 'which Mac OS', has: true }]);
    assert.throws(
      () =>
        missingAnswers([
          { flag: '--yes', about: 'to proceed', has: false },
          { flag: '--os', about: 'which Mac OS', has: false },
          { flag: '--yes', about: 'to proceed', has: false },
          { flag: '--name', about: 'guest name', has: true },
        ]),
      { message: 'setup needs answers it cannot ask for without a terminal: --yes (to proceed), --os (which Mac OS). Nothing was changed.' },
    );
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;
const ENTRY = fileURLToPath(new URL('../helpers/prompts-entry.js', import.meta.url));
const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');

/**
 * Runs the prompts entry in a real pseudo-terminal (script(1)); each step waits for its screen text
 * (after the previous step's keys) and then types its keys.
 */
function inTerminal(steps: [RegExp, string][]): Promise<{ code: number | null; screen: string; stuck?: RegExp }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
    const child = spawn('script', ['-qfec', `'${process.execPath}' '${ENTRY}'`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let from = 0;
    let step = 0;
    let typing = false;
    const next = () => {
      const s = steps[step];
      if (typing || !s || !s[0].test(plain(out.slice(from)))) return;
      typing = true;
      setTimeout(() => {
        from = out.length;
        child.stdin.write(s[1]);
        step++;
        typing = false;
        next();
      }, 100);
    };
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      next();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen: plain(out), ...(step < steps.length ? { stuck: steps[step]![0] } : {}) });
    });
  });
}

describe('the prompts in a real terminal (script(1) pseudo-terminal)', { skip: !hasScript && 'script(1) not installed' }, () => {
  it('stray typing is asked again, Enter gives the default, arrows pick, invalid text is asked again with the reason', async () => {
    const r = await inTerminal([
      [/Replace the old guest\? \(Y\/n\)/, 'x\r'],
      [/> Answer yes or no \(Enter: yes\)/, 'n\r'],
      [/Keep its disk\? \(y\/N\)/, 'yesterday\r'],
      [/> Answer yes or no \(Enter: no\)/, '\r'],
      [/Which Mac OS\?[^]*Mac OS X 10\.4 Tiger/, '\x1b[B'],
      [/the last with Classic/, '\r'],
      [/Guest name\?/, 'My Mac\r'],
      [/> use lowercase letters, digits and -/, '\x7f'.repeat(6) + 'mac9\r'],
    ]);
    assert.equal(r.stuck, undefined, `the screen never showed ${r.stuck}:\n${r.screen}`);
    assert.equal(r.code, 0, r.screen);
    const answers = /ANSWERS (\{.*\})/.exec(r.screen);
    assert.ok(answers, r.screen);
    assert.deepEqual(JSON.parse(answers[1]!), { replace: false, keep: false, os: '10.4', name: 'mac9' });
    // The answered questions show the answer, not the hint; "x" and "yesterday" were never taken.
    assert.match(r.screen, /✔ Replace the old guest\? No/);
    // No stale hint under an answered question.
    assert.match(r.screen, /✔ Keep its disk\? No\n\? Which Mac OS\?/);
    assert.match(r.screen, /✔ Which Mac OS\? Mac OS X 10\.4 Tiger/);
    assert.match(r.screen, /✔ Guest name\? mac9/);
    assert.doesNotMatch(r.screen, /\? Yes/);
  });

  it('Ctrl-C at a question: exit 130, "interrupted: nothing more was changed.", no answers', async () => {
    const r = await inTerminal([[/Replace the old guest\? \(Y\/n\)/, '\x03']]);
    assert.equal(r.code, 130, r.screen);
    assert.match(r.screen, /interrupted: nothing more was changed\./);
    assert.doesNotMatch(r.screen, /ANSWERS/);
  });

  it('Ctrl-C in a list and in a text question: exit 130', async () => {
    const list = await inTerminal([
      [/Replace the old guest\? \(Y\/n\)/, '\r'],
      [/Keep its disk\? \(y\/N\)/, '\r'],
      [/Which Mac OS\?/, '\x03'],
    ]);
    assert.equal(list.code, 130, list.screen);
    const text = await inTerminal([
      [/Replace the old guest\? \(Y\/n\)/, 'yes\r'],
      [/Keep its disk\? \(y\/N\)/, ' Y \r'],
      [/Which Mac OS\?/, '\r'],
      [/Guest name\?/, 'ma\x03'],
    ]);
    assert.equal(text.code, 130, text.screen);
    assert.match(text.screen, /✔ Replace the old guest\? Yes[^]*✔ Keep its disk\? Yes[^]*✔ Which Mac OS\? Mac OS 9\.2\.2/);
  });
});
