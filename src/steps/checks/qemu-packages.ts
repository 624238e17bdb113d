import { removesPackages } from '../../privileged/revert.js';
/**
 * What setup installs for guests to run: QEMU and the files mac99 loads, and the tools features
 * need (xorriso, 7-Zip, rclone). Each piece is missing exactly when its doctor check says so; its package
 * comes from the distribution table; all of them go in one package-manager call (one sudo).
 */
import { describeCommandFailure } from '../../host/host.js';
import { installArgv, installHint, qemuPackage, type Distro, type QemuPiece } from '../../distro/distro.js';
import { SEVEN_ZIP_PROGRAMS } from '../../guests/seven-zip.js';
import type { Facts } from '../../host/facts.js';
import type { Extra, Step, StepContext, StepResult } from '../step.js';
import { liveShareServers } from './live-share.js';
import { qemuBinary, qemuFirmware, qemuImg, qemuNicRoms, qemuVgaRom, qemuWindow } from './qemu.js';

export type { Extra } from '../step.js';

/** The flags that add or leave out each optional feature's tool. */
export const EXTRA_FLAGS: Readonly<Record<Extra, { with: string; without: string }>> = {
  files: { with: '--with-files', without: '--without-files' },
  window: { with: '--with-window', without: '--without-window' },
  'live-share': { with: '--with-live-share', without: '--without-live-share' },
};

interface Piece {
  /** The check that says whether the piece is there (read when asked: the checks import this module). */
  check: () => Step;
  /** Its package on this distribution, if the table names one. */
  pkg: (d: Distro) => string | undefined;
  /** What needs it, as the plan says it. */
  reason: string;
  extra?: Extra;
}

const qemuPiece = (piece: QemuPiece) => (d: Distro) => qemuPackage(d, piece);

const PIECES: readonly Piece[] = [
  { check: () => qemuBinary, pkg: qemuPiece('qemu-system-ppc'), reason: 'the emulator' },
  { check: () => qemuImg, pkg: qemuPiece('qemu-img'), reason: 'qemu-img: guest disks' },
  { check: () => qemuFirmware, pkg: qemuPiece('openbios'), reason: "OpenBIOS, mac99's firmware" },
  { check: () => qemuVgaRom, pkg: qemuPiece('vga-rom'), reason: 'the VGA ROM mac99 loads' },
  { check: () => qemuNicRoms.rtl8139!, pkg: qemuPiece('nic-rom'), reason: 'the network ROM of rtl8139 guests' },
  { check: () => qemuWindow, pkg: qemuPiece('window'), reason: 'a window for guests', extra: 'window' },
  { check: () => toolsXorriso, pkg: (d) => d.names.xorriso, reason: 'demo and share' },
  { check: () => tools7zip, pkg: (d) => d.names.sevenZip, reason: 'files and media check', extra: 'files' },
  { check: () => liveShareServers, pkg: (d) => d.names.liveShare?.webdav, reason: 'share --live (WebDAV for Mac OS X guests)', extra: 'live-share' },
];

export interface PackageNeed {
  pkg: string;
  /** What needs it (several pieces can share a package). */
  reasons: string[];
}

export interface LeftOut {
  pkg: string;
  reason: string;
  /** Why not in this run, with the flag that adds it. */
  why: string;
  extra: Extra;
}

export interface QemuPackagePlan {
  distro: Distro;
  /** What this run installs, in one call. */
  install: PackageNeed[];
  /** Optional tools not installed in this run. */
  leftOut: LeftOut[];
  /** Missing pieces whose package this distribution's row does not name. */
  unnamed: string[];
  /** Missing optional tools whose package the row does not name: noted, never holding the step open (their own check says what to install). */
  unnamedExtras: string[];
  /** Missing pieces whose package is installed already: installing changes nothing (each check's fix says more). */
  installedYetMissing: PackageNeed[];
  /** Optional features whose tool is missing and installable, by feature: what setup asks about. */
  missingExtras: Partial<Record<Extra, string>>;
}

/** Is an optional feature's tool installed in this run: by its flag or answer, else the default (files, the live share: yes; a window: where there is a desktop session). */
export function extraWanted(extra: Extra, ctx: StepContext): boolean {
  const chosen = ctx.options.extras?.[extra];
  if (chosen !== undefined) return chosen;
  return extra === 'window' ? ctx.options.desktop !== false : true;
}

