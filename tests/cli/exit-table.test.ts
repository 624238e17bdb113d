// One exit-code table (issue 23): every command x --json x its exit codes, against the documented table.
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { walkCommands, type CommandSpec } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { EXIT, EXIT_TABLE, type ExitMeaning } from '../../src/exit-codes.js';
import { buildBootImage } from '../../src/demo/image.js';
import { LiveHost } from '../../src/host/live-host.js';
import * as schemas from '../../src/schema.js';
import { REPO, runCli, SNAPSHOTS } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

describe('the documented table', () => {
  it("README's Exit codes table is the table in src/cli/exit-codes.ts", async () => {
    const readme = await readFile(join(REPO, 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('## Exit codes'), readme.indexOf('\n## ', readme.indexOf('## Exit codes') + 1));
    const rows = [...section.matchAll(/^\| (\d+) \| (.+) \|$/gm)].map((m) => ({ code: Number(m[1]), meaning: m[2] }));
    assert.deepEqual(rows, EXIT_TABLE.map(({ code, meaning }) => ({ code, meaning })));
  });

  it('talos-mac --help and the man page print every row', async () => {
    const help = (await runCli(['--help'])).stdout.replace(/\s+/g, ' ');
    const man = (await runCli(['man'])).stdout.replaceAll('\\-', '-').replace(/\s+/g, ' ');
    for (const r of EXIT_TABLE) {
      assert.ok(help.includes(`${r.code} ${r.meaning}`), `--help: ${r.code}`);
      assert.ok(man.includes(`.B ${r.code} ${r.meaning}`), `man: ${r.code}`);
    }
  });
});

interface Case {
  /** The command line; `<json>` marks where --json goes for the run with it. */
  args: string[];
  exit: ExitMeaning;
  /** Run it with --json too (default: when the command has --json). */
  json?: boolean;
  why: string;
}

/** What a command's exit statuses mean that no cheap case here can reach, and where it is tested instead. */
const ELSEWHERE: Record<string, Partial<Record<ExitMeaning, string>>> = {
  setup: { FAILED: 'tests/setup/setup-failures.test.ts', REBOOT_NEEDED: 'tests/setup/setup-grub-cli.test.ts' },
  create: { FAILED: 'qemu-img failing: tests/guests/disk-safety.test.ts' },
  share: { FAILED: 'xorriso failing, two shares at once: tests/guests (share)' },
  files: {},
  'kernel build-module': { OK: 'a build: npm run test:kernel', FAILED: 'npm run test:kernel' },
  'kernel configure-kernel': { OK: 'npm run test:kernel', FAILED: 'npm run test:kernel' },
  'kernel build-kernel': { OK: 'hours: npm run test:kernel', FAILED: 'npm run test:kernel' },
  'kernel fetch-source': { OK: 'needs kernel.org', FAILED: 'needs kernel.org' },
};

const RADIX = join(SNAPSHOTS, 'debian12-6.1.0-50-radix');
const READY = join(SNAPSHOTS, 'pr-kernel-6.1.176-hash');

const CASES: Record<string, Case[]> = {
  doctor: [
    { args: ['doctor', '--snapshot', READY], exit: 'OK', why: 'a ready host' },
    { args: ['doctor', '--snapshot', RADIX], exit: 'FAILED', why: 'a check fails' },
    { args: ['doctor', 'no.such-check'], exit: 'USAGE', why: 'an unknown check' },
  ],
  setup: [
    { args: ['setup', '--dry-run', '--snapshot', READY, '--no-guest', '--no-demo'], exit: 'OK', why: 'the plan for a ready snapshot' },
    { args: ['setup', '--kvm-hv', 'maybe'], exit: 'USAGE', why: 'a value outside the choices' },
  ],
  create: [
    { args: ['create', 'fresh', '--os', 'tiger', '--ram', '1G', '--disk-size', '32M'], exit: 'OK', json: false, why: 'created' },
    { args: ['create', 'fresh3', '--os', 'tiger', '--disk-size', '32M', '--json'], exit: 'OK', json: false, why: 'created, reported as JSON' },
    { args: ['create', 'other', '--os', 'tiger', '--ram', '1000K'], exit: 'USAGE', why: 'RAM that is not whole MiB' },
  ],
  list: [
    { args: ['list'], exit: 'OK', why: 'every definition parses' },
    { args: ['list', '@broken'], exit: 'FAILED', why: 'a definition that does not parse' },
  ],
  show: [
    { args: ['show', 'off'], exit: 'OK', why: 'a guest' },
    { args: ['show', 'nosuch'], exit: 'USAGE', why: 'no such guest' },
  ],
  set: [
    { args: ['set', 'off', '--ram', '1G', '--dry-run'], exit: 'OK', why: 'the change it would make' },
    { args: ['set', 'run', '--ram', '768'], exit: 'FAILED', why: 'the guest is running' },
    { args: ['set', 'off', '--ram', 'lots'], exit: 'USAGE', why: 'a bad value' },
    { args: ['set', 'nosuch', '--ram', '768'], exit: 'USAGE', why: 'no such guest' },
  ],
  rm: [
    { args: ['rm', 'fresh'], exit: 'OK', json: false, why: 'removed' },
    { args: ['rm', 'fresh2', '--json'], exit: 'OK', json: false, why: 'removed, reported as JSON' },
    { args: ['rm', 'run'], exit: 'FAILED', why: 'the guest is running' },
    { args: ['rm', 'nosuch'], exit: 'USAGE', why: 'no such guest' },
  ],
  launch: [
    { args: ['launch', 'off', '--print-cmd'], exit: 'OK', why: 'the command it would run' },
    { args: ['launch', 'run', '--display', 'none'], exit: 'FAILED', json: false, why: 'the guest is already running' },
    { args: ['launch', 'off', '--display', 'window', '--print-cmd'], exit: 'FAILED', why: 'no desktop for a window (DISPLAY unset)' },
    { args: ['launch', 'off', '--accel', 'kvm', '--print-cmd'], exit: 'FAILED', why: 'this host cannot do KVM-PR (x86, or a radix snapshot)' },
    { args: ['launch', 'off', '--accel', 'kvm', '--print-cmd', '--snapshot', RADIX], exit: 'FAILED', why: 'a radix host cannot do KVM-PR now' },
    { args: ['launch', 'nine', '--accel', 'kvm', '--print-cmd'], exit: 'USAGE', why: 'Mac OS 9 never runs under KVM-PR' },
    { args: ['launch', 'nosuch'], exit: 'USAGE', json: false, why: 'no such guest' },
  ],
  status: [
    { args: ['status', 'run'], exit: 'OK', why: 'running' },
    { args: ['status', 'off'], exit: 'FAILED', why: 'not running' },
    { args: ['status', 'nosuch'], exit: 'USAGE', why: 'no such guest' },
  ],
  screenshot: [
    { args: ['screenshot', 'run', '@shot.png'], exit: 'OK', json: false, why: 'saved' },
    { args: ['screenshot', 'run', '@shot2.png', '--json'], exit: 'OK', json: false, why: 'saved, reported as JSON' },
    { args: ['screenshot', 'off', '@x.png'], exit: 'FAILED', why: 'the guest is not running' },
    { args: ['screenshot', 'run', '@x.txt'], exit: 'USAGE', why: 'not a .png' },
  ],
  checkpoint: [
    { args: ['checkpoint', 'off', 'list'], exit: 'OK', why: 'listed' },
    { args: ['checkpoint', 'run', 'save'], exit: 'FAILED', json: false, why: 'the guest is running' },
    { args: ['checkpoint', 'off', 'frobnicate'], exit: 'USAGE', why: 'an unknown action' },
  ],
  media: [
    { args: ['media', 'check', '@boot.img'], exit: 'OK', why: 'a bootable Mac disc' },
    { args: ['media', 'check', '@random.bin'], exit: 'FAILED', why: 'random bytes' },
    { args: ['media', 'check', '@nothing.iso'], exit: 'USAGE', why: 'no such file' },
  ],
  share: [
    { args: ['share', 'off'], exit: 'OK', why: 'what is shared' },
    { args: ['share', 'off', '@no-such-folder'], exit: 'USAGE', json: false, why: 'no such folder' },
  ],
  files: [
    { args: ['files', 'off', 'ls'], exit: 'OK', why: 'the volume top of a guest that is off' },
    { args: ['files', 'run', 'ls'], exit: 'FAILED', why: 'the guest is running' },
    { args: ['files', 'off', 'frobnicate'], exit: 'USAGE', why: 'an unknown action' },
  ],
  demo: [
    { args: ['demo', '--print-cmd'], exit: 'OK', why: 'the command it would run' },
    { args: ['demo', '--print-cmd', '--accel', 'kvm', '--snapshot', RADIX], exit: 'FAILED', why: 'this host cannot do KVM-PR' },
    { args: ['demo', '--timeout', 'soon'], exit: 'USAGE', why: 'not a number of seconds' },
  ],
  stop: [
    { args: ['stop', 'off'], exit: 'FAILED', why: 'not running' },
    { args: ['stop', 'nosuch'], exit: 'USAGE', why: 'no such guest' },
    { args: ['stop', 'run', '--json'], exit: 'OK', json: false, why: 'stopped (last: the running guest goes)' },
  ],
  kill: [
    { args: ['kill', 'off'], exit: 'FAILED', why: 'not running' },
    { args: ['kill', 'nosuch'], exit: 'USAGE', why: 'no such guest' },
    { args: ['kill', 'run2', '--json'], exit: 'OK', json: false, why: 'killed' },
  ],
  'kernel build-module': [{ args: ['kernel', 'build-module', '-j', '0'], exit: 'USAGE', why: 'not a number of jobs' }],
  'kernel configure-kernel': [{ args: ['kernel', 'configure-kernel', '--reduce-to-host', '--reduce-modules', '/x'], exit: 'USAGE', why: 'two alternatives' }],
  'kernel build-kernel': [{ args: ['kernel', 'build-kernel', '-j', 'many'], exit: 'USAGE', why: 'not a number of jobs' }],
  'kernel fetch-source': [{ args: ['kernel', 'fetch-source', 'latest'], exit: 'USAGE', why: 'not a version' }],
  completion: [
    { args: ['completion', 'bash'], exit: 'OK', why: 'printed' },
    { args: ['completion', 'tcsh'], exit: 'USAGE', why: 'an unknown shell' },
  ],
  man: [{ args: ['man'], exit: 'OK', why: 'printed' }],
};

const RUNNABLE = walkCommands(COMMANDS).filter(([, s]) => s.run);
const hasJson = (spec: CommandSpec<any>): boolean => (spec.options ?? []).some((o) => o.flags === '--json');
const SCHEMAS = schemas as unknown as Record<string, { parse(v: unknown): unknown }>;

describe('every command x --json x exit codes', () => {
  it('every code a command documents is reached by a case here or named where it is tested; no case expects an undocumented code', () => {
    for (const [path, spec] of RUNNABLE) {
      const key = path.join(' ');
      const cases = CASES[key];
      assert.ok(cases, `${key}: no cases`);
      for (const code of Object.keys(spec.exits ?? {}) as ExitMeaning[]) {
        assert.ok(cases.some((c) => c.exit === code) || ELSEWHERE[key]?.[code], `${key}: exit ${EXIT[code]} (${code}) is documented but never reached`);
      }
      for (const c of cases) assert.ok(spec.exits?.[c.exit] !== undefined, `${key}: ${c.args.join(' ')} expects ${c.exit}, which its help does not document`);
      // Every command that reports has --json with an exported schema (the builds and the guest commands too).
      if (spec.jsonSchema) assert.ok(SCHEMAS[spec.jsonSchema], `${key}: ${spec.jsonSchema} is exported by talos-mac/schema`);
    }
    for (const key of ['create', 'rm', 'stop', 'kill', 'screenshot', 'status', 'list', 'kernel build-module', 'kernel build-kernel', 'kernel fetch-source', 'kernel configure-kernel']) {
      const spec = RUNNABLE.find(([p]) => p.join(' ') === key)![1];
      assert.ok(hasJson(spec) && spec.jsonSchema, `${key} has --json and a schema`);
    }
  });

  let w: TestWorld;
  before(async () => {
    w = await makeWorld('talos-exit-table-');
    const host = new LiveHost();
    const disk = await buildBootImage(host, w.dir, 'disk', 'EXIT-TABLE');
    await copyFile(disk, join(w.dir, 'boot.img'));
    await writeFile(join(w.dir, 'random.bin'), Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7919) % 251)));
    const made = async (args: string[]): Promise<void> => {
      const r = await w.run(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    };
    await made(['create', 'off', '--os', 'tiger', '--disk', disk, '--share-disk']);
    await made(['create', 'nine', '--os', 'os9', '--disk', disk, '--share-disk']);
    await made(['create', 'fresh2', '--os', 'tiger', '--disk-size', '32M']);
    for (const g of ['run', 'run2']) {
      await mkdir(join(w.dir, g));
      await made(['create', g, '--os', 'tiger', '--disk', await buildBootImage(host, join(w.dir, g), 'disk', `EXIT-${g}`)]);
      await made(['launch', g, '--detach', '--paused', '--display', 'none']);
    }
  });
  after(async () => {
    for (const g of ['run', 'run2']) await w.run(['kill', g]);
    await w.cleanup();
  });

  for (const [key, cases] of Object.entries(CASES)) {
    it(key, async () => {
      const spec: CommandSpec<any> | undefined = RUNNABLE.find(([p]) => p.join(' ') === key)?.[1];
      if (!spec) return assert.fail(`${key} is not a command`);
      for (const c of cases) {
        const args = c.args.filter((a) => a !== '@broken').map((a) => (a.startsWith('@') ? join(w.dir, a.slice(1)) : a));
        const broken = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', 'broken.toml');
        if (c.args.includes('@broken')) await writeFile(broken, 'name = 3\n');
        const withJson: boolean = c.json ?? hasJson(spec);
        for (const json of withJson ? [false, true] : [false]) {
          const argv: string[] = json ? [...args, '--json'] : args;
          const r = await w.run(argv, { env: { DISPLAY: '', WAYLAND_DISPLAY: '' } });
          const label: string = `${argv.join(' ')} (${c.why})`;
          assert.equal(r.code, EXIT[c.exit], `${label}: exit ${r.code}, the table says ${EXIT[c.exit]} (${c.exit})\n${r.stderr}`);
          assert.doesNotMatch(r.stderr, /\n\s+at \S+ \(/, `${label}: no stack trace`);
          // A refusal says why on standard error; a report that failed (doctor, list, status) is the report.
          if (r.code !== 0) assert.ok(/talos-mac: |error: /.test(r.stderr) || r.stdout.trim() !== '', `${label}: says why`);
          if (argv.includes('--json') && r.stdout !== '') {
            const doc = JSON.parse(r.stdout) as unknown;
            if (spec.jsonSchema) SCHEMAS[spec.jsonSchema]!.parse(doc);
          }
          if (argv.includes('--json') && r.code === 0 && spec.jsonSchema) assert.notEqual(r.stdout, '', `${label}: a JSON document`);
        }
        if (c.args.includes('@broken')) await rm(broken);
      }
    });
  }
});
