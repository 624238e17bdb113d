// ppc64el packages from Debian's archive with the host's own apt, into private directories:
// its own sources list (the mirror host of the machine's sources), lists, package cache and an
// empty dpkg status, so nothing on the machine is installed or changed (apt.conf(5): Dir::Etc::SourceList, Dir::State::status).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot, log } from './cache.js';
import { run } from './run.js';

/** sid: Debian unstable (the future Debian 14), experimental: the kernels ahead of it; neither has -updates or -security suites. */
export type Suite = 'bookworm' | 'trixie' | 'sid' | 'experimental';

const rolling = (s: Suite): boolean => s === 'sid' || s === 'experimental';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

/** The mirror host the machine's own sources use for Debian (deb.debian.org if none is found). */
export function mirrorHost(): string {
  if (process.env.TALOS_E2E_DEBIAN_MIRROR) return process.env.TALOS_E2E_DEBIAN_MIRROR;
  const files = ['/etc/apt/sources.list'];
  const dir = '/etc/apt/sources.list.d';
  if (existsSync(dir)) files.push(...readdirSync(dir).filter((f) => /\.(list|sources)$/.test(f)).map((f) => join(dir, f)));
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      if (/^\s*#/.test(line)) continue;
      const m = line.match(/(https?):\/\/([^/\s]+)\/debian\/?(\s|$)/);
      if (m) return `${m[1]}://${m[2]}`;
    }
  }
  return 'http://deb.debian.org';
}

/** Suites whose lists this run has already refreshed. */
const updated = new Set<Suite>();

export class PpcArchive {
  readonly dir: string;

  constructor(readonly suite: Suite) {
    this.dir = join(cacheRoot(), 'apt', suite);
  }

  private options(): string[] {
    const d = this.dir;
    return [
      '-oAPT::Architecture=ppc64el',
      '-oAPT::Architectures=ppc64el',
      `-oDir::Etc::SourceList=${join(d, 'sources.list')}`,
      `-oDir::Etc::SourceParts=${join(d, 'sources.list.d')}`,
      `-oDir::State::Lists=${join(d, 'lists')}`,
      `-oDir::State::status=${join(d, 'status')}`,
      `-oDir::Cache=${join(d, 'cache')}`,
      '-oDebug::NoLocking=1',
      '-oAPT::Sandbox::User=root',
      // Unstable's Release file on a mirror can be weeks old (KNOWLEDGE §4b).
      ...(rolling(this.suite) ? ['-oAcquire::Check-Valid-Until=false'] : []),
    ];
  }

  /** apt-get update, once per run and only when something has to be downloaded. */
  async update(): Promise<void> {
    if (updated.has(this.suite)) return;
    const d = this.dir;
    for (const sub of ['lists/partial', 'sources.list.d', 'cache/archives/partial']) await mkdir(join(d, sub), { recursive: true });
    await writeFile(join(d, 'status'), '');
    const host = mirrorHost();
    const s = this.suite;
    const lines = rolling(s) ? [`${host}/debian ${s} main`] : [`${host}/debian ${s} main`, `${host}/debian ${s}-updates main`, `${host}/debian-security ${s}-security main`];
    await writeFile(join(d, 'sources.list'), lines.map((l) => `deb [signed-by=${KEYRING}] ${l}\n`).join(''));
    log(`apt-get update (${s}, ppc64el, ${host})`);
    await run(['apt-get', ...this.options(), 'update']);
    updated.add(this.suite);
  }

  async cache(args: string[]): Promise<string> {
    return (await run(['apt-cache', ...this.options(), ...args])).stdout;
  }

  /** Candidates, newest version first (dpkg's version order). */
  private async sortNewestFirst(found: Array<{ name: string; version: string }>): Promise<Array<{ name: string; version: string }>> {
    const sorted: typeof found = [];
    for (const f of found) {
      let i = 0;
      while (i < sorted.length && (await run(['dpkg', '--compare-versions', sorted[i]!.version, 'gt', f.version], { check: false })).code === 0) i++;
      sorted.splice(i, 0, f);
    }
    return sorted;
  }

  /** Package names matching re, each at its candidate version, newest first. */
  async newestFirst(re: RegExp): Promise<Array<{ name: string; version: string }>> {
    await this.update();
    const names = (await this.cache(['pkgnames'])).split('\n').filter((n) => re.test(n));
    const found: Array<{ name: string; version: string }> = [];
    for (const name of names) {
      const v = (await this.cache(['show', '--no-all-versions', name])).match(/^Version: (\S+)/m)?.[1];
      if (v) found.push({ name, version: v });
    }
    return this.sortNewestFirst(found);
  }

