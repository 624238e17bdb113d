// setup's door for a disc (issue 23): --cdrom is judged by the one disc check (media-check.ts
// admitDisc), as create, set and launch judge it: an HFS+ data disc is no longer "a PowerPC Mac boot
// disc" here while media check says "not bootable". And a second run offers the guest it made.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createGuest } from '../../src/guests/create.js';
import { GuestStore } from '../../src/guests/store.js';
import { LiveHost } from '../../src/host/live-host.js';
import { askGuest } from '../../src/setup/guest-phase.js';
import type { Prompts } from '../../src/ui/prompts.js';
import { BIN } from '../helpers/cli.js';
import { makeDiscs, NOT_BOOT_DISCS, type Discs } from '../helpers/discs.js';
import { withSandbox, type Sandbox } from './sandbox.js';

const xdg = (sb: Sandbox): NodeJS.ProcessEnv => ({
  XDG_DATA_HOME: join(sb.root, '..', 'xdg', 'data'),
  XDG_CONFIG_HOME: join(sb.root, '..', 'xdg', 'config'),
  XDG_STATE_HOME: join(sb.root, '..', 'xdg', 'state'),
  XDG_CACHE_HOME: join(sb.root, '..', 'xdg', 'cache'),
});
const run = (sb: Sandbox, args: string[]) =>
  spawnSync(process.execPath, [BIN, 'setup', '--root', sb.root, '--user', 'alice', ...args], { encoding: 'utf8', env: { ...process.env, ...sb.env, ...xdg(sb), NO_COLOR: '1' } });

describe("setup's guest phase: the disc check of every door", () => {
  let dir: string;
  let d: Discs;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talos-setup-discs-'));
    d = await makeDiscs(dir);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses each disc that is not a PowerPC Mac boot disc with its verdict; accepts the real one; --force says it insists', async () => {
    await withSandbox({ snapshot: 'pr-kernel-6.1.176-hash', grub: 'debian12' }, async (sb) => {
      for (const [key, what, says] of NOT_BOOT_DISCS) {
        const r = run(sb, ['--yes', '--dry-run', '--os', 'tiger', '--cdrom', d[key]]);
        assert.equal(r.status, 2, `${what}: ${r.stderr}`);
        assert.match(r.stderr, says, what);
        assert.match(r.stderr, /To use it anyway, add --force\./);
        assert.doesNotMatch(r.stdout, /is a PowerPC Mac boot disc/, what);
      }
      const forced = run(sb, ['--yes', '--dry-run', '--os', 'tiger', '--cdrom', d.hfsPlusData, '--force']);
      assert.equal(forced.status, 0, forced.stderr);
      assert.match(forced.stdout, /! --cdrom .*photos\.iso: not a PowerPC Mac boot disc: a Mac volume with no blessed System folder.*used anyway \(--force\)/);
      assert.doesNotMatch(forced.stdout, /The install CD is a PowerPC Mac boot disc/);
      const good = run(sb, ['--yes', '--dry-run', '--os', 'tiger', '--cdrom', d.bootable]);
      assert.equal(good.status, 0, good.stderr);
      assert.match(good.stdout, /The install CD is a PowerPC Mac boot disc \(TEST-INSTALL\)/);
    });
  });
});

/** Answers setup's questions from a script; every question asked is recorded. */
function scripted(answers: { confirm: Record<string, boolean>; choose?: string; text?: (q: { message: string; default?: string | undefined }) => string }): Prompts & { asked: string[]; defaults: Record<string, string | undefined> } {
  const asked: string[] = [];
  const defaults: Record<string, string | undefined> = {};
  return {
    asked,
    defaults,
    confirm: async (q) => {
      asked.push(q.message);
      const hit = Object.entries(answers.confirm).find(([k]) => q.message.includes(k));
      if (!hit) throw new Error(`unexpected question: ${q.message}`);
      return hit[1];
    },
    choose: async <T extends string>(q: { message: string }) => {
      asked.push(q.message);
      return answers.choose as T;
    },
    text: async (q) => {
      asked.push(q.message);
      defaults[q.message] = q.default;
      return answers.text ? answers.text(q) : (q.default ?? '');
    },
  };
}

