import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { BOOT_RETRY, buildQemuArgv, KVM_TASKSET } from '../../src/guests/argv.js';
import { shellLine } from '../../src/ui/shell-quote.js';
import { findOs, G4_7450_SERIES, MAC99_MAX_RAM_MB, OS_CATALOG as CATALOG, type OsEntry } from '../../src/guests/catalog.js';
import { GuestSchema, type Guest } from '../../src/guests/definition.js';
import { chooseAccel, type HostKvm } from '../../src/launch/accel.js';
import { UserError } from '../../src/errors.js';

const READY: HostKvm = { ready: true, reason: 'ready', fixes: [] };
const NOT_READY: HostKvm = { ready: false, reason: 'Radix MMU (doctor check mmu.active)', fixes: ['sudo reboot'] };

function guestFor(os: OsEntry, extra: Partial<Record<string, unknown>> = {}): Guest {
  return GuestSchema.parse({ name: `g-${os.id}`, os: os.id, ram: os.ramMb, disk: '/d/disk one.qcow2', disk_format: 'qcow2', net: 'user', resolution: os.resolution, ...extra });
}

async function argvFor(os: OsEntry, request: 'auto' | 'kvm' | 'tcg', host: HostKvm, cpu?: string, install = false): Promise<string[]> {
  const g = guestFor(os, cpu ? { cpu } : {});
  const c = await chooseAccel({ request, os, cpu: g.cpu, install, force: false, host: async () => host });
  return buildQemuArgv({ guest: g, os, accel: c.accel, cpu: c.cpu, boot: install ? 'cd' : 'disk', display: 'window' });
}

const after = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));

const OS_CATALOG: readonly OsEntry[] = CATALOG;

describe('argv rules for every OS in the catalog', () => {
  for (const os of OS_CATALOG) {
    describe(os.title, () => {
      it('RAM default within the mac99 limit, and the schema refuses more than 2048', () => {
        assert.ok(os.ramMb <= MAC99_MAX_RAM_MB);
        assert.throws(() => guestFor(os, { ram: MAC99_MAX_RAM_MB + 1 }), /at most 2048/);
        assert.equal(guestFor(os, { ram: MAC99_MAX_RAM_MB }).ram, 2048);
      });

      it('USB tablet only from 10.3 on; others say how to release the grab', async () => {
        const argv = await argvFor(os, 'tcg', READY);
        const tablet = argv.includes('usb-tablet');
        assert.equal(tablet, ['10.3', '10.4', '10.5'].includes(os.id), `tablet for ${os.id}`);
        if (!tablet) assert.ok(os.notes.some((n) => n.includes('Ctrl-Alt-G')));
      });

      it('mac99 with the catalog via=, explicit drive formats, one-letter -boot, the boot retry with a real newline', async () => {
        const argv = await argvFor(os, 'tcg', READY);
        assert.deepEqual(after(argv, '-M'), [`mac99,via=${os.via}`]);
        for (const d of after(argv, '-drive')) assert.match(d, /format=/);
        assert.ok(after(argv, '-boot').every((b) => b.length === 1));
        assert.ok(argv.includes(BOOT_RETRY) && BOOT_RETRY.includes('\n'));
        assert.ok(after(argv, '-prom-env').includes('auto-boot?=true'));
        assert.ok(!argv.some((a) => a.includes('kvm-type')), 'kvm-type is pseries-only');
      });

      it('auto picks KVM-PR only when the OS and CPU allow it and the host is ready', async () => {
        const ready = await argvFor(os, 'auto', READY);
        assert.equal(after(ready, '-accel')[0], os.kvm.works ? 'kvm' : 'tcg');
        if (os.kvm.works) assert.deepEqual(ready.slice(0, 4), [...KVM_TASKSET]);
        else assert.equal(ready[0], 'qemu-system-ppc');
        assert.equal(after(await argvFor(os, 'auto', NOT_READY), '-accel')[0], 'tcg');
        assert.equal(after(await argvFor(os, 'auto', READY, undefined, true), '-accel')[0], 'tcg', 'installs run under TCG');
      });

      it('never KVM with a 7450-series G4, under auto or --accel kvm (even with --force)', async () => {
        for (const cpu of os.tcg.cpus.filter((c) => (G4_7450_SERIES as readonly string[]).includes(c))) {
          assert.equal(after(await argvFor(os, 'auto', READY, cpu), '-accel')[0], 'tcg');
          await assert.rejects(chooseAccel({ request: 'kvm', os, cpu, install: false, force: true, host: async () => READY }), /7450-series/);
        }
        await assert.rejects(chooseAccel({ request: 'kvm', os, cpu: '970fx', install: false, force: true, host: async () => READY }), /970/);
      });

      it('--accel kvm: refused for an OS that does not run under KVM-PR unless --force; refused on an unready host', async () => {
        const req = { request: 'kvm' as const, os, install: false, host: async () => READY };
        if (os.kvm.works) {
          const c = await chooseAccel({ ...req, force: false });
          assert.equal(c.accel, 'kvm');
          assert.ok(os.kvm.cpus.includes(c.cpu));
        } else {
          await assert.rejects(chooseAccel({ ...req, force: false }), (e: unknown) => e instanceof UserError && /--force/.test(e.message));
          const forced = await chooseAccel({ ...req, force: true });
          assert.equal(forced.accel, 'kvm');
          assert.match(forced.warnings.join(' '), /--force/);
        }
        await assert.rejects(chooseAccel({ ...req, force: true, host: async () => NOT_READY }), /cannot use KVM-PR here: Radix MMU[\s\S]*sudo reboot/);
      });
    });
  }

  it('OS 9 never runs under KVM with auto; Leopard never on a G3', async () => {
    assert.equal(after(await argvFor(findOs('os9')!, 'auto', READY), '-accel')[0], 'tcg');
    const leopard = findOs('leopard')!;
    assert.throws(() => guestFor(leopard, { cpu: 'g3' }), /not a CPU for Mac OS X 10.5/);
    assert.equal(after(await argvFor(leopard, 'auto', READY), '-cpu')[0], '7410');
  });

  it('finds versions and codenames', () => {
    for (const [q, id] of [['tiger', '10.4'], ['10.4', '10.4'], ['os9', 'os9'], ['9.2', 'os9'], ['Mac OS X 10.5', '10.5'], ['Jaguar', '10.2'], ['rhapsody', 'rhapsody']]) {
      assert.equal(findOs(q!)?.id, id, q);
    }
    assert.equal(findOs('10.6'), undefined);
  });
});

describe('--print-cmd quoting', () => {
  it('bash reads back exactly the argv, newline and spaces included', () => {
    const os = findOs('tiger')!;
    const argv = buildQemuArgv({ guest: guestFor(os, { disk: "/d/it's a, disk.qcow2" }), os, accel: 'tcg', cpu: 'g4', boot: 'disk', display: 'window', extra: ['-d', 'a b'] });
    const r = spawnSync('bash', ['-c', `printf '%s\\0' ${shellLine(argv)}`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\0').slice(0, -1), argv);
    assert.ok(argv.some((a) => a.includes("file=/d/it's a,, disk.qcow2,format=qcow2")), 'commas doubled inside -drive');
  });
});
