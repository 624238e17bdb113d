import { readFile } from 'node:fs/promises';
import { writeOut, writeText } from '../ui/output.js';
import { jsonText, shown } from '../ui/escape.js';
import { logFile } from '../guests/paths.js';
import { UserError } from '../errors.js';
import { GuestStore } from '../guests/store.js';
import type { Host } from '../host/host.js';
import { guestLockFile, lockTakers } from './guest-lock.js';
import { signalProcess, stillRuns, type ProcessId } from './identity.js';
import { QmpClient, queryAccelerator } from './qmp.js';
import { describeOutside, findRunning } from './running.js';
import { clearRuntime, runningPid, runtimeFiles, stillTheGuest, type RuntimeFiles } from './state.js';
import { isLoopback, VNC_BASE_PORT } from './vnc.js';
import { describeLiveShare, readLiveShare, type LiveShareState } from './live-share.js';
import { GuestStopReportSchema, type GuestStopReport } from '../guests/report-schema.js';
import { WHEN } from '../exit-codes.js';
import { GuestStatusSchema, StatusReportSchema, type StatusReport } from './status-schema.js';

export interface GuestStatus {
  name: string;
  running: boolean;
  pid?: number;
  /** QMP run state: running, paused, shutdown, … */
  state?: string;
  accel?: 'kvm' | 'tcg';
  qmp?: string;
  /** What QEMU says it shows the screen on (QMP query-display-options, query-vnc). */
  display?: DisplayStatus;
  /** Not running: how its last --detach run ended, as the background talos-mac wrote in the log. */
  lastDetached?: { exit: number; message: string };
  /** The live share its launcher serves (live-share.ts): what to type in the guest, and this launch's credentials. */
  liveShare?: LiveShareState;
  /** Running, but not started by talos-mac: some QEMU has its disk open. */
  outside?: { pids: number[]; disk: string };
  /** Only in the list of every guest: its definition could not be read, and why. */
  problem?: string;
}

export interface DisplayStatus {
  /** vnc, gtk, sdl, … or none (headless, or the serial console). */
  kind: string;
  /** The VNC server QEMU listens on, as it reports it. */
  vnc?: { host: string; port: number; display: number; address: string };
}

const out = writeText;

/**
 * QEMU's own word on its display, not what talos-mac asked for: query-vnc gives the address it
 * bound (qapi/ui.json VncInfo host/service), query-display-options the UI (QEMU 6.0+; absent before).
 */
async function displayStatus(q: QmpClient): Promise<DisplayStatus> {
  const vnc = await q.execute<{ enabled: boolean; host?: string; service?: string; family?: string }>('query-vnc').catch(() => undefined);
  if (vnc?.enabled && vnc.host !== undefined && vnc.service !== undefined) {
    const port = Number(vnc.service);
    const host = vnc.family === 'ipv6' ? `[${vnc.host}]` : vnc.host;
    return { kind: 'vnc', vnc: { host, port, display: port - VNC_BASE_PORT, address: `${host}:${port}` } };
  }
  const ui = await q.execute<{ type: string }>('query-display-options').catch(() => undefined);
  return { kind: ui?.type ?? 'unknown' };
}

async function ask<T>(socket: string, fn: (q: QmpClient) => Promise<T>): Promise<T | undefined> {
  const q = await QmpClient.connect(socket, 3000).catch(() => undefined);
  if (!q) return undefined;
  try {
    return await fn(q);
  } finally {
    q.close();
  }
}

export async function guestStatus(name: string, host: Host, env: NodeJS.ProcessEnv = process.env): Promise<GuestStatus> {
  const store = new GuestStore(env);
  return statusOf(store, host, await store.read(name));
}

