/**
 * Reading HFS and HFS+ volumes with 7-Zip (`7zz` from Debian's 7zip, or `7z` from p7zip-full):
 * its HFS handler lists and extracts both and only ever opens the image for reading. Seen here
 * with 7-Zip 26.02: `-thfs` finds the volume inside an Apple partition map by its signature ("The
 * archive is open with offset"), paths start with the volume name, links are listed with Mode
 * lrwxrwxrwx and a link that points outside is not extracted ("Dangerous link path was ignored").
 */
import { UserError } from '../errors.js';
import { describeCommandFailure, type CommandResult, type Host } from '../host/host.js';
import { runTethered, tetheredNotFound, tetherPrefix } from './tethered.js';

export const SEVEN_ZIP_PROGRAMS = ['7zz', '7z'] as const;

/** The install line from this system's row of the distribution table, else what the package is called where it is known. */
export async function install7zipHint(host: Host): Promise<string> {
  const { distroOf, installHint } = await import('../distro/distro.js');
  const { parseOsRelease } = await import('../parse/os-release.js');
  const osr = await host.readFile('/etc/os-release');
  const d = distroOf(parseOsRelease(osr.ok ? osr.data.toString('utf8') : ''));
  const hint = installHint(d, [d.names.sevenZip]);
  const what = "7-Zip is not installed (7zz or 7z): talos-mac reads Mac OS X's HFS+ volumes with it";
  return hint ? `${what}. Install it: ${hint}` : `${what}. Install your distribution's 7-Zip package (Debian: 7zip; older systems: p7zip-full).`;
}

export interface HfsEntry {
  /** Path inside the volume, "/"-separated, without the volume name ("" is the volume itself); in NFC. */
  readonly path: string;
  /** The path as 7-Zip names it (volume name first; HFS+ keeps names decomposed, NFD): what extraction asks for. */
  readonly source: string;
  readonly kind: 'dir' | 'file' | 'link' | 'other';
  readonly size: number;
  readonly modified?: string;
}

export interface HfsListing {
  readonly volume: string;
  /** The volume name as 7-Zip gives it (the first part of every source path). */
  readonly source: string;
  readonly method: string;
  readonly entries: readonly HfsEntry[];
}

/** Runs 7-Zip with `args`: the first of 7zz, 7z that exists; a clear install hint when none does. */
export async function run7z(host: Host, args: readonly string[], timeoutMs = 10 * 60_000): Promise<CommandResult> {
  for (const program of SEVEN_ZIP_PROGRAMS) {
    const r = await runTethered(host, [program, ...args], { timeoutMs, utf8Locale: true });
    if (!r.notFound) return r;
  }
  throw new UserError(await install7zipHint(host), 1);
}

function kindOf(folder: string | undefined, mode: string | undefined): HfsEntry['kind'] {
  if (folder === '+') return 'dir';
  const t = mode?.[0];
  if (t === 'l') return 'link';
  if (t === '-' || t === undefined) return 'file';
  return 'other';
}

type Block = Record<string, string>;

