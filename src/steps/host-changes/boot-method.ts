import type { StepContext } from '../step.js';
import { GRUB_DEFAULT_PATH } from './grub-default.js';

export type BootMethod =
  | { kind: 'bls'; argv: string[]; defaultGrub: boolean }
  | { kind: 'grub-default'; regenerate: string[] }
  | { kind: 'none'; reason: string };

/** The manual instruction when talos-mac cannot recognise how this system sets kernel arguments. */
export const BY_HAND =
  'Add disable_radix to the kernel command line where this system keeps it: inside the quotes of GRUB_CMDLINE_LINUX="…" in /etc/default/grub (then run update-grub, or grub-mkconfig -o /boot/grub/grub.cfg), or at the end of the `options` line of every /boot/loader/entries/*.conf. Petitboot reads both. Then reboot.';

/**
 * How this system puts arguments on the kernel command line: BootLoaderSpec entries managed by
 * grubby (Fedora/RHEL family), or /etc/default/grub plus a regeneration command (Debian/Ubuntu and most others).
 */
export async function detectBootMethod(ctx: StepContext): Promise<BootMethod> {
  const has = (name: string) => ctx.facts.hasCommand(name);
  const boot = await ctx.facts.bootConfig();
  const hasDefault = (await ctx.facts.text(GRUB_DEFAULT_PATH)).ok;
  if (boot.kind === 'bls') {
    if (await has('grubby')) return { kind: 'bls', argv: ['grubby', '--update-kernel=ALL', '--args=disable_radix'], defaultGrub: hasDefault };
    return { kind: 'none', reason: 'this system boots BootLoaderSpec entries (/boot/loader/entries), but grubby is not installed' };
  }
  if (!hasDefault) return { kind: 'none', reason: `neither ${GRUB_DEFAULT_PATH} nor BootLoaderSpec entries were found` };
  const grub2 = (await ctx.facts.pathInfo('/boot/grub2')).exists;
  const grub = (await ctx.facts.pathInfo('/boot/grub')).exists;
  if (await has('update-grub')) return { kind: 'grub-default', regenerate: ['update-grub'] };
  // grub2-mkconfig is the Fedora/SUSE name; its configuration lives in /boot/grub2.
  for (const [tool, dir] of [['grub-mkconfig', grub || !grub2 ? '/boot/grub' : '/boot/grub2'], ['grub2-mkconfig', grub2 || !grub ? '/boot/grub2' : '/boot/grub']] as const) {
    if (await has(tool)) return { kind: 'grub-default', regenerate: [tool, '-o', `${dir}/grub.cfg`] };
  }
  return { kind: 'none', reason: `${GRUB_DEFAULT_PATH} exists, but none of update-grub, grub-mkconfig, grub2-mkconfig is installed to regenerate the boot configuration` };
}
