import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { spawn, spawnSync } from 'node:child_process';
import { chmod, chown, cp, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hasStrace, killTraced, spawnWithSlowRenames } from '../helpers/slow-renames.js';
import { BIN, REPO } from '../helpers/cli.js';
import { withSandbox, type Sandbox } from './sandbox.js';
import { isRoot, SUDO_RE } from '../helpers/sudo.js';

const RADIX = 'pr-kernel-6.1.176-radix';
const NOBODY = ['--reuid=65534', '--regid=65534', '--clear-groups'];
// By its path: a test's PATH may hold only the sandbox's fakes.
const SETPRIV = spawnSync('sh', ['-c', 'command -v setpriv'], { encoding: 'utf8' }).stdout.trim() || 'setpriv';

/**
 * The CLI as `nobody` can run it: the checkout itself when nobody may read it, else a copy of the
 * bundle (it holds every dependency) in a world-readable temp dir — CI clones into private dirs.
 */
let nobodyBin: Promise<string> | undefined;
function binForNobody(): Promise<string> {
  return (nobodyBin ??= copyForNobody());
}

async function copyForNobody(): Promise<string> {
  if (spawnSync('setpriv', [...NOBODY, 'test', '-r', BIN]).status === 0) return BIN;
  const dir = await mkdtemp(join(tmpdir(), 'talos-mac-nobody-'));
  for (const part of ['bin', 'dist/cli', 'package.json']) await cp(join(REPO, part), join(dir, part), { recursive: true });
  const open = async (path: string): Promise<void> => {
    const s = await stat(path);
    await chmod(path, s.isDirectory() ? 0o755 : s.mode & 0o111 ? 0o755 : 0o644);
    if (s.isDirectory()) for (const e of await readdir(path)) await open(join(path, e));
  };
  await open(dir);
  return join(dir, 'bin', 'talos-mac.js');
}

async function snapshotOf(sb: Sandbox): Promise<{ grub: Buffer; cfg: Buffer; state: boolean }> {
  return {
    grub: await sb.read('etc/default/grub'),
    cfg: await sb.read('boot/grub/grub.cfg'),
    state: await stat(join(sb.root, 'var/lib/talos-mac/setup-record.json')).then(() => true, () => false),
  };
}

