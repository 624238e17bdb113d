// Runs in the box (Debian's Node 18): starts the QEMU command talos-mac printed (demo
// --print-cmd --json) with the CPU stopped (-S) and a QMP socket added, asks QEMU itself which
// accelerator it runs (query-kvm; query-accelerators too, which QEMU 10.0 lacks: its error class
// is kept) and its version, lets the guest run until it powers off or the time is up, and
// prints one JSON line. Usage: node qmp-probe.mjs ARGV.json SECONDS
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';

const [argvFile, seconds = '90'] = process.argv.slice(2);
const argv = JSON.parse(readFileSync(argvFile, 'utf8'));
const sock = '/tmp/qmp-probe.sock';
rmSync(sock, { force: true });
const child = spawn(argv[0], [...argv.slice(1), '-S', '-qmp', `unix:${sock},server=on,wait=off`], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
let err = '';
child.stdout.on('data', (d) => (out += d));
child.stderr.on('data', (d) => (err += d));
const exited = new Promise((res) => child.on('close', (code, signal) => res({ code, signal })));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function qmp() {
  for (let i = 0; i < 100; i++) {
    const s = await new Promise((res) => {
      const c = connect(sock);
      c.once('connect', () => res(c));
      c.once('error', () => res(undefined));
    });
    if (s) return s;
    if (child.exitCode !== null) return undefined;
    await sleep(200);
  }
  return undefined;
}

const result = { queryKvm: null, version: null, queryAccelerators: null, events: [], code: null, signal: null, timedOut: false };
const s = await qmp();
if (s) {
  let buf = '';
  const waiting = [];
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (msg.event) result.events.push(msg.event);
      else if (!msg.QMP) waiting.shift()?.(msg);
    }
  });
  s.on('error', () => {});
  const ask = (execute) => new Promise((res) => { waiting.push(res); s.write(JSON.stringify({ execute }) + '\n'); });
  await ask('qmp_capabilities');
  result.queryKvm = (await ask('query-kvm')).return ?? null;
  result.version = (await ask('query-version')).return?.qemu ?? null;
  const accel = await ask('query-accelerators');
  result.queryAccelerators = accel.return ?? accel.error?.class ?? null;
  await ask('cont');
}
const timer = setTimeout(() => { result.timedOut = true; child.kill('SIGKILL'); }, Number(seconds) * 1000);
Object.assign(result, await exited);
clearTimeout(timer);
result.console = out.slice(-4000);
result.stderr = err.slice(-2000);
process.stdout.write(JSON.stringify(result) + '\n');
