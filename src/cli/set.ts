import { readFile } from 'node:fs/promises';
import { UserError } from '../errors.js';
import { cdromFlag, checkedGuest, ramFlag } from '../guests/create.js';
import { editDefinition } from '../guests/definition-file.js';
import type { Guest } from '../guests/definition.js';
import { discKind, discVerdict, type MediaCheck } from '../guests/media-check.js';
import { SetReportSchema, type SetReport } from '../guests/set-report-schema.js';
import { GuestStore } from '../guests/store.js';
import { thisMachine } from '../host/open.js';
import type { Host } from '../host/host.js';
import { guestLockFile, holdLock, launchLockFile, prepareLockDir } from '../launch/guest-lock.js';
import { describeOutside, findRunning } from '../launch/running.js';
import { jsonText, shown } from '../ui/escape.js';
import { writeOut } from '../ui/output.js';
import { EXIT } from '../exit-codes.js';
import { parseDisplay } from './launch.js';

export interface SetFlags {
  /** --cdrom FILE, or false for --no-cdrom. */
  cdrom?: string | false;
  force?: boolean;
  ram?: string;
  net?: string;
  display?: string;
  cpu?: string;
  nic?: string;
  resolution?: string;
  dryRun?: boolean;
  json?: boolean;
}

type Value = string | number | undefined;

/** The fields `set` changes, in the order the flags are listed; "default" removes cpu and nic (the OS's default then). */
async function wanted(host: Host, f: SetFlags): Promise<{ changes: Record<string, Value>; warnings: string[]; disc?: MediaCheck }> {
  const changes: Record<string, Value> = {};
  const warnings: string[] = [];
  let disc: MediaCheck | undefined;
  if (f.force && typeof f.cdrom !== 'string') throw new UserError('--force goes with --cdrom FILE (a disc that is not a PowerPC Mac boot disc, used anyway). Nothing was changed.');
  if (typeof f.cdrom === 'string') {
    const d = await cdromFlag(host, f.cdrom, f.force);
    changes['cdrom'] = d.cdrom;
    disc = d.check;
    if (d.warning) warnings.push(d.warning);
  } else if (f.cdrom === false) changes['cdrom'] = undefined;
  if (f.ram !== undefined) changes['ram'] = ramFlag(f.ram);
  if (f.net !== undefined) changes['net'] = f.net;
  if (f.display !== undefined) {
    // The same words launch --display takes (a vnc address included), checked the same way.
    parseDisplay(f.display);
    changes['display'] = f.display;
  }
  if (f.cpu !== undefined) changes['cpu'] = f.cpu === 'default' ? undefined : f.cpu;
  if (f.nic !== undefined) changes['nic'] = f.nic === 'default' ? undefined : f.nic;
  if (f.resolution !== undefined) changes['resolution'] = f.resolution;
  return { changes, warnings, ...(disc ? { disc } : {}) };
}

/** The definition with `changes`, checked as create checks it; the values as they will be written (canonical). */
function applied(g: Guest, changes: Record<string, Value>): Record<string, Value> {
  const candidate: Record<string, unknown> = { ...g };
  for (const [k, v] of Object.entries(changes)) {
    if (v === undefined) delete candidate[k];
    else candidate[k] = v;
  }
  const after = checkedGuest('change', g.name, candidate) as Record<string, Value>;
  return Object.fromEntries(Object.keys(changes).map((k) => [k, after[k]]));
}

const said = (v: Value): string => (v === undefined ? 'not set' : typeof v === 'number' ? String(v) : shown(v));

/** Lines of `before` that `after` no longer has, and lines it gained (edits are whole lines: definition-file.ts). */
function lineDiff(before: string, after: string): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  return [...a.filter((l) => !b.includes(l)).map((l) => `- ${shown(l)}`), ...b.filter((l) => !a.includes(l)).map((l) => `+ ${shown(l)}`)];
}

