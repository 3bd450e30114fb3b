// Sizing: invert the plan derivation. Given a workload (jobs, subtasks,
// TaskManagers, retained checkpoints, archived jobs), find the smallest
// process size (whole MiB) whose plan gives admission control enough live
// budget and the caches enough room. Uses the same measured footprint
// constants as admission control, so a workload sized here is admitted there.
import { deriveMemoryPlan, type MemoryInputs, type MemoryPlan } from './plan.js';
import { liveCoordinationBudget, type LiveBudget } from './admission.js';
import { splitCacheBudget, type CacheBudgets } from './caches.js';
import { FOOTPRINT, estimateWorkload, type FootprintConstants, type Workload, type WorkloadEstimate } from './footprint.js';
import { MiB } from './units.js';

/**
 * Extra live budget beyond the estimate: transient allocations of REST
 * responses, RPC batches being built and floating garbage between GCs, so the
 * recommended size runs without admission rejections or pressure shedding.
 */
export const SIZING_MARGIN = 1.25;

export interface SizingResult {
  readonly processBytes: number;
  readonly plan: MemoryPlan;
  readonly estimate: WorkloadEstimate;
  readonly live: LiveBudget;
  readonly cacheBudgets: CacheBudgets;
  /** The live bytes the plan must provide (estimate x margin). */
  readonly requiredLiveBytes: number;
}

function fits(plan: MemoryPlan, est: WorkloadEstimate, requiredLive: number, c: FootprintConstants): boolean {
  const live = liveCoordinationBudget(plan, c);
  if (live.liveBytes < requiredLive) return false;
  const caches = splitCacheBudget(plan.cacheBytes);
  return caches.archivedJobsBytes >= est.archivedJobsBytes && caches.checkpointStatsBytes >= est.checkpointHistoryBytes;
}

function planFor(settings: MemoryInputs, processBytes: number): MemoryPlan | undefined {
  try {
    return deriveMemoryPlan({ ...settings, processBytes, heapBytes: undefined, offHeapBytes: settings.offHeapBytes, networkBytes: settings.networkBytes });
  } catch {
    return undefined; // too small for the plan's minimums: keep searching upwards
  }
}

/**
 * The smallest whole-MiB process size that fits `workload` with the given
 * plan settings (fractions, overhead bounds, segment size; any configured
 * process/heap size is ignored). Throws when nothing up to `maxBytes` fits.
 */
export function recommendProcessSize(
  workload: Workload,
  settings: MemoryInputs,
  c: FootprintConstants = FOOTPRINT,
  maxBytes = 256 * 1024 * MiB,
): SizingResult {
  const estimate = estimateWorkload(workload, c);
  const requiredLiveBytes = Math.ceil(estimate.liveBytes * SIZING_MARGIN);
  // Gallop to an upper bound, then scan down in MiB steps; the derived budgets
  // are not strictly monotonic where clamps switch (overhead min/max, off-heap
  // bounds), so the final step checks each MiB instead of bisecting.
  let hi = 128 * MiB;
  for (;;) {
    const p = planFor(settings, hi);
    if (p && fits(p, estimate, requiredLiveBytes, c)) break;
    if (hi >= maxBytes) {
      throw new RangeError(
        `no process size up to ${maxBytes / MiB} MiB fits this workload (live estimate ${Math.ceil(estimate.liveBytes / MiB)} MiB); split it across JobManagers`,
      );
    }
    hi = Math.min(maxBytes, hi * 2);
  }
  let best = hi;
  const lo = Math.max(MiB, Math.floor(hi / 2 / MiB) * MiB);
  for (let p = hi - MiB; p >= lo; p -= MiB) {
    const plan = planFor(settings, p);
    if (plan && fits(plan, estimate, requiredLiveBytes, c)) best = p;
    else if (p < best - 64 * MiB) break; // far below the last fit: the rest will not fit either
  }
  const plan = planFor(settings, best) as MemoryPlan;
  return {
    processBytes: best,
    plan,
    estimate,
    live: liveCoordinationBudget(plan, c),
    cacheBudgets: splitCacheBudget(plan.cacheBytes),
    requiredLiveBytes,
  };
}