function leftOutWhy(extra: Extra, ctx: StepContext): string {
  const flags = EXTRA_FLAGS[extra];
  if (ctx.options.extras?.[extra] === false) return `left out as asked; ${flags.with} adds it`;
  return `no desktop session here (DISPLAY and WAYLAND_DISPLAY are unset: guests show over VNC or the serial console); ${flags.with} adds it`;
}

/** A piece the check finds missing; or, while QEMU itself is missing, a piece nobody can look for yet (it comes with QEMU's packages). */
function missing(r: StepResult, qemuAbsent: boolean): 'yes' | 'unseen' | 'no' {
  if (r.state === 'todo' && r.manual === undefined) return 'yes';
  return r.state === 'blocked' && qemuAbsent ? 'unseen' : 'no';
}

const installed = async (facts: Facts, d: Distro, pkg: string): Promise<boolean> => d.packages !== undefined && (await facts.command(d.packages.query(pkg))).exitCode === 0;

/** What setup installs for this host, from the checks' own verdicts (memoised facts: no probe runs twice). */
export async function qemuPackagePlan(ctx: StepContext): Promise<QemuPackagePlan> {
  const d = await ctx.facts.distro();
  const version = await ctx.facts.qemu('version');
  const qemuAbsent = version.exitCode !== 0 && !version.notRecorded && !version.timedOut;
  const plan: QemuPackagePlan = { distro: d, install: [], leftOut: [], unnamed: [], unnamedExtras: [], installedYetMissing: [], missingExtras: {} };
  const add = (list: PackageNeed[], pkg: string, reason: string) => {
    const had = list.find((n) => n.pkg === pkg);
    if (had) had.reasons.push(reason);
    else list.push({ pkg, reasons: [reason] });
  };
  for (const p of PIECES) {
    const check = p.check();
    const how = missing(await check.verify(ctx), qemuAbsent);
    if (how === 'no') continue;
    const pkg = p.pkg(d);
    if (pkg === undefined) {
      if (how === 'yes') (p.extra ? plan.unnamedExtras : plan.unnamed).push(`${check.id} (${p.reason})`);
      continue;
    }
    if (await installed(ctx.facts, d, pkg)) {
      if (how === 'yes') add(plan.installedYetMissing, pkg, p.reason);
      continue;
    }
    if (p.extra) plan.missingExtras[p.extra] = pkg;
    if (p.extra && !extraWanted(p.extra, ctx)) plan.leftOut.push({ pkg, reason: p.reason, why: leftOutWhy(p.extra, ctx), extra: p.extra });
    else add(plan.install, pkg, p.reason);
  }
  // A package already in the list stays there for every piece it brings.
  plan.leftOut = plan.leftOut.filter((l) => !plan.install.some((n) => n.pkg === l.pkg));
  return plan;
}

const listed = (needs: readonly PackageNeed[]): string => needs.map((n) => `${n.pkg} (${n.reasons.join(', ')})`).join(', ');

function leftOutNotes(plan: QemuPackagePlan): string[] {
  const unknown = plan.unnamedExtras.map((u) => `not installed: ${u}: talos-mac does not know its package on ${plan.distro.name} (see that check's fix)`);
  return [...plan.leftOut.map((l) => `not installed: ${l.pkg} (${l.reason}): ${l.why}`), ...unknown];
}

