import { describeCommandFailure } from '../../host/host.js';
import { audioDrivers, deviceNames, machineOptionNames } from '../../parse/qemu.js';
import type { Facts } from '../../host/facts.js';
import type { Step } from '../step.js';
import { qemuMissing } from './qemu.js';

/**
 * Host audio backends talos-mac uses, best first: PulseAudio (PipeWire serves it too), then ALSA.
 * Never `none`: with screamer on the null backend Mac OS 9 stops at boot in "Apple Audio Extension"
 * (reported: amcchord/ClassicMac#2).
 */
export const SOUND_BACKENDS = ['pa', 'pipewire', 'alsa', 'sdl'] as const;

export interface MacSound {
  /** The mac99 audio device this QEMU carries, if any. */
  device?: 'screamer';
  backend?: string;
  why: string;
}

/**
 * Upstream QEMU gives mac99 no sound device (hw/ppc/mac_newworld.c creates none). Forks carry the
 * Screamer (AWACS) chip in the mac-io (hw/audio/screamer.c, Mark Cave-Ayland's screamer branch,
 * the build UTM ships), wired with `-M mac99,audiodev=ID` (reported: amcchord/ClassicMac#2); such a
 * build names it in `-device help` or gives mac99 an `audiodev` option.
 */
export async function macSound(facts: Facts): Promise<MacSound> {
  const [devices, options, drivers] = await Promise.all([facts.qemu('devices'), facts.qemu('machineOptions'), facts.qemu('audiodevs')]);
  if (devices.exitCode !== 0 && options.exitCode !== 0) return { why: `cannot ask QEMU for its devices (${describeCommandFailure(devices)})` };
  const has = deviceNames(devices.stdout).has('screamer') || machineOptionNames(options.stdout).has('audiodev');
  if (!has) {
    const usb = deviceNames(devices.stdout).has('usb-audio');
    return {
      why:
        'this QEMU has no sound device for mac99: upstream QEMU has none (a build carrying the Screamer chip, such as the one UTM ships, has one)' +
        (usb ? "; its usb-audio is a USB sound card the guest's own USB audio driver may drive (untested: talos-mac launch NAME -- -audiodev pa,id=usbsnd -device usb-audio,audiodev=usbsnd)" : ''),
    };
  }
  const available = audioDrivers(drivers.stdout);
  const backend = SOUND_BACKENDS.find((b) => available.includes(b));
  return { device: 'screamer', ...(backend ? { backend } : {}), why: backend ? `screamer, played through ${backend}` : `screamer, but no host audio backend (${available.join(', ') || 'none listed'})` };
}

export const qemuSound: Step = {
  id: 'qemu.sound',
  category: 'QEMU',
  title: 'Have a sound device for mac99',
  severity: 'info',
  async verify({ facts }) {
    const missing = await qemuMissing(facts);
    if (missing) return missing;
    const s = await macSound(facts);
    if (s.device && s.backend) return { state: 'done', summary: `sound: ${s.why}; talos-mac launch NAME --sound turns it on` };
    return {
      state: 'todo',
      summary: s.why,
      fix: { text: s.device ? 'Install a host audio backend module for QEMU (Debian: qemu-system-modules-audio-pa / -alsa, or qemu-system-gui).' : 'Guests run silent. For sound, use a QEMU build that carries the Screamer device; talos-mac then offers --sound.' },
    };
  },
};
