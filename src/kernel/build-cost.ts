// What a kernel build costs on this machine: estimated before it starts from the builds recorded
// here (kernel-builds.json), or else from a calibration in the actual tree (a few of its objects
// compiled with its flags), refined while it runs from the objects done so far, and recorded
// after it so that the next estimate starts from real figures.
import { mkdir, readdir, readFile, rename, lstat, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { configValue, isEnabled, type KernelConfig } from '../parse/kconfig.js';
import { kernelCacheDir } from './cache.js';

export interface BuildRecord {
  when: string;
  release: string;
  /** Compiled objects (Kbuild's CC / AS lines). */
  objects: number;
  /** Options set to y or m: what the object count scales with. */
  options: number;
  debugInfo: boolean;
  seconds: number;
  /** make -j of the build. */
  jobs: number;
  cpus: number;
  /** Bytes the build added (files it wrote; the hard-linked source not counted). */
  diskBytes: number;
}

export interface Calibration {
  /** Seconds of one CPU per object, measured in the tree. */
  cpuSecondsPerObject: number;
  bytesPerObject: number;
  sample: string[];
}

export interface CostEstimate {
  objects: number;
  seconds: number;
  diskBytes: number;
  diskGiB: number;
  /** Where the figures come from, in words. */
  basis: string;
  /** One line, with GB and minutes/hours (setup shows it in its plan). */
  text: string;
}

/** $XDG_CACHE_HOME/talos-mac/kernel-builds.json. */
export function buildRecordsFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(kernelCacheDir(env)), 'kernel-builds.json');
}

export async function readBuildRecords(env?: NodeJS.ProcessEnv): Promise<BuildRecord[]> {
  try {
    const data = JSON.parse(await readFile(buildRecordsFile(env), 'utf8')) as { builds?: BuildRecord[] };
    return Array.isArray(data.builds) ? data.builds.filter((b) => b.objects > 0 && b.seconds > 0 && b.options > 0) : [];
  } catch {
    return [];
  }
}

/** Appends a finished build (the last 20 are kept), written atomically (temporary file, rename). */
export async function recordBuild(r: BuildRecord, env?: NodeJS.ProcessEnv): Promise<string> {
  const file = buildRecordsFile(env);
  const builds = [...(await readBuildRecords(env)), r].slice(-20);
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, JSON.stringify({ builds }, null, 2) + '\n');
  await rename(tmp, file);
  return file;
}

export function enabledOptions(config: KernelConfig): number {
  let n = 0;
  for (const v of config.values()) if (v === 'y' || v === 'm') n++;
  return n;
}

export function hasDebugInfo(config: KernelConfig): boolean {
  return isEnabled(config, 'CONFIG_DEBUG_INFO') && configValue(config, 'CONFIG_DEBUG_INFO_NONE') !== 'y';
}

/**
 * The reduced Debian 12 box kernel built by this project (tests/e2e/power9, 2 cores, -j2, cross,
 * no debug info): 1842 objects from 1241 options in 1102 s, 372 MB written. Used only for the
 * object count per option until a build is recorded here.
 */
export const REFERENCE_OBJECTS_PER_OPTION = 1842 / 1241;
/** That build's rate: 1102 s × 2 jobs / 1842 objects, 372 MB / 1842 objects. */
export const REFERENCE_NO_DEBUG = { cpuSecondsPerObject: (1102 * 2) / 1842, bytesPerObject: 372257413 / 1842 };
/**
 * The calibration below run on Debian 12's full config (debug info on) in linux-source-6.1 here:
 * the four objects took 40.1 s at -j1, make's overhead 5.0 s, 1.50 MB each on average.
 */
export const REFERENCE_DEBUG = { cpuSecondsPerObject: (40.1 - 5.0) / 4 / (196 / 54), bytesPerObject: (1.50e6 / (196 / 54)) * (372257413 / 101061888) };

const hours = (s: number) => (s < 3600 ? `${Math.max(1, Math.round(s / 60))} minutes` : `${(s / 3600).toFixed(1)} hours`);
const gb = (b: number) => `${Math.max(1, Math.ceil(b / 1e9))} GB`;

