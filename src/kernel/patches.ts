import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
import { compareVersions, kernelVersion } from '../parse/kernel-release.js';

/**
 * A kernel patch as a data file: a header of "# Key: value" lines, then a unified diff (patch(1)
 * skips the header as leading text). Keys: What, Versions (e.g. ">=4.15 <4.18"), Source, Apply
 * ("auto": for every matching kernel; "optional": only when asked for by name).
 */
export interface KernelPatch {
  name: string;
  file: string;
  what: string;
  versions: string;
  source: string;
  apply: 'auto' | 'optional';
}

export function parsePatchHeader(text: string, file: string): KernelPatch {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (/^(diff |--- |Index: )/.test(line)) break;
    const m = /^#\s*([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (m) fields.set(m[1]!.toLowerCase(), m[2]!.trim());
  }
  const need = (k: string) => {
    const v = fields.get(k);
    if (!v) throw new UserError(`patch ${file}: header has no "# ${k[0]!.toUpperCase()}${k.slice(1)}:" line`);
    return v;
  };
  const apply = fields.get('apply') ?? 'optional';
  if (apply !== 'auto' && apply !== 'optional') throw new UserError(`patch ${file}: Apply must be "auto" or "optional", not "${apply}"`);
  if (!/^(diff |--- )/m.test(text)) throw new UserError(`patch ${file}: no unified diff after the header`);
  return { name: basename(file).replace(/\.(patch|diff)$/, ''), file, what: need('what'), versions: need('versions'), source: need('source'), apply };
}

/** ">=4.15 <4.18" against a version; "*" matches all. */
export function versionInRange(version: readonly number[], range: string): boolean {
  for (const part of range.split(/\s+/).filter(Boolean)) {
    if (part === '*') continue;
    const m = /^(>=|<=|>|<|=)?(\d+(?:\.\d+){0,2})$/.exec(part);
    if (!m) throw new UserError(`bad version range "${range}" (use e.g. ">=4.15 <4.18")`);
    const c = compareVersions(version, kernelVersion(m[2]!)!);
    const ok = { '>=': c >= 0, '<=': c <= 0, '>': c > 0, '<': c < 0, '=': c === 0 }[m[1] ?? '='];
    if (!ok) return false;
  }
  return true;
}

/** The repository's patches/ folder, found from this module (works from src/, dist/ and the bundle). */
export async function builtinPatchesDir(): Promise<string | undefined> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { name?: string };
      if (pkg.name === 'talos-mac') return join(dir, 'patches');
    } catch {
      /* keep looking upwards */
    }
    dir = dirname(dir);
  }
  return undefined;
}

export async function loadPatches(dir: string): Promise<KernelPatch[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.(patch|diff)$/.test(n)).sort();
  } catch {
    return [];
  }
  return Promise.all(names.map(async (n) => parsePatchHeader(await readFile(join(dir, n), 'utf8'), join(dir, n))));
}

/** Patches for this kernel: every "auto" patch whose range matches, plus the ones named (by name or file path). */
export async function selectPatches(version: readonly number[], requested: readonly string[], dir?: string): Promise<KernelPatch[]> {
  const available = dir ? await loadPatches(dir) : [];
  const chosen = available.filter((p) => p.apply === 'auto' && versionInRange(version, p.versions));
  for (const r of requested) {
    let p = available.find((a) => a.name === r);
    if (!p) {
      let text: string;
      try {
        text = await readFile(r, 'utf8');
      } catch {
        throw new UserError(`no patch "${r}": not in ${dir ?? 'patches/'} and not a readable file`);
      }
      p = parsePatchHeader(text, r);
    }
    if (!versionInRange(version, p.versions)) throw new UserError(`patch ${p.name} is for kernels ${p.versions}, not ${version.join('.')}`);
    if (!chosen.some((c) => c.file === p!.file)) chosen.push(p);
  }
  return chosen;
}

export type PatchOutcome = 'applied' | 'already-applied';

/**
 * Dry run first, so a patch that does not fit changes nothing; a patch that applies in reverse is
 * already there (a re-run after an interruption), which is not an error.
 */
export async function applyPatch(tree: string, patch: KernelPatch): Promise<PatchOutcome> {
  const { execa } = await import('execa');
  // --fuzz=0: a hunk that only fits loosely may land in the wrong place of a kernel nobody tested it on.
  const base = ['-p1', '-d', tree, '-i', patch.file, '-f', '-s', '--fuzz=0', '--no-backup-if-mismatch'];
  const run = (args: string[]) => execa('patch', [...args, ...base], { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
  const forward = await run(['-N', '--dry-run']);
  if ((forward as { code?: string }).code === 'ENOENT') throw new UserError('`patch` is not installed (Debian/Ubuntu/Fedora package: patch)');
  if (forward.exitCode === 0) {
    const real = await run(['-N']);
    if (real.exitCode !== 0) throw new UserError(`patch ${patch.name} failed after a clean dry run:\n${String(real.stdout)}${String(real.stderr)}`, 1);
    return 'applied';
  }
  const reverse = await run(['-R', '--dry-run']);
  if (reverse.exitCode === 0) return 'already-applied';
  const out = `${String(forward.stdout)}${String(forward.stderr)}`.trim().split('\n').slice(0, 12).join('\n  ');
  throw new UserError(`patch ${patch.name} (${patch.what}) does not apply to this source tree; nothing was changed.\n  ${out}`, 1);
}
