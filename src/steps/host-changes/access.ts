import type { SetupStepFactory } from '../../setup/deps.js';
import { unlessPower } from '../checks/common.js';
import type { Step, StepContext, StepResult } from '../step.js';

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export function parseGroupFile(text: string): GroupEntry[] {
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && f[0])
    .map(([name, , gid, members]) => ({ name: name!, gid: Number(gid), members: (members ?? '').split(',').map((m) => m.trim()).filter(Boolean) }));
}

function primaryGid(passwd: string, user: string): number | undefined {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === user && f[3] !== undefined) return Number(f[3]);
  }
  return undefined;
}

async function membership(ctx: StepContext, user: string, gid: number): Promise<{ group?: string; member: boolean }> {
  const [groups, passwd] = await Promise.all([ctx.facts.text('/etc/group'), ctx.facts.text('/etc/passwd')]);
  const entry = groups.ok ? parseGroupFile(groups.value).find((g) => g.gid === gid) : undefined;
  const member = (entry?.members.includes(user) ?? false) || (passwd.ok && primaryGid(passwd.value, user) === gid);
  return { ...(entry ? { group: entry.name } : {}), member };
}

/** usermod/gpasswd take -R DIR to work on a mounted system's /etc (shadow-utils). */
export function withShadowRoot(argv: readonly string[], root: string): string[] {
  return root === '/' ? [...argv] : [argv[0]!, '-R', root, ...argv.slice(1)];
}

export const kvmDeviceAccess: SetupStepFactory = (deps): Step => ({
  id: 'kvm.dev-access',
  category: 'KVM',
  title: 'Give the user read-write access to /dev/kvm',
  severity: 'required',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessPower(ctx);
    if (skip) return skip;
    const user = deps.targetUser;
    const dev = await ctx.facts.pathInfo('/dev/kvm');
    if (!dev.exists) return { state: 'blocked', summary: '/dev/kvm does not exist yet: it appears when a KVM module is loaded (kvm.pr-load)' };
    if (user === 'root') return { state: 'done', summary: 'root may use /dev/kvm (to set up another user: --user NAME)' };
    const mode = dev.mode ? parseInt(dev.mode, 8) : 0;
    const { group, member } = dev.gid !== undefined ? await membership(ctx, user, dev.gid) : { member: false };
    if (!group || group === 'root' || (mode & 0o060) !== 0o060) {
      return {
        state: 'blocked',
        summary: `/dev/kvm (${dev.mode ?? '?'}, group ${group ?? dev.gid ?? '?'}) is not read-write for a group: setup does not write udev rules`,
        fix: {
          text: 'Give /dev/kvm a kvm group with a udev rule, then run setup again.',
          commands: [
            'sudo groupadd -f kvm',
            `echo 'KERNEL=="kvm", GROUP="kvm", MODE="0660"' | sudo tee /etc/udev/rules.d/65-kvm.rules`,
            'sudo udevadm trigger --name-match=kvm',
          ],
        },
      };
    }
    if (member) {
      const id = await ctx.facts.identity();
      const session = id.ok && id.value.groups.includes(group);
      return {
        state: 'done',
        summary: `${user} is in group ${group}, which owns /dev/kvm${session ? '' : ' — a new login is needed for it to take effect (log out and back in)'}`,
      };
    }
    return { state: 'todo', summary: `${user} is not in group ${group}, which owns /dev/kvm (${dev.mode}): usermod -aG ${group} ${user}` };
  },
  async apply(ctx) {
    const dev = await ctx.facts.pathInfo('/dev/kvm');
    const { group } = await membership(ctx, deps.targetUser, dev.gid ?? -1);
    if (!group) return;
    const argv = withShadowRoot(['usermod', '-aG', group, deps.targetUser], deps.runner.options.root);
    await deps.runner.command('kvm.dev-access', argv, { undo: ['gpasswd', '-d', deps.targetUser, group] });
    if (!deps.runner.dryRun) deps.runner.options.out(`  ${deps.targetUser} joins group ${group} at the next login: log out and back in (or reboot) before using KVM.`);
  },
});
