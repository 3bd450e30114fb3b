// Hand-written plans for tests that need a MemoryPlan without deriving one
// (the derivation itself is tested in test/memory/plan*.test.ts).
import type { MemoryPlan } from '../../app/memory/plan.js';

const MiB = 1024 * 1024;

/** The default plan for a 256 MiB process (overhead 80m, off-heap 32m, heap 144m, semi-space 2m). */
export const PLAN_256: MemoryPlan = {
  processBytes: 256 * MiB,
  overheadBytes: 80 * MiB,
  offHeapBytes: 32 * MiB,
  networkBytes: 16 * MiB,
  networkSegmentBytes: 32 * 1024,
  networkSegments: 512,
  heapBytes: 144 * MiB,
  semiSpaceBytes: 2 * MiB,
  youngGenerationBytes: 6 * MiB,
  oldGenerationBytes: 138 * MiB,
  cacheBytes: 27 * MiB,
  nodeFlags: ['--max-old-space-size=138', '--max-semi-space-size=2'],
  warnings: [],
};
