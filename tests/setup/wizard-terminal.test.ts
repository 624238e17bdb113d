// The setup wizard end to end, as a person meets it: the real CLI in a pseudo-terminal (script(1)),
// answered by typing, against sandbox roots built from the captured POWER9 hosts; and the same
// journeys unattended (--yes and flags, no terminal).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/exit-codes.js';
import { SetupReportSchema } from '../../src/setup/report-schema.js';
import { BIN, SNAPSHOTS } from '../helpers/cli.js';
import { withSandbox, type Sandbox } from './sandbox.js';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import { SUDO_TTY_RE } from '../helpers/sudo.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

/** The sandbox's guests live in its own XDG directories. */
const xdg = (sb: Sandbox): NodeJS.ProcessEnv => ({
  XDG_DATA_HOME: join(sb.root, '..', 'xdg', 'data'),
  XDG_CONFIG_HOME: join(sb.root, '..', 'xdg', 'config'),
  XDG_STATE_HOME: join(sb.root, '..', 'xdg', 'state'),
  XDG_CACHE_HOME: join(sb.root, '..', 'xdg', 'cache'),
});

interface Turn {
  /** Shown on the screen since the previous answer. */
  when: RegExp;
  keys: string;
}

/** Runs setup in a pseudo-terminal and types each turn's keys once its question shows. */
function wizard(sb: Sandbox, args: string[], turns: Turn[], extraEnv: NodeJS.ProcessEnv = {}, columns?: number): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...sb.env, ...xdg(sb), ...extraEnv, NO_COLOR: '1', COLUMNS: '100' };
    for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
    const argv = [process.execPath, BIN, 'setup', '--root', sb.root, '--user', 'alice', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // The pseudo-terminal's width: unset (0) unless a test sets it.
    const cmd = columns ? `stty cols ${columns} rows 50; exec ${argv}` : argv;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let screen = '';
    let seen = 0;
    let turn = 0;
    child.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
      const t = turns[turn];
      if (t && t.when.test(screen.slice(seen))) {
        seen = screen.length;
        turn++;
        setTimeout(() => child.stdin.write(t.keys), 120);
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}

/** Every file under the sandbox (its root and its guests), by path and content hash. */
async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out[relative(dir, p)] = createHash('sha256').update(await readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}

/** A reboot of the sandbox: a new boot id, and the MMU the boot configuration asked for. */
async function reboot(sb: Sandbox, cpuinfoFrom: string): Promise<void> {
  await mkdir(join(sb.root, 'proc/sys/kernel/random'), { recursive: true });
  await writeFile(join(sb.root, 'proc/sys/kernel/random/boot_id'), `${Date.now()}-after\n`);
  await copyFile(join(SNAPSHOTS, cpuinfoFrom, 'proc/cpuinfo'), join(sb.root, 'proc/cpuinfo'));
}

const NO_GUEST = { when: /Create a Mac OS guest now\? \(Y\/n\)/, keys: 'n\r' };

describe('setup in a terminal', { skip: !hasScript && 'script(1) not installed', concurrency: 2 }, () => {
  it('a PR kernel on radix: the plan with one reboot → apply → stop → resume after the reboot', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      await mkdir(join(sb.root, 'proc/sys/kernel/random'), { recursive: true });
      await writeFile(join(sb.root, 'proc/sys/kernel/random/boot_id'), 'before\n');
      const one = await wizard(sb, [], [NO_GUEST, { when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }]);
      assert.match(one.screen, /The plan:/);
      assert.match(one.screen, /1\. Boot with the hash MMU \(disable_radix\), for the next boot — (with sudo: )?edit \/etc\/default\/grub, run update-grub/);
      assert.match(one.screen, /Then one reboot: in Petitboot, boot this system's usual entry\./);
      assert.match(one.screen, /After the reboot, run `talos-mac setup` again: it checks that the reboot did what it should, then: load the kvm_pr module/);
      assert.ok(one.screen.indexOf('The plan:') < one.screen.indexOf('Create a Mac OS guest now?'), 'the plan before the questions');
      assert.match(one.screen, /In Petitboot, boot this system's usual entry: its boot configuration now passes disable_radix/);
      assert.match(one.screen, /Reboot now \(for Run the hash MMU\), then run `talos-mac setup` again/);
      assert.match(one.screen, /Next: sudo reboot {2}then {2}talos-mac setup/);
      assert.equal(one.code, EXIT.REBOOT_NEEDED, one.screen);
      assert.match((await sb.read('etc/default/grub')).toString(), /disable_radix/);

      // The same boot again: setup says the reboot has not happened.
      const early = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }]);
      assert.match(early.screen, /has not happened yet \(same boot\)/);

      await reboot(sb, 'pr-kernel-6.1.176-hash');
      const two = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }]);
      assert.match(two.screen, /The reboot did what setup expected \(hash MMU\)/);
      assert.match(two.screen, /✓ \[done\]\s+Run the hash MMU: Hash MMU/);
      assert.notEqual(two.code, EXIT.REBOOT_NEEDED, two.screen);
    });
  });

  it('Debian 12 on radix (its kernel cannot do KVM-PR): no MMU switch and no reboot for nothing; done for TCG', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-radix', grub: 'debian12' }, async (sb) => {
      const before = await sb.read('etc/default/grub');
      const r = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }]);
      assert.match(r.screen, /Reboots: none\./);
      assert.match(r.screen, /KVM-PR: this kernel cannot do it, and the hash MMU alone gains nothing/);
      assert.match(r.screen, /Setup complete for TCG guests/);
      assert.equal(r.code, 0, r.screen);
      assert.deepEqual(await sb.read('etc/default/grub'), before);
      assert.deepEqual((await sb.commands()).filter((c) => c[0] === 'update-grub'), []);
    });
  });

  it('Ctrl-C while a change runs: that change is rolled back, nothing after it runs, exit 130', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      const before = await sb.read('etc/default/grub');
      const marker = join(sb.root, '..', 'regenerating');
      const r = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }, { when: new RegExp(`\\$ ${SUDO_TTY_RE}update-grub`), keys: '\x03' }], { FAKE_REGEN_PAUSE: marker });
      assert.equal(r.code, EXIT.INTERRUPTED, r.screen);
      assert.match(r.screen, /Interrupted: finishing \(or rolling back\) the change in progress, then stopping/);
      assert.match(r.screen, /\/etc\/default\/grub was restored to its original content/);
      assert.deepEqual(await sb.read('etc/default/grub'), before);
      assert.deepEqual((await sb.commands()).map((c) => c[0]), ['update-grub'], 'no step after the interrupted one ran');
    });
  });

  it('a narrow terminal: lines wrap at spaces, words and paths stay whole', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-radix', grub: 'debian12' }, async (sb) => {
      const r = await wizard(sb, ['--no-guest', '--dry-run'], [], {}, 60);
      const text = r.screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      const lines = text.split(/\r?\n/);
      for (const l of lines) assert.ok([...l].length <= 60 || !l.trim().includes(' '), `breakable line over 60 columns: ${JSON.stringify(l)}`);
      // A long path the plan prints, whole on one line (never split where it has no space).
      assert.ok(lines.some((l) => l.includes(`${sb.root};`)), "the sandbox root's path is whole");
      assert.match(text, /(minutes|hours) with -j\d+/);
    });
  });

  it('a terminal with a width: each change runs in a live progress display (listr2), then its state after', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      const r = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }], {}, 120);
      assert.equal(r.code, EXIT.REBOOT_NEEDED, r.screen);
      const text = r.screen.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
      assert.match(text, /✔ Boot with the hash MMU \(disable_radix\)/, 'the finished task');
      assert.match(text, new RegExp(`\\$ ${SUDO_TTY_RE}update-grub`), 'its commands shown in the display');
      assert.match(text, /→ ✓ \[done\]\s+Boot with the hash MMU \(disable_radix\): the boot loader passes disable_radix/, 'verified after');
    });
  });

  it('still radix after the reboot: the likely causes', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      const one = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }]);
      assert.equal(one.code, EXIT.REBOOT_NEEDED, one.screen);
      await reboot(sb, 'pr-kernel-6.1.176-radix');
      const two = await wizard(sb, ['--no-guest'], []);
      assert.match(two.screen, /After the reboot the MMU is still radix.*Petitboot booted another entry/s);
    });
  });

  it('a ready host: only the guest questions, typed; the guest is created', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      const ready = await wizard(sb, ['--yes', '--no-guest'], []);
      assert.equal(ready.code, 0, ready.screen);
      const r = await wizard(sb, [], [
        { when: /Create a Mac OS guest now\? \(Y\/n\)/, keys: 'y\r' },
        { when: /Which Mac OS\?/, keys: '\r' },
        { when: /Guest name\?/, keys: 'my tiger\r' },
        { when: /use letters, digits/, keys: '\x7f'.repeat(8) + 'mytiger\r' },
        { when: /RAM in MiB\?/, keys: '4096\r' },
        { when: /RAM must be 64 to 2048 MiB/, keys: '\x7f'.repeat(4) + '768\r' },
        { when: /Size of its new disk\?/, keys: '\r' },
        { when: /Install CD\/DVD image/, keys: '\r' },
        { when: /Network/, keys: '\r' },
      ]);
      assert.equal(r.code, 0, r.screen);
      assert.doesNotMatch(r.screen, /Proceed\?/, 'nothing on the host to change: no question about it');
      assert.match(r.screen, /Created the guest mytiger: Mac OS X 10\.4 Tiger, 768 MiB/);
      assert.match(r.screen, /Next: talos-mac set mytiger --cdrom FILE {2}then {2}talos-mac launch mytiger --install/, 'no CD yet: launch would refuse');
      assert.match(await readFile(join(xdg(sb).XDG_CONFIG_HOME!, 'talos-mac', 'guests', 'mytiger.toml'), 'utf8'), /ram = 768/);
    });
  });

  it('a second run on a finished host asks nothing, changes nothing (byte-identical) and says so', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      const first = await wizard(sb, ['--no-guest'], [{ when: /Proceed\? \(Y\/n\)/, keys: 'y\r' }]);
      assert.equal(first.code, 0, first.screen);
      const before = await tree(join(sb.root, '..'));
      const again = await wizard(sb, ['--no-guest'], []);
      assert.equal(again.code, 0, again.screen);
      assert.doesNotMatch(again.screen, /\? \((?:Y\/n|y\/N)\)/, 'no question');
      assert.match(again.screen, /Nothing to do: this host is set up for KVM-PR/);
      const after = await tree(join(sb.root, '..'));
      delete before['calls.log'];
      delete after['calls.log'];
      assert.deepEqual(after, before);
    });
  });

  it('an x86 host: nothing on the host applies; the guest is created for TCG, exit 0', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      await writeFile(join(sb.root, 'proc/cpuinfo'), (await readFile(join(sb.root, 'proc/cpuinfo'), 'utf8')).replace(/^cpu\s*:.*$/m, 'cpu\t\t: x86'));
      const r = await wizard(sb, [], [
        { when: /Create a Mac OS guest now\? \(Y\/n\)/, keys: '\r' },
        { when: /Which Mac OS\?/, keys: '\x1b[B\r' },
        { when: /Guest name\?/, keys: '\r' },
        { when: /RAM in MiB\?/, keys: '\r' },
        { when: /Size of its new disk\?/, keys: '\r' },
        { when: /Install CD\/DVD image/, keys: '\r' },
        { when: /Network/, keys: 'none\r' },
      ], { FAKE_UNAME_M: 'x86_64' });
      assert.equal(r.code, 0, r.screen);
      assert.match(r.screen, /Not for this host: MMU, Kernel, KVM \(not a POWER host \(x86_64\)\)/);
      assert.match(r.screen, /TCG \(this host cannot do KVM-PR\)/);
      assert.match(r.screen, /Created the guest leopard: Mac OS X 10\.5 Leopard/);
      assert.match(r.screen, /Nothing to do: not a POWER host \(x86_64\)/);
    });
  });
});

