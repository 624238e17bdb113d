import type { Host } from '../host/host.js';
import { boardName, mmuFromCpuInfo } from '../parse/cpuinfo.js';
import { qemuVersion } from '../parse/qemu.js';
import { SETUP_STEPS, STEPS, stepById } from '../steps/registry.js';
import { assessKvmPr, PR_VERDICT_TEXT } from '../steps/checks/kvm-pr-verdict.js';
import { Facts } from '../host/facts.js';
import { verifyAll } from '../steps/runner.js';
import { bySetup, DEFAULT_HOST_OPTIONS, statusOf, type CheckStatus, type Step } from '../steps/step.js';
import type { CheckReport, DoctorReport } from './report-schema.js';
import { UserError } from '../errors.js';

/**
 * Resolves `doctor ID…` arguments: a check id (or an id it had before: `notes` says so), or a
 * category name for all its checks.
 */
export function selectChecks(ids: readonly string[], notes: string[] = []): Step[] {
  if (ids.length === 0) return [...STEPS];
  const picked = new Set<Step>();
  for (const id of ids) {
    const byId = stepById(id);
    const matches = byId ? [byId.step] : STEPS.filter((s) => s.category.toLowerCase() === id.toLowerCase());
    if (byId?.renamedFrom) notes.push(`check "${id}" is now "${byId.step.id}" (the old id is accepted until 0.3)`);
    if (matches.length === 0) {
      throw new UserError(`unknown check "${id}". Known checks: ${STEPS.map((s) => s.id).join(', ')} (or a category: ${[...new Set(STEPS.map((s) => s.category.toLowerCase()))].join(', ')})`);
    }
    matches.forEach((m) => picked.add(m));
  }
  return STEPS.filter((s) => picked.has(s));
}

function verdictOf(checks: CheckReport[], kvmPr: DoctorReport['host']['kvmPr'], strict: boolean): DoctorReport['verdict'] {
  const problems = checks.filter((c) => c.status === 'fail' || (strict && c.status === 'warn'));
  const unknown = checks.filter((c) => c.state === 'unknown' && c.status === 'warn').length;
  const reboot = checks.some((c) => c.state === 'reboot-required') ? ' Reboot to finish what is already configured.' : '';
  const qemuOk = !checks.some((c) => c.category === 'QEMU' && c.status === 'fail');
  if (problems.length === 0) {
    // A verdict that ends with what to run next, never a dead end.
    // "Ready" names what would still stop some launches: the QEMU checks launch asks again (launch/preflight.ts), e.g. no window module.
    const still = checks.filter((c) => c.category === 'QEMU' && c.status === 'warn' && c.state !== 'unknown').map((c) => c.title);
    const next = `${still.length ? ` Some launches would still stop at: ${still.join('; ')} (the warning above).` : ''} Next: talos-mac setup --os tiger (creates a guest), or talos-mac launch NAME.`;
    if (kvmPr === 'ready') return { kind: 'ready', text: `Ready for KVM-PR guests.${next}` };
    const unsure = unknown > 0 ? ` (${unknown} check${unknown === 1 ? '' : 's'} could not tell: see the warnings)` : '';
    if (kvmPr === 'not-applicable') return { kind: 'tcg-only', text: `TCG only: this is not a POWER host, so guests run under QEMU's TCG (slower, but they work).${unsure}${next}` };
    const why = unknown > 0 ? `${unknown} check${unknown === 1 ? '' : 's'} could not tell (see the warnings)` : 'KVM-PR readiness was not fully checked';
    return { kind: 'tcg-only', text: `No failures, but ${why}: assume TCG only.${reboot}` };
  }
  const pr = kvmPr === 'not-applicable' || kvmPr === 'ready' || kvmPr === 'unknown' ? '' : ` KVM-PR: ${PR_VERDICT_TEXT[kvmPr]}.`;
  const tcg = qemuOk && kvmPr !== 'ready' ? ' TCG guests work meanwhile.' : '';
  // A blocked check waits on another one: only what can be done now is counted and named.
  // When the kernel itself must be replaced, that is the long job to start first: switching the MMU
  // alone gains nothing, and the new kernel and disable_radix can share one reboot.
  const kernelFirst = (c: CheckReport): number => (kvmPr === 'new-kernel-needed' && c.category === 'Kernel' ? 0 : 1);
  const actionable = problems.filter((c) => c.state !== 'blocked').sort((a, b) => kernelFirst(a) - kernelFirst(b));
  const waiting = problems.filter((c) => c.state === 'blocked').map((c) => c.title);
  const first = actionable[0];
  if (!first) {
    const now = reboot || ' Each blocked check says what it waits for.';
    return { kind: 'problems', text: `Nothing to fix right now.${now} Waiting: ${waiting.join('; ')}.${pr}${tcg}` };
  }
  const n = actionable.length;
  const then = n > 1 ? ` Then: ${actionable.slice(1).map((c) => c.title).join('; ')}.` : '';
  const bySetup = actionable.some((c) => c.fix?.bySetup) ? ' `talos-mac setup` can fix what it marks.' : '';
  return { kind: 'problems', text: `${n} problem${n === 1 ? '' : 's'} to fix now. First: ${first.title}.${then}${pr}${reboot}${tcg}${bySetup}` };
}

