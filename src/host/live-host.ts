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
    const result = await execa(file, args, {
      reject: false,
      stdin: 'ignore',
      timeout: options.timeoutMs ?? commandTimeoutMs(this.env),
      forceKillAfterDelay: 1000,
      env: { ...this.env, LC_ALL: 'C', LANG: 'C' },
      extendEnv: false,
      stripFinalNewline: false,
      maxBuffer: 16 * 1024 * 1024,
    });
    const code = (result as { code?: string }).code;
    return {
      argv: [...argv],
      exitCode: typeof result.exitCode === 'number' ? result.exitCode : null,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      notFound: code === 'ENOENT',
      timedOut: result.timedOut === true,
    };
  }
}
