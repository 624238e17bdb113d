// Issue 14 through the real CLI on a sandbox root (fake tools on PATH): setup points GRUB's saved
// entry back at talos-mac's kernel and installs the kernel hook when asked; --undo reverts both.
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/exit-codes.js';
import { hookScript } from '../../src/kernel/hook.js';
import { withSandbox } from './sandbox.js';

const UUID = '0f0e0d0c-0b0a-4908-8706-050403020100';
const OURS = `gnulinux-advanced-${UUID}>gnulinux-6.1.192-talosmac-advanced-${UUID}`;
const DISTRO = `gnulinux-advanced-${UUID}>gnulinux-6.1.0-58-powerpc64le-advanced-${UUID}`;
const grubCalls = (calls: string[][]) => calls.filter((c) => c[0] === 'grub-set-default');

describe('setup after a distribution kernel update (sandbox root)', () => {
  it('default entry switched: grub-set-default puts talos-mac\'s kernel back, a second run leaves it, --undo restores the saved entry', async () => {
    await withSandbox({ snapshot: 'varied-update-default-switched' }, async (sb) => {
      const env = join(sb.root, 'boot', 'grub', 'grubenv');
      assert.match(await readFile(env, 'utf8'), new RegExp(`saved_entry=${DISTRO.replace(/[.+>]/g, '\\$&')}`));
      const r = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(r.code, EXIT.OK, r.stderr + r.stdout);
      assert.match(r.stdout, /→ ✓ \[done\]\s+Boot a kernel that can do KVM-PR by default: the next boot runs 6\.1\.192-talosmac/);
      assert.deepEqual(grubCalls(await sb.commands()), [['grub-set-default', `--boot-directory=${sb.root}/boot`, OURS]]);
      assert.match(await readFile(env, 'utf8'), /saved_entry=gnulinux-advanced-[^>]+>gnulinux-6\.1\.192-talosmac-advanced-/);

      const again = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(again.code, EXIT.OK, again.stderr);
      assert.equal(grubCalls(await sb.commands()).length, 1, 'nothing more to do');

      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr + undo.stdout);
      assert.deepEqual(grubCalls(await sb.commands()).at(-1), ['grub-set-default', `--boot-directory=${sb.root}/boot`, DISTRO]);
      assert.ok((await readFile(env, 'utf8')).includes(`saved_entry=${DISTRO}\n`));
    });
  });

  it('--kernel-hook installs the executable hook, recorded; --undo removes it; without the flag nothing is installed', async () => {
    await withSandbox({ snapshot: 'varied-update-distro-newer' }, async (sb) => {
      const hook = join(sb.root, 'etc', 'kernel', 'postinst.d', 'zz-talos-mac');
      const plain = await sb.setup(['--yes', '--user', 'alice']);
      assert.equal(plain.code, EXIT.OK, plain.stderr + plain.stdout);
      await assert.rejects(stat(hook));
      const r = await sb.setup(['--yes', '--user', 'alice', '--kernel-hook']);
      assert.equal(r.code, EXIT.OK, r.stderr + r.stdout);
      assert.equal(await readFile(hook, 'utf8'), hookScript({ suffix: '-talosmac' }));
      assert.equal((await stat(hook)).mode & 0o777, 0o755);
      const record = JSON.parse(await readFile(join(sb.root, 'var', 'lib', 'talos-mac', 'setup-record.json'), 'utf8')) as { changes: { kind: string; path?: string }[] };
      assert.ok(record.changes.some((c) => c.kind === 'file-created' && c.path === '/etc/kernel/postinst.d/zz-talos-mac'));
      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr + undo.stdout);
      await assert.rejects(stat(hook));
    });
  });
});
