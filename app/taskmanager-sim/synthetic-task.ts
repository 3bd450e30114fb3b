// What a synthetic task does, read from its vertex `config` (the JobGraph's
// per-vertex string map). Pure: no timers here, the TaskManager schedules.

export const SIM_KEYS = {
  /** Time spent INITIALIZING before RUNNING. Default 0. */
  initializeMs: 'sim.initialize-ms',
  /** RUNNING -> FINISHED after this long. Default: never (unbounded task). */
  finishAfterMs: 'sim.finish-after-ms',
  /** RUNNING -> FAILED after this long. Default: never. Wins over finish when earlier. */
  failAfterMs: 'sim.fail-after-ms',
  /** Only attempts with attemptNumber < this fail (so a restart can heal). Default: all attempts. */
  failAttempts: 'sim.fail-attempts',
  /** Only these subtask indexes fail, comma separated (e.g. "0,3"). Default: all. */
  failSubtasks: 'sim.fail-subtasks',
} as const;

export interface TaskBehaviour {
  initializeMs: number;
  /** undefined = never */
  finishAfterMs: number | undefined;
  /** undefined = never (already filtered by attempt and subtask) */
  failAfterMs: number | undefined;
}

export type BehaviourResult =
  | { ok: true; behaviour: TaskBehaviour }
  | { ok: false; error: string };

const MAX_MS = 2_147_483_647; // setTimeout's limit

function readMs(config: Record<string, string>, key: string, unit = 'milliseconds'): number | undefined | string {
  const raw = config[key];
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (!/^\d+$/.test(trimmed) || Number(trimmed) > MAX_MS) {
    return `vertex config ${key} must be an integer number of ${unit} in [0, ${MAX_MS}], got ${JSON.stringify(raw)}`;
  }
  return Number(trimmed);
}

/** The behaviour of one attempt of one subtask. A bad key value is an error naming the key. */
export function taskBehaviour(
  config: Record<string, string> | undefined,
  subtaskIndex: number,
  attemptNumber: number,
): BehaviourResult {
  const c = config ?? {};
  const initializeMs = readMs(c, SIM_KEYS.initializeMs);
  const finishAfterMs = readMs(c, SIM_KEYS.finishAfterMs);
  let failAfterMs = readMs(c, SIM_KEYS.failAfterMs);
  const failAttempts = readMs(c, SIM_KEYS.failAttempts, 'attempts');
  for (const v of [initializeMs, finishAfterMs, failAfterMs, failAttempts]) {
    if (typeof v === 'string') return { ok: false, error: v };
  }
  const rawSubtasks = c[SIM_KEYS.failSubtasks];
  if (rawSubtasks !== undefined) {
    const parts = rawSubtasks.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    if (parts.some((p) => !/^\d+$/.test(p))) {
      return { ok: false, error: `vertex config ${SIM_KEYS.failSubtasks} must be comma-separated subtask indexes, got ${JSON.stringify(rawSubtasks)}` };
    }
    if (!parts.map(Number).includes(subtaskIndex)) failAfterMs = undefined;
  }
  if (typeof failAttempts === 'number' && attemptNumber >= failAttempts) failAfterMs = undefined;
  return {
    ok: true,
    behaviour: {
      initializeMs: (initializeMs as number | undefined) ?? 0,
      finishAfterMs: finishAfterMs as number | undefined,
      failAfterMs: failAfterMs as number | undefined,
    },
  };
}
