// Runs in the box (Debian's Node 18): makes the two installs the kernel pipeline makes on a host
// through talos-mac's own PrivilegedRunner, imported from the CLI bundle the box carries (the
// chunks dist/cli/meta.json names; the scenario passes their paths), on the running system as root.
// Each install is recorded by the step that makes it on a host (the registry's own step object, whose
// undo `setup --undo` then asks), as the pipeline records it.
// Usage: node runner-installs.mjs RUNNER_CHUNK PM_CHUNK HOST_CHUNK STEPS_CHUNK modules RELEASE FILE...
//        node runner-installs.mjs RUNNER_CHUNK PM_CHUNK HOST_CHUNK STEPS_CHUNK kernel DEB PACKAGE RELEASE
const [runnerChunk, pmChunk, hostChunk, stepsChunk, what, ...args] = process.argv.slice(2);
const { PrivilegedRunner } = await import(runnerChunk);
const { APT } = await import(pmChunk);
const { thisMachine } = await import(hostChunk);
const { stepById } = await import(stepsChunk);
const step = (id) => {
  const found = stepById(id);
  if (!found) throw new Error(`no step ${id} in the registry`);
  return found.step;
};
const runner = new PrivilegedRunner({ dryRun: false, root: '/', out: (line) => console.log(line), uid: 0, interactive: false, host: thisMachine() });
try {
  if (what === 'modules') await runner.installModules(step('kernel.pr-module'), args[0], args.slice(1));
  else if (what === 'kernel') await runner.installKernel(step('kernel.pr-support'), APT, [args[0]], [args[1]], args[2]);
  else throw new Error(`unknown install: ${what}`);
} catch (err) {
  console.error(err.message);
  process.exitCode = 1;
}