async function statusOf(store: GuestStore, host: Host, g: { name: string; disk?: string | undefined; disk_format?: string | undefined }): Promise<GuestStatus> {
  const name = g.name;
  const f = runtimeFiles(store.paths, name);
  const r = await findRunning(host, store.paths, g);
  if (r === undefined) {
    const { lastDetachedEnd } = await import('./supervise.js');
    const last = lastDetachedEnd(await readFile(logFile(store.paths, name), 'utf8').catch(() => ''));
    return { name, running: false, ...(last ? { lastDetached: last } : {}) };
  }
  if (r.by === 'outside') return { name, running: true, ...(r.pids[0] !== undefined ? { pid: r.pids[0] } : {}), state: 'started outside talos-mac', outside: { pids: r.pids, disk: g.disk ?? '' } };
  const pid = r.pid;
  const info = await ask(f.control, async (q) => {
    const status = await q.execute<{ status: string }>('query-status');
    const accel = await queryAccelerator(q);
    const display = await displayStatus(q);
    return { state: status.status, accel: accel === 'kvm' ? ('kvm' as const) : ('tcg' as const), display };
  }).catch(() => undefined);
  const live = await readLiveShare(f.dir);
  return { name, running: true, pid, qmp: f.control, ...(info ?? { state: 'not answering on QMP' }), ...(live ? { liveShare: live } : {}) };
}

/** Every guest, running or not (a definition that cannot be read says why). */
export async function allStatuses(host: Host, env: NodeJS.ProcessEnv = process.env): Promise<StatusReport> {
  const store = new GuestStore(env);
  const guests = await Promise.all(
    (await store.list()).map(async (e) => ({ ...(await statusOf(store, host, e.guest ?? { name: e.name })), ...(e.problem !== undefined ? { problem: e.problem } : {}) })),
  );
  return { schema: 'talos-mac/status@1', guests };
}

export async function statusCommand(name: string | undefined, o: { json?: boolean }, host: Host, env = process.env): Promise<number> {
  if (name === undefined) {
    const report = await allStatuses(host, env);
    if (o.json) writeOut(jsonText(StatusReportSchema.parse(report)) + '\n');
    else out(renderStatusTable(report.guests));
    return 0;
  }
  const s = await guestStatus(name, host, env);
  if (o.json) writeOut(jsonText(GuestStatusSchema.parse(s)) + '\n');
  else if (!s.running) out(`${name}: not running\n${s.lastDetached ? `  its last run in the background: ${s.lastDetached.message}\n` : ''}`);
  else if (s.outside) out(`${name}: running outside talos-mac: ${shown(describeOutside(s.outside, s.outside.disk))}\n`);
  else {
    out(`${name}: running (pid ${s.pid}, ${s.state}${s.accel ? `, ${s.accel === 'kvm' ? 'KVM-PR' : 'TCG'}` : ''})\n`);
    if (s.display) out(`  display: ${describeDisplay(s.display)}\n`);
    if (s.liveShare) out(`  live share: ${describeLiveShare(s.liveShare)}\n`);
  }
  return s.running ? 0 : 1;
}

/** One row per guest: whether it runs, how (the accelerator), and where its screen is. */
function renderStatusTable(guests: GuestStatus[]): string {
  if (guests.length === 0) return 'No guests yet. Create one: talos-mac create tiger --os tiger --cdrom tiger.iso   (or try: talos-mac demo)\n';
  const w = Math.max(4, ...guests.map((g) => shown(g.name).length));
  const state = (g: GuestStatus): string => (g.problem !== undefined ? 'invalid' : !g.running ? 'stopped' : g.outside ? 'outside' : (g.state ?? 'running'));
  const sw = Math.max(5, ...guests.map((g) => state(g).length));
  const lines = [`${'NAME'.padEnd(w)}  ${'STATE'.padEnd(sw)}  ${'ACCEL'.padEnd(6)}  DISPLAY`];
  for (const g of guests) {
    const accel = g.accel === 'kvm' ? 'KVM-PR' : g.accel === 'tcg' ? 'TCG' : '-';
    const display = g.problem !== undefined ? shown(g.problem.split('\n')[0] ?? '') : g.outside ? shown(describeOutside(g.outside, g.outside.disk)) : g.display ? describeDisplay(g.display) : '-';
    lines.push(`${shown(g.name).padEnd(w)}  ${state(g).padEnd(sw)}  ${accel.padEnd(6)}  ${display}`);
    if (g.liveShare) lines.push(`${''.padEnd(w)}  live share: ${describeLiveShare(g.liveShare)}`);
  }
  return lines.join('\n') + '\n';
}

