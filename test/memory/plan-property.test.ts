// Property-based: over >= 10,000 valid inputs each (process sizes ~200 MiB to
// 64 GiB, with and without overrides) the plan's invariants hold, the heap
// never shrinks as the process size grows, and pinning a plan's derived values
// re-derives the identical plan (what the chart injects and boot re-checks).
import fc from 'fast-check';
import t from 'tap';
import { ConfigError } from '../../app/config/errors.js';
import { deriveMemoryPlan, pinnedInputs, type MemoryInputs, type MemoryPlan } from '../../app/memory/plan.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;
const RUNS = 10_000;

/** Overrides an operator may set besides the process size (each maybe absent). */
const settingsArb = fc.record({
  overheadFraction: fc.option(fc.double({ min: 0, max: 0.3, noNaN: true }), { nil: undefined }),
  overheadMinMiB: fc.option(fc.integer({ min: 0, max: 128 }), { nil: undefined }),
  overheadMaxMiB: fc.option(fc.integer({ min: 128, max: 4096 }), { nil: undefined }),
  offHeapMiB: fc.option(fc.integer({ min: 16, max: 512 }), { nil: undefined }),
  networkKiB: fc.option(fc.integer({ min: 64, max: 16 * 1024 }), { nil: undefined }),
  segmentKiB: fc.option(fc.constantFrom(4, 8, 16, 32, 64), { nil: undefined }),
  semiSpaceMiB: fc.option(fc.constantFrom(1, 2, 4, 8, 16, 32, 64), { nil: undefined }),
  cacheFraction: fc.option(fc.double({ min: 0, max: 0.9, noNaN: true }), { nil: undefined }),
});
type Settings = typeof settingsArb extends fc.Arbitrary<infer S> ? S : never;

const toInputs = (s: Settings, processBytes: number | undefined, heapBytes?: number): MemoryInputs => ({
  processBytes,
  heapBytes,
  offHeapBytes: s.offHeapMiB === undefined ? undefined : s.offHeapMiB * MiB,
  networkBytes: s.networkKiB === undefined ? undefined : s.networkKiB * KiB,
  networkSegmentBytes: (s.segmentKiB ?? 32) * KiB,
  overheadFraction: s.overheadFraction ?? 0.1,
  overheadMinBytes: (s.overheadMinMiB ?? 80) * MiB,
  overheadMaxBytes: (s.overheadMaxMiB ?? 1024) * MiB,
  semiSpaceBytes: s.semiSpaceMiB === undefined ? undefined : s.semiSpaceMiB * MiB,
  cacheFraction: s.cacheFraction ?? 0.2,
});

/** The plan, or undefined when the generated combination is invalid (skipped via fc.pre). */
function tryPlan(inputs: MemoryInputs): MemoryPlan | undefined {
  try {
    return deriveMemoryPlan(inputs);
  } catch (err) {
    if (err instanceof ConfigError) return undefined;
    throw err;
  }
}

function assertInvariants(plan: MemoryPlan, inputs: MemoryInputs): void {
  const fail = (what: string): never => {
    throw new Error(`${what}: ${JSON.stringify(plan)}`);
  };
  for (const [name, value] of Object.entries(plan)) {
    if (typeof value === 'number' && !(Number.isSafeInteger(value) && value >= 0)) fail(`${name} is not a whole byte count`);
  }
  if (plan.overheadBytes + plan.offHeapBytes + plan.heapBytes !== plan.processBytes) fail('overhead + off-heap + heap != process');
  if (plan.youngGenerationBytes + plan.oldGenerationBytes !== plan.heapBytes) fail('young + old != heap');
  if (plan.youngGenerationBytes !== 3 * plan.semiSpaceBytes) fail('young != 3 x semi-space');
  if (plan.networkBytes > plan.offHeapBytes) fail('network > off-heap');
  if (plan.networkSegments !== Math.floor(plan.networkBytes / plan.networkSegmentBytes) || plan.networkSegments < 1) fail('segments');
  if (plan.overheadBytes < inputs.overheadMinBytes || plan.overheadBytes > inputs.overheadMaxBytes) fail('overhead outside [min, max]');
  if (plan.heapBytes < 48 * MiB) fail('heap below 48 MiB');
  if (plan.oldGenerationBytes < 32 * MiB) fail('old generation below 32 MiB');
  const semiMiB = plan.semiSpaceBytes / MiB;
  if (![1, 2, 4, 8, 16, 32, 64].includes(semiMiB)) fail('semi-space not a power of two in [1, 64] MiB');
  if (inputs.semiSpaceBytes === undefined && semiMiB > 1 && semiMiB * MiB > plan.heapBytes / 64) fail('semi-space above heap/64');
  if (plan.cacheBytes > plan.oldGenerationBytes || plan.cacheBytes % MiB !== 0) fail('cache budget');
  const flags = [`--max-old-space-size=${Math.floor(plan.oldGenerationBytes / MiB)}`, `--max-semi-space-size=${semiMiB}`];
  if (plan.nodeFlags.join(' ') !== flags.join(' ')) fail('flags do not match the plan');
  if ((plan.heapBytes < 128 * MiB) !== (plan.warnings.length === 1)) fail('small-heap warning');
  // Given process and heap sizes are planned in whole MiB.
  const wholeMiB = (bytes: number): number => Math.floor(bytes / MiB) * MiB;
  if (inputs.processBytes !== undefined && plan.processBytes !== wholeMiB(inputs.processBytes)) fail('process size is not the given size in whole MiB');
  if (inputs.heapBytes !== undefined && plan.heapBytes !== wholeMiB(inputs.heapBytes)) fail('heap is not the given heap in whole MiB');
  if (plan.processBytes % MiB !== 0) fail('process size not whole MiB');
  // What the chart injects (P, H, OH, N, S) re-derives to exactly this plan.
  const again = deriveMemoryPlan(pinnedInputs(plan, inputs));
  if (JSON.stringify(again) !== JSON.stringify(plan)) fail(`re-derivation differs: ${JSON.stringify(again)}`);
}

