import { UserError } from '../errors.js';
import { WHEN } from '../exit-codes.js';
import type { Host } from '../host/host.js';
import { is7450Series, is970, type OsEntry } from '../guests/catalog.js';
import type { Accel } from '../guests/argv.js';

export type AccelRequest = 'auto' | 'kvm' | 'tcg';


export interface HostKvm {
  ready: boolean;
  /** One line: why not (the first failing check), or what passed. */
  reason: string;
  /** Fix commands of the failing checks, for a refusal. */
  fixes: string[];
}

/** Runs doctor's own checks (not a re-implementation) against a host: live, or a snapshot in tests. */
export async function hostKvmReadiness(host: Host): Promise<HostKvm> {
  const [{ KVM_HOST_CHECKS, stepById }, { verifyAll }, { Facts }, { DEFAULT_HOST_OPTIONS }] = await Promise.all([
    import('../steps/registry.js'),
    import('../steps/runner.js'),
    import('../host/facts.js'),
    import('../steps/step.js'),
  ]);
  // A host that is not POWER is the reason, not the first KVM check that fails on it (x86 has no MMU mode to switch).
  const arch = stepById('platform.arch')!.step;
  const facts = new Facts(host);
  const outcomes = await verifyAll([arch, ...KVM_HOST_CHECKS], { host, facts, options: DEFAULT_HOST_OPTIONS });
  if (outcomes[0]!.result.state === 'todo') {
    const a = await facts.arch();
    return { ready: false, reason: `not a POWER host (${a.ok ? a.value : 'unknown'}): KVM-PR needs a POWER8 or POWER9 CPU (doctor check ${arch.id})`, fixes: [] };
  }
  const bad = outcomes.slice(1).filter((o) => o.result.state !== 'done');
  if (bad.length === 0) return { ready: true, reason: 'the host is ready for KVM-PR (hash MMU, kvm_pr loaded, /dev/kvm usable)', fixes: [] };
  const first = bad[0]!;
  return {
    ready: false,
    reason: `${first.result.summary} (doctor check ${first.step.id})`,
    fixes: bad.flatMap((o) => o.result.fix?.commands ?? []),
  };
}

export interface AccelChoice {
  accel: Accel;
  cpu: string;
  /** One line: why this accelerator. */
  why: string;
  warnings: string[];
}

export interface AccelInput {
  request: AccelRequest;
  os: OsEntry;
  /** The CPU the definition names, if any. */
  cpu?: string | undefined;
  install: boolean;
  force: boolean;
  /** Asked only when KVM is still possible. */
  host: () => Promise<HostKvm>;
}

/** Why KVM-PR can never run this CPU (or undefined): these are not overridable. */
export function cpuNeverKvm(cpu: string): string | undefined {
  if (is970(cpu)) return `${cpu} is a 970 (G5): 64-bit guests under KVM-PR crashed the host`;
  if (is7450Series(cpu)) return `${cpu} is a 7450-series G4: none of them boots under KVM-PR (use g3 or 7410)`;
  return undefined;
}

/** Picks KVM-PR or TCG (and the CPU) for one launch, or refuses with the reason. */
export async function chooseAccel(i: AccelInput): Promise<AccelChoice> {
  const { os } = i;
  const tcg = (why: string, warnings: string[] = []): AccelChoice => ({ accel: 'tcg', cpu: i.cpu ?? os.tcg.defaultCpu, why, warnings });
  if (i.request === 'tcg') return tcg('TCG, as asked (--accel tcg)');
  const kvmCpu = i.cpu ?? os.kvm.defaultCpu;
  if (i.request === 'auto') {
    if (i.install) return tcg('TCG for installing: installers with heavy disk I/O run faster under TCG than KVM-PR (use --accel kvm to override)');
    if (!os.kvm.works) return tcg(`TCG: ${os.kvm.note}`);
    const never = cpuNeverKvm(kvmCpu);
    if (never) return tcg(`TCG: ${never}`);
    if (!os.kvm.cpus.includes(kvmCpu)) return tcg(`TCG: CPU ${kvmCpu} is not known to boot ${os.title} under KVM-PR (KVM-PR CPUs: ${os.kvm.cpus.join(', ')})`);
    const host = await i.host();
    if (!host.ready) return tcg(`TCG: ${host.reason}`);
    return { accel: 'kvm', cpu: kvmCpu, why: `KVM-PR: ${host.reason}`, warnings: [os.kvm.note] };
  }
  // --accel kvm
  const never = cpuNeverKvm(kvmCpu);
  if (never) throw new UserError(`refusing --accel kvm: ${never}. Choose another cpu in the definition, or use --accel tcg.`);
  const warnings: string[] = [];
  const osProblem = !os.kvm.works ? os.kvm.note : !os.kvm.cpus.includes(kvmCpu) ? `CPU ${kvmCpu} is not known to boot ${os.title} under KVM-PR (KVM-PR CPUs: ${os.kvm.cpus.join(', ') || 'none'})` : undefined;
  if (osProblem) {
    if (!i.force) throw new UserError(`refusing --accel kvm: ${osProblem}. Use --accel tcg, or --force to try anyway.`);
    warnings.push(`--force: ${osProblem}; trying KVM-PR anyway`);
  }
  const host = await i.host();
  if (!host.ready) {
    const fixes = host.fixes.length ? `\nTo fix:\n${host.fixes.map((c) => `  ${c}`).join('\n')}` : '';
    throw new UserError(`cannot use KVM-PR here: ${host.reason}. Run talos-mac doctor for details, or use --accel tcg.${fixes}`, WHEN.hostCannot);
  }
  if (os.kvm.works) warnings.push(os.kvm.note);
  return { accel: 'kvm', cpu: kvmCpu, why: `KVM-PR, as asked: ${host.reason}`, warnings };
}
