import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, REPO, runCli } from '../helpers/cli.js';
import { withSandbox, type Sandbox } from './sandbox.js';
import { isRoot } from '../helpers/sudo.js';

const RADIX = 'pr-kernel-6.1.176-radix';

async function files(sb: Sandbox) {
  const record = join(sb.root, 'var/lib/talos-mac/setup-record.json');
  const backups = await readdir(join(sb.root, 'var/lib/talos-mac/backups')).catch(() => []);
  const changes = await readFile(record, 'utf8').then((t) => JSON.parse(t).changes, () => []);
  return { grub: await sb.read('etc/default/grub'), cfg: await sb.read('boot/grub/grub.cfg'), backups, changes };
}

describe('setup: regenerated configuration proven, else both files rolled back', () => {
  for (const [broken, why] of [
    ['stale', /linux line 1 of \/boot\/grub\/grub\.cfg carries disable_radix 0 times/],
    ['dup', /carries disable_radix [2-9] times/],
  ] as const) {
    it(`update-grub succeeds but its result is wrong (${broken}): says which check failed; /etc/default/grub and grub.cfg restored`, async () => {
      await withSandbox({ snapshot: RADIX, grub: 'debian12-with-args' }, async (sb) => {
        const before = await files(sb);
        const r = await sb.setup(['--yes', '--user', 'alice'], { FAKE_REGEN_BROKEN: broken });
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /`update-grub` ran, but the check of its result failed/);
        assert.match(r.stderr, why);
        assert.match(r.stderr, /restored to its original content .*and \/boot\/grub\/grub\.cfg to what it was/s);
        assert.doesNotMatch(r.stderr, /at .*\.js:\d+/);
        const after = await files(sb);
        assert.deepEqual([after.grub, after.cfg, after.changes], [before.grub, before.cfg, []]);
      });
    });
  }

  it('a value with $(…): changes nothing, runs nothing, says exactly what to add by hand', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const canary = join(sb.root, '..', 'ran');
      await writeFile(join(sb.root, 'etc/default/grub'), `GRUB_CMDLINE_LINUX="$(touch ${canary}) quiet"\n`);
      const before = await files(sb);
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /cannot edit \/etc\/default\/grub with certainty: .*expands \$… or `…`.*Nothing was changed\. Add disable_radix to the kernel command line/s);
      assert.deepEqual(await files(sb), before);
      assert.equal(await stat(canary).then(() => true, () => false), false, 'nothing in the file was run');
      assert.ok(!(await sb.commands()).some((c) => c[0] === 'update-grub'));
    });
  });

  it('"Not finished" names the open step and why', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12', tools: ['modprobe', 'usermod', 'gpasswd'] }, async (sb) => {
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /Not finished: Boot with the hash MMU \(disable_radix\); Run the hash MMU; Load the kvm_pr module\.\n  Boot with the hash MMU \(disable_radix\) \(todo\): .* — talos-mac cannot recognise how this system sets kernel arguments: .*none of update-grub.*\n  Run the hash MMU \(todo\): .* — setup fixes it through "boot with the hash MMU \(disable_radix\)"\n  Load the kvm_pr module \(blocked\): .*cannot be while the radix MMU runs/);
    });
  });
});

describe('setup: inputs checked before anything changes', () => {
  it('--user that is not a local user: exit 2 before any step ran, the name quoted', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const before = await files(sb);
      const r = await sb.setup(['--yes', '--user', 'no such;user']);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, /--user "no such;user": no such user in \/etc\/passwd inside .*Nothing was changed/);
      assert.deepEqual(await sb.commands(), []);
      assert.deepEqual(await files(sb), before);
    });
  });

  it('--root that is not a directory: the value quoted', async () => {
    await withSandbox({ snapshot: RADIX }, async (sb) => {
      const bad = await runCli(['setup', '--root', join(sb.root, 'no dir'), '--dry-run']);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--root ".*no dir": not a directory/);
    });
  });
});

/** Does chattr +i work on a file where the sandboxes are made (not on every file system: tmpfs before Linux 6.0 has no flags)? */
function immutableWorks(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'talos-mac-chattr-'));
  const file = join(dir, 'probe');
  try {
    writeFileSync(file, '');
    const ok = spawnSync('chattr', ['+i', file]).status === 0;
    spawnSync('chattr', ['-i', file]);
    return ok;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('setup: a file that cannot be written', () => {
  const chattr = isRoot && immutableWorks();
  it('immutable /etc/default/grub: a clear error, exit 1, no orphan backup, nothing recorded', { skip: !chattr && 'needs root, chattr, and a file system under the temporary directory that keeps the immutable flag' }, async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const grub = join(sb.root, 'etc/default/grub');
      const set = spawnSync('chattr', ['+i', grub], { encoding: 'utf8' });
      assert.equal(set.status, 0, `chattr +i ${grub}: ${set.stderr}`);
      try {
        const before = await files(sb);
        const r = await sb.setup(['--yes', '--user', 'alice']);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /cannot write \/etc\/default\/grub .*operation not permitted: the file or its directory may be immutable/);
        assert.doesNotMatch(r.stderr, /at .*\.js:\d+|internal error/i);
        const after = await files(sb);
        assert.deepEqual(after.backups, [], 'no orphan backup');
        assert.deepEqual(after.changes, []);
        assert.deepEqual([after.grub, after.cfg], [before.grub, before.cfg]);
      } finally {
        spawnSync('chattr', ['-i', grub]);
      }
    });
  });

  const unshare = isRoot && spawnSync('unshare', ['-m', 'true']).status === 0;
  it('read-only file system: a clear error, exit 1, no orphan backup', { skip: !unshare && 'needs root and mount namespaces' }, async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const dir = join(sb.root, 'etc/default');
      const before = await files(sb);
      // A private mount namespace: /etc/default of the sandbox is bind-mounted read-only for setup alone.
      const script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"';
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn('unshare', ['-m', 'sh', '-c', script, '_', dir, process.execPath, BIN, 'setup', '--root', sb.root, '--yes', '--user', 'alice'], {
          cwd: REPO,
          env: { ...process.env, ...sb.env, NO_COLOR: '1' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot write \/etc\/default\/grub .*the file system is mounted read-only/);
      const after = await files(sb);
      assert.deepEqual(after.backups, []);
      assert.deepEqual(after.changes, []);
      assert.deepEqual(after.grub, before.grub);
    });
  });
});
