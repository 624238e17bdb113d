import { UserError } from '../../errors.js';
import { grubDefaultCmdlines } from '../../parse/bootloader.js';
import { disableRadixValue } from '../../parse/cmdline.js';
import { mmuFromCpuInfo } from '../../parse/cpuinfo.js';
import { sha256 } from '../../privileged/sha256.js';
import { removeStaleTemps } from '../../privileged/atomic-file.js';
import { anyOf, entryAt, exactly, removeBackup, runsUndo, type Reverted, type Undo } from '../../privileged/revert.js';
import type { PrivilegedRunner } from '../../privileged/runner.js';
import { shellLine } from '../../ui/shell-quote.js';
import { BACKUP_DIR, type Change } from '../../privileged/record.js';
import { addTokenFix, inGuest, nextBootState, unlessRadixPossible } from '../checks/mmu-state.js';
import { warnsInDoctor, type Changes, type Step, type StepContext, type StepResult } from '../step.js';
import { BY_HAND, detectBootMethod } from './boot-method.js';
import { addArgument, GRUB_DEFAULT_PATH, removeArgument } from './grub-default.js';
import { proveBlsEntries, proveEditWithBash, proveGrubCfg } from './grub-proof.js';

const TOKEN = 'disable_radix';

/** An edit of /etc/default/grub this run made: its record entry and the bytes it replaced. */
export interface GrubEdit {
  original: Buffer;
  entry: Change;
}

const refused = (why: string): UserError => new UserError(`cannot edit ${GRUB_DEFAULT_PATH} with certainty: ${why}. Nothing was changed. ${BY_HAND}`, 1);

/**
 * Adds the token to /etc/default/grub, proven first by bash reading the edited text; records the
 * intent before the file changes. Undefined when the token was there already.
 */
async function editDefaultGrub(ctx: StepContext, deps: Changes, regenerate?: string[]): Promise<GrubEdit | undefined> {
  const r = await ctx.host.readFile(GRUB_DEFAULT_PATH);
  if (!r.ok) throw new UserError(`cannot read ${GRUB_DEFAULT_PATH}: ${r.message}`, 1);
  const edit = addArgument(r.data.toString('latin1'), TOKEN);
  if (!edit.ok) throw refused(edit.reason);
  if (!edit.changed) return undefined;
  const data = Buffer.from(edit.text, 'latin1');
  if (!deps.runner.dryRun) {
    const why = await proveEditWithBash(r.data, data, TOKEN, deps.runner.options.env ?? process.env);
    if (why) throw refused(why);
  }
  const backup = deps.runner.backupPath(GRUB_DEFAULT_PATH, BACKUP_DIR);
  const entry = await deps.runner.recorder.start(nextBoot, {
    kind: 'grub-argument',
    path: GRUB_DEFAULT_PATH,
    token: TOKEN,
    backup,
    sha256Before: sha256(r.data),
    sha256Written: sha256(data),
    ...(regenerate ? { regenerate } : {}),
  });
  try {
    await deps.runner.writeFile(GRUB_DEFAULT_PATH, data, { backup });
  } catch (err) {
    await deps.runner.recorder.retract(entry);
    throw err;
  }
  return { original: r.data, entry };
}

/** The file a regeneration command writes. */
export function generatedConfig(regenerate: readonly string[]): string {
  const o = regenerate.indexOf('-o');
  return o >= 0 && regenerate[o + 1] ? regenerate[o + 1]! : '/boot/grub/grub.cfg';
}

/**
 * Runs the regeneration and proves its result (every linux line carries the token exactly once and
 * keeps its old arguments). When either fails, puts back the generated configuration, then the
 * original /etc/default/grub (in that order: a kill in between leaves the new file, which the next
 * run finishes), forgets the change, and says which check failed.
 */