export const qemuPackages: Step = {
  id: 'qemu.packages',
  category: 'QEMU',
  title: 'Install QEMU, its firmware and ROMs, and the tools guests need',
  severity: 'info',
  undo: removesPackages,
  // apt-get, dnf … install into the system this machine runs, never into a --root.
  runningSystemOnly: true,
  async verify(ctx) {
    let plan: QemuPackagePlan;
    try {
      plan = await qemuPackagePlan(ctx);
    } catch (err) {
      return { state: 'unknown', summary: `cannot tell: ${(err as Error).message}` };
    }
    const d = plan.distro;
    const notes = leftOutNotes(plan);
    const unnamed = plan.unnamed.length ? `talos-mac does not know the package on ${d.name} for ${plan.unnamed.join(', ')}` : undefined;
    if (plan.install.length > 0 && d.packages) {
      const pkgs = plan.install.map((n) => n.pkg);
      return {
        state: 'todo',
        summary: `to install: ${listed(plan.install)}${unnamed ? `; ${unnamed}` : ''}`,
        notes: [...plan.install.map((n) => `${n.pkg}: ${n.reasons.join(', ')}`), ...notes],
        detail: `setup runs: ${installArgv(d, pkgs).join(' ')}`,
        fix: { text: '`talos-mac setup` installs them in one step, or by hand:', commands: [installHint(d, pkgs)!] },
      };
    }
    if (unnamed) return { state: 'todo', summary: unnamed, manual: unnamed, notes, fix: { text: "Install them with your distribution's package manager (each check's fix names the piece)." } };
    if (plan.installedYetMissing.length > 0) {
      const what = listed(plan.installedYetMissing);
      return { state: 'todo', summary: `installed, yet QEMU still misses what they bring: ${what}`, manual: 'installing them again changes nothing: see the QEMU checks', notes };
    }
    const left = plan.leftOut.length ? `; not installed: ${plan.leftOut.map((l) => `${l.pkg} (${l.reason}: ${EXTRA_FLAGS[l.extra].with})`).join(', ')}` : '';
    return { state: 'done', summary: `nothing to install${left}`, notes };
  },
  async apply(ctx, changes) {
    const plan = await qemuPackagePlan(ctx);
    const pm = plan.distro.packages;
    if (pm && plan.install.length > 0) await changes.runner.installPackages(this, pm, plan.install.map((n) => n.pkg));
  },
};

/** Is a program on PATH: yes, no, or the snapshot cannot say. Asked as Facts.hasCommand asks (the same probe, recorded by --collect). */
export async function onPath(facts: Facts, name: string): Promise<{ found: boolean } | { unknown: string }> {
  const r = await facts.command(['sh', '-c', 'command -v "$1"', 'sh', name]);
  if (r.notRecorded || r.timedOut) return { unknown: describeCommandFailure(r) };
  return { found: r.exitCode === 0 && r.stdout.trim() !== '' };
}

async function toolFix(facts: Facts, pkg: (d: Distro) => string | undefined, what: string) {
  const d = await facts.distro();
  const cmd = installHint(d, [pkg(d)]);
  return cmd ? { text: `Install ${what}.`, commands: [cmd] } : { text: `Install ${what} (talos-mac does not know its package on ${d.name}).` };
}

export const toolsXorriso: Step = {
  id: 'tools.xorriso',
  category: 'Tools',
  title: 'Install xorriso (for demo and share)',
  severity: 'info',
  fixedBy: qemuPackages,
  async verify({ facts }) {
    const r = await onPath(facts, 'xorriso');
    if ('unknown' in r) return { state: 'unknown', summary: r.unknown };
    if (r.found) return { state: 'done', summary: 'xorriso is installed' };
    return { state: 'todo', summary: 'xorriso is not installed: `talos-mac demo` and `talos-mac share` build their HFS+ images with it', fix: await toolFix(facts, (d) => d.names.xorriso, 'xorriso') };
  },
};

export const tools7zip: Step = {
  id: 'tools.7zip',
  category: 'Tools',
  title: 'Install 7-Zip (for files and media check)',
  severity: 'info',
  fixedBy: qemuPackages,
  async verify(ctx) {
    const { facts } = ctx;
    const found: string[] = [];
    for (const program of SEVEN_ZIP_PROGRAMS) {
      const r = await onPath(facts, program);
      if ('unknown' in r) return { state: 'unknown', summary: r.unknown };
      if (r.found) found.push(program);
    }
    if (found.length) return { state: 'done', summary: `7-Zip is installed (${found.join(', ')})` };
    return {
      state: 'todo',
      summary: `7-Zip is not installed (${SEVEN_ZIP_PROGRAMS.join(' or ')}): \`talos-mac files\` and \`media check\` read Mac OS X's HFS+ volumes with it`,
      fix: await toolFix(facts, (d) => d.names.sevenZip, '7-Zip'),
      ...(extraWanted('files', ctx) ? {} : { onlyWith: '--with-files' }),
    };
  },
};

export const toolSteps: Step[] = [toolsXorriso, tools7zip];