t.test('invariants and re-derivation: process size in bytes, ~200 MiB to 64 GiB', async (t) => {
  let valid = 0;
  fc.assert(
    fc.property(fc.integer({ min: 200 * MiB, max: 64 * GiB }), settingsArb, (processBytes, s) => {
      const inputs = toInputs(s, processBytes);
      const plan = tryPlan(inputs);
      fc.pre(plan !== undefined);
      assertInvariants(plan as MemoryPlan, inputs);
      valid++;
    }),
    { numRuns: RUNS, seed: 20261129, maxSkipsPerRun: 10 },
  );
  t.ok(valid >= RUNS, `${valid} valid inputs checked`);
  // Without overrides every size in range is valid.
  let defaults = 0;
  fc.assert(
    fc.property(fc.integer({ min: 200 * MiB, max: 64 * GiB }), (processBytes) => {
      const inputs = toInputs({} as Settings, processBytes);
      assertInvariants(deriveMemoryPlan(inputs), inputs);
      defaults++;
    }),
    { numRuns: RUNS, seed: 7 },
  );
  t.equal(defaults, RUNS, `${defaults} default plans checked`);
});

t.test('invariants and re-derivation: heap configured, process derived', async (t) => {
  let valid = 0;
  fc.assert(
    fc.property(fc.integer({ min: 48 * MiB, max: 48 * GiB }), settingsArb, (heapBytes, s) => {
      const inputs = toInputs(s, undefined, heapBytes);
      const plan = tryPlan(inputs);
      fc.pre(plan !== undefined);
      assertInvariants(plan as MemoryPlan, inputs);
      valid++;
    }),
    { numRuns: RUNS, seed: 42, maxSkipsPerRun: 10 },
  );
  t.ok(valid >= RUNS, `${valid} valid inputs checked`);
});

t.test('the heap never shrinks as the process size grows (whole MiB)', async (t) => {
  let pairs = 0;
  fc.assert(
    fc.property(
      fc.integer({ min: 200, max: 64 * 1024 }),
      fc.integer({ min: 200, max: 64 * 1024 }),
      settingsArb,
      (aMiB, bMiB, s) => {
        const [small, large] = aMiB <= bMiB ? [aMiB, bMiB] : [bMiB, aMiB];
        const lower = tryPlan(toInputs(s, small * MiB));
        const upper = tryPlan(toInputs(s, large * MiB));
        fc.pre(lower !== undefined && upper !== undefined);
        if ((upper as MemoryPlan).heapBytes < (lower as MemoryPlan).heapBytes) {
          throw new Error(`heap shrinks from ${small}m to ${large}m: ${lower?.heapBytes} > ${upper?.heapBytes}`);
        }
        pairs++;
      },
    ),
    { numRuns: RUNS, seed: 1234, maxSkipsPerRun: 10 },
  );
  t.ok(pairs >= RUNS, `${pairs} pairs checked`);
  // Exhaustively for neighbours with the defaults: P and P + 1 MiB over 160m..8g.
  let previous = deriveMemoryPlan(toInputs({} as Settings, 160 * MiB)).heapBytes;
  let shrinks = 0;
  for (let p = 161; p <= 8192; p++) {
    const heap = deriveMemoryPlan(toInputs({} as Settings, p * MiB)).heapBytes;
    if (heap < previous) shrinks++;
    previous = heap;
  }
  t.equal(shrinks, 0, 'no shrink between neighbouring whole-MiB sizes from 160m to 8g');
});

t.test('the heap never shrinks as the process size grows (any size in bytes)', async (t) => {
  // The plan works in whole MiB of process size, so one more byte can never
  // move a MiB of heap into the overhead or off-heap.
  let pairs = 0;
  fc.assert(
    fc.property(fc.integer({ min: 200 * MiB, max: 64 * GiB }), fc.integer({ min: 1, max: 4 * MiB }), settingsArb, (p, delta, s) => {
      const lower = tryPlan(toInputs(s, p));
      const upper = tryPlan(toInputs(s, p + delta));
      fc.pre(lower !== undefined && upper !== undefined);
      if ((upper as MemoryPlan).heapBytes < (lower as MemoryPlan).heapBytes) {
        throw new Error(`heap shrinks from ${p} to ${p + delta} bytes: ${lower?.heapBytes} > ${upper?.heapBytes}`);
      }
      pairs++;
    }),
    { numRuns: RUNS, seed: 99, maxSkipsPerRun: 10 },
  );
  t.ok(pairs >= RUNS, `${pairs} byte-granular pairs checked`);
});
