import { homedir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../privileged/sha256.js';

/** XDG base directories (https://specifications.freedesktop.org/basedir-spec): relative values are ignored, as the spec says. */
function xdg(env: NodeJS.ProcessEnv, key: string, fallback: string): string {
  const v = env[key];
  return v && v.startsWith('/') ? v : join(env['HOME'] || homedir(), fallback);
}

export interface GuestPaths {
  /** Guest definitions: $XDG_CONFIG_HOME/talos-mac/guests/NAME.toml */
  definitions: string;
  /** New disks: $XDG_DATA_HOME/talos-mac/ */
  disks: string;
  /** Logs and remembered warnings: $XDG_STATE_HOME/talos-mac/ */
  state: string;
  /** QMP sockets and pid files of running guests: $XDG_RUNTIME_DIR/talos-mac/, else under the state dir. */
  runtime: string;
  /** Rebuildable files (the demo disk): $XDG_CACHE_HOME/talos-mac/ */
  cache: string;
}

export function guestPaths(env: NodeJS.ProcessEnv = process.env): GuestPaths {
  const state = join(xdg(env, 'XDG_STATE_HOME', '.local/state'), 'talos-mac');
  const rt = env['XDG_RUNTIME_DIR'];
  return {
    definitions: join(xdg(env, 'XDG_CONFIG_HOME', '.config'), 'talos-mac', 'guests'),
    disks: join(xdg(env, 'XDG_DATA_HOME', '.local/share'), 'talos-mac'),
    state,
    runtime: rt && rt.startsWith('/') ? join(rt, 'talos-mac') : join(state, 'run'),
    cache: join(xdg(env, 'XDG_CACHE_HOME', '.cache'), 'talos-mac'),
  };
}

export const definitionFile = (p: GuestPaths, name: string): string => join(p.definitions, `${name}.toml`);
export const defaultDiskFile = (p: GuestPaths, name: string): string => join(p.disks, `${name}.qcow2`);
export const logFile = (p: GuestPaths, name: string): string => join(p.state, 'logs', `${name}.log`);

/** sun_path holds 108 bytes with its NUL (unix(7)): QEMU refuses a longer socket path. */
export const SOCKET_PATH_MAX = 107;
/** The longest socket name in a guest's runtime folder (src/launch/state.ts). */
const LONGEST_SOCKET = 'events.sock';

/** Short and private (0700, this user's): for runtime folders whose socket paths would be too long. */
export const shortRuntimeRoot = (): string => `/tmp/talos-mac-${process.getuid?.() ?? 0}`;

/**
 * One guest's runtime folder: under `runtime`, unless a socket there would pass sun_path's limit
 * (a long state path without XDG_RUNTIME_DIR, a long guest name); then under shortRuntimeRoot(),
 * named by a hash of the long folder (short whatever the name, and distinct for each state dir).
 */
export function guestRuntimeDir(p: GuestPaths, name: string): string {
  const dir = join(p.runtime, name);
  if (Buffer.byteLength(join(dir, LONGEST_SOCKET)) <= SOCKET_PATH_MAX) return dir;
  return join(shortRuntimeRoot(), sha256(dir).slice(0, 16));
}
