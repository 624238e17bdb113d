import { UserError } from '../errors.js';
import type { Host } from '../host/host.js';
import type { Nic } from '../guests/catalog.js';
import type { Display } from '../guests/argv.js';
import { WINDOW_BACKENDS, displayBackends } from '../parse/qemu.js';
import { qemuBinary, qemuFirmware, qemuMac99, qemuNicRoms, qemuVgaRom, qemuWindow } from '../steps/checks/qemu.js';
import { macSound, qemuSound, SOUND_BACKENDS } from '../steps/checks/sound.js';
import { Facts, QEMU_PROGRAM } from '../host/facts.js';
import { verifyAll } from '../steps/runner.js';
import { DEFAULT_HOST_OPTIONS, type Step } from '../steps/step.js';

export interface QemuNeeds {
  /** The NIC model on the command line, if any. */
  nic?: Nic | undefined;
  /** auto: a window if this QEMU can make one, never refused for lacking one. */
  display: Display | 'auto';
  /** --sound: refused unless this QEMU has a mac99 audio device. */
  sound?: boolean;
}

/** The doctor checks one mac99 command line depends on: what QEMU will load for it. */
export function checksFor(needs: QemuNeeds): Step[] {
  const nicRom = needs.nic ? qemuNicRoms[needs.nic] : undefined;
  return [qemuBinary, qemuMac99, qemuFirmware, qemuVgaRom, ...(nicRom ? [nicRom] : []), ...(needs.display === 'window' ? [qemuWindow] : [])];
}

/** --sound: the device and a host backend, or the doctor check's reason as the refusal. */
async function soundFor(facts: Facts): Promise<{ backend: string }> {
  const s = await macSound(facts);
  if (s.device === undefined) throw new UserError(`--sound: ${s.why} (doctor check ${qemuSound.id}). Nothing was started.`, 1);
  if (s.backend === undefined) throw new UserError(`--sound: this QEMU has ${s.device}, but none of the host audio backends ${SOUND_BACKENDS.join(', ')} (qemu-system-ppc -audiodev help). Nothing was started.`, 1);
  return { backend: s.backend };
}

export interface Preflight {
  /** The window backend to name on the command line (never left to QEMU, which would fall back to VNC). */
  windowBackend?: string;
  sound?: { backend: string };
}

/**
 * Runs doctor's own checks for this command line before QEMU starts, and refuses with their fixes
 * rather than letting QEMU die on a missing ROM. A check that cannot tell does not refuse.
 */
export async function qemuPreflight(host: Host, needs: QemuNeeds): Promise<Preflight> {
  const facts = new Facts(host);
  // Every query at once (each QEMU start is ~20 ms; in turn they would add up before every launch).
  const wantsWindow = needs.display === 'window' || needs.display === 'auto';
  const soundQueries = needs.sound ? [facts.qemu('devices'), facts.qemu('machineOptions'), facts.qemu('audiodevs')] : [];
  await Promise.all([facts.qemu('version'), facts.qemu('machines'), facts.qemu('dataDirs'), ...(wantsWindow ? [facts.qemu('displays')] : []), ...soundQueries]);
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
  const sound = needs.sound ? await soundFor(facts) : undefined;
  if (!wantsWindow) return sound ? { sound } : {};
  const r = await facts.qemu('displays');
  const backend = WINDOW_BACKENDS.find((b) => displayBackends(r.stdout).includes(b));
  return { ...(backend ? { windowBackend: backend } : {}), ...(sound ? { sound } : {}) };
}
