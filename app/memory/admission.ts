// Admission control: the live-coordination part of the old generation
// (ExecutionGraphs, TaskManager registry, pending/retained checkpoints) is a
// budget. A job is admitted only when its estimated footprint fits what is
// free; otherwise it is rejected (REST 503) with a message naming the
// estimate, what is free and the setting to raise. Reservations are released
// when the job reaches a terminal state.
import type { MemoryPlan } from './plan.js';
import { FOOTPRINT, type FootprintConstants, type JobShape, estimateJobFootprintBytes, estimateTaskManagerBytes } from './footprint.js';
import { formatBytes } from './units.js';
import { MEMORY_KEYS } from '../config/keys.js';

export { estimateJobFootprintBytes, jobShapeOf, type JobShape } from './footprint.js';

/**
 * Share of the old generation that live data + caches + baseline may fill.
 * The rest is GC headroom: V8 needs free old space to compact and promote,
 * and pressure shedding starts at 90% (pressure.ts), so admission stops first.
 */
export const OLD_GENERATION_FILL = 0.8;

export interface LiveBudget {
  readonly oldGenerationBytes: number;
  readonly usableOldGenerationBytes: number;
  readonly cacheBytes: number;
  readonly baselineBytes: number;
  /** What admission control hands out. */
  readonly liveBytes: number;
}

/** The live-coordination budget of a plan: usable old generation - caches - idle baseline. */
export function liveCoordinationBudget(plan: Pick<MemoryPlan, 'oldGenerationBytes' | 'cacheBytes'>, c: FootprintConstants = FOOTPRINT): LiveBudget {
  const usable = Math.floor(plan.oldGenerationBytes * OLD_GENERATION_FILL);
  return {
    oldGenerationBytes: plan.oldGenerationBytes,
    usableOldGenerationBytes: usable,
    cacheBytes: plan.cacheBytes,
    baselineBytes: c.baselineHeapBytes,
    liveBytes: Math.max(0, usable - plan.cacheBytes - c.baselineHeapBytes),
  };
}

export type ReservationKind = 'job' | 'taskmanager';

/** A job does not fit the live-coordination budget: HTTP 503 with `errors`. */
export class AdmissionRejectedError extends Error {
  readonly statusCode = 503;
  readonly code = 'ADMISSION_REJECTED';
  /** Retry-After: running jobs may finish by then. */
  readonly retryAfterSeconds = 5;
  readonly errors: string[];
  constructor(
    message: string,
    readonly estimateBytes: number,
    readonly freeBytes: number,
    readonly budgetBytes: number,
  ) {
    super(message);
    this.name = 'AdmissionRejectedError';
    this.errors = [message];
  }
}

export interface AdmissionStats {
  readonly budgetBytes: number;
  readonly reservedBytes: number;
  readonly freeBytes: number;
  readonly jobs: number;
  readonly jobBytes: number;
  readonly taskManagers: number;
  readonly taskManagerBytes: number;
  readonly admitted: number;
  readonly rejected: number;
}

interface Reservation {
  readonly kind: ReservationKind;
  readonly bytes: number;
}

export class AdmissionController {
  readonly budgetBytes: number;
  private readonly reservations = new Map<string, Reservation>();
  private reserved = 0;
  private admitted = 0;
  private rejected = 0;
  private readonly constants: FootprintConstants;

  constructor(budgetBytes: number, constants: FootprintConstants = FOOTPRINT) {
    if (!Number.isFinite(budgetBytes) || budgetBytes < 0) throw new RangeError(`admission budget must be >= 0 bytes, got ${budgetBytes}`);
    this.budgetBytes = Math.floor(budgetBytes);
    this.constants = constants;
  }

  static fromPlan(plan: Pick<MemoryPlan, 'oldGenerationBytes' | 'cacheBytes'>, constants: FootprintConstants = FOOTPRINT): AdmissionController {
    return new AdmissionController(liveCoordinationBudget(plan, constants).liveBytes, constants);
  }

