import { UserError } from '../errors.js';
import { MAC99_MAX_RAM_MB, MIN_RAM_MB, OS_CATALOG, findOs, type OsEntry } from '../guests/catalog.js';
import { parseDiskSize } from '../guests/disk.js';
import type { MediaReport } from '../guests/media.js';
import { admitDisc } from '../guests/media-check.js';
import { nameProblem } from '../guests/names.js';
import { parseRamMb, RAM_SIZE_HINT } from '../parse/size.js';
import { expandHome } from '../parse/user-path.js';
import type { GuestStore } from '../guests/store.js';
import type { Host } from '../host/host.js';
import type { Prompts } from '../ui/prompts.js';

/** setup's guest flags: each the twin of one question. */
export interface GuestFlags {
  os?: string | undefined;
  name?: string | undefined;
  ram?: string | undefined;
  diskSize?: string | undefined;
  cdrom?: string | undefined;
  net?: string | undefined;
  /** --no-guest: false. */
  guest?: boolean | undefined;
  /** --force: a --cdrom that is not a PowerPC Mac boot disc is used anyway. */
  force?: boolean | undefined;
}

/** What the wizard will create, decided before anything on the host changes. */
export interface GuestPlan {
  os: OsEntry;
  name: string;
  ram: string;
  diskSize: string;
  cdrom?: string;
  media?: MediaReport;
  /** The CD is not a PowerPC Mac boot disc, and the person insisted (--force, or yes when asked). */
  forced?: string;
  net: string;
  /** How it will run on this host: KVM-PR or TCG, and why. */
  accel: string;
  /** A guest of that name and OS exists already (a second run with the same flags): left as it is. */
  existing?: boolean;
}

/** The name a guest gets by default: the release's codename (tiger), else its id (os9). */
export function defaultName(os: OsEntry): string {
  return os.aliases.find((a) => /^[a-z]+$/.test(a) && !a.startsWith('osx') && !a.startsWith('macos')) ?? os.id.replace(/\./g, '-');
}

/** `base`, else the first of base-2, base-3, … no guest has: a name setup can propose and then take. */
export async function freeName(store: GuestStore, base: string): Promise<string> {
  for (let i = 2; ; i++) {
    const name = i === 2 && !(await store.exists(base)) ? base : `${base}-${i}`;
    if (!(await store.exists(name))) return name;
  }
}

/** The guests of `os` already defined (valid definitions only), by name. */
async function guestsOf(store: GuestStore, os: OsEntry): Promise<string[]> {
  return (await store.list()).filter((e) => e.guest?.os === os.id).map((e) => e.name);
}

/** One line per OS: how it runs here. */
function howItRuns(os: OsEntry, kvmHost: boolean): string {
  if (!kvmHost) return `TCG (this host cannot do KVM-PR): ${os.kvm.works ? 'it would run under KVM-PR on a ready POWER9 host' : os.kvm.note}`;
  return os.kvm.works ? `KVM-PR: ${os.kvm.note}` : `TCG: ${os.kvm.note}`;
}

function ramProblem(s: string): string | undefined {
  const n = parseRamMb(s);
  if (n === undefined) return `give the RAM in ${RAM_SIZE_HINT}`;
  return n < MIN_RAM_MB || n > MAC99_MAX_RAM_MB ? `RAM must be ${MIN_RAM_MB} to ${MAC99_MAX_RAM_MB} MiB (mac99 refuses more than 2 GiB)` : undefined;
}