/** `desktop`: whether this session has a desktop (live hosts only; a snapshot does not say). */
export async function runDoctor(host: Host, steps: readonly Step[], strict = false, desktop?: boolean): Promise<DoctorReport> {
  const facts = new Facts(host);
  const [outcomes, arch, cpu, rel, pr, qemu] = await Promise.all([
    verifyAll(steps, { host, facts, options: desktop === undefined ? DEFAULT_HOST_OPTIONS : { ...DEFAULT_HOST_OPTIONS, desktop } }),
    facts.arch(),
    facts.cpuinfo(),
    facts.release(),
    assessKvmPr(facts),
    facts.qemu('version'),
  ]);
  const checks: CheckReport[] = outcomes.map(({ step, result }) => ({
    id: step.id,
    category: step.category,
    title: step.title,
    status: statusOf(step, result),
    state: result.state,
    summary: result.summary,
    detail: result.detail ?? null,
    fix: result.fix ? { text: result.fix.text, commands: result.fix.commands ?? [], bySetup: bySetup(step, result) } : null,
  }));
  const counts: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0, info: 0, skip: 0 };
  for (const c of checks) counts[c.status]++;
  const power = arch.ok && /^ppc/.test(arch.value);
  return {
    schema: 'talos-mac/doctor@1',
    ok: counts.fail === 0 && (!strict || counts.warn === 0),
    strict,
    verdict: verdictOf(checks, pr.verdict, strict),
    host: {
      source: host.description,
      arch: arch.ok ? arch.value : null,
      cpu: power && cpu.ok ? (cpu.value.cpu ?? null) : null,
      platform: power && cpu.ok ? (cpu.value.platform ?? null) : null,
      board: power && cpu.ok ? (boardName(cpu.value) ?? null) : null,
      mmu: power && cpu.ok ? (mmuFromCpuInfo(cpu.value) ?? null) : null,
      kernelRelease: rel.ok ? rel.value : null,
      kvmPr: pr.verdict,
      kvmPrReason: pr.reason,
      qemuVersion: qemu.exitCode === 0 ? (qemuVersion(qemu.stdout) ?? null) : null,
    },
    counts,
    checks,
  };
}

/**
 * For `doctor --collect`: also asks what setup's steps ask for this user (group membership from
 * /etc/passwd and /etc/group), so that `setup --dry-run --snapshot` of the collection has the
 * answers the live host would give.
 */
export async function readLikeSetup(host: Host, user: string): Promise<void> {
  await verifyAll(SETUP_STEPS, { host, facts: new Facts(host), options: { ...DEFAULT_HOST_OPTIONS, user } });
}
