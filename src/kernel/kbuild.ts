import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { isDir } from './source.js';
import { defaultJobs } from './build-cost.js';

export interface CrossOptions {
  /** Kbuild ARCH (default: powerpc when cross-compiling, else the host's). */
  arch?: string;
  /** e.g. "powerpc64le-linux-gnu-"; empty or absent for a native build. */
  crossCompile?: string;
}

/** Leave one CPU to the user: a kernel build at full -j makes the desktop unusable. */

export interface MakeOptions extends CrossOptions {
  tree: string;
  jobs?: number;
  /** Extra VAR=value assignments (KERNELRELEASE, LOCALVERSION, M, SUBDIRS…). */
  vars?: Record<string, string>;
}

export function makeArgv(targets: readonly string[], o: MakeOptions): string[] {
  const argv = ['make', '-C', o.tree, `-j${o.jobs ?? defaultJobs()}`];
  const arch = o.arch ?? (o.crossCompile ? 'powerpc' : undefined);
  if (arch) argv.push(`ARCH=${arch}`);
  if (o.crossCompile) argv.push(`CROSS_COMPILE=${o.crossCompile}`);
  for (const [k, v] of Object.entries(o.vars ?? {})) argv.push(`${k}=${v}`);
  return [...argv, ...targets];
}

/** "  CC [M]  arch/powerpc/kvm/book3s_pr.o" -> "CC [M] arch/powerpc/kvm/book3s_pr.o" (Kbuild's quiet output). */
export function progressLine(line: string): string | undefined {
  const m = /^ {2}([A-Z][A-Z0-9_-]*(?: \[M\])?)\s+(\S.*)$/.exec(line);
  return m ? `${m[1]} ${m[2]}` : undefined;
}

export interface RunLogged {
  argv: string[];
  log: string;
  /** Called with each Kbuild progress line ("CC [M] …"). */
  onProgress?: (target: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Lines of output kept for the error message. */
  tailLines?: number;
  /** nice(1) the command (default 10): the host stays usable during a build. */
  nice?: number;
}

export class BuildError extends UserError {
  constructor(
    message: string,
    readonly tail: string[],
    readonly log: string,
  ) {
    super(`${message}\nLast lines of the log (${log}):\n${tail.map((l) => `  ${l}`).join('\n')}`, 1);
  }
}

/** Run a build command, appending everything to the log file, keeping the tail for errors. */
export async function runLogged(o: RunLogged): Promise<void> {
  await mkdir(dirname(o.log), { recursive: true });
  const out = createWriteStream(o.log, { flags: 'a' });
  out.write(`\n$ ${o.argv.join(' ')}\n`);
  const tail: string[] = [];
  const keep = o.tailLines ?? 25;
  let partial = '';
  const onText = (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      tail.push(line);
      if (tail.length > keep) tail.shift();
      const p = progressLine(line);
      if (p) o.onProgress?.(p);
    }
  };
  const nice = o.nice ?? 10;
  const argv = nice ? ['nice', '-n', String(nice), ...o.argv] : o.argv;
  const { execa } = await import('execa');
  const child = execa(argv[0]!, argv.slice(1), {
    reject: false,
    all: true,
    buffer: false,
    stdin: 'ignore',
    cwd: o.cwd,
    env: { ...(o.env ?? process.env), LC_ALL: 'C' },
    extendEnv: false,
  });
  child.all?.on('data', (chunk: Buffer) => {
    out.write(chunk);
    onText(chunk.toString('utf8'));
  });
  const r = await child;
  if (partial) onText('\n');
  await new Promise<void>((res) => out.end(res));
  if ((r as { code?: string }).code === 'ENOENT') throw new UserError(`\`${argv[0]}\` is not installed`);
  if (r.exitCode !== 0) {
    const why = r.isTerminated ? `was stopped (${r.signal})` : `failed with exit status ${r.exitCode}`;
    throw new BuildError(`\`${o.argv.join(' ')}\` ${why}.`, tail, o.log);
  }
}

/** Finished stages are remembered as marker files, so an interrupted build resumes where it stopped. */
export class StageMarkers {
  constructor(readonly dir: string) {}

  private file(id: string): string {
    return join(this.dir, `${id}.done`);
  }

  async isDone(id: string): Promise<boolean> {
    try {
      await readFile(this.file(id));
      return true;
    } catch {
      return false;
    }
  }

  async markDone(id: string): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFile(this.file(id), `${new Date().toISOString()}\n`);
  }

  /** Forget a stage and every stage after it (they were built on it). */
  async invalidate(ids: readonly string[]): Promise<void> {
    for (const id of ids) await rm(this.file(id), { force: true });
  }
}

/**
 * A build tree that shares the pristine source's files through hard links (seconds, no extra
 * disk). Kbuild writes new files rather than editing sources, and patch(1) replaces the files
 * it changes, so the pristine tree stays untouched. Falls back to a real copy across filesystems.
 */
export async function linkedCopy(source: string, dest: string): Promise<void> {
  if (await isDir(dest)) return;
  const staging = `${dest}.partial-${process.pid}`;
  await rm(staging, { recursive: true, force: true });
  await mkdir(dirname(dest), { recursive: true });
  const { execa } = await import('execa');
  let r = await execa('cp', ['-al', source, staging], { reject: false, stdin: 'ignore' });
  if (r.exitCode !== 0) {
    await rm(staging, { recursive: true, force: true });
    r = await execa('cp', ['-a', source, staging], { reject: false, stdin: 'ignore' });
  }
  if (r.exitCode !== 0) {
    await rm(staging, { recursive: true, force: true });
    throw new UserError(`cannot copy the kernel source into ${dest}: ${String(r.stderr).trim()}`);
  }
  await rename(staging, dest);
}
