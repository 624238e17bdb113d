import type { StageMarkers } from './kbuild.js';

/** One stage of a build pipeline. Resumable stages leave a marker when done and are skipped on re-runs. */
export interface Stage {
  id: string;
  /** Imperative, e.g. "Build arch/powerpc/kvm". */
  title: string;
  resumable: boolean;
  run(progress: (target: string) => void): Promise<void>;
}

export type StageEvent =
  | { kind: 'start'; stage: Stage }
  | { kind: 'skip'; stage: Stage }
  | { kind: 'progress'; stage: Stage; target: string }
  | { kind: 'done'; stage: Stage; ms: number }
  | { kind: 'fail'; stage: Stage; error: Error };

export type StageUi = 'listr' | 'plain' | ((event: StageEvent) => void);

async function runOne(stage: Stage, markers: StageMarkers, emit: (e: StageEvent) => void): Promise<'ran' | 'skipped'> {
  if (stage.resumable && (await markers.isDone(stage.id))) {
    emit({ kind: 'skip', stage });
    return 'skipped';
  }
  emit({ kind: 'start', stage });
  const t0 = Date.now();
  try {
    await stage.run((target) => emit({ kind: 'progress', stage, target }));
  } catch (error) {
    emit({ kind: 'fail', stage, error: error as Error });
    throw error;
  }
  if (stage.resumable) await markers.markDone(stage.id);
  emit({ kind: 'done', stage, ms: Date.now() - t0 });
  return 'ran';
}

/** Without a terminal, the progress of a long stage once a minute (e.g. "[812/~7226, about 4.1 hours left] CC …"). */
export const PLAIN_PROGRESS_MS = 60_000;

export function plainEvents(write: (s: string) => void, now: () => number = Date.now): (e: StageEvent) => void {
  let last = 0;
  return (e) => {
    if (e.kind === 'progress') {
      if (e.target.startsWith('[') && now() - last >= PLAIN_PROGRESS_MS) {
        last = now();
        write(`  ${e.target}`);
      }
    } else if (e.kind === 'start') {
      last = now();
      write(`• ${e.stage.title}…`);
    } else if (e.kind === 'skip') write(`• ${e.stage.title}: already done (resumed)`);
    else if (e.kind === 'done') write(`✔ ${e.stage.title} (${(e.ms / 1000).toFixed(1)} s)`);
    else if (e.kind === 'fail') write(`✖ ${e.stage.title}`);
  };
}

/** Runs stages in order; returns the ids that were skipped because an earlier run finished them. */
export async function runStages(stages: readonly Stage[], markers: StageMarkers, ui: StageUi = 'plain'): Promise<string[]> {
  const skipped: string[] = [];
  if (ui === 'listr') {
    const { Listr } = await import('listr2');
    const list = new Listr(
      stages.map((stage) => ({
        title: stage.title,
        task: async (_ctx: unknown, task: { output: string; skip(msg?: string): void; title: string }) => {
          const r = await runOne(stage, markers, (e) => {
            // The current make target, e.g. "CC [M] arch/powerpc/kvm/book3s_pr.o".
            if (e.kind === 'progress') task.output = e.target;
          });
          if (r === 'skipped') {
            skipped.push(stage.id);
            task.skip(`${stage.title} (already done)`);
          }
        },
        rendererOptions: { outputBar: 1, persistentOutput: false },
      })),
      { exitOnError: true, rendererOptions: { collapseErrors: false }, fallbackRenderer: 'simple' },
    );
    await list.run();
    return skipped;
  }
  const emit = typeof ui === 'function' ? ui : plainEvents((s) => process.stderr.write(s + '\n'));
  for (const stage of stages) if ((await runOne(stage, markers, emit)) === 'skipped') skipped.push(stage.id);
  return skipped;
}