describe('setup on a terminal: a typed path that is no boot disc is explained, then asked again or used when the person insists', () => {
  let dir: string;
  let d: Discs;
  let store: GuestStore;
  const host = new LiveHost();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talos-setup-typed-'));
    d = await makeDiscs(join(dir, 'discs'));
    store = new GuestStore({ XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_STATE_HOME: join(dir, 'state') });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  for (const insist of [false, true]) {
    it(insist ? 'yes to "use it anyway": the plan carries it as forced' : 'no: the reason is said and the question comes again', async () => {
      const typed = [d.hfsPlusData, insist ? '' : d.bootable];
      const said: string[] = [];
      const p = scripted({ confirm: { 'Use it anyway': insist }, text: (q) => (/Install CD/.test(q.message) ? typed.shift()! : (q.default ?? '')) });
      const plan = await askGuest(p, { os: 'tiger', name: 'typed' }, store, false, true, (l) => said.push(l), host);
      assert.match(said.join('\n'), /photos\.iso: not a PowerPC Mac boot disc: a Mac volume with no blessed System folder/);
      if (insist) {
        assert.equal(plan?.cdrom, d.hfsPlusData);
        assert.match(plan?.forced ?? '', /used anyway \(you said so\)/);
      } else {
        assert.equal(plan?.cdrom, d.bootable);
        assert.equal(plan?.forced, undefined);
        assert.equal(p.asked.filter((m) => /Install CD/.test(m)).length, 2);
      }
    });
  }
});

describe('a second setup run: the guest it made is offered, and a name it proposes is free', () => {
  let dir: string;
  let store: GuestStore;
  const host = new LiveHost();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'talos-setup-second-'));
    store = new GuestStore({ XDG_CONFIG_HOME: join(dir, 'config'), XDG_DATA_HOME: join(dir, 'data'), XDG_STATE_HOME: join(dir, 'state') });
    await createGuest(store, host, 'tiger', { os: 'tiger', diskSize: '8M' });
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const say: string[] = [];

  it('Tiger again: "use tiger?" — yes keeps it as it is', async () => {
    const p = scripted({ confirm: { 'Create a Mac OS guest now?': true, 'has a guest already': true }, choose: '10.4' });
    const plan = await askGuest(p, {}, store, false, true, (l) => say.push(l), host);
    assert.equal(plan?.existing, true);
    assert.equal(plan?.name, 'tiger');
    assert.ok(p.asked.some((m) => /Mac OS X 10\.4 Tiger has a guest already: tiger\. Use tiger \(left as it is\)\?/.test(m)), p.asked.join('\n'));
    assert.ok(!p.asked.includes('Guest name?'));
  });

  it('no: the name proposed is a free one (tiger-2), and taking it is accepted', async () => {
    const p = scripted({ confirm: { 'Create a Mac OS guest now?': true, 'has a guest already': false }, choose: '10.4' });
    const plan = await askGuest(p, {}, store, false, true, (l) => say.push(l), host);
    assert.equal(p.defaults['Guest name?'], 'tiger-2');
    assert.equal(plan?.name, 'tiger-2');
    assert.notEqual(plan?.existing, true);
    assert.deepEqual(say.filter((l) => /exists already/.test(l)), [], 'the proposed name was never refused');
  });

  it('unattended --os tiger where "tiger" is another OS\'s guest: a free name, not a refusal of its own proposal', async () => {
    const other = new GuestStore({ XDG_CONFIG_HOME: join(dir, 'c2'), XDG_DATA_HOME: join(dir, 'd2'), XDG_STATE_HOME: join(dir, 's2') });
    await createGuest(other, host, 'tiger', { os: 'os9', diskSize: '8M' });
    const p = scripted({ confirm: {} });
    const plan = await askGuest(p, { os: 'tiger', ram: '512', diskSize: '1G', cdrom: '', net: 'user' }, other, false, false, () => undefined, host);
    assert.equal(plan?.name, 'tiger-2');
    // --name given explicitly for another OS's guest is still refused.
    await assert.rejects(askGuest(p, { os: 'tiger', name: 'tiger' }, other, false, false, () => undefined, host), /a guest named "tiger" already exists .* for another OS/);
  });
});
