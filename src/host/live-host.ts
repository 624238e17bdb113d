import { constants } from 'node:fs';
import { access, lstat, readdir, readFile, stat } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { commandTimeoutMs, type CommandResult, type DirResult, type Host, type PathInfo, type ReadResult, type RunOptions } from './host.js';

function failure(err: unknown): { ok: false; reason: 'missing' | 'denied' | 'error'; message: string } {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return { ok: false, reason: 'missing', message: 'does not exist' };
  if (e.code === 'EACCES' || e.code === 'EPERM') return { ok: false, reason: 'denied', message: 'permission denied' };
  return { ok: false, reason: 'error', message: e.message };
}

export function fileType(s: Stats): PathInfo['type'] {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isSymbolicLink()) return 'link';
  return 'other';
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

async function can(path: string, mode: number): Promise<boolean> {
  try {
    await access(path, mode);
    return true;
  } catch {
    return false;
  }
}

/** The machine talos-mac runs on: the real filesystem and real processes (execa, argv arrays only). */
export class LiveHost implements Host {
  readonly description = 'live';

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async readFile(path: string): Promise<ReadResult> {
    try {
      return { ok: true, data: await readFile(path) };
    } catch (err) {
      return failure(err);
    }
  }

  async readDir(path: string): Promise<DirResult> {
    try {
      return { ok: true, entries: (await readdir(path)).sort() };
    } catch (err) {
      return failure(err);
    }
  }

  async pathInfo(path: string): Promise<PathInfo> {
    let s: Stats;
    try {
      s = await stat(path);
    } catch {
      try {
        await lstat(path);
        return { exists: true, type: 'link', readable: false, writable: false };
      } catch {
        return { exists: false };
      }
    }
    return {
      exists: true,
      type: fileType(s),
      mode: '0' + (s.mode & 0o7777).toString(8),
      uid: s.uid,
      gid: s.gid,
      readable: await can(path, constants.R_OK),
      writable: await can(path, constants.W_OK),
    };
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    const [file, ...args] = argv;
    if (file === undefined) throw new Error('run: empty argv');
    const { execa } = await import('execa');
    // Own process group, so a timeout kills the command's children too: a script that hangs in
    // `sleep` would otherwise hold the output pipe open long after the script itself was killed.
    const child = execa(file, args, {
      reject: false,
      stdin: 'ignore',
      detached: true,
      env: { ...this.env, LC_ALL: options.utf8Locale ? 'C.UTF-8' : 'C', LANG: 'C' },
      extendEnv: false,
      stripFinalNewline: false,
      maxBuffer: 16 * 1024 * 1024,
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), 1000).unref();
    }, options.timeoutMs ?? commandTimeoutMs(this.env));
    const result = await child;
    clearTimeout(timer);
    const code = (result as { code?: string }).code;
    return {
      argv: [...argv],
      exitCode: typeof result.exitCode === 'number' ? result.exitCode : null,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      notFound: code === 'ENOENT',
      timedOut,
    };
  }
}
