// Commands are data (issue 22) and help, completion and the man page are generated from it (issue 23).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { optionWords, walkCommands } from '../../src/cli/command.js';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { OS_CATALOG } from '../../src/guests/catalog.js';
import { REPO, runCli, withTempDir } from '../helpers/cli.js';
import { makeWorld, type TestWorld } from '../helpers/guest-env.js';

const VISIBLE = walkCommands(COMMANDS);
const has = (program: string): boolean => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', program]).status === 0;
const script = async (shell: string): Promise<string> => {
  const r = await runCli(['completion', shell]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
};

describe('commands as data', () => {
  it('main.ts only assembles the command modules (at most 200 lines, no commander chain of its own)', async () => {
    const main = await readFile(join(REPO, 'src/cli/main.ts'), 'utf8');
    assert.ok(main.split('\n').length <= 200, `${main.split('\n').length} lines`);
    assert.doesNotMatch(main, /\.command\('[a-z]/, 'no command is defined in main.ts');
    assert.doesNotMatch(main, /\.option\('--/, 'no option is defined in main.ts');
  });

  it('every command and subcommand has a --help with its options, examples and exit statuses', async () => {
    for (const [path, spec] of VISIBLE) {
      const r = await runCli([...path, '--help']);
      assert.equal(r.code, 0, `${path.join(' ')}: ${r.stderr}`);
      for (const o of spec.options ?? []) {
        if (o.hidden) assert.ok(!r.stdout.includes(optionWords(o).long + ' '), `${path.join(' ')}: ${o.flags} is hidden`);
        else assert.ok(r.stdout.includes(o.flags), `${path.join(' ')} --help lacks ${o.flags}`);
      }
      if (path.length === 1) assert.match(r.stdout, /\nExamples:\n {2}\$ talos-mac /, `${path.join(' ')} --help has examples`);
      if (spec.run) assert.match(r.stdout, /\nExit status:\n {4}0 {2}\S/, `${path.join(' ')} --help says its exit statuses`);
    }
  });

  it("--os help is the catalog's, not a copy: every OS id and its codename", async () => {
    for (const cmd of ['create', 'setup']) {
      const help = (await runCli([cmd, '--help'])).stdout.replace(/\s+/g, ' ');
      for (const os of OS_CATALOG) assert.ok(help.includes(os.id), `${cmd} --help names ${os.id}`);
      for (const codename of ['cheetah', 'puma', 'jaguar', 'panther', 'tiger', 'leopard']) assert.ok(help.includes(`(${codename})`), `${cmd}: ${codename}`);
    }
  });
});

describe('completion scripts and the man page cover every command and option', () => {
  const words = (): Array<[string, string[]]> =>
    VISIBLE.map(([path, spec]) => [path.join(' '), [path[path.length - 1]!, ...(spec.options ?? []).filter((o) => !o.hidden).map((o) => optionWords(o).long)]]);

  for (const shell of ['bash', 'zsh', 'fish']) {
    it(`${shell}: every command, subcommand and visible option is in the script, no hidden one`, async () => {
      const text = await script(shell);
      // fish names a long option without its dashes (complete -l accel).
      const word = (w: string): string => (shell === 'fish' && w.startsWith('--') ? `-l ${w.slice(2)}` : w);
      for (const [cmd, ws] of words()) for (const w of ws) assert.ok(text.includes(word(w)), `${shell}: ${cmd}: ${w}`);
      assert.ok(!text.includes('host-snapshot') && !text.includes('_supervise'), 'hidden options and commands stay hidden');
      for (const os of ['tiger', 'leopard', 'os9', '10.4']) assert.ok(text.includes(os), `${shell}: --os offers ${os}`);
    });
  }

  it('bash -n, and zsh -n / fish -n where those shells are installed', async () => {
    await withTempDir(async (dir) => {
      for (const shell of ['bash', 'zsh', 'fish']) {
        if (!has(shell)) continue;
        const file = join(dir, `talos-mac.${shell}`);
        await writeFile(file, await script(shell));
        const r = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${shell} -n: ${r.stderr}`);
      }
    });
  });

  it('an unknown shell is a usage error', async () => {
    const r = await runCli(['completion', 'tcsh']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bash, zsh or fish/);
  });

  it('the man page names every command and visible option, and groff reads it without a warning', async () => {
    const r = await runCli(['man']);
    assert.equal(r.code, 0, r.stderr);
    const plain = r.stdout.replaceAll('\\-', '-');
    assert.match(plain, /^\.TH TALOS-MAC 1 /);
    for (const section of ['NAME', 'SYNOPSIS', 'COMMANDS', 'EXIT STATUS']) assert.match(plain, new RegExp(`^\\.SH ${section}$`, 'm'));
    for (const [cmd, ws] of words()) {
      assert.match(plain, new RegExp(`^\\.SS ${cmd}$`, 'm'), cmd);
      for (const w of ws.slice(1)) assert.ok(plain.includes(w), `man: ${cmd} ${w}`);
    }
    assert.doesNotMatch(r.stdout, /[^\x00-\x7f]/, 'non-ASCII is written as groff escapes');
    if (has('groff')) {
      const g = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: r.stdout, encoding: 'utf8' });
      assert.equal(g.status, 0);
      assert.equal(g.stderr, '', 'no groff warning');
    }
  });
});

describe('completion at work', () => {
  let w: TestWorld;
  before(async () => {
    w = await makeWorld();
    const defs = join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests');
    await mkdir(defs, { recursive: true });
    // Only the names matter to completion: it lists the definitions folder, it never parses them.
    for (const g of ['tiger', 'leo']) await writeFile(join(defs, `${g}.toml`), '');
    await writeFile(join(w.dir, 'bash-completion.sh'), await script('bash'));
    if (has('fish')) await writeFile(join(w.dir, 'talos-mac.fish'), await script('fish'));
  });
  after(() => w.cleanup());

  /** What bash's completion offers for the words typed (the last one is the word under the cursor). */
  function bash(typed: string[]): string[] {
    const prog = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _talos_mac; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', prog, 'bash', join(w.dir, 'bash-completion.sh'), 'talos-mac', ...typed], { encoding: 'utf8', env: w.env, cwd: w.dir });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).sort();
  }

  it('bash: commands, subcommands, options, option values, guest names, Mac OS names, files', () => {
    assert.deepEqual(bash(['sta']), ['status']);
    assert.deepEqual(bash(['kernel', 'build-']), ['build-kernel', 'build-module']);
    assert.deepEqual(bash(['launch', '--acc']), ['--accel']);
    assert.deepEqual(bash(['launch', '--accel', '']), ['auto', 'kvm', 'tcg']);
    assert.deepEqual(bash(['launch', '']), ['leo', 'tiger']);
    assert.deepEqual(bash(['launch', '--accel', 'tcg', 't']), ['tiger'], 'an option value is not taken for the guest');
    assert.deepEqual(bash(['create', 'x', '--os', 'leo']), ['leopard']);
    assert.deepEqual(bash(['checkpoint', 'tiger', 're']), ['restore']);
    assert.deepEqual(bash(['create', 'x', '--cdrom', 'bash-comp']), ['bash-completion.sh']);
    assert.deepEqual(bash(['completion', '']), ['bash', 'fish', 'zsh']);
  });

  it('fish: commands, options and guest names', { skip: !has('fish') && 'fish is not installed' }, () => {
    const fish = (line: string): string[] => {
      const r = spawnSync('fish', ['--no-config', '-c', `source $argv[1]; complete -C "${line}"`, join(w.dir, 'talos-mac.fish')], { encoding: 'utf8', env: w.env, cwd: w.dir });
      assert.equal(r.status, 0, r.stderr);
      return r.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]!).sort();
    };
    assert.ok(fish('talos-mac sta').includes('status'));
    assert.deepEqual(fish('talos-mac launch --acc'), ['--accel']);
    assert.deepEqual(fish('talos-mac launch '), ['leo', 'tiger']);
    assert.ok(fish('talos-mac create x --os leo').includes('leopard'));
  });
});

describe('sizes take units everywhere, and ~ is the home folder in every path', () => {
  let w: TestWorld;
  let home: string;
  before(async () => {
    w = await makeWorld();
    home = join(w.dir, 'home');
    await mkdir(join(home, 'isos'), { recursive: true });
    await writeFile(join(home, 'isos', 'tiger.iso'), 'not really a CD');
  });
  after(() => w.cleanup());
  const def = (name: string): Promise<string> => readFile(join(w.env['XDG_CONFIG_HOME']!, 'talos-mac', 'guests', `${name}.toml`), 'utf8');

  it('--ram takes MiB or a unit, like --disk-size: one parser', async () => {
    for (const [ram, mb] of [['1G', 1024], ['1.5G', 1536], ['512M', 512], ['768', 768], ['1GiB', 1024]] as const) {
      const name = `r${mb}-${ram.replace('.', '')}`;
      const r = await w.run(['create', name, '--os', 'tiger', '--ram', ram, '--disk-size', '1.5M']);
      assert.equal(r.code, 0, `--ram ${ram}: ${r.stderr}`);
      assert.match(await def(name), new RegExp(`^ram = ${mb}$`, 'm'), `--ram ${ram}`);
    }
    for (const [ram, why] of [['1000K', /give the RAM in MiB \(512\) or with a unit/], ['lots', /give the RAM in MiB/], ['3G', /3072 is too much: mac99 supports at most 2048/]] as const) {
      const r = await w.run(['create', 'bad', '--os', 'tiger', '--ram', ram]);
      assert.equal(r.code, 2, `--ram ${ram}`);
      assert.match(r.stderr, why);
    }
    const setup = await w.run(['setup', '--dry-run', '--yes', '--snapshot', join(REPO, 'tests/fixtures/snapshots/pr-kernel-6.1.176-hash'), '--os', 'tiger', '--ram', '1G', '--disk-size', '2G']);
    assert.equal(setup.code, 0, setup.stderr);
    assert.match(setup.stdout, /would: create the guest tiger \(Mac OS X 10\.4 Tiger, 1024 MiB, a new 2G disk\)/);
  });

  it('a path option or argument the shell left alone (--cdrom=~/x, "~/x") is under HOME', async () => {
    const env = { HOME: home };
    const r = await w.run(['create', 'home', '--os', 'tiger', '--disk-size', '1M', '--cdrom=~/isos/tiger.iso', '--force'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.ok((await def('home')).includes(`cdrom = "${join(home, 'isos', 'tiger.iso')}"`));
    const media = await w.run(['media', 'check', '~/isos/tiger.iso'], { env });
    assert.equal(media.code, 1, `read, and not a Mac disc (not "no such file"): ${media.stderr}`);
    const missing = await w.run(['media', 'check', '~/isos/none.iso'], { env });
    assert.equal(missing.code, 2);
    assert.ok((missing.stdout + missing.stderr).includes(join(home, 'isos', 'none.iso')), missing.stdout);
    // ~user is not ours to guess, and a ~ inside a word is a character of the name.
    const other = await w.run(['media', 'check', 'x~/isos/tiger.iso'], { env });
    assert.equal(other.code, 2);
  });
});