/** The estimate for `config` built with `jobs` make jobs on `cpus` CPUs. */
export function estimateCost(config: KernelConfig, a: { cpus: number; jobs: number; records: readonly BuildRecord[]; calibration?: Calibration }): CostEstimate {
  const options = enabledOptions(config);
  const debug = hasDebugInfo(config);
  const parallel = Math.max(1, Math.min(a.jobs, a.cpus));
  // The closest record: same debug-info choice, then the most options alike, the newest on ties.
  const rec = [...a.records].filter((r) => r.debugInfo === debug).sort((x, y) => Math.abs(x.options - options) - Math.abs(y.options - options))[0];
  let objects: number;
  let cpuPerObject: number;
  let bytesPerObject: number;
  let basis: string;
  if (rec) {
    objects = Math.round((rec.objects / rec.options) * options);
    cpuPerObject = (rec.seconds * Math.max(1, Math.min(rec.jobs, rec.cpus))) / rec.objects;
    bytesPerObject = rec.diskBytes / rec.objects;
    basis = `from the build of ${rec.release} recorded on this machine (${rec.objects} objects in ${hours(rec.seconds)} with -j${rec.jobs})`;
  } else if (a.calibration) {
    objects = Math.round(REFERENCE_OBJECTS_PER_OPTION * options);
    cpuPerObject = a.calibration.cpuSecondsPerObject;
    bytesPerObject = a.calibration.bytesPerObject;
    basis = `from compiling ${a.calibration.sample.length} of its objects here: ${a.calibration.cpuSecondsPerObject.toFixed(1)} CPU-seconds per average object`;
  } else {
    objects = Math.round(REFERENCE_OBJECTS_PER_OPTION * options);
    const ref = debug ? REFERENCE_DEBUG : REFERENCE_NO_DEBUG;
    cpuPerObject = ref.cpuSecondsPerObject;
    bytesPerObject = ref.bytesPerObject;
    basis = 'a first guess from reference figures: nothing is measured on this machine yet, the build calibrates before it starts';
  }
  const seconds = (objects * cpuPerObject) / parallel;
  const diskBytes = objects * bytesPerObject;
  const text = `About ${gb(diskBytes)} of disk and ${hours(seconds)} with -j${a.jobs} on ${a.cpus} CPU${a.cpus === 1 ? '' : 's'} (${objects} objects; ${basis}). It is resumable if interrupted.`;
  return { objects, seconds, diskBytes, diskGiB: Math.ceil(diskBytes / 2 ** 30), basis, text };
}

/** "CC [M]  drivers/x.o", "AS  arch/…": one compiled object (src/kernel/kbuild.ts progressLine). */
export function isObjectLine(target: string): boolean {
  return /^(CC|AS)( \[M\])? \S+\.o$/.test(target);
}

/** Progress while building: objects done of the estimate, and the time left at the rate so far. */
export class BuildProgress {
  done = 0;
  private readonly t0 = Date.now();
  constructor(private total: number) {}

  /** The line shown for a Kbuild progress line, or undefined when it is not an object. */
  step(target: string, now = Date.now()): string {
    if (isObjectLine(target)) this.done++;
    if (this.done > this.total) this.total = Math.round(this.done * 1.05);
    const elapsed = (now - this.t0) / 1000;
    const left = this.done >= 20 ? (elapsed / this.done) * (this.total - this.done) : undefined;
    return `[${this.done}/~${this.total}${left !== undefined ? `, about ${hours(left)} left` : ''}] ${target}`;
  }
}

/** Bytes of the files under dir that are not hard links (what a build wrote into a linked tree). */
export async function writtenBytes(dir: string): Promise<number> {
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) {
        const s = await lstat(p);
        if (s.nlink === 1) total += s.size;
      }
    }
  };
  await walk(dir);
  return total;
}

/**
 * Objects every configuration builds (obj-y in kernel/, mm/, fs/ Makefiles), compiled for the
 * calibration. In the reference tree they are 3.6 times the average object's size (196 KB against
 * 54 KB), and the build wrote 3.7 times its objects' bytes (archives, vmlinux, modules): the
 * calibration divides by the first and multiplies by the second, taking time to scale like size.
 */
export const CALIBRATION_OBJECTS = ['kernel/fork.o', 'mm/memory.o', 'fs/namei.o', 'kernel/sched/core.o'];
export const SAMPLE_WEIGHT = 196 / 54;
export const WRITTEN_PER_OBJECT_BYTE = 372257413 / 101061888;

export function calibrationFrom(sample: readonly { seconds: number; bytes: number }[], overheadSeconds: number): Calibration {
  const n = sample.length;
  const cpu = Math.max(0.05, (sample.reduce((s, x) => s + x.seconds, 0) - overheadSeconds) / n);
  const bytes = sample.reduce((s, x) => s + x.bytes, 0) / n;
  return { cpuSecondsPerObject: cpu / SAMPLE_WEIGHT, bytesPerObject: (bytes / SAMPLE_WEIGHT) * WRITTEN_PER_OBJECT_BYTE, sample: CALIBRATION_OBJECTS.slice(0, n) };
}

/** make's -j here: one job per CPU but one, so the machine stays usable while it builds. */
export function defaultJobs(n: number = cpus().length): number {
  return Math.max(1, n - 1);
}

/** The cost of building `config` here, before the build: recorded builds, else a first guess. */
export async function newKernelCost(
  config: KernelConfig,
  o: { jobs?: number; env?: NodeJS.ProcessEnv; calibration?: Calibration; cpus?: number; records?: boolean } = {},
): Promise<CostEstimate> {
  // Another host's plan (a snapshot) counts its CPUs, and this machine's recorded builds say nothing about it.
  const n = o.cpus ?? cpus().length;
  const records = o.records === false ? [] : await readBuildRecords(o.env);
  return estimateCost(config, { cpus: n, jobs: o.jobs ?? defaultJobs(n), records, ...(o.calibration ? { calibration: o.calibration } : {}) });
}