  /** Every version of name the indexes list, newest first. */
  async versions(name: string): Promise<Array<{ name: string; version: string }>> {
    await this.update();
    const vs = [...new Set([...(await this.cache(['show', name])).matchAll(/^Version: (\S+)/gm)].map((m) => m[1]!))];
    return this.sortNewestFirst(vs.map((version) => ({ name, version })));
  }

  /** The newest of candidates that downloads (an index can list a file the mirror does not have yet). */
  async downloadNewest(candidates: ReadonlyArray<{ name: string; version: string }>, dest: string): Promise<{ name: string; version: string; deb: string } | undefined> {
    for (const c of candidates) {
      const deb = await this.download(`${c.name}=${c.version}`, dest);
      if (deb) return { ...c, deb };
    }
    return undefined;
  }

  /** The address apt would download NAME[=VERSION] from (apt-get download --print-uris). */
  async uri(name: string): Promise<string | undefined> {
    await this.update();
    const r = await run(['apt-get', ...this.options(), 'download', '--print-uris', name], { check: false });
    return /^'([^']+)'/m.exec(r.stdout)?.[1];
  }

  /** apt-get download NAME into dest; the .deb's path, or undefined when the archive does not serve it (yet). */
  async download(name: string, dest: string): Promise<string | undefined> {
    await this.update();
    const tmp = join(dest, `.dl-${name.replace(/[^a-z0-9.+-]/gi, '_')}`);
    await rm(tmp, { recursive: true, force: true });
    await mkdir(tmp, { recursive: true });
    const r = await run(['apt-get', ...this.options(), 'download', name], { cwd: tmp, check: false });
    const debs = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (r.code !== 0 || debs.length !== 1) {
      await rm(tmp, { recursive: true, force: true });
      const why = r.stderr.split('\n').find((l) => l.startsWith('E:')) ?? `exit ${r.code}`;
      log(`${this.suite}: ${name} is listed but did not download: ${why}`);
      return undefined;
    }
    const out = join(dest, debs[0]!);
    await rename(join(tmp, debs[0]!), out);
    await rm(tmp, { recursive: true, force: true });
    return out;
  }

  /** The dependency closure of names, as it would install on an empty system (no recommends), into dest. */
  async downloadClosure(names: readonly string[], dest: string): Promise<string[]> {
    const got = await this.downloadClosureWithGaps(names, dest);
    if (got.missing.length) throw new Error(`${this.suite}: the mirror does not serve ${got.missing.join(', ')}`);
    return got.debs;
  }

  /**
   * The closure, downloading what the mirror serves (apt-get --fix-missing) and naming the
   * packages it lists but answers 404 for (this mirror lacks e.g. Debian 13's ppc64el libc6 and nodejs).
   */
  async downloadClosureWithGaps(names: readonly string[], dest: string): Promise<{ debs: string[]; missing: string[] }> {
    await this.update();
    await mkdir(join(dest, 'partial'), { recursive: true });
    const argv = ['apt-get', ...this.options(), `-oDir::Cache::archives=${dest}`, 'install', '-y', '--download-only', '--no-install-recommends'];
    // `'URI' FILE SIZE HASH` per package (apt-get(8) --print-uris), FILE named as apt stores it; it
    // lists only what the archives directory lacks, so it is asked with an empty one.
    const empty = await mkdtemp(join(tmpdir(), 'talos-mac-apt-'));
    const list = await run([...argv.map((a) => (a === `-oDir::Cache::archives=${dest}` ? `-oDir::Cache::archives=${empty}` : a)), '--print-uris', ...names]).finally(() => rm(empty, { recursive: true, force: true }));
    const wanted = list.stdout.split('\n').filter((l) => l.startsWith("'")).map((l) => l.split(' ')[1]!);
    await run([...argv, '--fix-missing', ...names], { check: false });
    const have = new Set((await readdir(dest)).filter((f) => f.endsWith('.deb')));
    const missing = wanted.filter((f) => !have.has(f)).map((f) => f.split('_')[0]!);
    const debs = wanted.filter((f) => have.has(f)).sort().map((f) => join(dest, f));
    return { debs, missing };
  }
}
