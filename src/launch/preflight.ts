import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { Nic } from '../guests/catalog.js';
import type { Display } from '../guests/argv.js';
import { WINDOW_BACKENDS, displayBackends } from '../parse/qemu.js';
import { qemuBinary, qemuFirmware, qemuMac99, qemuNicRoms, qemuVgaRom, qemuWindow } from '../steps/checks/qemu.js';
import { Facts, QEMU_PROGRAM } from '../steps/facts.js';
import { verifyAll } from '../steps/runner.js';
import { DEFAULT_HOST_OPTIONS, type Step } from '../steps/step.js';

export interface QemuNeeds {
  /** The NIC model on the command line, if any. */
  nic?: Nic | undefined;
  display: Display;
}

/** The doctor checks one mac99 command line depends on: what QEMU will load for it. */
export function checksFor(needs: QemuNeeds): Step[] {
  const nicRom = needs.nic ? qemuNicRoms[needs.nic] : undefined;
  return [qemuBinary, qemuMac99, qemuFirmware, qemuVgaRom, ...(nicRom ? [nicRom] : []), ...(needs.display === 'window' ? [qemuWindow] : [])];
}

export interface Preflight {
  /** The window backend to name on the command line (never left to QEMU, which would fall back to VNC). */
  windowBackend?: string;
}

/**
 * Runs doctor's own checks for this command line before QEMU starts, and refuses with their fixes
 * rather than letting QEMU die on a missing ROM. A check that cannot tell does not refuse.
 */
export async function qemuPreflight(host: Host, needs: QemuNeeds): Promise<Preflight> {
  const facts = new Facts(host);
  // Every query at once (each QEMU start is ~20 ms; in turn they would add up before every launch).
  await Promise.all([facts.qemu('version'), facts.qemu('machines'), facts.qemu('dataDirs'), ...(needs.display === 'window' ? [facts.qemu('displays')] : [])]);
  const outcomes = await verifyAll(checksFor(needs), { host, facts, options: DEFAULT_HOST_OPTIONS });
  // blocked checks follow from the failing one before them (no QEMU at all): that one is named.
  const failing = outcomes.filter((o) => o.result.state === 'todo' && o.result.status !== 'warn');
  if (failing.length > 0) {
    const lines = failing.flatMap(({ step, result }) => [
      `  ✗ ${result.summary} (doctor check ${step.id})`,
      ...(result.fix ? [`    → ${result.fix.text}`, ...(result.fix.commands ?? []).map((c) => `      $ ${c}`)] : []),
    ]);
    throw new UserError(`${QEMU_PROGRAM} cannot run this guest here yet (nothing was started):\n${lines.join("\n")}`, 1);
  }
  if (needs.display !== 'window') return {};
  const r = await facts.qemu('displays');
  const backend = WINDOW_BACKENDS.find((b) => displayBackends(r.stdout).includes(b));
  return backend ? { windowBackend: backend } : {};
}
