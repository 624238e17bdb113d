import type { StepContext } from '../step.js';

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

export async function membership(ctx: StepContext, user: string, gid: number): Promise<{ group?: string; member: boolean }> {
  const [groups, passwd] = await Promise.all([ctx.facts.text('/etc/group'), ctx.facts.text('/etc/passwd')]);
  const entry = groups.ok ? parseGroupFile(groups.value).find((g) => g.gid === gid) : undefined;
  const member = (entry?.members.includes(user) ?? false) || (passwd.ok && primaryGid(passwd.value, user) === gid);
  return { ...(entry ? { group: entry.name } : {}), member };
}

/** usermod/gpasswd take -R DIR to work on a mounted system's /etc (shadow-utils). */
export function withShadowRoot(argv: readonly string[], root: string): string[] {
  return root === '/' ? [...argv] : [argv[0]!, '-R', root, ...argv.slice(1)];
}

