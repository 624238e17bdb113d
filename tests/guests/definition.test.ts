import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OS_CATALOG } from '../../src/guests/catalog.js';
import { parseDefinition, renderDefinition } from '../../src/guests/definition-file.js';
import { GuestSchema } from '../../src/guests/definition.js';
import { nameProblem } from '../../src/guests/names.js';

const FILE = '/home/u/.config/talos-mac/guests/tiger.toml';
const base = GuestSchema.parse({ name: 'tiger', os: 'tiger', ram: 1024, disk: '/d/t.qcow2', disk_format: 'qcow2', net: 'user', resolution: '1024x768' });
const text = renderDefinition(base);
const edited = (from: RegExp, to: string): string => {
  assert.match(text, from);
  return text.replace(from, to);
};

describe('guest definition files', () => {
  it('round-trip for every OS, with cdrom and cpu', () => {
    for (const os of OS_CATALOG) {
      const g = GuestSchema.parse({ name: 'x', os: os.id, ram: 512, cpu: os.tcg.defaultCpu, disk: '/d/a b.qcow2', disk_format: 'qcow2', cdrom: '/i/"odd".iso', net: 'tap:tap0', nic: 'rtl8139', resolution: '800x600x15' });
      assert.deepEqual(parseDefinition(renderDefinition(g), FILE, 'x'), g);
    }
  });

  it('stores the catalog id for a codename', () => assert.equal(base.os, '10.4'));

  const bad: Array<[string, string, RegExp]> = [
    ['RAM over the mac99 limit', edited(/^ram = .*$/m, 'ram = 4096'), /ram: 4096 is too much: mac99 supports at most 2048/],
    ['RAM as a string', edited(/^ram = .*$/m, 'ram = "lots"'), /ram: a whole number of MiB, 64–2048/],
    ['unknown OS', edited(/^os = .*$/m, 'os = "10.6"'), /os: unknown OS "10.6": use one of os9, rhapsody, 10.0/],
    ['CPU Leopard cannot use', edited(/^os = .*$/m, 'os = "leopard"\ncpu = "g3"'), /cpu: "g3" is not a CPU for Mac OS X 10.5 Leopard: use one of g4/],
    ['misspelt field', edited(/^ram = /m, 'rma = 5\nram = '), /\(file\): unknown field rma \(allowed: name, os, ram/],
    ['relative disk path', edited(/^disk = .*$/m, 'disk = "t.qcow2"'), /disk: disk must be an absolute path/],
    ['bad network', edited(/^net = .*$/m, 'net = "bridge"'), /net: user, none, or tap:IFACE/],
    ['bad resolution', edited(/^resolution = .*$/m, 'resolution = "1024x768x24"'), /resolution: WIDTHxHEIGHT or WIDTHxHEIGHTxDEPTH with depth 8, 15 or 32/],
    ['missing field', edited(/^disk_format = .*$/m, ''), /disk_format: /],
    ['not TOML', edited(/^ram = .*$/m, 'ram = = 3'), /is not valid TOML \(line \d+, column \d+\)/],
  ];
  for (const [what, t, re] of bad) {
    it(`rejects ${what}, naming the file and the field`, () => {
      assert.throws(() => parseDefinition(t, FILE, 'tiger'), (e: Error) => {
        assert.ok(e.message.includes(FILE), e.message);
        assert.match(e.message, re);
        return true;
      });
    });
  }

  it('rejects a name that does not match the file name', () => {
    assert.throws(() => parseDefinition(edited(/^name = .*$/m, 'name = "panther"'), FILE, 'tiger'), /name: "panther" does not match the file name/);
  });

  it('guest names: no separators, no shell surprises', () => {
    for (const ok of ['tiger', 'os9-games', 'a.b_c', '10.4']) assert.equal(nameProblem(ok), undefined, ok);
    for (const bad of ['', '../x', 'a/b', 'a b', '-rf', '.hidden', '$(reboot)', 'x'.repeat(64), 'tab\there']) assert.ok(nameProblem(bad), bad);
  });
});