describe('setup unattended (--yes and flags, no terminal)', () => {
  const run = (sb: Sandbox, args: string[], extra: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [BIN, 'setup', '--root', sb.root, '--user', 'alice', ...args], { encoding: 'utf8', env: { ...process.env, ...sb.env, ...xdg(sb), ...extra, NO_COLOR: '1' } });

  it('every missing flag at once, before anything changes', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-radix', grub: 'debian12' }, async (sb) => {
      const before = await tree(join(sb.root, '..'));
      const r = run(sb, []);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /setup needs answers it cannot ask for without a terminal: --os or --no-guest \(Create a Mac OS guest now\?\), --yes \(to proceed\)\. Nothing was changed\./);
      assert.deepEqual(await tree(join(sb.root, '..')), before);
    });
  });

  it('--cdrom that is not a Mac boot disc is refused before anything changes', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      const pc = join(sb.root, '..', 'random.iso');
      await writeFile(pc, Buffer.alloc(70_000, 7));
      const before = await tree(sb.root);
      const r = run(sb, ['--yes', '--os', 'tiger', '--cdrom', pc]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /--cdrom .*random\.iso: not a PowerPC Mac boot disc/);
      assert.deepEqual(await tree(sb.root), before);
    });
  });

  it('a real Mac boot disc (the demo CD) is accepted and described; the next commands install, then boot', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      const dir = join(sb.root, '..', 'cd');
      await mkdir(dir);
      const cd = await buildBootImage(new LiveHost(), dir, 'cd');
      const r = run(sb, ['--yes', '--os', 'tiger', '--cdrom', cd]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /The install CD is a PowerPC Mac boot disc \(TALOS-MAC-DEMO\): the disc does not say which Mac OS it holds/);
      assert.match(r.stdout, /Next: talos-mac launch tiger --install {2}then {2}talos-mac launch tiger/);
    });
  });

  it('--yes --os tiger --json: one document; a second run changes nothing (files byte-identical) and says so', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      const first = run(sb, ['--yes', '--os', 'tiger', '--json']);
      assert.equal(first.status, 0, first.stderr);
      const doc = SetupReportSchema.parse(JSON.parse(first.stdout));
      assert.equal(doc.outcome, 'done');
      assert.equal(doc.guest?.name, 'tiger');
      assert.equal(doc.guest?.created, true);
      assert.deepEqual(doc.next, ['talos-mac set tiger --cdrom FILE', 'talos-mac launch tiger --install']);
      assert.ok(doc.results.some((s) => s.id === 'mmu.next-boot' && s.applies));
      assert.ok((await stat(doc.guest!.definition!)).isFile());

      const before = await tree(join(sb.root, '..'));
      const again = run(sb, ['--yes', '--os', 'tiger', '--json']);
      assert.equal(again.status, 0, again.stderr);
      const doc2 = SetupReportSchema.parse(JSON.parse(again.stdout));
      assert.equal(doc2.guest?.created, false);
      assert.ok(doc2.results.every((s) => !s.applies), 'nothing applied the second time');
      assert.match(again.stderr, /Nothing to do: this host is set up for KVM-PR/);
      assert.match(again.stderr, /The guest tiger exists already/);
      const after = await tree(join(sb.root, '..'));
      delete before['calls.log'];
      delete after['calls.log'];
      assert.deepEqual(after, before, 'the sandbox is byte-identical after the second run');
    });
  });
});
