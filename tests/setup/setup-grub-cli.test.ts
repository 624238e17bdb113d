import assert from 'node:assert/strict';
import { EXIT } from '../../src/exit-codes.js';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { countWord, withSandbox, SETUP_FIXTURES, sourcedCmdline } from './sandbox.js';
import { SUDO_RE } from '../helpers/sudo.js';

const VARIANTS = ['debian12', 'debian12-with-args', 'debian12-single-quoted', 'debian12-unquoted-comment', 'debian12-commented', 'debian12-no-cmdline', 'ubuntu-style', 'no-final-newline'];
const RADIX = 'pr-kernel-6.1.176-radix';

function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split('\n');
  const b = after.split('\n');
  return { removed: a.filter((l) => !b.includes(l)), added: b.filter((l) => !a.includes(l)) };
}

describe('setup: hash MMU through /etc/default/grub (real CLI, sandbox root, fake tools on PATH)', () => {
  for (const variant of VARIANTS) {
    it(`${variant}: adds disable_radix once, regenerates, stops for a reboot; a second run changes nothing; --undo restores the bytes`, async () => {
      await withSandbox({ snapshot: RADIX, grub: variant }, async (sb) => {
        const original = await readFile(join(SETUP_FIXTURES, 'grub', variant));
        const before = sourcedCmdline(join(sb.root, 'etc/default/grub'));
        const r = await sb.setup(['--yes', '--user', 'alice']);
        assert.equal(r.code, EXIT.REBOOT_NEEDED, r.stderr + r.stdout);
        assert.match(r.stdout, new RegExp(`\\$ ${SUDO_RE}update-grub`));
        assert.match(r.stdout, /\[reboot\]\s+Run the hash MMU:/);
        assert.match(r.stdout, /Reboot now/);

        const file = join(sb.root, 'etc/default/grub');
        const after = sourcedCmdline(file);
        assert.equal(countWord(after, 'disable_radix'), 1, after);
        assert.deepEqual(after.split(/\s+/).filter(Boolean), [...before.split(/\s+/).filter(Boolean), 'disable_radix']);
        const edited = (await readFile(file)).toString('latin1');
        const diff = changedLines(original.toString('latin1'), edited);
        assert.ok(diff.added.length === 1 && diff.removed.length <= 1, JSON.stringify(diff));
        assert.match(diff.added[0]!, /GRUB_CMDLINE_LINUX=/);
        assert.match((await sb.read('boot/grub/grub.cfg')).toString(), /linux\s.*disable_radix/);
        assert.deepEqual(await sb.commands(), [['update-grub'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice']]);

        // Applying twice changes nothing: the step is already waiting for the reboot.
        const mtime = (await stat(file)).mtimeMs;
        const again = await sb.setup(['--yes', '--user', 'alice']);
        assert.equal(again.code, EXIT.REBOOT_NEEDED, again.stderr);
        assert.equal((await stat(file)).mtimeMs, mtime);
        assert.deepEqual(await sb.commands(), [['update-grub'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice']]);

        const undo = await sb.setup(['--undo', '--yes']);
        assert.equal(undo.code, 0, undo.stderr + undo.stdout);
        assert.deepEqual(await readFile(file), original);
        assert.doesNotMatch((await sb.read('boot/grub/grub.cfg')).toString(), /disable_radix/);
        assert.deepEqual(await sb.commands(), [['update-grub'], ['usermod', '-R', sb.root, '-aG', 'kvm', 'alice'], ['gpasswd', '-R', sb.root, '-d', 'alice', 'kvm'], ['update-grub']], 'undo, newest first');
      });
    });
  }
});