const blockOf = (text: string): Block =>
  Object.fromEntries(text.split('\n').map((l) => /^([^=]+?) = ?(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null).map((m) => [m[1]!, m[2]!]));

/**
 * 7-Zip prints a control character in a name as "_" (seen with 7-Zip 26.02: "new\nline.txt" is
 * listed as "new_line.txt") and extracts the name as it is stored: the listed name of a real one.
 */
export const listedName = (name: string): string => name.replace(/[\u0000-\u001f\u007f]/g, '_');

// HFS+ stores names decomposed (NFD, Apple TN1150 "Unicode Subtleties"); people and Linux file names use NFC.
function entryOf(b: Block, volume: string): HfsEntry {
  const full = b['Path']!;
  const path = (full === volume ? '' : full.startsWith(`${volume}/`) ? full.slice(volume.length + 1) : full).normalize('NFC');
  return { path, source: full, kind: kindOf(b['Folder'], b['Mode']), size: Number(b['Size'] || 0), ...(b['Modified'] ? { modified: b['Modified'] } : {}) };
}

/** Reads `7z l -slt` output as it comes: the archive's properties, "----------", then one "Key = value" block per item. */
class SltReader {
  private text = '';
  private items = false;
  method = '';
  volume: string | undefined;
  readonly entries: HfsEntry[] = [];
  constructor(private readonly keep: (path: string) => boolean) {}
  get sawItems(): boolean {
    return this.items;
  }
  push(chunk: string): void {
    this.text += chunk;
    if (!this.items) {
      const at = this.text.indexOf('\n----------\n');
      if (at < 0) return;
      this.method = /^Method = (.*)$/m.exec(this.text.slice(0, at))?.[1]?.trim() ?? '';
      this.text = this.text.slice(at + 12);
      this.items = true;
    }
    const blocks = this.text.split(/\n[ \t]*\n/);
    this.text = blocks.pop() ?? '';
    for (const b of blocks) this.block(b);
  }
  end(): void {
    if (this.items && this.text.trim()) this.block(this.text);
    this.text = '';
  }
  private block(text: string): void {
    const b = blockOf(text);
    if (b['Path'] === undefined) return;
    // The volume itself comes first: the one path without a "/".
    if (this.volume === undefined && !b['Path'].includes('/')) this.volume = b['Path'];
    const e = entryOf(b, this.volume ?? '');
    if (e.path !== '' && this.keep(e.path)) this.entries.push(e);
  }
  listing(): HfsListing {
    const v = this.volume ?? '';
    return { volume: v.normalize('NFC'), source: v, method: this.method, entries: this.entries };
  }
}

/** `7z l -slt` output, all at once (for small listings and tests). */
export function parseSlt(stdout: string): HfsListing {
  const r = new SltReader(() => true);
  r.push(stdout);
  r.end();
  if (!r.sawItems) throw new Error('7-Zip listing without its item separator');
  return r.listing();
}

/**
 * What is on the HFS/HFS+ volume in `image` (a raw image: a volume, or a disk with a partition
 * map), keeping the items `keep` wants (paths as in HfsEntry). Read as it streams: the listing
 * of a whole Mac OS X volume is tens of MB (a few hundred bytes for each of 100,000+ items),
 * more than a command's buffered output holds.
 */
export async function listHfs(host: Host, image: string, keep: (path: string) => boolean = () => true): Promise<HfsListing> {
  const { spawn } = await import('node:child_process');
  const tether = await tetherPrefix(host);
  for (const program of SEVEN_ZIP_PROGRAMS) {
    const reader = new SltReader(keep);
    let stderr = '';
    let head = '';
    const result = await new Promise<{ code: number | null; missing?: true }>((resolve) => {
      const argv: string[] = [...tether, program, 'l', '-slt', '-thfs', '--', image];
      const sub = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C.UTF-8', LANG: 'C' } });
      sub.stdout.setEncoding('utf8');
      sub.stdout.on('data', (c: string) => {
        if (!reader.sawItems && head.length < 8192) head += c;
        reader.push(c);
      });
      sub.stderr.setEncoding('utf8');
      sub.stderr.on('data', (c: string) => (stderr += c.slice(0, 4096)));
      sub.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'ENOENT' ? { code: null, missing: true } : { code: null }));
      sub.once('close', (code) => resolve(tetheredNotFound(code, stderr) ? { code, missing: true } : { code }));
    });
    if (result.missing) continue;
    reader.end();
    if (result.code !== 0 || !reader.sawItems) {
      const why = /Cannot open the file as|Can not open the file as archive|is not archive/i.test(head + stderr) ? 'no HFS or HFS+ volume was found in it' : `${program} exited with status ${result.code}: ${stderr.trim().split('\n').filter(Boolean).slice(-2).join('; ')}`;
      throw new UserError(`cannot read the Mac volume in ${JSON.stringify(image)}: ${why}`, 1);
    }
    return reader.listing();
  }
  throw new UserError(await install7zipHint(host), 1);
}

/**
 * Extracts `paths` (full 7-Zip paths, volume name first) into `outDir`, a fresh private folder.
 * -spd: names are names, not wildcards. A link 7-Zip refuses as dangerous is not an error here:
 * the caller copies only what the listing says is a file or folder.
 */
export async function extractHfs(host: Host, image: string, outDir: string, paths: readonly string[], o: { wildcards?: boolean } = {}): Promise<void> {
  const r = await run7z(host, ['x', '-thfs', ...(o.wildcards ? [] : ['-spd']), '-y', `-o${outDir}`, '--', image, ...paths], 6 * 60 * 60_000);
  if (r.exitCode === 0) return;
  const errors = (r.stdout + '\n' + r.stderr).split('\n').filter((l) => /^ERROR:/.test(l.trim()));
  if (r.exitCode === 2 && errors.length > 0 && errors.every((l) => /Dangerous link path was ignored/.test(l))) return;
  throw new UserError(`7-Zip could not extract from ${JSON.stringify(image)}: ${describeCommandFailure(r)}${errors.length ? ` (${errors.slice(0, 3).join('; ')})` : ''}`, 1);
}

/** One file's bytes (at most what the host's output buffer holds), or undefined when the volume has no such file. */
export async function readHfsFile(host: Host, image: string, fullPath: string): Promise<Buffer | undefined> {
  const r = await run7z(host, ['e', '-so', '-thfs', '-spd', '--', image, fullPath], 60_000);
  if (r.exitCode !== 0 || r.stdout.length === 0) return undefined;
  return Buffer.from(r.stdout, 'utf8');
}
