// QEMU's binary-only answers, kept by the binary's identity (src/host/qemu-answers.ts): a real
// program on PATH that logs each time it is started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LiveHost } from '../../src/host/live-host.js';
import { QemuAnswers } from '../../src/host/qemu-answers.js';
import { withTempDir } from '../helpers/cli.js';

const QEMU = 'qemu-system-ppc';

test('--version, -M help and -L help are asked once per binary; -display help every time; a new binary is asked again', async () => {
  await withTempDir(async (dir) => {
    const bin = join(dir, 'bin');
    const log = join(dir, 'started');
    await mkdir(bin);
    const fake = join(bin, QEMU);
    const script = (version: string) => `#!/bin/sh\necho "$*" >> '${log}'\ncase "$1" in --version) echo "QEMU emulator version ${version}";; -M) echo "mac99 Mac99 based PowerMAC";; -L) echo /usr/share/qemu;; -display) echo gtk;; *) exit 1;; esac\n`;
    await writeFile(fake, script('7.2.0'));
    await chmod(fake, 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env['PATH']}` };
    const cache = join(dir, 'cache', 'qemu-answers.json');
    const started = async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    const ask = async (host: QemuAnswers, ...args: string[]) => (await host.run([QEMU, ...args])).stdout;

    const first = new QemuAnswers(new LiveHost(env), cache, env);
    assert.match(await ask(first, '--version'), /7\.2\.0/);
    await ask(first, '-M', 'help');
    await ask(first, '-L', 'help');
    await ask(first, '-display', 'help');
    assert.deepEqual(await started(), ['--version', '-M help', '-L help', '-display help']);

    // The next run (a new process: a new host over the same cache file) starts QEMU only for -display help.
    const next = new QemuAnswers(new LiveHost(env), cache, env);
    assert.match(await ask(next, '--version'), /7\.2\.0/);
    assert.match(await ask(next, '-M', 'help'), /mac99/);
    assert.equal(await ask(next, '-L', 'help'), '/usr/share/qemu\n');
    await ask(next, '-display', 'help');
    assert.deepEqual((await started()).slice(4), ['-display help']);

    // An upgraded binary (other bytes, other mtime) is asked again, and says its new version.
    await writeFile(fake, script('8.2.2'));
    const upgraded = new QemuAnswers(new LiveHost(env), cache, env);
    assert.match(await ask(upgraded, '--version'), /8\.2\.2/);
    assert.deepEqual((await started()).slice(5), ['--version']);

    // A failed answer is not kept.
    await writeFile(fake, '#!/bin/sh\necho "$*" >> \'' + log + '\'\nexit 3\n');
    for (let i = 0; i < 2; i++) assert.equal((await new QemuAnswers(new LiveHost(env), cache, env).run([QEMU, '-M', 'help'])).exitCode, 3);
    assert.deepEqual((await started()).slice(6), ['-M help', '-M help']);
  });
});

test('without QEMU on PATH nothing is kept and the answer is the host\'s own', async () => {
  await withTempDir(async (dir) => {
    const env = { ...process.env, PATH: join(dir, 'empty') };
    const host = new QemuAnswers(new LiveHost(env), join(dir, 'qemu-answers.json'), env);
    const r = await host.run([QEMU, '--version']);
    assert.equal(r.notFound, true);
    await assert.rejects(readFile(join(dir, 'qemu-answers.json')));
  });
});