function describeDisplay(d: DisplayStatus): string {
  if (d.vnc) return `VNC server on ${d.vnc.address} (VNC display :${d.vnc.display})${isLoopback(d.vnc.host) ? '; from another machine, through ssh -L' : ''}`;
  if (d.kind === 'none') return 'none (headless or the serial console)';
  return d.kind === 'unknown' ? 'unknown (this QEMU does not say)' : `window (${d.kind})`;
}

/**
 * Gone means the lock is free too: a killed QEMU's main thread is a zombie while its other threads
 * still exit, and their shared files (the lock among them) close only with the last one (seen here:
 * about 1 kill in 4 left the lock held just after the leader turned 'Z').
 */
async function waitGone(p: ProcessId, lock: string, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!stillRuns(p) && !(await lockTakers(lock)).includes(p.pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/** The runtime files and the QEMU process of a running guest, or a "not running" error. */
export async function runningGuest(name: string, host: Host, env: NodeJS.ProcessEnv): Promise<{ f: RuntimeFiles; pid: number; p: ProcessId; lock: string }> {
  const store = new GuestStore(env);
  const f = runtimeFiles(store.paths, name);
  const lock = guestLockFile(store.paths, name);
  let g;
  try {
    g = await store.read(name);
  } catch (err) {
    // A QEMU talos-mac runs under a name with no definition (demo --display vnc) is found by its lock.
    const p = await runningPid(f, lock);
    if (p === undefined) throw err;
    return { f, pid: p.pid, p, lock };
  }
  const r = await findRunning(host, store.paths, g);
  if (r === undefined) throw new UserError(`${name} is not running.`, WHEN.guestNotRunning);
  if (r.by === 'outside') throw new UserError(`${name} was not started by talos-mac: ${describeOutside(r, g.disk)}. Stop that QEMU where it was started.`, WHEN.guestNotRunning);
  return { f, pid: r.pid, p: { pid: r.pid, start: r.start }, lock };
}

function stopReport(name: string, pid: number, how: GuestStopReport['how']): string {
  const doc: GuestStopReport = { schema: 'talos-mac/stop@1', name, pid, how };
  return jsonText(GuestStopReportSchema.parse(doc)) + '\n';
}

/** QMP quit: QEMU closes like its window's close button (mac99 ignores system_powerdown [inferred: seen by hand, no test pins it]). */
export async function stopCommand(name: string, host: Host, env = process.env, o: { json?: boolean } = {}): Promise<number> {
  const { f, pid, p, lock } = await runningGuest(name, host, env);
  const ok = await ask(f.control, (q) => q.execute('quit').then(() => true, () => true));
  if (!ok) throw new UserError(`${name} (pid ${pid}) does not answer on QMP (${f.control}): use talos-mac kill ${name}.`, 1);
  if (!(await waitGone(p, lock, 10_000))) throw new UserError(`${name} (pid ${pid}) did not quit within 10 s: use talos-mac kill ${name}.`, 1);
  out(o.json ? stopReport(name, pid, 'quit') : `${name} stopped.\n`);
  return 0;
}

export async function killCommand(name: string, host: Host, env = process.env, o: { json?: boolean } = {}): Promise<number> {
  const { f, pid, p, lock } = await runningGuest(name, host, env);
  // Asked again just before the signal: the process found a moment ago may have ended since.
  if (!(await stillTheGuest(p, f, lock)) || !signalProcess(p, 'SIGKILL')) throw new UserError(`${name} is not running (its QEMU, pid ${pid}, ended meanwhile); nothing was signalled.`, 1);
  if (!(await waitGone(p, lock, 5000))) throw new UserError(`${name} (pid ${pid}) survived SIGKILL.`, 1);
  await clearRuntime(f, lock);
  out(o.json ? stopReport(name, pid, 'killed') : `${name} killed (pid ${pid}). Its disk may need the guest's disk check on next boot.\n`);
  return 0;
}