describe('setup failure paths', () => {
  it('regeneration fails: /etc/default/grub is restored and the message says so', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12-with-args' }, async (sb) => {
      const before = await snapshotOf(sb);
      const r = await sb.setup(['--yes', '--user', 'alice'], { FAKE_FAIL_REGEN: '1:/usr/sbin/grub-probe: error: failed to get canonical path of `overlay`.' });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /update-grub` exited with status 1: .*grub-probe.*restored to its original content/s);
      assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, 'no stack trace');
      const after = await snapshotOf(sb);
      assert.deepEqual(after.grub, before.grub);
      assert.deepEqual(after.cfg, before.cfg);
      const record = JSON.parse(await readFile(join(sb.root, 'var/lib/talos-mac/setup-record.json'), 'utf8'));
      assert.deepEqual(record.changes, [], 'a reverted change is not left for --undo');
    });
  });

  it('no regeneration tool and no BLS: leaves the boot configuration alone and says what to add where', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12', tools: ['modprobe', 'usermod', 'gpasswd'] }, async (sb) => {
      const before = await snapshotOf(sb);
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /\[todo\]    Boot with the hash MMU \(disable_radix\): .*\n.*\n  \(not done by setup in this run: talos-mac cannot recognise how this system sets kernel arguments: .*none of update-grub, grub-mkconfig, grub2-mkconfig is installed/);
      assert.match(r.stdout, /GRUB_CMDLINE_LINUX="…" in \/etc\/default\/grub/);
      const after = await snapshotOf(sb);
      assert.deepEqual([after.grub, after.cfg], [before.grub, before.cfg]);
      // The steps that do not depend on the boot loader still ran.
      assert.deepEqual((await sb.commands()).map((c) => c[0]), ['usermod']);
    });
  });

  it('a grub.d drop-in that overrides GRUB_CMDLINE_LINUX: names it and changes nothing', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      await mkdir(join(sb.root, 'etc/default/grub.d'));
      await writeFile(join(sb.root, 'etc/default/grub.d/50-cloudimg-settings.cfg'), 'GRUB_CMDLINE_LINUX="console=hvc0"\n');
      const before = await snapshotOf(sb);
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /\[blocked\] Boot with the hash MMU \(disable_radix\): .*50-cloudimg-settings\.cfg sets GRUB_CMDLINE_LINUX/);
      const after = await snapshotOf(sb);
      assert.deepEqual([after.grub, after.cfg], [before.grub, before.cfg]);
      assert.ok(!(await sb.commands()).some((c) => c[0] === 'update-grub'));
    });
  });

  it('--undo runs only what setup itself records: a planted command is left alone; a broken record is a clear error', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const planted = join(sb.root, '..', 'planted');
      await mkdir(join(sb.root, 'var/lib/talos-mac'), { recursive: true });
      const record = {
        format: 'talos-mac-setup-record',
        version: 1,
        changes: [
          { kind: 'command', step: 'kvm.pr-loaded', at: '2026-01-01T00:00:00Z', argv: ['modprobe', 'kvm_pr'], undo: ['touch', planted] },
          { kind: 'file-created', step: 'kvm.pr-at-boot', at: '2026-01-01T00:00:00Z', path: '/etc/passwd', sha256Written: '0' },
        ],
      };
      await writeFile(join(sb.root, 'var/lib/talos-mac/setup-record.json'), JSON.stringify(record));
      const r = await sb.setup(['--undo', '--yes']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /does not make .*left alone/);
      assert.equal(await stat(planted).then(() => true, () => false), false);
      assert.ok(await stat(join(sb.root, 'etc/passwd')));
      await writeFile(join(sb.root, 'var/lib/talos-mac/setup-record.json'), '{"format":');
      const bad = await sb.setup(['--undo', '--yes']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /setup-record\.json is not valid JSON/);
    });
  });

  it('grub2-mkconfig only, /boot/grub2: regenerates to /boot/grub2/grub.cfg', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12', grubDir: '/boot/grub2', tools: ['grub2-mkconfig', 'usermod'] }, async (sb) => {
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, EXIT.REBOOT_NEEDED, r.stdout + r.stderr);
      assert.deepEqual(await sb.commands(), [['grub2-mkconfig', '-o', '/boot/grub2/grub.cfg'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice']]);
      assert.match((await sb.read('boot/grub2/grub.cfg')).toString(), /disable_radix/);
    });
  });

  it('no terminal and no --yes: refuses to ask (never hangs), nothing changed', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const before = await snapshotOf(sb);
      const r = await sb.setup(['--user', 'alice']);
      assert.equal(r.code, 2);
      // Every missing answer at once, before anything ran.
      assert.match(r.stderr, /setup needs answers it cannot ask for without a terminal: --os or --no-guest \(Create a Mac OS guest now\?\), --yes \(to proceed\)\. Nothing was changed\./);
      assert.deepEqual(await snapshotOf(sb), before);
    });
  });

  it('--dry-run runs read-only commands only and changes nothing', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const before = await snapshotOf(sb);
      const r = await sb.setup(['--dry-run', '--user', 'alice']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /would: replace \/etc\/default\/grub atomically/);
      assert.match(r.stdout, new RegExp(`would: \\$ ${SUDO_RE}update-grub`));
      assert.match(r.stdout, new RegExp(`would: \\$ ${SUDO_RE}usermod -R \\S+ -aG kvm alice`));
      assert.deepEqual(await snapshotOf(sb), before);
      assert.deepEqual(await sb.commands(), []);
    });
  });

  it('interrupted between write and rename (the rename held by strace, then kill -9): the old file stays whole', { skip: !hasStrace && 'strace is not installed' }, async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12-with-args' }, async (sb) => {
      const before = await sb.read('etc/default/grub');
      const argv = [process.execPath, BIN, 'setup', '--root', sb.root, '--yes', '--user', 'alice'];
      const child = spawnWithSlowRenames(argv, { when: 'enter', delayMs: 3_000, env: { ...process.env, ...sb.env, NO_COLOR: '1' }, cwd: REPO });
      const exited = new Promise((resolve) => child.on('exit', resolve));
      const temp = async () => (await readdir(join(sb.root, 'etc/default'))).some((f) => f.startsWith('.grub.talos-mac-'));
      for (let i = 0; i < 400 && !(await temp()); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(await temp(), 'the writer wrote its temp file beside the target');
      await killTraced(child);
      await exited;
      assert.deepEqual(await sb.read('etc/default/grub'), before);
      // The next run finishes the job and clears the dead run's temp file.
      const again = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(again.code, EXIT.REBOOT_NEEDED, again.stdout + again.stderr);
      assert.deepEqual((await readdir(join(sb.root, 'etc/default'))).filter((f) => f.startsWith('.')), []);
    });
  });

  it('killed at random moments: /etc/default/grub is always the old or the new file, never truncated', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12-with-args' }, async (sb) => {
      const before = (await sb.read('etc/default/grub')).toString();
      const expected = before.replace('crashkernel=384M-:512M"', 'crashkernel=384M-:512M disable_radix"');
      for (const delay of [60, 120, 180, 240, 300, 360]) {
        const child = spawn(process.execPath, [BIN, 'setup', '--root', sb.root, '--yes', '--user', 'alice'], { cwd: REPO, env: { ...process.env, ...sb.env, NO_COLOR: '1' }, stdio: 'ignore' });
        const exited = new Promise((resolve) => child.on('exit', resolve));
        setTimeout(() => child.kill('SIGKILL'), delay);
        await exited;
        const now = (await sb.read('etc/default/grub')).toString();
        assert.ok(now === before || now === expected, `delay ${delay}: unexpected content\n${now}`);
      }
    });
  });

  describe('not root (the CLI runs as nobody through setpriv)', { skip: !isRoot && 'needs root to switch to nobody' }, () => {
    const asNobody = async (sb: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}) => {
      const bin = await binForNobody();
      return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
        const child = spawn(SETPRIV, [...NOBODY, process.execPath, bin, 'setup', '--root', sb.root, ...args], {
          cwd: '/',
          env: { ...process.env, ...sb.env, NO_COLOR: '1', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d));
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    };

    it('sudo refused: nothing changed, a clear message', async () => {
      await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
        const before = await snapshotOf(sb);
        const r = await asNobody(sb, ['--yes', '--user', 'alice'], { FAKE_SUDO_REFUSE: '1' });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /sudo refused \(sudo: a password is required\).*Nothing was changed/s);
        assert.deepEqual(await snapshotOf(sb), before);
        assert.deepEqual((await sb.calls()).map((c) => c.slice(0, 3)), [['sudo', '-n', 'true']]);
      });
    });

    it('sudo missing: nothing changed, says to run as root', async () => {
      // Only the fakes on PATH: this machine may have a real sudo.
      await withSandbox({ snapshot: RADIX, grub: 'debian12', tools: ['update-grub', 'grub-mkconfig'], onlyFakes: true }, async (sb) => {
        const before = await snapshotOf(sb);
        const r = await asNobody(sb, ['--yes', '--user', 'alice']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /sudo is not installed.*run `talos-mac setup` as root/s);
        assert.deepEqual(await snapshotOf(sb), before);
      });
    });

    it('unwritable file (sudo runs, but the write is refused): nothing changed, the failing command is named', async () => {
      await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
        const before = await snapshotOf(sb);
        const r = await asNobody(sb, ['--yes', '--user', 'alice']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /`sudo -n -- (mkdir|install) .*` exited with status 1: (mkdir|install): cannot/);
        assert.deepEqual(await snapshotOf(sb), before);
      });
    });

    it('a sandbox the user may write: files directly, commands through sudo', async () => {
      await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
        for (const p of ['', 'etc', 'etc/default', 'etc/default/grub', 'boot/grub', 'boot/grub/grub.cfg', 'var']) {
          await chown(join(sb.root, p), 65534, 65534).catch(() => undefined);
        }
        const r = await asNobody(sb, ['--yes', '--user', 'alice']);
        assert.equal(r.code, EXIT.REBOOT_NEEDED, r.stdout + r.stderr);
        assert.deepEqual(await sb.calls(), [
          ['sudo', '-n', 'true'],
          ['sudo', '-n', '--', 'update-grub'],
          ['update-grub'],
          ['sudo', '-n', '--', 'usermod', '-R', sb.root, '-aG', 'kvm', 'alice'],
          ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice'],
        ]);
        assert.match((await sb.read('etc/default/grub')).toString(), /GRUB_CMDLINE_LINUX="disable_radix"/);
      });
    });
  });
});
