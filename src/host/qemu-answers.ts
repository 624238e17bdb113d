import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { QEMU_PROGRAM, QEMU_QUERIES } from './facts.js';
import type { CommandResult, DirResult, Host, PathInfo, ReadResult, RunOptions } from './host.js';

/**
 * The queries whose answer only the QEMU binary decides. `-display`, `-device`, `-audiodev` and
 * `-accel help` are left out: Debian builds them as modules (/usr/lib/…/qemu/ui-gtk.so, audio-pa.so:
 * qemu-system-gui, qemu-system-modules-*), so installing a package changes their answer while the
 * binary stays the same.
 */
const KEPT = new Set([QEMU_QUERIES.version, QEMU_QUERIES.machines, QEMU_QUERIES.machineOptions, QEMU_QUERIES.dataDirs].map((q) => q.join(' ')));

interface Saved {
  binary: string;
  answers: Record<string, { exitCode: number; stdout: string; stderr: string }>;
}

/** The file QEMU_PROGRAM names on PATH, as execvp finds it, with what identifies its bytes; undefined when there is none. */
async function binaryIdentity(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env['PATH'] ?? '').split(delimiter)) {
    if (!dir) continue;
    const path = join(dir, QEMU_PROGRAM);
    const s = await stat(path).catch(() => undefined);
    if (s?.isFile() && (s.mode & 0o111) !== 0) return JSON.stringify([path, s.size, s.mtimeMs, s.ino, s.dev]);
  }
  return undefined;
}

/**
 * A host whose QEMU answers that only the binary decides come from the user's cache, keyed by the
 * binary's identity (path on PATH, size, mtime, inode): a launch or the demo then starts QEMU to
 * ask only what can change without it (each start costs 20-40 ms before the guest's own). Any
 * other read or command goes to `inner` unchanged; a failed answer is never kept.
 */
export class QemuAnswers implements Host {
  private saved: Promise<{ id: string | undefined; saved: Saved }> | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly inner: Host,
    private readonly file: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get description(): string {
    return this.inner.description;
  }

  get desktop(): boolean | undefined {
    return this.inner.desktop;
  }

  readFile(path: string): Promise<ReadResult> {
    return this.inner.readFile(path);
  }

  readDir(path: string): Promise<DirResult> {
    return this.inner.readDir(path);
  }

  pathInfo(path: string): Promise<PathInfo> {
    return this.inner.pathInfo(path);
  }

  async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
    const query = argv.slice(1).join(' ');
    if (argv[0] !== QEMU_PROGRAM || !KEPT.has(query)) return this.inner.run(argv, options);
    const { id, saved } = await (this.saved ??= this.load());
    const hit = id !== undefined ? saved.answers[query] : undefined;
    if (hit) return { argv: [...argv], ...hit, notFound: false, timedOut: false };
    const r = await this.inner.run(argv, options);
    if (id !== undefined && r.exitCode === 0 && !r.timedOut) {
      saved.answers[query] = { exitCode: 0, stdout: r.stdout, stderr: r.stderr };
      this.writing = this.writing.then(() => this.save(saved)).catch(() => undefined);
      await this.writing;
    }
    return r;
  }

  private async load(): Promise<{ id: string | undefined; saved: Saved }> {
    const id = await binaryIdentity(this.env);
    const text = await readFile(this.file, 'utf8').catch(() => undefined);
    try {
      const old = text ? (JSON.parse(text) as Saved) : undefined;
      if (id !== undefined && old?.binary === id && typeof old.answers === 'object' && old.answers !== null) return { id, saved: old };
    } catch {
      // A damaged cache is asked again and replaced.
    }
    return { id, saved: { binary: id ?? '', answers: {} } };
  }

  private async save(s: Saved): Promise<void> {
    await mkdir(join(this.file, '..'), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(s) + '\n', { mode: 0o600 });
    await rename(tmp, this.file);
  }
}
