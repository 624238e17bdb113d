import { UserError } from '../errors.js';
import type { AccelRequest } from '../launch/accel.js';
import { launchCommand } from '../launch/launch.js';
import type { Display } from '../guests/argv.js';

export interface LaunchFlags {
  accel: string;
  install?: boolean;
  force?: boolean;
  display: string;
  printCmd?: boolean;
  json?: boolean;
  detach?: boolean;
  paused?: boolean;
  timeout?: string;
  hostSnapshot?: string;
}

export function parseAccel(v: string): AccelRequest {
  if (v === 'auto' || v === 'kvm' || v === 'tcg') return v;
  throw new UserError(`--accel must be auto, kvm or tcg (got "${v}")`);
}

export function parseSeconds(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`${flag} must be a positive number of seconds (got "${v}")`);
  return n;
}

export async function launchCli(name: string, extra: string[], f: LaunchFlags): Promise<number> {
  if (!['window', 'serial', 'none'].includes(f.display)) throw new UserError(`--display must be window, serial or none (got "${f.display}")`);
  if (f.json && !f.printCmd) throw new UserError('--json goes with --print-cmd');
  const timeout = parseSeconds(f.timeout, '--timeout');
  if (timeout !== undefined && f.detach) throw new UserError('--timeout applies to a launch that waits for QEMU; it cannot be combined with --detach');
  return launchCommand(name, {
    accel: parseAccel(f.accel),
    install: f.install ?? false,
    force: f.force ?? false,
    display: f.display as Display,
    paused: f.paused ?? false,
    detach: f.detach ?? false,
    extra,
    hostSnapshot: f.hostSnapshot,
    printCmd: f.printCmd ?? false,
    json: f.json ?? false,
    timeoutMs: timeout === undefined ? undefined : timeout * 1000,
  });
}