export async function regenerateAndProve(deps: Changes, regenerate: string[], edited: GrubEdit | undefined): Promise<void> {
  const cfgPath = generatedConfig(regenerate);
  const cfgBefore = deps.runner.dryRun ? undefined : await deps.runner.read(cfgPath);
  const r = await deps.runner.run(regenerate, { allowFailure: true });
  if (deps.runner.dryRun) return;
  let failure: string | undefined;
  let cfgNow: Buffer | undefined;
  if (r.exitCode !== 0) {
    failure = `\`${shellLine(regenerate)}\` ${r.notFound ? 'is not installed' : `exited with status ${r.exitCode}${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-1)[0]}` : ''}`}`;
  } else {
    cfgNow = await deps.runner.read(cfgPath);
    const why = proveGrubCfg(cfgPath, cfgBefore?.toString('latin1'), cfgNow?.toString('latin1'), TOKEN);
    if (!why) return;
    failure = `\`${shellLine(regenerate)}\` ran, but the check of its result failed: ${why}`;
  }
  const restored: string[] = [];
  if (cfgNow !== undefined && !(cfgBefore && cfgNow.equals(cfgBefore))) {
    if (cfgBefore) await deps.runner.writeFile(cfgPath, cfgBefore);
    else await deps.runner.removeFile(cfgPath);
    restored.push(cfgPath);
  }
  if (!edited) {
    throw new UserError(`${failure}. ${GRUB_DEFAULT_PATH} was not changed by this run${restored.length ? `; ${cfgPath} was restored to what it was` : ''}.`, 1);
  }
  await deps.runner.writeFile(GRUB_DEFAULT_PATH, edited.original);
  await deps.runner.recorder.retract(edited.entry);
  const backup = edited.entry.kind === 'grub-argument' ? edited.entry.backup : undefined;
  throw new UserError(
    `${failure}. ${GRUB_DEFAULT_PATH} was restored to its original content${backup ? ` (a copy stays at ${backup})` : ''}${restored.length ? ` and ${cfgPath} to what it was` : '; the boot configuration was not changed by talos-mac'}. ${BY_HAND}`,
    1,
  );
}

/** The BootLoaderSpec entries' text by file name (and grubenv, for $kernelopts). */
async function blsState(deps: Changes): Promise<{ entries: Map<string, string>; grubenv?: string }> {
  const names = (await deps.runner.list('/boot/loader/entries')).filter((n) => n.endsWith('.conf'));
  const entries = new Map<string, string>();
  for (const n of names) {
    const t = await deps.runner.read(`/boot/loader/entries/${n}`);
    if (t) entries.set(n, t.toString('latin1'));
  }
  const env = await deps.runner.read('/boot/grub2/grubenv');
  return { entries, ...(env ? { grubenv: env.toString('latin1') } : {}) };
}

