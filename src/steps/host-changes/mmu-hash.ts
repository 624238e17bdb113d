import { UserError } from '../../errors.js';
import { grubDefaultCmdlines } from '../../parse/bootloader.js';
import { disableRadixValue } from '../../parse/cmdline.js';
import { mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import { sha256 } from '../../privileged/runner.js';
import { shellLine } from '../../ui/shell-quote.js';
import type { SetupDeps, SetupStepFactory } from '../../setup/deps.js';
import { BACKUP_DIR } from '../../setup/record.js';
import { nextBootState, unlessRadixPossible } from '../checks/mmu.js';
import type { Step, StepContext, StepResult } from '../step.js';
import { BY_HAND, detectBootMethod } from './boot-method.js';
import { addArgument, GRUB_DEFAULT_PATH } from './grub-default.js';

const TOKEN = 'disable_radix';
const ID = 'mmu.hash-next-boot';

/** Adds the token to /etc/default/grub; undefined when it was there already. */
async function editDefaultGrub(ctx: StepContext, deps: SetupDeps, regenerate?: string[]): Promise<{ original: Buffer; backup?: string } | undefined> {
  const r = await ctx.host.readFile(GRUB_DEFAULT_PATH);
  if (!r.ok) throw new UserError(`cannot read ${GRUB_DEFAULT_PATH}: ${r.message}`, 1);
  const edit = addArgument(r.data.toString('latin1'), TOKEN);
  if (!edit.ok) throw new UserError(`cannot edit ${GRUB_DEFAULT_PATH} safely (${edit.reason}); nothing was changed. ${BY_HAND}`, 1);
  if (!edit.changed) return undefined;
  const data = Buffer.from(edit.text, 'latin1');
  const backup = await deps.runner.writeFile(GRUB_DEFAULT_PATH, data, { backupDir: BACKUP_DIR });
  await deps.recorder.add({
    kind: 'grub-argument',
    step: ID,
    path: GRUB_DEFAULT_PATH,
    token: TOKEN,
    sha256Written: sha256(data),
    ...(backup ? { backup } : {}),
    ...(regenerate ? { regenerate } : {}),
  });
  return { original: r.data, ...(backup ? { backup } : {}) };
}

/** Runs the regeneration; when it fails, puts the original file back and says so. */
export async function regenerateOrRestore(deps: SetupDeps, regenerate: string[], edited: { original: Buffer; backup?: string } | undefined): Promise<void> {
  const r = await deps.runner.run(regenerate, { allowFailure: true });
  if (r.exitCode === 0) return;
  const why = r.notFound ? 'is not installed' : `exited with status ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-1)[0]}` : ''}`;
  if (!edited) throw new UserError(`\`${shellLine(regenerate)}\` ${why}. ${GRUB_DEFAULT_PATH} was not changed by this run.`, 1);
  await deps.runner.writeFile(GRUB_DEFAULT_PATH, edited.original);
  await deps.recorder.retractLast();
  throw new UserError(
    `\`${shellLine(regenerate)}\` ${why}. ${GRUB_DEFAULT_PATH} was restored to its original content${edited.backup ? ` (a copy stays at ${edited.backup})` : ''}; the boot configuration was not changed by talos-mac.`,
    1,
  );
}

/**
 * grub-mkconfig sources /etc/default/grub.d/*.cfg after /etc/default/grub: a drop-in that assigns
 * GRUB_CMDLINE_LINUX without "$GRUB_CMDLINE_LINUX" would throw the edit away. Names that drop-in.
 */
async function overridingDropIn(ctx: StepContext): Promise<string | undefined> {
  const def = await ctx.facts.text(GRUB_DEFAULT_PATH);
  if (!def.ok) return undefined;
  const edited = addArgument(def.value, TOKEN);
  if (!edited.ok) return undefined;
  const dir = await ctx.host.readDir('/etc/default/grub.d');
  const texts: string[] = [edited.text];
  for (const name of dir.ok ? dir.entries.filter((e) => e.endsWith('.cfg')) : []) {
    const t = await ctx.facts.text(`/etc/default/grub.d/${name}`);
    if (!t.ok) continue;
    texts.push(t.value);
    if (disableRadixValue(grubDefaultCmdlines(...texts).linux ?? '') !== true) return `/etc/default/grub.d/${name}`;
  }
  return undefined;
}

