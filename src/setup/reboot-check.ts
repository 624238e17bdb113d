import * as z from 'zod/mini';
import type { Host } from '../host/host.js';
import { mmuFromCpuInfo } from '../parse/cpuinfo.js';
import { Facts } from '../host/facts.js';
import type { PrivilegedRunner } from '../privileged/runner.js';
import { STATE_DIR } from '../privileged/record.js';

/** What a run that stopped for a reboot expects the next boot to show. */
export const REBOOT_PATH = `${STATE_DIR}/reboot-pending.json`;

const Pending = z.object({
  /** /proc/sys/kernel/random/boot_id when setup stopped: a new boot has a new one (random(4)). */
  bootId: z.optional(z.string()),
  at: z.string(),
  /** The MMU the next boot should run. */
  mmu: z.optional(z.literal('hash')),
  /** The kernel release the next boot should run (a kernel talos-mac installed). */
  release: z.optional(z.string()),
});
export type RebootExpectation = z.infer<typeof Pending>;

async function bootId(host: Host): Promise<string | undefined> {
  const r = await host.readFile('/proc/sys/kernel/random/boot_id');
  return r.ok ? r.data.toString('utf8').trim() : undefined;
}

/** Written when setup stops for a reboot, so that the next run can tell whether it did what was expected. */
export async function expectReboot(runner: PrivilegedRunner, host: Host, expect: Omit<RebootExpectation, 'bootId' | 'at'>): Promise<void> {
  const id = await bootId(host);
  const pending: RebootExpectation = { ...expect, at: new Date().toISOString(), ...(id ? { bootId: id } : {}) };
  await runner.writeQuietly(REBOOT_PATH, Buffer.from(JSON.stringify(pending, null, 2) + '\n'));
}

/**
 * At the start of a run after one that stopped for a reboot: lines saying whether the reboot
 * happened and did what it should, with the likely causes when it did not. The expectation is
 * kept until the host shows it (the next run checks again).
 */
export async function checkReboot(runner: PrivilegedRunner, host: Host): Promise<string[]> {
  const raw = await runner.read(REBOOT_PATH);
  if (!raw) return [];
  let pending: RebootExpectation;
  try {
    const parsed = Pending.safeParse(JSON.parse(raw.toString('utf8')));
    if (!parsed.success) return [];
    pending = parsed.data;
  } catch {
    return [];
  }
  const now = await bootId(host);
  if (pending.bootId && now && pending.bootId === now) {
    return [`The reboot setup asked for on ${pending.at} has not happened yet (same boot): reboot, then run talos-mac setup again.`];
  }
  const lines: string[] = [];
  const facts = new Facts(host);
  const [cpu, rel] = await Promise.all([facts.cpuinfo(), facts.release()]);
  const mmu = cpu.ok ? mmuFromCpuInfo(cpu.value) : undefined;
  const release = rel.ok ? rel.value : undefined;
  if (pending.release && release && release !== pending.release) {
    lines.push(
      `After the reboot this host runs Linux ${release}, not ${pending.release}, the kernel setup installed.`,
      `  In Petitboot, pick the entry that names Linux ${pending.release} (or make it GRUB's default), then run talos-mac setup again.`,
    );
  }
  if (pending.mmu === 'hash' && mmu === 'radix') {
    lines.push(
      'After the reboot the MMU is still radix, although the boot configuration passes disable_radix. The likely causes:',
      '  - Petitboot booted another entry or another disk than the one setup configured (pick the entry of this system);',
      '  - the entry was edited at the Petitboot prompt, or a later disable_radix=0 on the command line wins (see /proc/cmdline);',
      '  - the firmware or Petitboot configuration boots with its own kernel arguments.',
    );
  }
  if (lines.length === 0) {
    lines.push(`The reboot did what setup expected${pending.release ? ` (Linux ${pending.release})` : ''}${pending.mmu ? ' (hash MMU)' : ''}.`);
    // An empty object is no expectation: nothing is pending any more.
    await runner.writeQuietly(REBOOT_PATH, Buffer.from('{}\n'));
  }
  return lines;
}