function sizeProblem(s: string): string | undefined {
  try {
    parseDiskSize(s);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function netProblem(s: string): string | undefined {
  return s === 'user' || s === 'none' || /^tap:[A-Za-z0-9_.-]{1,15}$/.test(s) ? undefined : 'user, none, or tap:IFACE';
}

/** A flag's value checked like the typed answer, or the error that names the flag. */
function flagged(flag: string, value: string | undefined, problem: (s: string) => string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const why = problem(value);
  if (why) throw new UserError(`${flag} ${JSON.stringify(value)}: ${why}. Nothing was changed.`);
  return value;
}

/**
 * The guest questions, each answered by its flag when given. Install media is checked for what it
 * is (a PowerPC Mac boot disc) before anything is created; a typed path that is not one is asked
 * again, a --cdrom that is not one is refused. Undefined when no guest is wanted.
 */
export async function askGuest(prompts: Prompts, flags: GuestFlags, store: GuestStore, kvmHost: boolean, interactive: boolean, say: (line: string) => void, host: Host): Promise<GuestPlan | undefined> {
  if (flags.guest === false) return undefined;
  let os: OsEntry | undefined;
  if (flags.os !== undefined) {
    os = findOs(flags.os);
    if (!os) throw new UserError(`--os ${JSON.stringify(flags.os)}: unknown Mac OS. Use one of ${OS_CATALOG.map((o) => `${o.id} (${defaultName(o)})`).join(', ')}. Nothing was changed.`);
  } else {
    // Without a terminal there is no default guest: --os names one, --no-guest says none.
    const want = await prompts.confirm({ message: 'Create a Mac OS guest now?', default: interactive, unattended: false, flag: '--os or --no-guest' });
    if (!want) return undefined;
    const id = await prompts.choose({
      message: 'Which Mac OS?',
      choices: OS_CATALOG.map((o) => ({ value: o.id, name: o.title, description: howItRuns(o, kvmHost) })),
      default: '10.4',
      flag: '--os',
    });
    os = findOs(id)!;
  }
  const nameCheck = (s: string): string | undefined => nameProblem(s);
  const keep = async (name: string): Promise<GuestPlan | undefined> => {
    const existing = await store.read(name).catch(() => undefined);
    return existing && existing.os === os.id ? { os, name, ram: String(existing.ram), diskSize: '', net: existing.net, accel: howItRuns(os, kvmHost), existing: true } : undefined;
  };
  let name = flagged('--name', flags.name, nameCheck);
  if (name !== undefined && (await store.exists(name))) {
    const kept = await keep(name);
    if (kept) return kept;
    throw new UserError(`a guest named "${name}" already exists (${store.file(name)}) for another OS: choose another --name. Nothing was changed.`);
  }
  if (name === undefined) {
    // A second run: the guest of this OS from the first is offered (unattended with --os: kept), never proposed again as a new name.
    const same = await guestsOf(store, os);
    const mine = same.includes(defaultName(os)) ? defaultName(os) : same[0];
    if (mine !== undefined) {
      const use =
        flags.os !== undefined
          ? mine === defaultName(os)
          : await prompts.confirm({ message: `${os.title} has a guest already: ${same.join(', ')}. Use ${mine} (left as it is)? No creates another`, default: true, flag: '--name' });
      if (use) return (await keep(mine))!;
    }
    if (flags.os !== undefined) name = await freeName(store, defaultName(os));
  }
  while (name === undefined) {
    const typed = await prompts.text({ message: 'Guest name?', default: await freeName(store, defaultName(os)), validate: nameCheck, flag: '--name' });
    if (await store.exists(typed)) say(`A guest named ${typed} exists already (${store.file(typed)}): choose another name.`);
    else name = typed;
  }
  const ramText = flagged('--ram', flags.ram, ramProblem) ?? (await prompts.text({ message: 'RAM in MiB? (or with a unit, e.g. 1G)', default: String(os.ramMb), validate: ramProblem, flag: '--ram' }));
  const ram = String(parseRamMb(ramText));
  const diskSize = flagged('--disk-size', flags.diskSize, sizeProblem) ?? (await prompts.text({ message: 'Size of its new disk?', default: `${os.diskGb}G`, validate: sizeProblem, flag: '--disk-size' }));
  let cdrom = flags.cdrom;
  let media: MediaReport | undefined;
  let forced: string | undefined;
  for (;;) {
    cdrom ??= expandHome(await prompts.text({ message: 'Install CD/DVD image (Enter for none)?', optional: true, flag: '--cdrom' }));
    if (cdrom === '') {
      cdrom = undefined;
      break;
    }
    // The disc check of every door (media-check.ts admitDisc): the same verdict as talos-mac media check.
    const typed = flags.cdrom === undefined && interactive;
    let told = false;
    const ask = typed
      ? async (why: string): Promise<boolean> => {
          say(why);
          told = true;
          return prompts.confirm({ message: 'Use it anyway (it is not a PowerPC Mac boot disc)?', default: false, flag: '--force' });
        }
      : undefined;
    try {
      const admitted = await admitDisc(host, cdrom, { flag: '--cdrom', force: flags.force, ask });
      media = admitted.check.report;
      if (admitted.warning) forced = admitted.warning;
      break;
    } catch (err) {
      if (!(err instanceof UserError) || !typed) throw err;
      if (!told) say(err.message);
    }
    cdrom = undefined;
    media = undefined;
  }
  const net = flagged('--net', flags.net, netProblem) ?? (await prompts.text({ message: 'Network (user, none, tap:IFACE)?', default: 'user', validate: netProblem, flag: '--net' }));
  return { os, name, ram, diskSize, ...(cdrom ? { cdrom } : {}), ...(media ? { media } : {}), ...(forced ? { forced } : {}), net, accel: howItRuns(os, kvmHost) };
}
