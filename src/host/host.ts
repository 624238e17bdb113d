/** The one seam between talos-mac and the machine: every file read and every command goes through a Host. */

export type ReadResult =
  | { ok: true; data: Buffer }
  | { ok: false; reason: 'missing' | 'denied' | 'error' | 'not-recorded'; message: string };

export type DirResult =
  | { ok: true; entries: string[] }
  | { ok: false; reason: 'missing' | 'denied' | 'error' | 'not-recorded'; message: string };

export interface PathInfo {
  exists: boolean;
  type?: 'file' | 'dir' | 'char' | 'block' | 'link' | 'other';
  /** Permission bits as an octal string, e.g. "0660". */
  mode?: string;
  uid?: number;
  gid?: number;
  /** What the user running talos-mac may do with the path (access(2)). */
  readable?: boolean;
  writable?: boolean;
  /** Set when a snapshot holds no answer for this path. */
  notRecorded?: boolean;
}

export interface CommandResult {
  argv: string[];
  exitCode: number | null;
  stdout: string;
  stderr: string;
  /** The program does not exist on PATH. */
  notFound: boolean;
  timedOut: boolean;
  /** Set when a snapshot holds no answer for this command. */
  notRecorded?: boolean;
}

export interface RunOptions {
  timeoutMs?: number;
  /** The C.UTF-8 locale instead of C: xorriso and 7-Zip turn non-ASCII file names into "_" under C (seen with xorriso 1.5.4, 7-Zip 26.02). */
  utf8Locale?: boolean;
}

export interface Host {
  /** "live" or "snapshot DIR": shown in reports. */
  readonly description: string;
  /** Whether the session has a desktop, where the host says (a snapshot: the session that collected it). */
  readonly desktop?: boolean | undefined;
  readFile(path: string): Promise<ReadResult>;
  readDir(path: string): Promise<DirResult>;
  pathInfo(path: string): Promise<PathInfo>;
  run(argv: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

export const DEFAULT_COMMAND_TIMEOUT_MS = 10_000;

export function commandTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env['TALOS_MAC_COMMAND_TIMEOUT'];
  if (raw === undefined) return DEFAULT_COMMAND_TIMEOUT_MS;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : DEFAULT_COMMAND_TIMEOUT_MS;
}

export async function readText(host: Host, path: string): Promise<ReadResult & { text?: string }> {
  const r = await host.readFile(path);
  return r.ok ? { ...r, text: r.data.toString('utf8') } : r;
}

export function describeCommandFailure(r: CommandResult): string {
  const cmd = r.argv.join(' ');
  if (r.notRecorded) return `the snapshot has no record of \`${cmd}\``;
  if (r.notFound) return `\`${r.argv[0]}\` is not installed (not found on PATH)`;
  if (r.timedOut) return `\`${cmd}\` did not answer in time and was stopped`;
  const firstErr = r.stderr.trim().split('\n')[0] ?? '';
  return `\`${cmd}\` exited with status ${r.exitCode}${firstErr ? `: ${firstErr}` : ''}`;
}
