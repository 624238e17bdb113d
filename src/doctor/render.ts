import type { ChalkInstance } from 'chalk';
import type { CheckReport, DoctorReport } from './report-schema.js';

type Status = CheckReport['status'];

export const MARK: Record<Status, string> = { pass: '✓', warn: '!', fail: '✗', info: 'i', skip: '-' };
const RANK: Record<Status, number> = { fail: 4, warn: 3, pass: 2, info: 1, skip: 0 };

export interface RenderOptions {
  verbose: boolean;
  quiet: boolean;
}

function paint(c: ChalkInstance, s: Status, text: string): string {
  switch (s) {
    case 'pass':
      return c.green(text);
    case 'warn':
      return c.yellow(text);
    case 'fail':
      return c.red(text);
    case 'info':
      return c.cyan(text);
    case 'skip':
      return c.dim(text);
  }
}

function worst(checks: CheckReport[]): Status {
  const visible = checks.filter((c) => c.status !== 'skip');
  if (visible.length === 0) return 'skip';
  return visible.reduce((a, c) => (RANK[c.status] > RANK[a] ? c.status : a), 'info' as Status);
}

function mostCommon(texts: string[]): string {
  const n = new Map<string, number>();
  for (const t of texts) n.set(t, (n.get(t) ?? 0) + 1);
  return [...n].reduce((a, b) => (b[1] > a[1] ? b : a))[0];
}

/** flutter-doctor-like text: categories with [✓] [!] [✗], one line per check, fixes under problems. */
export function renderDoctor(report: DoctorReport, c: ChalkInstance, opts: RenderOptions): string {
  const out: string[] = [];
  if (!opts.quiet) out.push(c.bold(`talos-mac doctor${report.host.source === 'live' ? '' : ` (${report.host.source})`}`), '');
  const width = Math.max(...report.checks.map((ch) => ch.id.length));
  const categories = [...new Set(report.checks.map((ch) => ch.category))];
  // Not a POWER host: a category that does not apply is one line, and a check that does not apply
  // within one that does is left out (doctor -v shows each).
  const foreign = !opts.verbose && report.host.arch !== null && !/^ppc|^powerpc/.test(report.host.arch);
  for (const cat of categories) {
    const checks = report.checks.filter((ch) => ch.category === cat);
    const shown = opts.quiet ? checks.filter((ch) => ch.status === 'fail' || ch.status === 'warn') : foreign ? checks.filter((ch) => ch.status !== 'skip') : checks;
    const w = worst(checks);
    const reasons = new Set(checks.map((ch) => ch.summary));
    if (w === 'skip' && !opts.verbose && !opts.quiet && (reasons.size === 1 || foreign)) {
      out.push(`${paint(c, w, `[${MARK[w]}]`)} ${c.bold(cat)} ${c.dim(`— ${foreign ? 'does not apply' : 'skipped'}: ${mostCommon(checks.map((ch) => ch.summary))}`)}`);
      continue;
    }
    if (shown.length === 0) continue;
    out.push(`${paint(c, w, `[${MARK[w]}]`)} ${c.bold(cat)}`);
    for (const ch of shown) {
      out.push(`    ${paint(c, ch.status, MARK[ch.status])} ${ch.id.padEnd(width)}  ${ch.status === 'skip' ? c.dim(ch.summary) : ch.summary}`);
      const indent = ' '.repeat(width + 8);
      if (opts.verbose && ch.detail) for (const line of ch.detail.split('\n')) out.push(c.dim(`${indent}${line}`));
      if (ch.fix && (ch.status === 'fail' || ch.status === 'warn' || opts.verbose)) {
        out.push(`${indent}${c.bold('→')} ${ch.fix.text}${ch.fix.bySetup ? c.dim(' (talos-mac setup does this)') : ''}`);
        for (const cmd of ch.fix.commands) out.push(`${indent}  ${c.cyan('$')} ${cmd}`);
      }
    }
  }
  out.push('');
  const v = report.verdict;
  const vs: Status = report.ok ? (v.kind === 'ready' ? 'pass' : 'warn') : 'fail';
  out.push(paint(c, vs, `${MARK[vs]} ${v.text}`));
  if (!opts.verbose && !opts.quiet) out.push(c.dim('  (details: talos-mac doctor -v; for scripts: --json)'));
  return out.join('\n') + '\n';
}

export function renderCheckList(checks: ReadonlyArray<{ id: string; category: string; title: string }>): string {
  const width = Math.max(...checks.map((c) => c.id.length));
  return checks.map((c) => `${c.id.padEnd(width)}  ${c.title}`).join('\n') + '\n';
}
