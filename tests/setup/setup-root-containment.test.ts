import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { spawnSync } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers/cli.js';
import { SETUP_FIXTURES, withSandbox, type Sandbox } from './sandbox.js';

const RADIX = 'pr-kernel-6.1.176-radix';
const DECOY = 'GRUB_CMDLINE_LINUX="outside-the-root"\n';

/** Moves the sandbox's /etc/default/grub to `target` (inside the root) and links it there by `link`. */
async function linkGrub(sb: Sandbox, link: string, target: string): Promise<Buffer> {
  const grub = join(sb.root, 'etc/default/grub');
  const data = await readFile(grub);
  await mkdir(dirname(join(sb.root, target)), { recursive: true });
  await writeFile(join(sb.root, target), data);
  await rm(grub);
  await symlink(link, grub);
  return data;
}

describe('setup --root: symbolic links never lead outside the root; a link stays a link', () => {
  const cases: Array<{ name: string; link: (outside: string) => string; inside: (outside: string) => string }> = [
    { name: 'a relative link', link: () => '../../usr/share/grub/default-grub', inside: () => '/usr/share/grub/default-grub' },
    { name: 'an absolute link (taken inside the root, as in a chroot)', link: (o) => `${o}/grub`, inside: (o) => `${o}/grub` },
    { name: 'a link whose ".." climb out of the root', link: () => '../../../../../../../../outside/grub', inside: () => '/outside/grub' },
  ];
  for (const c of cases) {
    // BootLoaderSpec (grubby) here: the fake update-grub would follow the link on this machine.
    it(`${c.name}: the file inside the root is edited and restored; the file outside is never touched`, async () => {
      await withSandbox({ snapshot: RADIX, bls: true }, async (sb) => {
        // A file outside the root, at the path the link would reach if it were followed on this machine.
        const outsideDir = join(sb.root, '..', 'outside');
        await mkdir(outsideDir, { recursive: true });
        await writeFile(join(outsideDir, 'grub'), DECOY);
        const grub = join(sb.root, 'etc/default/grub');
        const original = await linkGrub(sb, c.link(outsideDir), c.inside(outsideDir));
        const link = await readlink(grub);

        const r = await sb.setup(['--yes', '--user', 'alice']);
        assert.equal(r.code, EXIT.REBOOT_NEEDED, r.stdout + r.stderr);
        assert.equal(await readFile(join(outsideDir, 'grub'), 'utf8'), DECOY);
        assert.ok((await lstat(grub)).isSymbolicLink(), 'still a link after setup');
        assert.equal(await readlink(grub), link);
        assert.match(await readFile(join(sb.root, c.inside(outsideDir)), 'utf8'), /disable_radix/);

        const undo = await sb.setup(['--undo', '--yes']);
        assert.equal(undo.code, 0, undo.stdout + undo.stderr);
        assert.ok((await lstat(grub)).isSymbolicLink(), 'still a link after --undo');
        assert.equal(await readlink(grub), link);
        assert.deepEqual(await readFile(join(sb.root, c.inside(outsideDir))), original);
        assert.equal(await readFile(join(outsideDir, 'grub'), 'utf8'), DECOY);
      });
    });
  }

  it('a backup replaced by a link to a file outside: --undo does not copy that file in', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12-with-args' }, async (sb) => {
      const original = await sb.read('etc/default/grub');
      const outside = join(sb.root, '..', 'stolen');
      await writeFile(outside, DECOY);
      assert.equal((await sb.setup(['--yes', '--user', 'alice'])).code, EXIT.REBOOT_NEEDED);
      const backups = join(sb.root, 'var/lib/talos-mac/backups');
      const [name] = await readdir(backups);
      await rm(join(backups, name!));
      await symlink(outside, join(backups, name!));
      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stdout + undo.stderr);
      assert.deepEqual(await sb.read('etc/default/grub'), original);
    });
  });

  it('the state directory linked to a directory outside: the record is written inside the root', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      const outside = join(sb.root, '..', 'state-outside');
      await mkdir(outside);
      await mkdir(join(sb.root, 'var'), { recursive: true });
      await symlink(outside, join(sb.root, 'var/lib'));
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, EXIT.REBOOT_NEEDED, r.stdout + r.stderr);
      assert.deepEqual(await readdir(outside), []);
      assert.ok(await readFile(join(sb.root, outside.slice(1), 'talos-mac/setup-record.json')));
      assert.equal((await sb.setup(['--undo', '--yes'])).code, 0);
      assert.doesNotMatch((await sb.read('etc/default/grub')).toString(), /disable_radix/);
    });
  });

  it('/etc linked to "/": the plan reads the files inside the root, not this machine\'s', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      await rm(join(sb.root, 'etc'), { recursive: true });
      await mkdir(join(sb.root, 'default'), { recursive: true });
      await writeFile(join(sb.root, 'default/grub'), await readFile(join(SETUP_FIXTURES, 'grub', 'debian12')));
      await writeFile(join(sb.root, 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nmac-only-user:x:1000:1000::/home/m:/bin/bash\n');
      await writeFile(join(sb.root, 'group'), 'root:x:0:\nkvm:x:108:\n');
      await symlink('/', join(sb.root, 'etc'));
      const r = await sb.setup(['--dry-run', '--user', 'mac-only-user']);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /would: replace \/etc\/default\/grub atomically/);
      // This machine's /etc/passwd has no such user: the check read the root's.
      assert.equal(spawnSync('getent', ['passwd', 'mac-only-user']).status !== 0, true);
    });
  });
});

describe('setup --help', () => {
  it('suggests --root only with --dry-run (applying acts on the running system: docs/setup.md)', async () => {
    const r = await runCli(['setup', '--help']);
    assert.equal(r.code, 0);
    const examples = r.stdout.split('\n').filter((l) => /\$ talos-mac setup .*--root/.test(l));
    assert.ok(examples.length > 0);
    for (const l of examples) assert.match(l, /--dry-run/, l);
    assert.doesNotMatch(r.stdout, /--root \S+ --yes/);
  });
});