  get freeBytes(): number {
    return Math.max(0, this.budgetBytes - this.reserved);
  }

  estimate(shape: JobShape): number {
    return estimateJobFootprintBytes(shape, this.constants);
  }

  /**
   * Reserve a job's estimated footprint under `key`, or throw
   * AdmissionRejectedError. Returns the reserved estimate.
   */
  admitJob(key: string, shape: JobShape, name = key): number {
    const estimate = this.estimate(shape);
    const free = this.freeBytes;
    if (estimate > free) {
      this.rejected++;
      const running = this.summary();
      throw new AdmissionRejectedError(
        `Job '${name}' was not admitted: its estimated live footprint is ${formatBytes(estimate)} ` +
          `(${shape.subtasks} subtasks, ${shape.jobEdges} job edges, ${shape.retainedCheckpoints} retained + ${shape.concurrentCheckpoints} concurrent checkpoints) ` +
          `but only ${formatBytes(free)} of the ${formatBytes(this.budgetBytes)} live-coordination budget is free (${running}). ` +
          `Retry when running jobs finish, or raise ${MEMORY_KEYS.process} (or ${MEMORY_KEYS.heap}).`,
        estimate,
        free,
        this.budgetBytes,
      );
    }
    this.put(key, { kind: 'job', bytes: estimate });
    this.admitted++;
    return estimate;
  }

  /**
   * Charge bytes that must be accepted (a registering TaskManager: refusing it
   * would lose capacity, not save memory). May push `freeBytes` to 0 so that
   * jobs stop being admitted.
   */
  charge(key: string, kind: ReservationKind, bytes: number): void {
    this.put(key, { kind, bytes: Math.max(0, Math.ceil(bytes)) });
  }

  /** Move a reservation to another key (a job admitted before its id was known). */
  rekey(from: string, to: string): void {
    const r = this.reservations.get(from);
    if (!r || from === to) return;
    this.release(from);
    this.put(to, r);
  }

  /** Release a reservation; unknown keys are ignored (release is idempotent). */
  release(key: string): boolean {
    const r = this.reservations.get(key);
    if (!r) return false;
    this.reservations.delete(key);
    this.reserved -= r.bytes;
    return true;
  }

  has(key: string): boolean {
    return this.reservations.has(key);
  }

  stats(): AdmissionStats {
    let jobs = 0;
    let jobBytes = 0;
    let tms = 0;
    let tmBytes = 0;
    for (const r of this.reservations.values()) {
      if (r.kind === 'job') {
        jobs++;
        jobBytes += r.bytes;
      } else {
        tms++;
        tmBytes += r.bytes;
      }
    }
    return {
      budgetBytes: this.budgetBytes,
      reservedBytes: this.reserved,
      freeBytes: this.freeBytes,
      jobs,
      jobBytes,
      taskManagers: tms,
      taskManagerBytes: tmBytes,
      admitted: this.admitted,
      rejected: this.rejected,
    };
  }

  private put(key: string, r: Reservation): void {
    this.release(key);
    this.reservations.set(key, r);
    this.reserved += r.bytes;
  }

  private summary(): string {
    const s = this.stats();
    return `${s.jobs} admitted job(s) hold ${formatBytes(s.jobBytes)}, ${s.taskManagers} TaskManager(s) ${formatBytes(s.taskManagerBytes)}`;
  }
}

/** Charge a registering TaskManager (never refused) under `tm:<id>`; release when it is lost. */
export function chargeTaskManager(controller: AdmissionController, taskManagerId: string, slots: number, c: FootprintConstants = FOOTPRINT): void {
  controller.charge(`tm:${taskManagerId}`, 'taskmanager', estimateTaskManagerBytes(slots, c));
}

export function releaseTaskManager(controller: AdmissionController, taskManagerId: string): void {
  controller.release(`tm:${taskManagerId}`);
}
