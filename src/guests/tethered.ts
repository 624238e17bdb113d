import type { CommandResult, Host, RunOptions } from '../host/host.js';

/**
 * A long copy must not outlive talos-mac: a `kill -9` of talos-mac would otherwise leave qemu-img
 * or 7-Zip running (they run in their own process group) and writing its temporary copy.
 * `setpriv --pdeathsig KILL` (util-linux) sets PR_SET_PDEATHSIG before it execs the command: the
 * kernel sends SIGKILL when the thread that started it exits, and execve keeps the setting for a
 * program that is not set-user-ID (prctl(2)).
 */
const TETHER = ['setpriv', '--pdeathsig', 'KILL', '--'] as const;

let prefix: Promise<readonly string[]> | undefined;

/** The words that tether a command to this process: none where setpriv is missing. */
export function tetherPrefix(host: Host): Promise<readonly string[]> {
  return (prefix ??= host.run(['setpriv', '--version'], { timeoutMs: 10_000 }).then((r) => (r.exitCode === 0 ? TETHER : [])));
}

/** setpriv's own "failed to execute PROGRAM: No such file or directory" (exit 127): the program is missing. */
export const tetheredNotFound = (code: number | null, stderr: string): boolean => code === 127 && /^setpriv: failed to execute .*No such file or directory/m.test(stderr);

/** `argv` tethered to this process; notFound speaks of argv's program. */
export async function runTethered(host: Host, argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  const r = await host.run([...(await tetherPrefix(host)), ...argv], options);
  return { ...r, argv: [...argv], notFound: r.notFound || tetheredNotFound(r.exitCode, r.stderr) };
}
