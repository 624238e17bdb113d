import { posix } from 'node:path';
import { configValue } from '../parse/kconfig.js';
import { kernelVersion } from '../parse/kernel-release.js';
import { moduleListed } from '../parse/proc-modules.js';
import { entryPathFor, grubCfgDefault, parseGrubMenu, releaseOfImage, resolveDefault, type MenuEntry } from '../parse/grub-menu.js';
import { KERNEL_RELEASE, moduleInstallDir } from '../privileged/record.js';
import { REBUILD_NEEDED_FILE } from './hook.js';
import { prConfigProblem } from './config.js';
import type { Fact, Facts } from '../host/facts.js';
import { compareDebVersions } from './deb-version.js';
import { readProvenance, type Provenance } from './provenance.js';
import { readModinfo } from './vermagic.js';


const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** The releases with a /lib/modules directory: what the package manager installed. */
export async function installedReleases(facts: Facts): Promise<string[]> {
  const r = await facts.host.readDir('/lib/modules');
  return r.ok ? r.entries.filter((e) => KERNEL_RELEASE.test(e)) : [];
}

export type PrAbility = { can: 'yes' | 'no' | 'unknown'; why: string };

/** Can that installed kernel do KVM-PR once booted? From its configuration (Facts.kernelConfigOf) and modules.dep. */
export async function prAbility(facts: Facts, release: string): Promise<PrAbility> {
  const t = await facts.kernelConfigOf(release);
  if (!t.ok) return { can: 'unknown', why: `its configuration cannot be read (${t.reason})` };
  const config = t.value;
  const problem = prConfigProblem(config, kernelVersion(release));
  if (problem) return { can: 'no', why: `it was ${problem}` };
  if (configValue(config, 'CONFIG_KVM_BOOK3S_64_PR') === 'y') return { can: 'yes', why: 'kvm_pr is built in' };
  const dep = await facts.text(`/lib/modules/${release}/modules.dep`);
  if (!dep.ok) return { can: 'unknown', why: `its modules.dep cannot be read (${dep.reason})` };
  const found = moduleListed(dep.value, 'kvm-pr');
  return found ? { can: 'yes', why: `kvm-pr: ${found}` } : { can: 'no', why: 'CONFIG_KVM_BOOK3S_64_PR=m, but no kvm-pr.ko is installed for it' };
}

export interface NextBoot {
  release: string;
  /** How it was found, for the report. */
  how: string;
  loader: 'grub' | 'grubby';
  /** GRUB: the menu, grub.cfg's path, and whether `default` follows grubenv's saved_entry. */
  grub?: { cfg: string; menu: MenuEntry[]; saved: boolean; value: string; env: string };
}

const GRUB_CFGS = ['/boot/grub/grub.cfg', '/boot/grub2/grub.cfg'];

/** The kernel the next boot runs without anyone choosing: grubby's default, or grub.cfg's `default`. */
export async function nextBoot(facts: Facts): Promise<Fact<NextBoot>> {
  const boot = await facts.bootConfig();
  if (boot.kind === 'bls') {
    const r = await facts.command(['grubby', '--default-kernel']);
    const rel = r.exitCode === 0 ? releaseOfImage(r.stdout.trim()) : undefined;
    return rel ? { ok: true, value: { release: rel, how: `grubby --default-kernel: ${r.stdout.trim()}`, loader: 'grubby' }, source: 'grubby --default-kernel' } : fail('`grubby --default-kernel` named no kernel');
  }
  for (const cfg of GRUB_CFGS) {
    const t = await facts.text(cfg);
    if (!t.ok) continue;
    const env = posix.join(posix.dirname(cfg), 'grubenv');
    const envText = await facts.text(env);
    const d = grubCfgDefault(t.value, envText.ok ? envText.value : undefined);
    const menu = parseGrubMenu(t.value);
    const entry = resolveDefault(menu, d.value);
    if (!entry?.release) return fail(`${cfg}: default "${d.value}"${d.saved ? ` (saved_entry in ${env})` : ''} names no kernel entry`);
    return {
      ok: true,
      value: { release: entry.release, how: `${cfg}: default "${d.value}"${d.saved ? ` (saved_entry in ${env})` : ''} is "${entry.title}"`, loader: 'grub', grub: { cfg, menu, saved: d.saved, value: d.value, env } },
      source: cfg,
    };
  }
  return fail('no BootLoaderSpec entries and no grub.cfg');
}

/** The grub-set-default argument that boots `release`, when grub.cfg has an entry for it. */
export const grubEntryFor = (nb: NextBoot, release: string): string | undefined => (nb.grub ? entryPathFor(nb.grub.menu, release) : undefined);

export interface DebImage {
  name: string;
  release: string;
  version: string;
}

