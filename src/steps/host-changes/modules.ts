import type { Facts } from '../../host/facts.js';
import type { StepContext } from '../step.js';

export const MODULES_LOAD_FILE = '/etc/modules-load.d/talos-mac.conf';
export const HV_BLACKLIST_FILE = '/etc/modprobe.d/talos-mac-kvm-hv.conf';

/** Use count of a loaded module from /proc/modules ("kvm_hv 393216 0 - Live …"); undefined if not loaded. */
export function moduleUseCount(procModules: string, name: string): number | undefined {
  for (const line of procModules.split('\n')) {
    const [n, , count] = line.trim().split(/\s+/);
    if (n === name) return Number(count) || 0;
  }
  return undefined;
}

/** Is the module listed for loading at boot (modules-load.d, or Debian's /etc/modules)? */
export async function loadedAtBoot(ctx: StepContext, name: string): Promise<string | undefined> {
  const files: string[] = [];
  for (const dir of ['/etc/modules-load.d', '/usr/lib/modules-load.d', '/lib/modules-load.d']) {
    const d = await ctx.host.readDir(dir);
    if (d.ok) files.push(...d.entries.filter((e) => e.endsWith('.conf')).map((e) => `${dir}/${e}`));
  }
  files.push('/etc/modules');
  const alt = name.replace(/_/g, '-');
  for (const f of files) {
    const t = await ctx.facts.text(f);
    if (!t.ok) continue;
    const listed = t.value.split('\n').some((l) => {
      const w = l.replace(/[#;].*$/, '').trim();
      return w === name || w === alt;
    });
    if (listed) return f;
  }
  return undefined;
}

export async function procModules(facts: Facts): Promise<string | undefined> {
  const t = await facts.text('/proc/modules');
  return t.ok ? t.value : undefined;
}