export const hashMmuNextBoot: SetupStepFactory = (deps): Step => ({
  id: ID,
  category: 'MMU',
  title: 'Boot with the hash MMU (disable_radix)',
  severity: 'required',
  async verify(ctx): Promise<StepResult> {
    const skip = await unlessRadixPossible(ctx);
    if (skip) return skip;
    const info = await ctx.facts.cpuinfo();
    const mmu = info.ok ? mmuFromCpuInfo(info.value) : undefined;
    const next = await nextBootState(ctx.facts);
    const now = mmu ? `${mmu === 'hash' ? 'Hash' : 'Radix'} MMU now` : 'MMU now unknown';
    if (next.state === 'set') {
      if (mmu === 'radix') {
        return {
          state: 'reboot-required',
          summary: `${now}; disable_radix is set for the next boot (${next.where}): reboot, then run talos-mac setup again`,
          fix: { text: 'Reboot into the new kernel command line.', commands: ['sudo reboot'] },
        };
      }
      return { state: 'done', summary: `${now}; the boot configuration passes disable_radix (${next.where})` };
    }
    const method = await detectBootMethod(ctx, deps);
    if (method.kind === 'none' && mmu === 'hash') {
      return {
        state: 'done',
        summary: `${now}; talos-mac cannot see where this system keeps its kernel arguments (${method.reason}): make sure disable_radix stays on the command line after a reboot`,
        fix: { text: BY_HAND },
      };
    }
    if (method.kind === 'none') {
      return {
        state: 'blocked',
        summary: `${now}; talos-mac cannot recognise how this system sets kernel arguments: ${method.reason}`,
        detail: `boot configuration: ${next.where}`,
        fix: { text: BY_HAND },
      };
    }
    const dropIn = method.kind === 'grub-default' ? await overridingDropIn(ctx) : undefined;
    if (dropIn) {
      return {
        state: 'blocked',
        summary: `${now}; ${dropIn} sets GRUB_CMDLINE_LINUX after ${GRUB_DEFAULT_PATH} and would drop disable_radix: talos-mac does not edit drop-ins`,
        fix: { text: `Add disable_radix inside the quotes of GRUB_CMDLINE_LINUX in ${dropIn}, then run ${shellLine(method.kind === 'grub-default' ? method.regenerate : [])} and reboot.` },
      };
    }
    const how = method.kind === 'bls' ? shellLine(method.argv) : `${GRUB_DEFAULT_PATH} + ${shellLine(method.regenerate)}`;
    return {
      state: 'todo',
      summary:
        mmu === 'hash'
          ? `${now}, but the boot configuration does not keep it (${next.where}): add disable_radix via ${how}`
          : `${now} (kvm_pr cannot load): add disable_radix for the next boot via ${how}, then reboot`,
      detail: `boot configuration: ${next.where}`,
    };
  },
  async apply(ctx) {
    const method = await detectBootMethod(ctx, deps);
    if (method.kind === 'none') throw new UserError(`${method.reason}. ${BY_HAND}`, 1);
    if (method.kind === 'grub-default') {
      const edited = await editDefaultGrub(ctx, deps, method.regenerate);
      await regenerateOrRestore(deps, method.regenerate, edited);
      return;
    }
    const boot = await ctx.facts.bootConfig();
    const noneHadIt = boot.cmdlines.every((c) => !c.split(/\s+/).includes(TOKEN));
    await deps.runner.run(method.argv);
    await deps.recorder.add({
      kind: 'command',
      step: ID,
      argv: method.argv,
      // Only an all-or-nothing undo is safe: entries that had the token before keep it.
      ...(noneHadIt ? { undo: ['grubby', '--update-kernel=ALL', `--remove-args=${TOKEN}`] } : {}),
    });
    // grub2-mkconfig on BLS systems rewrites the entries' options from GRUB_CMDLINE_LINUX (Fedora's
    // 10_linux update_bls_cmdline), so the token goes there too or a later regeneration drops it. [I]
    if (method.defaultGrub) await editDefaultGrub(ctx, deps);
  },
});