export async function setCommand(name: string, f: SetFlags): Promise<number> {
  const store = new GuestStore();
  const g0 = await store.read(name);
  const host = thisMachine();
  const { changes, warnings, disc } = await wanted(host, f);
  if (Object.keys(changes).length === 0) {
    throw new UserError(`nothing to change: give what to set, e.g. talos-mac set ${name} --cdrom FILE, --no-cdrom, --ram 1024, --net none, --display vnc (talos-mac set --help). Nothing was changed.`);
  }
  const file = store.file(name);
  const run = async (g: Guest): Promise<SetReport> => {
    const values = applied(g, changes);
    const before = g as Record<string, Value>;
    const diff = Object.entries(values).filter(([k, v]) => before[k] !== v);
    const text = await readFile(file, 'utf8');
    const after = diff.length ? editDefinition(text, file, Object.fromEntries(diff)) : text;
    const report: SetReport = {
      guest: name,
      file,
      dryRun: f.dryRun === true,
      written: false,
      changes: diff.map(([field, to]) => ({ field, from: before[field] ?? null, to: to ?? null })),
      disc: disc && typeof values['cdrom'] === 'string' ? { path: values['cdrom'], bootable: discKind(disc) === 'bootable', verdict: discVerdict(disc) } : null,
      warnings,
    };
    if (diff.length && !f.dryRun) {
      const { writeFileAtomic } = await import('../privileged/atomic-file.js');
      await writeFileAtomic(file, Buffer.from(after));
      report.written = true;
    }
    if (!f.json) writeOut(textOf(report, lineDiff(text, after)) + '\n');
    return report;
  };
  let report: SetReport;
  if (f.dryRun) report = await run(g0);
  else report = await whileOff(store, host, name, async () => run(await store.read(name)));
  if (f.json) writeOut(jsonText(SetReportSchema.parse(report)) + '\n');
  return EXIT.OK;
}

function textOf(r: SetReport, diff: string[]): string {
  const lines: string[] = [];
  for (const w of r.warnings) lines.push(`! ${w}`);
  if (r.changes.length === 0) {
    lines.push(`${r.guest} already has that; ${r.file} is unchanged.`);
    return lines.join('\n');
  }
  const what = r.changes.map((c) => `${c.field} ${said(c.from ?? undefined)} → ${said(c.to ?? undefined)}`).join('; ');
  lines.push(r.dryRun ? `Would change ${r.guest}: ${what}. In ${r.file}:` : `Changed ${r.guest}: ${what} (${r.file}; your other lines and comments are kept).`);
  if (r.dryRun) lines.push(...diff.map((l) => `  ${l}`), 'Nothing was written (--dry-run).');
  if (r.disc) lines.push(`The CD ${shown(r.disc.path)}: ${r.disc.verdict}.`);
  if (!r.dryRun) lines.push(r.changes.some((c) => c.field === 'cdrom' && c.to !== null) ? `Next: talos-mac launch ${r.guest} --install` : `Next: talos-mac launch ${r.guest}`);
  return lines.join('\n');
}

/**
 * Runs `fn` while no QEMU runs the guest and none can start: it holds the launch lock (as
 * checkpoint and files do), so a launch waits or is refused until the definition is written. A
 * running QEMU sees a changed definition only when it starts again: refused, with how to stop it.
 */
async function whileOff<T>(store: GuestStore, host: Host, name: string, fn: () => Promise<T>): Promise<T> {
  const lock = guestLockFile(store.paths, name);
  await prepareLockDir(lock);
  const stopFirst = `QEMU reads the definition only when it starts: shut the guest OS down (or talos-mac stop ${name}), then set again. Nothing was changed.`;
  const held = await holdLock(launchLockFile(lock)).catch((e: NodeJS.ErrnoException) => {
    throw new UserError(`cannot change ${name}: could not take its launch lock (${e.code ?? e.message}). Is util-linux (flock) installed?`, EXIT.FAILED);
  });
  if (!held) throw new UserError(`${name} is running or being started (a talos-mac launch, checkpoint or files command holds it: talos-mac status ${name}). ${stopFirst}`, EXIT.FAILED);
  try {
    const g = await store.read(name);
    const running = await findRunning(host, store.paths, g);
    if (running?.by === 'talos-mac') throw new UserError(`${name} is running (QEMU pid ${running.pid}). ${stopFirst}`, EXIT.FAILED);
    if (running) throw new UserError(`${name} is running: ${describeOutside(running, g.disk)}. ${stopFirst}`, EXIT.FAILED);
    return await fn();
  } finally {
    held.release();
  }
}
