// Undo removes only what talos-mac wrote (issue 21): a file of talos-mac's replaced by a symbolic
// link (a person managing /etc/kernel/postinst.d, /etc/modules-load.d or /etc/default/grub another
// way), by a FIFO, or a module file replaced by a link: `setup --undo` deletes and rewrites
// nothing behind it, and says what it left. Real CLI on a sandbox root, fake tools on PATH.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstat, mkdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EXIT } from '../../src/exit-codes.js';
import { installPrModules } from '../../src/kernel/module-load.js';
import { PrivilegedRunner } from '../../src/privileged/runner.js';
import { kernelPrModule } from '../../src/steps/checks/kernel.js';
import { ALL_TOOLS, withSandbox } from './sandbox.js';
import { RootedHost } from '../../src/host/rooted-host.js';

const HASH = 'pr-kernel-6.1.176-hash';
const RADIX = 'pr-kernel-6.1.176-radix';
const HV_LOADED = 'kvm_hv 393216 0 - Live 0x0000000000000000\nkvm 524288 1 kvm_hv, Live 0x0000000000000000\n';

describe('setup --undo never follows a link it did not make', () => {
  it('the kernel hook replaced by a link to a copy: the copy and the link stay, and undo says so', async () => {
    await withSandbox({ snapshot: 'varied-update-distro-newer' }, async (sb) => {
      const hook = join(sb.root, 'etc/kernel/postinst.d/zz-talos-mac');
      const r = await sb.setup(['--yes', '--user', 'alice', '--kernel-hook']);
      assert.equal(r.code, EXIT.OK, r.stderr + r.stdout);
      const bytes = await readFile(hook);
      // The same bytes, kept elsewhere and linked in (absolute: taken inside the root, as in a chroot).
      await mkdir(join(sb.root, 'opt/hooks'), { recursive: true });
      await rename(hook, join(sb.root, 'opt/hooks/zz-talos-mac'));
      await symlink('/opt/hooks/zz-talos-mac', hook);
      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr + undo.stdout);
      assert.deepEqual(await readFile(join(sb.root, 'opt/hooks/zz-talos-mac')), bytes, "the link's target was not deleted");
      assert.equal(await readlink(hook), '/opt/hooks/zz-talos-mac', 'the link is left as it is');
      assert.match(undo.stdout, /\/etc\/kernel\/postinst\.d\/zz-talos-mac is now a symbolic link \(to \/opt\/hooks\/zz-talos-mac\), which talos-mac did not make: the link and the file it points to are left as they are/);
    });
  });

  it('the modules-load file replaced by a FIFO: undo finishes without reading it and leaves it', async () => {
    await withSandbox({ snapshot: HASH, grub: 'debian12', modules: HV_LOADED }, async (sb) => {
      assert.equal((await sb.setup(['--yes', '--user', 'alice'])).code, 0);
      const conf = join(sb.root, 'etc/modules-load.d/talos-mac.conf');
      await rm(conf);
      execFileSync('mkfifo', [conf]);
      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr + undo.stdout);
      assert.ok((await lstat(conf)).isFIFO());
      assert.match(undo.stdout, /talos-mac\.conf is now a FIFO \(named pipe\), not the file talos-mac wrote: left as it is/);
    });
  });

  it('/etc/default/grub replaced by a link to a file of the person\'s: that file is not edited', async () => {
    await withSandbox({ snapshot: RADIX, grub: 'debian12' }, async (sb) => {
      assert.equal((await sb.setup(['--yes', '--user', 'alice'])).code, EXIT.REBOOT_NEEDED);
      const grub = join(sb.root, 'etc/default/grub');
      const mine = `${(await readFile(grub, 'utf8'))}# managed by my own tool\n`;
      await writeFile(join(sb.root, 'etc/default/grub.mine'), mine);
      await rm(grub);
      await symlink('grub.mine', grub);
      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr + undo.stdout);
      assert.equal(await readFile(join(sb.root, 'etc/default/grub.mine'), 'utf8'), mine, 'the file behind the link is untouched');
      assert.match(undo.stdout, /\/etc\/default\/grub is a symbolic link \(to grub\.mine\) to a file that is not the one talos-mac wrote: left as it is/);
    });
  });

  it('a module file replaced by a link: the link and its target stay; the unchanged module is removed', async () => {
    await withSandbox({ snapshot: 'debian12-6.1.0-50-hash', tools: [...ALL_TOOLS, 'depmod', 'dpkg'] }, async (sb) => {
      const release = '6.1.0-50-powerpc64le';
      const ours = join(sb.root, `lib/modules/${release}/updates/talos-mac`);
      const build = join(sb.root, '..', 'build');
      await mkdir(build);
      const modules: Record<string, string> = {};
      for (const name of ['kvm', 'kvm-pr']) {
        const c = join(build, `${name}.c`);
        await writeFile(c, `static const char v[] __attribute__((section(".modinfo"), used)) = "vermagic=${release} SMP mod_unload modversions ";\nint ${name.replace(/-/g, '_')}_f(void) { return 1; }\n`);
        execFileSync('gcc', ['-c', c, '-o', join(build, `${name}.ko`)]);
        modules[name === 'kvm' ? 'kvm' : 'kvmPr'] = join(build, `${name}.ko`);
      }
      const runner = new PrivilegedRunner({ dryRun: false, root: sb.root, out: () => undefined, uid: process.getuid?.() ?? 0, interactive: false, env: { ...process.env, ...sb.env }, host: new RootedHost(sb.root, { ...process.env, ...sb.env }) });
      await installPrModules({ release, modules: modules as { kvm: string; kvmPr: string }, runner, step: kernelPrModule });
      const kept = join(sb.root, 'srv/kvm-pr.ko');
      await mkdir(join(sb.root, 'srv'));
      await rename(join(ours, 'kvm-pr.ko'), kept);
      await symlink('/srv/kvm-pr.ko', join(ours, 'kvm-pr.ko'));
      const undo = await sb.setup(['--undo', '--yes']);
      assert.equal(undo.code, 0, undo.stderr + undo.stdout);
      assert.deepEqual(await readFile(kept), await readFile(modules['kvmPr']!), 'the target stays');
      assert.equal(await readlink(join(ours, 'kvm-pr.ko')), '/srv/kvm-pr.ko', 'the link stays');
      await assert.rejects(lstat(join(ours, 'kvm.ko')), 'the unchanged module file is removed');
      assert.match(undo.stdout, /kvm-pr\.ko is now a symbolic link \(to \/srv\/kvm-pr\.ko\), which talos-mac did not make/);
    });
  });
});
