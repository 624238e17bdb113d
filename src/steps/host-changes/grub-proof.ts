import { rm, writeFile } from 'node:fs/promises';
import { privateTempDir } from '../../host/temp-dir.js';
import { join } from 'node:path';
import { blsOptions, grubCfgKernelArgs } from '../../parse/bootloader.js';
import { disableRadixValue } from '../../parse/cmdline.js';

/**
 * Proofs that an edit of the boot configuration says what it should, read the way the system reads
 * it: bash sourcing /etc/default/grub (as grub-mkconfig does), then the regenerated grub.cfg's
 * `linux` lines or the BootLoaderSpec entries' `options`. Each returns why it fails, or undefined.
 */

const words = (s: string): string[] => s.split(/[ \t\n]+/).filter(Boolean);
const quote = (s: string): string => JSON.stringify(s);

interface Sourced {
  linux: string;
  linuxDefault: string;
}

// The file is a shell fragment, so bash is the only reader that knows what it means: grub-mkconfig
// reads it with `. FILE` (util/grub-mkconfig.in). The sentinel tells a file that ran `exit` or
// stopped the shell from one that sets the names to "".
const SOURCE = 'set -a; . "$1" >/dev/null 2>&1 </dev/null; printf "talos-mac\\0%s\\0%s" "$GRUB_CMDLINE_LINUX" "$GRUB_CMDLINE_LINUX_DEFAULT"';

/** GRUB_CMDLINE_LINUX and _DEFAULT after bash sources `data` (argv only; a clean environment). */
export async function sourceWithBash(data: Buffer, env: NodeJS.ProcessEnv): Promise<Sourced | { error: string }> {
  const dir = await privateTempDir('talos-mac-grub-');
  try {
    const file = join(dir, 'grub');
    await writeFile(file, data, { mode: 0o600 });
    const { execa } = await import('execa');
    const r = await execa('bash', ['-c', SOURCE, '_', file], {
      reject: false,
      stdin: 'ignore',
      timeout: 10_000,
      cwd: dir,
      env: { PATH: env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' },
      extendEnv: false,
      stripFinalNewline: false,
      encoding: 'latin1',
    });
    const parts = String(r.stdout ?? '').split('\0');
    if (parts[0] !== 'talos-mac' || parts.length !== 3) {
      return { error: r.failed && (r as { code?: string }).code === 'ENOENT' ? 'bash is not installed' : `bash stopped while sourcing it (status ${r.exitCode ?? r.signal})` };
    }
    return { linux: parts[1]!, linuxDefault: parts[2]! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Does bash read the edited file as the old one with exactly `token` added to GRUB_CMDLINE_LINUX? */
export async function proveEditWithBash(before: Buffer, after: Buffer, token: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const [b, a] = await Promise.all([sourceWithBash(before, env), sourceWithBash(after, env)]);
  if ('error' in b) return `bash cannot source the current file: ${b.error}`;
  if ('error' in a) return `bash cannot source the edited file: ${a.error}`;
  const want = [...words(b.linux), token];
  if (words(a.linux).join(' ') !== want.join(' ')) return `bash would read GRUB_CMDLINE_LINUX as ${quote(a.linux)}, not ${quote(want.join(' '))}`;
  if (a.linuxDefault !== b.linuxDefault) return `bash would read GRUB_CMDLINE_LINUX_DEFAULT as ${quote(a.linuxDefault)} instead of ${quote(b.linuxDefault)}`;
  // The normal entry gets "$GRUB_CMDLINE_LINUX $GRUB_CMDLINE_LINUX_DEFAULT"; the last setting wins.
  if (disableRadixValue(`${a.linux} ${a.linuxDefault}`) !== true) return `${token} would not win on the kernel line ${quote(`${a.linux} ${a.linuxDefault}`)}`;
  return undefined;
}

const occurrences = (args: string, token: string): number => words(args).filter((w) => w === token || w.startsWith(`${token}=`)).length;

/** Old words missing from the new ones (counted, so a duplicate lost is found too). */
function lost(oldArgs: string, newArgs: string): string[] {
  const have = new Map<string, number>();
  for (const w of words(newArgs)) have.set(w, (have.get(w) ?? 0) + 1);
  const out: string[] = [];
  for (const w of words(oldArgs)) {
    const n = have.get(w) ?? 0;
    if (n === 0) out.push(w);
    else have.set(w, n - 1);
  }
  return out;
}

/** Each kernel line carries `token` exactly once and keeps every argument it had. */
function proveLines(where: string, before: string[], after: string[], token: string, what: string): string | undefined {
  if (after.length === 0) return `${where} has no ${what} at all`;
  for (const [i, args] of after.entries()) {
    const n = occurrences(args, token);
    if (n !== 1) return `${what} ${i + 1} of ${where} carries ${token} ${n} times (${quote(args)})`;
  }
  if (before.length === after.length) {
    for (const [i, args] of after.entries()) {
      const gone = lost(before[i]!, args);
      if (gone.length) return `${what} ${i + 1} of ${where} lost ${gone.map(quote).join(', ')}`;
    }
  } else {
    const gone = lost([...new Set(before.flatMap(words))].join(' '), [...new Set(after.flatMap(words))].join(' '));
    if (gone.length) return `${where} no longer has ${gone.map(quote).join(', ')}`;
  }
  return undefined;
}

export function proveGrubCfg(path: string, before: string | undefined, after: string | undefined, token: string): string | undefined {
  if (after === undefined) return `${path} does not exist after the regeneration`;
  return proveLines(path, before === undefined ? [] : grubCfgKernelArgs(before), grubCfgKernelArgs(after), token, 'linux line');
}

/** BootLoaderSpec entries by name: each `options` line carries the token once and keeps its arguments. */
export function proveBlsEntries(before: Map<string, string>, after: Map<string, string>, grubenv: string | undefined, token: string): string | undefined {
  const names = [...after.keys()].sort();
  const opts = (m: Map<string, string>, n: string) => {
    const t = m.get(n);
    return t === undefined ? undefined : blsOptions(t, grubenv);
  };
  for (const n of names) {
    const a = opts(after, n);
    if (a === undefined) return `/boot/loader/entries/${n} has no options line`;
    const r = proveLines(`/boot/loader/entries/${n}`, [opts(before, n) ?? ''], [a], token, 'options line');
    if (r) return r;
  }
  return names.length === 0 ? 'no BootLoaderSpec entries are left in /boot/loader/entries' : undefined;
}