/** grubby, proven on every entry; when the proof fails, the entries get their old bytes back. */
async function grubbyAndProve(deps: Changes, argv: string[], noneHadIt: boolean): Promise<void> {
  const before = deps.runner.dryRun ? undefined : await blsState(deps);
  // Only an all-or-nothing undo is safe: entries that had the token before keep it.
  await deps.runner.recorder.around(nextBoot, { kind: 'command', argv, ...(noneHadIt ? { undo: ['grubby', '--update-kernel=ALL', `--remove-args=${TOKEN}`] } : {}) }, async () => {
    await deps.runner.run(argv);
    if (!before) return;
    const after = await blsState(deps);
    const why = proveBlsEntries(before.entries, after.entries, after.grubenv, TOKEN);
    if (!why) return;
    for (const [name, text] of before.entries) {
      if (after.entries.get(name) !== text) await deps.runner.writeFile(`/boot/loader/entries/${name}`, Buffer.from(text, 'latin1'));
    }
    throw new UserError(`\`${shellLine(argv)}\` ran, but the check of its result failed: ${why}. The BootLoaderSpec entries were restored to what they were. ${BY_HAND}`, 1);
  });
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

type GrubArgument = Extract<Change, { kind: 'grub-argument' }>;

/** The regenerations boot-method.ts makes, and nothing else. */
const REGENERATION = /^(update-grub|grub2?-mkconfig -o \/boot\/grub2?\/grub\.cfg)$/;

/**
 * Takes the token out of /etc/default/grub again: the backup when the file is still what talos-mac
 * wrote (and the backup still holds the old bytes), else the token removed from what is there now;
 * then the regeneration. A link that was there when setup edited the file was edited through
 * (runner.local): undo follows it only to the bytes talos-mac wrote (or left unchanged), never to a
 * file put there since.
 */
async function revertGrubEdit(runner: PrivilegedRunner, c: GrubArgument): Promise<Reverted> {
  const e = await entryAt(runner, c.path);
  if (e.kind === 'other') return `${c.path} is now ${e.what}: left as it is; remove ${c.token} from the boot configuration by hand`;
  const now = e.kind === 'missing' ? undefined : await runner.read(c.path);
  if (!now) return `${c.path} is gone: nothing to revert`;
  if (e.kind === 'link' && sha256(now) !== c.sha256Written && sha256(now) !== c.sha256Before) {
    return `${c.path} is a symbolic link (to ${e.target}) to a file that is not the one talos-mac wrote: left as it is; remove ${c.token} there by hand if it should go`;
  }
  if (c.sha256Before !== undefined && sha256(now) === c.sha256Before) {
    // The run that recorded it was stopped before the new file took its place.
    if (c.backup) await removeBackup(runner, c.backup, c.sha256Before);
    if (!runner.dryRun) await removeStaleTemps(runner.local(c.path));
    return c.state === 'started' ? `${c.path} was never changed (that setup run was interrupted first): nothing to revert` : `${c.path} is as it was before setup: nothing to revert`;
  }
  let restored: Buffer | undefined;
  // Untouched since talos-mac wrote it: the backup holds the exact original bytes (when it still hashes to them: a replaced backup is not trusted).
  if (sha256(now) === c.sha256Written && c.backup) {
    const b = await runner.read(c.backup);
    if (b && (c.sha256Before === undefined || sha256(b) === c.sha256Before)) restored = b;
  }
  if (!restored) {
    const edit = removeArgument(now.toString('latin1'), c.token);
    if (!edit.ok) return `${c.path}: ${edit.reason}`;
    if (!edit.changed) return `${c.path} no longer has ${c.token}: left as it is`;
    restored = Buffer.from(edit.text, 'latin1');
  }
  await runner.writeFile(c.path, restored);
  if (c.regenerate) {
    const r = await runner.run(c.regenerate, { allowFailure: true });
    if (r.exitCode !== 0) return `${c.path} was restored, but \`${shellLine(c.regenerate)}\` failed (status ${r.exitCode}): run it yourself`;
  }
  return undefined;
}

/** Only the edit this step makes: the token in /etc/default/grub, a backup in talos-mac's own directory, a known regeneration. */
const ownGrubEdit = (c: GrubArgument): boolean =>
  c.path === GRUB_DEFAULT_PATH && c.token === TOKEN && (c.backup === undefined || c.backup.startsWith(`${BACKUP_DIR}/`)) && (c.regenerate === undefined || REGENERATION.test(c.regenerate.join(' ')));

const undoNextBoot: Undo = anyOf(
  (c) => (c.kind === 'grub-argument' && ownGrubEdit(c) ? (runner) => revertGrubEdit(runner, c) : undefined),
  runsUndo(exactly(['grubby', '--update-kernel=ALL', `--remove-args=${TOKEN}`])),
);

export const nextBoot: Step = {
  id: 'mmu.next-boot',
  aliases: ['mmu.hash-next-boot'],
  category: 'MMU',
  title: 'Boot with the hash MMU (disable_radix)',
  severity: 'required',
  verify: async (ctx) => warnsInDoctor(await nextBootResult(ctx)),
  undo: undoNextBoot,
  async apply(ctx, deps) {
    const method = await detectBootMethod(ctx);
    if (method.kind === 'none') throw new UserError(`${method.reason}. ${BY_HAND}`, 1);
    if (method.kind === 'grub-default') {
      const edited = await editDefaultGrub(ctx, deps, method.regenerate);
      await regenerateAndProve(deps, method.regenerate, edited);
      if (edited) await deps.runner.recorder.finish(edited.entry);
      return;
    }
    const boot = await ctx.facts.bootConfig();
    await grubbyAndProve(deps, method.argv, boot.cmdlines.every((c) => !c.split(/\s+/).includes(TOKEN)));
    // grub2-mkconfig on BLS systems rewrites the entries' options from GRUB_CMDLINE_LINUX (Fedora's
    // 10_linux update_bls_cmdline), so the token goes there too or a later regeneration drops it. [I]
    if (method.defaultGrub) {
      const edited = await editDefaultGrub(ctx, deps);
      if (edited) await deps.runner.recorder.finish(edited.entry);
    }
  },
};

/** Whether the boot configuration passes disable_radix, and how setup would add it. */
async function nextBootResult(ctx: StepContext): Promise<StepResult> {
  const skip = await unlessRadixPossible(ctx);
  if (skip) return skip;
  const [next, info] = await Promise.all([nextBootState(ctx.facts), ctx.facts.cpuinfo()]);
  const hashNow = info.ok && mmuFromCpuInfo(info.value) === 'hash';
  if (next.state === 'set') return { state: 'done', summary: `the boot loader passes disable_radix (${next.where})` };
  const method = await detectBootMethod(ctx);
  if (method.kind === 'none') {
    if (next.state === 'unknown') {
      return hashNow
        ? {
            state: 'unknown',
            status: 'info',
            summary: `cannot check the boot loader (${next.where}); the running kernel already uses hash`,
            fix: { text: 'Make sure your boot loader keeps passing disable_radix after a reboot.' },
          }
        : {
            state: 'unknown',
            summary: `cannot check the boot loader: ${next.where}`,
            fix: {
              text: `Add disable_radix to the kernel command line wherever this system keeps it: GRUB_CMDLINE_LINUX in /etc/default/grub (then update-grub), or the options line of each /boot/loader/entries/*.conf.${(await inGuest(ctx.facts)) ? '' : ' Petitboot reads both.'}`,
            },
          };
    }
    return {
      state: 'todo',
      summary: `${next.state === 'partial' ? 'only some' : 'no'} boot entries pass disable_radix (${next.where})`,
      manual: `talos-mac cannot recognise how this system sets kernel arguments: ${method.reason}`,
      fix: { text: BY_HAND },
    };
  }
  if (next.state === 'needs-regeneration' && method.kind === 'grub-default') {
    return {
      state: 'todo',
      summary: 'disable_radix is in /etc/default/grub but the generated configuration lacks it',
      detail: next.where,
      fix: { text: 'Regenerate the GRUB configuration.', commands: [`sudo ${shellLine(method.regenerate)}`] },
    };
  }
  const dropIn = method.kind === 'grub-default' ? await overridingDropIn(ctx) : undefined;
  if (dropIn) {
    return {
      state: 'blocked',
      summary: `${dropIn} sets GRUB_CMDLINE_LINUX after ${GRUB_DEFAULT_PATH} and would drop disable_radix: talos-mac does not edit drop-ins`,
      fix: { text: `Add disable_radix inside the quotes of GRUB_CMDLINE_LINUX in ${dropIn}, then run ${shellLine(method.kind === 'grub-default' ? method.regenerate : [])} and reboot.` },
    };
  }
  const how = method.kind === 'bls' ? shellLine(method.argv) : `${GRUB_DEFAULT_PATH} + ${shellLine(method.regenerate)}`;
  const entries = next.state === 'partial' ? 'only some boot entries pass' : next.state === 'unknown' ? 'cannot confirm that the boot entries pass' : 'no boot entries pass';
  return {
    state: 'todo',
    summary: `${entries} disable_radix (${next.where})${hashNow ? ': the next boot would bring radix back' : ''}; setup adds it via ${how}`,
    detail: `boot configuration: ${next.where}`,
    fix: await addTokenFix(ctx.facts),
  };
}