/** Installed Debian kernel image packages (linux-image-RELEASE), from dpkg's database. */
export async function debImages(facts: Facts): Promise<Fact<DebImage[]>> {
  const argv = ['dpkg-query', '-W', '-f=${Package}\\t${Version}\\t${db:Status-Abbrev}\\n', 'linux-image-*'];
  const r = await facts.command(argv);
  if (/no packages found/.test(r.stderr) && !r.stdout.trim()) return { ok: true, value: [], source: 'dpkg-query -W linux-image-*' };
  if (r.exitCode !== 0 && !r.stdout.trim()) return fail(r.notRecorded ? 'the snapshot has no record of the installed kernel packages' : `\`dpkg-query\` failed (${r.stderr.trim().split('\n')[0] ?? r.exitCode})`);
  const out: DebImage[] = [];
  for (const line of r.stdout.split('\n')) {
    const [name, version, status] = line.split('\t');
    const m = name ? /^linux-image-(\d\S*)$/.exec(name) : null;
    if (!m || !version || !status?.startsWith('ii') || /-dbg$/.test(name!)) continue;
    out.push({ name: name!, release: m[1]!, version });
  }
  return { ok: true, value: out, source: 'dpkg-query -W linux-image-*' };
}

export interface TalosKernels {
  /** Kernels talos-mac built that are installed, newest first by release. */
  kernels: { release: string; provenance?: Provenance }[];
  /** Releases with a talos-mac module in updates/talos-mac/. */
  modules: string[];
  problems: string[];
}

/** What talos-mac built on this host: its kernels (by record or by LOCALVERSION) and its modules. */
export async function talosKernels(facts: Facts, suffix: string): Promise<TalosKernels> {
  const [installed, prov] = await Promise.all([installedReleases(facts), readProvenance(facts.host)]);
  const kernels = installed
    .filter((r) => r.endsWith(suffix) || prov.records.some((p) => p.release === r))
    .map((release) => {
      const provenance = prov.records.find((p) => p.release === release);
      return provenance ? { release, provenance } : { release };
    })
    .sort((a, b) => compareDebVersions(b.release, a.release));
  const modules: string[] = [];
  for (const r of installed) {
    const d = await facts.host.readDir(moduleInstallDir(r));
    if (d.ok && d.entries.some((e) => /^kvm-pr\.ko/.test(e))) modules.push(r);
  }
  return { kernels, modules, problems: prov.problems };
}

/** The vermagic release of talos-mac's kvm-pr.ko under a release, or why it cannot be read. */
export async function moduleVermagic(facts: Facts, release: string): Promise<Fact<string>> {
  const dir = moduleInstallDir(release);
  const d = await facts.host.readDir(dir);
  const name = d.ok ? d.entries.find((e) => e === 'kvm-pr.ko') : undefined;
  if (!name) return fail(`${dir}: no uncompressed kvm-pr.ko`);
  const path = `${dir}/${name}`;
  const r = await facts.host.readFile(path);
  if (!r.ok) return fail(`${path}: ${r.message}`);
  try {
    const v = readModinfo(r.data).get('vermagic');
    return v ? { ok: true, value: v.split(' ')[0]!, source: path } : fail(`${path} has no vermagic`);
  } catch (err) {
    return fail(`${path}: ${(err as Error).message}`);
  }
}

/** Upstream X.Y.Z of a Debian kernel package version ("6.1.192-3" → [6, 1, 192]). */
export function upstreamOfDebVersion(version: string): [number, number, number] | undefined {
  const m = /^(?:\d+:)?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/**
 * The LOCALVERSION for a rebuild: `base`, unless a talos-mac kernel of that release is installed
 * (a distribution update that kept the upstream version, e.g. 6.1.192-3 → 6.1.192-4), then -2`base`,
 * -3`base`, …: the rebuilt package must never replace the kernel that works now (the fallback entry).
 */
export function rebuildLocalVersion(upstream: readonly number[] | undefined, base: string, installed: readonly string[]): string {
  if (!upstream) return base;
  const taken = new Set(installed);
  let localVersion = base;
  for (let n = 2; taken.has(`${upstream.join('.')}${localVersion}`); n++) localVersion = `-${n}${base}`;
  return localVersion;
}

/** The version a talos-mac kernel counts as built from: its source package's, else its config's kernel package's. */
export const builtFromVersion = (p: Provenance): { name: string; version: string } | undefined => p.source.package ?? p.configFrom.package;

/** Distribution images newer than what `p` was built from, newest first. */
export function newerImages(p: Provenance, images: readonly DebImage[], suffix: string): DebImage[] {
  const from = builtFromVersion(p);
  if (!from) return [];
  return images
    .filter((i) => !i.release.endsWith(suffix) && compareDebVersions(i.version, from.version) > 0)
    .sort((a, b) => compareDebVersions(b.version, a.version));
}

/** Lines the kernel hook recorded (releases installed since), oldest first. */
export async function hookRecorded(facts: Facts): Promise<string[]> {
  const t = await facts.text(REBUILD_NEEDED_FILE);
  return t.ok ? [...new Set(t.value.split('\n').map((l) => l.trim()).filter((l) => KERNEL_RELEASE.test(l)))] : [];
}
