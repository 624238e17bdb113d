import * as z from 'zod/mini';
import type { Host } from '../host/host.js';
import { KERNEL_RELEASE, STATE_DIR } from '../privileged/record.js';
import type { PrivilegedRunner, SystemChanges } from '../privileged/runner.js';
import type { RecordedBy } from '../privileged/record.js';
import { removeCreatedFile, type Undo } from '../privileged/revert.js';

/**
 * What talos-mac built each of its kernels from, written when the kernel is installed: the next
 * run compares it with what the distribution has installed since (docs/kernel.md, "Updates").
 */
export const PROVENANCE_DIR = `${STATE_DIR}/kernels`;
export const provenancePath = (release: string): string => `${PROVENANCE_DIR}/${release}.json`;

const Package = z.object({ name: z.string(), version: z.string() });

export const ProvenanceSchema = z.object({
  format: z.literal('talos-mac-kernel'),
  version: z.literal(1),
  /** The release of the kernel talos-mac built (uname -r once booted). */
  release: z.string(),
  builtAt: z.string(),
  /** The kernel whose configuration was the starting point, and its package when one owns it. */
  configFrom: z.object({ release: z.string(), path: z.string(), package: z.optional(Package) }),
  /** The source tree or tarball, and the distribution package it came from (e.g. linux-source-6.1). */
  source: z.object({ origin: z.string(), upstream: z.string(), package: z.optional(Package) }),
  localVersion: z.string(),
  /** The configuration edits applied after the running configuration (src/kernel/config.ts). */
  edits: z.array(z.object({ op: z.string(), key: z.string(), value: z.optional(z.string()), why: z.string() })),
  /** `--reduce-to-host`: the module list the configuration was reduced to (make localmodconfig). */
  reduce: z.optional(z.object({ from: z.string(), modules: z.array(z.string()) })),
  /** The packages that installed it (removed by `setup --undo`). */
  packages: z.array(z.string()),
});
export type Provenance = z.infer<typeof ProvenanceSchema>;

/** Written through the runner as a file talos-mac owns: `setup --undo` removes it with the kernel. */
export async function recordProvenance(runner: SystemChanges, step: RecordedBy, p: Provenance): Promise<void> {
  if (!KERNEL_RELEASE.test(p.release)) throw new Error(`not a kernel release: ${JSON.stringify(p.release)}`);
  const path = provenancePath(p.release);
  if (runner.dryRun) {
    runner.describe(`record what ${p.release} was built from in ${path}`);
    return;
  }
  await runner.createFile(step, path, Buffer.from(JSON.stringify(p, null, 2) + '\n'));
}

/** The release a path under PROVENANCE_DIR records, when it is one talos-mac writes. */
function provenanceRelease(path: string): string | undefined {
  const name = path.startsWith(`${PROVENANCE_DIR}/`) && path.endsWith('.json') ? path.slice(PROVENANCE_DIR.length + 1, -'.json'.length) : undefined;
  return name !== undefined && KERNEL_RELEASE.test(name) ? name : undefined;
}

/** Removes a kernel's provenance record, unless `kept` says why its kernel stays (then the record stays with it). */
export const removesProvenance =
  (kept: (runner: PrivilegedRunner, release: string) => Promise<string | undefined>): Undo =>
  (c) => {
    const release = c.kind === 'file-created' ? provenanceRelease(c.path) : undefined;
    if (c.kind !== 'file-created' || release === undefined) return undefined;
    return async (runner) => {
      const why = await kept(runner, release);
      return why ? { keep: `${c.path} is kept with its kernel (${why})` } : removeCreatedFile(runner, c);
    };
  };

export type ProvenanceRead = { records: Provenance[]; problems: string[] };

/** Every record under PROVENANCE_DIR, read through the host (so `doctor --collect` snapshots carry them). */
export async function readProvenance(host: Host): Promise<ProvenanceRead> {
  const dir = await host.readDir(PROVENANCE_DIR);
  const out: ProvenanceRead = { records: [], problems: [] };
  if (!dir.ok) return out;
  for (const name of dir.entries.filter((e) => e.endsWith('.json'))) {
    const path = `${PROVENANCE_DIR}/${name}`;
    const r = await host.readFile(path);
    if (!r.ok) {
      out.problems.push(`${path}: ${r.message}`);
      continue;
    }
    let json: unknown;
    try {
      json = JSON.parse(r.data.toString('utf8'));
    } catch {
      out.problems.push(`${path}: not valid JSON`);
      continue;
    }
    const parsed = ProvenanceSchema.safeParse(json);
    if (parsed.success && `${parsed.data.release}.json` === name) out.records.push(parsed.data);
    else out.problems.push(`${path}: not a talos-mac kernel record`);
  }
  return out;
}

/** The version of an installed Debian package (dpkg-query), or undefined when not installed. */
export async function debPackageVersion(host: Host, name: string): Promise<{ name: string; version: string } | undefined> {
  const r = await host.run(['dpkg-query', '-W', '-f=${Version}', '--', name]);
  const version = r.stdout.trim();
  return r.exitCode === 0 && version ? { name, version } : undefined;
}

/** The Debian package that owns a file (dpkg-query -S), with its version. */
export async function debPackageOwning(host: Host, path: string): Promise<{ name: string; version: string } | undefined> {
  const r = await host.run(['dpkg-query', '-S', '--', path]);
  const m = r.exitCode === 0 ? /^([A-Za-z0-9][A-Za-z0-9+.-]*)(?::[a-z0-9]+)?: /m.exec(r.stdout) : null;
  return m ? debPackageVersion(host, m[1]!) : undefined;
}
