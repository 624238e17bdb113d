import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseDisplay } from '../../src/cli/launch.js';
import { buildQemuArgv } from '../../src/guests/argv.js';
import { OS_CATALOG, osById } from '../../src/guests/catalog.js';
import { pointerNote } from '../../src/launch/plan.js';
import { defaultScreenshotName, pngSize } from '../../src/launch/screenshot.js';
import { audioDrivers, deviceNames, machineOptionNames } from '../../src/parse/qemu.js';
import { FIXTURES } from '../helpers/guest-env.js';

const QEMU72 = join(FIXTURES, 'qemu-7.2');

describe('display, screenshot, input and sound helpers', () => {
  it('--display auto is the default word; anything else is still refused', () => {
    assert.deepEqual(parseDisplay('auto'), { display: 'auto' });
    assert.throws(() => parseDisplay('gtk'), /--display must be auto, window, vnc\[=HOST:N\], serial or none/);
  });

  it('pngSize reads IHDR and refuses what is not a PNG', () => {
    const ihdr = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(ihdr, 0);
    ihdr.writeUInt32BE(13, 8);
    ihdr.write('IHDR', 12, 'latin1');
    ihdr.writeUInt32BE(1024, 16);
    ihdr.writeUInt32BE(768, 20);
    assert.deepEqual(pngSize(ihdr), { width: 1024, height: 768 });
    assert.equal(pngSize(Buffer.from('P6\n800 600\n255\n')), undefined);
    const wrongChunk = Buffer.from(ihdr);
    wrongChunk.write('IDAT', 12, 'latin1');
    assert.equal(pngSize(wrongChunk), undefined);
    assert.equal(pngSize(ihdr.subarray(0, 20)), undefined);
  });

  it('the default screenshot name is NAME-YYYYmmdd-HHMMSS.png in local time', () => {
    assert.equal(defaultScreenshotName('tiger', new Date(2026, 0, 2, 3, 4, 5)), 'tiger-20260102-030405.png');
  });

  it("reads Debian 12's QEMU 7.2 listings (captured): usb-audio, no screamer, no mac99 audiodev, pa and alsa", async () => {
    const devices = deviceNames(await readFile(join(QEMU72, 'device-help.txt'), 'utf8'));
    assert.ok(devices.has('usb-audio') && devices.has('usb-tablet') && devices.has('sungem'));
    assert.ok(!devices.has('screamer'));
    const options = machineOptionNames(await readFile(join(QEMU72, 'mac99-machine-help.txt'), 'utf8'));
    assert.ok(options.has('usb') && options.has('graphics'));
    assert.ok(!options.has('audiodev'));
    const drivers = audioDrivers(await readFile(join(QEMU72, 'audiodev-help.txt'), 'utf8'));
    assert.ok(drivers.includes('pa') && drivers.includes('alsa') && drivers.includes('none'));
  });

  it('without a tablet, the way back for the mouse is said for the window and for VNC, never for a display without a pointer', () => {
    assert.match(pointerNote('grab', 'window')!, /Ctrl-Alt-G releases it/);
    assert.match(pointerNote('grab', 'vnc')!, /does not grab the mouse/);
    assert.equal(pointerNote('grab', 'serial'), undefined);
    assert.equal(pointerNote('grab', 'none'), undefined);
    for (const d of ['window', 'vnc', 'serial', 'none'] as const) assert.equal(pointerNote('usb-tablet', d), undefined);
  });

  it('every OS says how its input was decided, each line tagged with its basis, and the via it uses is explained', () => {
    for (const os of OS_CATALOG) {
      assert.ok(os.input.length > 0, os.id);
      for (const line of os.input) assert.match(line, /^\[(source|reported|inferred)\] /, `${os.id}: ${line}`);
      assert.ok(os.input.some((l) => l.includes(`via=${os.via}`)), `${os.id} explains via=${os.via}`);
      if (os.pointer === 'grab') assert.ok(os.input.some((l) => /no tablet|no usb-tablet/i.test(l)), os.id);
      else assert.ok(os.input.some((l) => /usb-tablet/.test(l)), os.id);
    }
  });

  it('-no-reboot only for a launcher that restarts QEMU; sound names the audiodev on the machine', () => {
    const guest = { name: 'g', os: '10.4', ram: 512, disk: '/d.qcow2', disk_format: 'qcow2', net: 'none', resolution: '800x600x32' } as const;
    const base = { guest, os: osById('10.4'), accel: 'tcg' as const, cpu: 'g4', boot: 'disk' as const, display: 'none' as const };
    assert.ok(!buildQemuArgv(base).includes('-no-reboot'));
    assert.ok(buildQemuArgv({ ...base, restartOnReset: true }).includes('-no-reboot'));
    const snd = buildQemuArgv({ ...base, sound: { backend: 'alsa' } });
    assert.equal(snd[snd.indexOf('-M') + 1], 'mac99,via=pmu,audiodev=snd0');
    assert.equal(snd[snd.indexOf('-audiodev') + 1], 'alsa,id=snd0');
    assert.ok(!buildQemuArgv(base).includes('-audiodev'));
  });
});
