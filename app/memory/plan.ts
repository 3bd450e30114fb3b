// The memory plan of memory-model.md "Derivation" (mirrors Flink's
// JobManagerProcessUtils) as a pure function: bytes in, plan out, or a
// one-line ConfigError (exit 78) naming every key involved with its value in
// bytes and human units and what to change. The chart's template helpers do
// the same arithmetic in IEEE-754 doubles; keep both in step.
import { ConfigError } from '../config/errors.js';
import { MEMORY_KEYS } from '../config/keys.js';
import type { Configuration } from '../config/configuration.js';
import { bytesAndHuman, formatBytes, GiB, KiB, mib, MiB } from './units.js';

/** Inputs in bytes / fractions; undefined = derive. */
export interface MemoryInputs {
  readonly processBytes: number | undefined;
  readonly heapBytes: number | undefined;
  readonly offHeapBytes: number | undefined;
  readonly networkBytes: number | undefined;
  readonly networkSegmentBytes: number;
  readonly overheadFraction: number;
  readonly overheadMinBytes: number;
  readonly overheadMaxBytes: number;
  readonly semiSpaceBytes: number | undefined;
  readonly cacheFraction: number;
  /**
   * Where an unconfigured process size came from ("cgroup memory limit", ...),
   * for error messages only; undefined when configured.
   */
  readonly processOrigin?: string | undefined;
}

export interface MemoryPlan {
  readonly processBytes: number;
  readonly overheadBytes: number;
  readonly offHeapBytes: number;
  readonly networkBytes: number;
  readonly networkSegmentBytes: number;
  readonly networkSegments: number;
  readonly heapBytes: number;
  readonly semiSpaceBytes: number;
  readonly youngGenerationBytes: number;
  readonly oldGenerationBytes: number;
  readonly cacheBytes: number;
  /** e.g. ['--max-old-space-size=409', '--max-semi-space-size=4'] */
  readonly nodeFlags: readonly string[];
  readonly warnings: readonly string[];
}

/** The hard minimum V8 heap; below it the JobManager cannot even boot its services. */
export const MIN_HEAP_BYTES = 48 * MiB;
/** Heaps below this work but leave little room for jobs: warned about. */
export const RECOMMENDED_HEAP_BYTES = 128 * MiB;
export const MIN_OLD_GENERATION_BYTES = 32 * MiB;
export const MIN_SEMI_SPACE_BYTES = 1 * MiB;
export const MAX_SEMI_SPACE_BYTES = 64 * MiB;
export const MIN_OFF_HEAP_DEFAULT_BYTES = 32 * MiB;
export const MAX_OFF_HEAP_DEFAULT_BYTES = 512 * MiB;
export const MIN_SEGMENT_BYTES = 4 * KiB;
/** Process size when neither it nor the heap is configured and no container limit is known. */
export const DEFAULT_PROCESS_BYTES = 1 * GiB;
export const CONTAINER_LIMIT_KEY = 'jobmanager.container.memory.limit';

const K = MEMORY_KEYS;
const clamp = (x: number, lo: number, hi: number): number => Math.min(Math.max(x, lo), hi);
const isPowerOfTwo = (x: number): boolean => Number.isSafeInteger(x) && x > 0 && 2 ** Math.round(Math.log2(x)) === x;
/** `key (134217728 bytes, 128.000mb)` */
const named = (key: string, bytes: number): string => `${key} (${bytesAndHuman(bytes)})`;
const part = (label: string, bytes: number): string => `${label} (${bytesAndHuman(bytes)})`;

/** Off-heap default given only the JobManager memory T (case "only P known"). */
const defaultOffHeapOfTotal = (jobManagerBytes: number): number =>
  clamp(mib(0.1 * jobManagerBytes), MIN_OFF_HEAP_DEFAULT_BYTES, MAX_OFF_HEAP_DEFAULT_BYTES);
/** Off-heap default given the heap H: 10% of T = H + OH, i.e. H / 9. */
const defaultOffHeapOfHeap = (heapBytes: number): number =>
  clamp(mib(heapBytes / 9), MIN_OFF_HEAP_DEFAULT_BYTES, MAX_OFF_HEAP_DEFAULT_BYTES);

/** The largest power of two (in MiB) <= H / 64, clamped to [1m, 64m]. */
export function defaultSemiSpaceBytes(heapBytes: number): number {
  const limitMiB = Math.floor(heapBytes / (64 * MiB));
  let s = 1;
  while (s * 2 <= limitMiB && s * 2 <= MAX_SEMI_SPACE_BYTES / MiB) s *= 2;
  return s * MiB;
}

/** Heap derived from a process size alone (case "only P known"); may be negative. */
function heapOfProcess(inputs: MemoryInputs, processBytes: number): { overhead: number; offHeap: number; heap: number } {
  const overhead = clamp(mib(processBytes * inputs.overheadFraction), inputs.overheadMinBytes, inputs.overheadMaxBytes);
  const total = processBytes - overhead;
  const offHeap = inputs.offHeapBytes ?? defaultOffHeapOfTotal(total);
  return { overhead, offHeap, heap: total - offHeap };
}

/**
 * The smallest process size (whole MiB) whose derived heap reaches `heapBytes`.
 * The heap derived from P is non-decreasing over whole-MiB process sizes, so a
 * binary search finds it.
 */
export function smallestProcessForHeap(inputs: MemoryInputs, heapBytes: number): number {
  let lo = 1;
  let hi = Math.floor(Number.MAX_SAFE_INTEGER / MiB);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (heapOfProcess(inputs, mid * MiB).heap >= heapBytes) hi = mid;
    else lo = mid + 1;
  }
  return lo * MiB;
}

function validateSettings(inputs: MemoryInputs): void {
  const f = inputs.overheadFraction;
  if (!(f >= 0 && f < 1)) {
    throw new ConfigError(
      `${K.overheadFraction} (${f}) lies outside [0, 1); set it to a fraction such as 0.1`,
      [K.overheadFraction],
    );
  }
  const c = inputs.cacheFraction;
  if (!(c >= 0 && c < 1)) {
    throw new ConfigError(`${K.cacheFraction} (${c}) lies outside [0, 1); set it to a fraction such as 0.2`, [K.cacheFraction]);
  }
  if (inputs.overheadMinBytes > inputs.overheadMaxBytes) {
    throw new ConfigError(
      `${named(K.overheadMin, inputs.overheadMinBytes)} is greater than ${named(K.overheadMax, inputs.overheadMaxBytes)}; ` +
        `lower ${K.overheadMin} or raise ${K.overheadMax}`,
      [K.overheadMin, K.overheadMax],
    );
  }
  const seg = inputs.networkSegmentBytes;
  if (!isPowerOfTwo(seg) || seg < MIN_SEGMENT_BYTES) {
    throw new ConfigError(
      `${named(K.networkSegmentSize, seg)} must be a power of two of at least ${formatBytes(MIN_SEGMENT_BYTES)}; use e.g. 32k`,
      [K.networkSegmentSize],
    );
  }
  const s = inputs.semiSpaceBytes;
  if (s !== undefined && (s % MiB !== 0 || !isPowerOfTwo(s / MiB) || s < MIN_SEMI_SPACE_BYTES || s > MAX_SEMI_SPACE_BYTES)) {
    throw new ConfigError(
      `${named(K.semiSpace, s)} must be a power of two in whole MiB from 1m to 64m (1m, 2m, 4m, ... 64m); set one of those or leave it unset to derive it`,
      [K.semiSpace],
    );
  }
}

function checkMinimumHeap(heapBytes: number): void {
  if (heapBytes < MIN_HEAP_BYTES) {
    throw new ConfigError(
      `${named(K.heap, heapBytes)} is less than the minimum heap (${formatBytes(MIN_HEAP_BYTES)}); ` +
        `raise ${K.heap} to at least ${MIN_HEAP_BYTES} bytes (${formatBytes(MIN_HEAP_BYTES)}) or leave it unset to derive it from ${K.process}`,
      [K.heap],
    );
  }
}

/**
 * The plan works in whole MiB: process, heap, off-heap and the overhead
 * bounds are taken as their whole MiBs (1G = 10^9 bytes -> 953 MiB; the kernel
 * keeps a cgroup limit in 4 KiB pages anyway, and V8's flags are in MiB). So
 * every derived process size is whole MiB, re-deriving from the injected
 * values is exact, and the heap never shrinks as the process size grows.
 */
/** Plan fields whose given value is taken in whole MiB (see inWholeMiB). */
export const WHOLE_MIB_FIELDS: ReadonlySet<keyof MemoryPlan> = new Set(['processBytes', 'heapBytes', 'offHeapBytes']);

function inWholeMiB(inputs: MemoryInputs): MemoryInputs {
  const floor = (bytes: number | undefined): number | undefined => (bytes === undefined ? undefined : mib(bytes));
  return {
    ...inputs,
    processBytes: floor(inputs.processBytes),
    heapBytes: floor(inputs.heapBytes),
    offHeapBytes: floor(inputs.offHeapBytes),
    overheadMinBytes: mib(inputs.overheadMinBytes),
    overheadMaxBytes: mib(inputs.overheadMaxBytes),
  };
}

/**
 * memory-model.md "Derivation". `containerLimitBytes` (cgroup or injected)
 * caps the process size; `containerLimitOrigin` says where it came from.
 */
export function deriveMemoryPlan(
  givenInputs: MemoryInputs,
  containerLimitBytes?: number,
  containerLimitOrigin = 'container memory limit',
): MemoryPlan {
  const inputs = inWholeMiB(givenInputs);
  validateSettings(inputs);
  const { overheadFraction: f, overheadMinBytes: oMin, overheadMaxBytes: oMax } = inputs;

  let processBytes: number;
  let overheadBytes: number;
  let offHeapBytes: number;
  let heapBytes: number;

  if (inputs.heapBytes === undefined) {
    if (inputs.processBytes === undefined) {
      throw new ConfigError(`neither ${K.process} nor ${K.heap} is known; set ${K.process} (e.g. 1g)`, [K.process, K.heap]);
    }
    // Only P known: the heap takes the remainder, so the parts always sum to P.
    processBytes = inputs.processBytes;
    ({ overhead: overheadBytes, offHeap: offHeapBytes, heap: heapBytes } = heapOfProcess(inputs, processBytes));
    if (heapBytes < MIN_HEAP_BYTES) {
      const least = smallestProcessForHeap(inputs, MIN_HEAP_BYTES);
      throw new ConfigError(
        `${K.process} (${bytesAndHuman(processBytes)}${inputs.processOrigin ? `; from the ${inputs.processOrigin}` : ''}) ` +
          `is less than the sum of ${part('runtime overhead', overheadBytes)}, ` +
          `${part('off-heap', offHeapBytes)} and the ${part('minimum heap', MIN_HEAP_BYTES)}; ` +
          `raise ${inputs.processOrigin ? "the container's memory limit or " : ''}${K.process} to at least ${bytesAndHuman(least)}, ` +
          `or lower ${named(K.overheadMin, oMin)}` +
          (inputs.offHeapBytes === undefined ? '' : ` or ${K.offHeap}`),
        [
          K.process,
          K.overheadMin,
          ...(inputs.offHeapBytes === undefined ? [] : [K.offHeap]),
          ...(inputs.processOrigin?.includes(CONTAINER_LIMIT_KEY) ? [CONTAINER_LIMIT_KEY] : []),
        ],
      );
    }
  } else {
    heapBytes = inputs.heapBytes;
    checkMinimumHeap(heapBytes);
    offHeapBytes = inputs.offHeapBytes ?? defaultOffHeapOfHeap(heapBytes);
    const jobManagerBytes = heapBytes + offHeapBytes;
    if (inputs.processBytes === undefined) {
      // H configured, P not: overhead is the fraction f of P = T / (1 - f).
      overheadBytes = clamp(mib((jobManagerBytes * f) / (1 - f)), oMin, oMax);
      processBytes = jobManagerBytes + overheadBytes;
    } else {
      processBytes = inputs.processBytes;
      if (jobManagerBytes > processBytes) {
        throw new ConfigError(
          `${named(K.heap, heapBytes)} plus ${inputs.offHeapBytes === undefined ? 'the default ' : ''}${named(K.offHeap, offHeapBytes)} ` +
            `exceed ${named(K.process, processBytes)}; raise ${K.process} or lower ${K.heap}` +
            (inputs.offHeapBytes === undefined ? '' : ` or ${K.offHeap}`) +
            `, or set only one of ${K.process} and ${K.heap}`,
          [K.heap, K.offHeap, K.process],
        );
      }
      overheadBytes = processBytes - jobManagerBytes;
      if (overheadBytes < oMin || overheadBytes > oMax) {
        const tooSmall = overheadBytes < oMin;
        const bound = tooSmall ? named(K.overheadMin, oMin) : named(K.overheadMax, oMax);
        const fix = tooSmall
          ? `raise ${K.process} to at least ${bytesAndHuman(jobManagerBytes + oMin)}, lower ${K.heap}, or lower ${K.overheadMin}`
          : `lower ${K.process} to at most ${bytesAndHuman(jobManagerBytes + oMax)}, raise ${K.heap}, or raise ${K.overheadMax}`;
        throw new ConfigError(
          `the runtime overhead left by ${named(K.process, processBytes)} minus ${named(K.heap, heapBytes)} and ` +
            `${named(K.offHeap, offHeapBytes)} is ${bytesAndHuman(overheadBytes)}, ${tooSmall ? 'below' : 'above'} ${bound}; ${fix}`,
          [K.process, K.heap, K.offHeap, tooSmall ? K.overheadMin : K.overheadMax],
        );
      }
    }
  }

  if (containerLimitBytes !== undefined && processBytes > containerLimitBytes) {
    const derived = inputs.processBytes === undefined;
    throw new ConfigError(
      `${derived ? `the process size derived from ${named(K.heap, heapBytes)} is ${bytesAndHuman(processBytes)}, which` : named(K.process, processBytes)} ` +
        `exceeds the ${part(containerLimitOrigin, containerLimitBytes)}; ` +
        (derived
          ? `lower ${K.heap} or raise the container's memory limit`
          : `lower ${K.process} to at most ${containerLimitBytes} bytes or raise the container's memory limit`),
      derived ? [K.heap, K.process, CONTAINER_LIMIT_KEY] : [K.process, CONTAINER_LIMIT_KEY],
    );
  }

  const networkBytes = inputs.networkBytes ?? mib(offHeapBytes / 2);
  if (networkBytes > offHeapBytes) {
    throw new ConfigError(
      `${named(K.network, networkBytes)} is larger than ${named(K.offHeap, offHeapBytes)}; lower ${K.network} or raise ${K.offHeap}`,
      [K.network, K.offHeap],
    );
  }
  const segmentBytes = inputs.networkSegmentBytes;
  if (segmentBytes > networkBytes) {
    throw new ConfigError(
      `${named(K.networkSegmentSize, segmentBytes)} is larger than ${named(K.network, networkBytes)}; lower ${K.networkSegmentSize} or raise ${K.network}`,
      [K.networkSegmentSize, K.network],
    );
  }

  const semiSpaceBytes = inputs.semiSpaceBytes ?? defaultSemiSpaceBytes(heapBytes);
  const youngGenerationBytes = 3 * semiSpaceBytes;
  const oldGenerationBytes = heapBytes - youngGenerationBytes;
  if (oldGenerationBytes < MIN_OLD_GENERATION_BYTES) {
    throw new ConfigError(
      `the old generation, ${named(K.heap, heapBytes)} minus 3 x ${named(K.semiSpace, semiSpaceBytes)}, is ` +
        `${bytesAndHuman(oldGenerationBytes)}, below the minimum ${formatBytes(MIN_OLD_GENERATION_BYTES)}; ` +
        `lower ${K.semiSpace} or raise ${K.heap} (or ${K.process})`,
      [K.semiSpace, K.heap],
    );
  }

  const warnings: string[] = [];
  if (heapBytes < RECOMMENDED_HEAP_BYTES) {
    const least = smallestProcessForHeap(inputs, RECOMMENDED_HEAP_BYTES);
    warnings.push(
      `the heap (${bytesAndHuman(heapBytes)}) is below the recommended ${formatBytes(RECOMMENDED_HEAP_BYTES)}; ` +
        `a ${K.process} of at least ${bytesAndHuman(least)} (with ${K.heap} derived) avoids this`,
    );
  }

  return {
    processBytes,
    overheadBytes,
    offHeapBytes,
    networkBytes,
    networkSegmentBytes: segmentBytes,
    networkSegments: Math.floor(networkBytes / segmentBytes),
    heapBytes,
    semiSpaceBytes,
    youngGenerationBytes,
    oldGenerationBytes,
    cacheBytes: mib(inputs.cacheFraction * oldGenerationBytes),
    nodeFlags: [
      `--max-old-space-size=${Math.floor(oldGenerationBytes / MiB)}`,
      `--max-semi-space-size=${semiSpaceBytes / MiB}`,
    ],
    warnings,
  };
}

/** The container limit the plan must respect, and where it came from. */
export interface ContainerLimit {
  readonly bytes: number | undefined;
  /**
   * e.g. "cgroup memory limit" or "jobmanager.container.memory.limit set by env JOBMANAGER_CONTAINER_MEMORY_LIMIT";
   * no brackets, as messages follow it with "(<bytes>, <human>)".
   */
  readonly origin: string | undefined;
}

/**
 * Combines the cgroup's limit with `jobmanager.container.memory.limit` (the
 * chart's Downward API value): the tighter one wins, so a configured limit
 * also works where the cgroup shows none (and tests do not depend on the host).
 */
export function resolveContainerLimit(config: Configuration, cgroupLimitBytes: number | undefined): ContainerLimit {
  const configured = config.optionalSizeBytes(CONTAINER_LIMIT_KEY);
  const setBy = config.entry(CONTAINER_LIMIT_KEY)?.origin;
  const configuredOrigin = setBy === undefined ? CONTAINER_LIMIT_KEY : `${CONTAINER_LIMIT_KEY} set by ${setBy}`;
  if (configured !== undefined && (cgroupLimitBytes === undefined || configured <= cgroupLimitBytes)) {
    return { bytes: configured, origin: configuredOrigin };
  }
  if (cgroupLimitBytes !== undefined) return { bytes: cgroupLimitBytes, origin: 'cgroup memory limit' };
  return { bytes: undefined, origin: undefined };
}

/**
 * Plan inputs from the configuration. The process size defaults to the
 * container limit when neither it nor the heap is configured (else 1g); with
 * only the heap configured, the process size is derived.
 */
export function memoryInputsFrom(
  config: Configuration,
  containerLimitBytes: number | undefined,
  containerLimitOrigin?: string,
): MemoryInputs {
  let processBytes = config.optionalSizeBytes(K.process);
  const heapBytes = config.optionalSizeBytes(K.heap);
  let processOrigin: string | undefined;
  if (processBytes === undefined && heapBytes === undefined) {
    processBytes = containerLimitBytes ?? DEFAULT_PROCESS_BYTES;
    processOrigin = containerLimitBytes === undefined ? 'default (1g)' : (containerLimitOrigin ?? 'container memory limit');
  }
  return {
    processBytes,
    processOrigin,
    heapBytes,
    offHeapBytes: config.optionalSizeBytes(K.offHeap),
    networkBytes: config.optionalSizeBytes(K.network),
    networkSegmentBytes: config.sizeBytes(K.networkSegmentSize),
    overheadFraction: config.fraction(K.overheadFraction),
    overheadMinBytes: config.sizeBytes(K.overheadMin),
    overheadMaxBytes: config.sizeBytes(K.overheadMax),
    semiSpaceBytes: config.optionalSizeBytes(K.semiSpace),
    cacheFraction: config.fraction(K.cacheFraction),
  };
}

export interface PlannedMemory {
  readonly inputs: MemoryInputs;
  readonly plan: MemoryPlan;
  readonly containerLimit: ContainerLimit;
}

/** Configuration + cgroup limit -> plan: the one path shared by the CLI, the launcher and boot. */
export function planMemory(config: Configuration, cgroupLimitBytes: number | undefined): PlannedMemory {
  const containerLimit = resolveContainerLimit(config, cgroupLimitBytes);
  const inputs = memoryInputsFrom(config, containerLimit.bytes, containerLimit.origin);
  const plan = deriveMemoryPlan(inputs, containerLimit.bytes, containerLimit.origin);
  return { inputs, plan, containerLimit };
}

/** The inputs that pin a plan exactly (what the chart injects): re-deriving them yields the same plan. */
export function pinnedInputs(plan: MemoryPlan, settings: MemoryInputs): MemoryInputs {
  return {
    ...settings,
    processBytes: plan.processBytes,
    processOrigin: undefined,
    heapBytes: plan.heapBytes,
    offHeapBytes: plan.offHeapBytes,
    networkBytes: plan.networkBytes,
    semiSpaceBytes: plan.semiSpaceBytes,
  };
}

export interface MemoryPlanJson {
  process: number;
  overhead: number;
  offHeap: number;
  network: number;
  networkSegmentSize: number;
  networkSegments: number;
  heap: number;
  semiSpace: number;
  youngGeneration: number;
  oldGeneration: number;
  cache: number;
  containerLimit: number | null;
  flags: string[];
  warnings: string[];
  /** canonical key -> where its value came from ("default", "derived", "--key", "env X", "file f", ...). */
  sources: Record<string, string>;
}

/** The CLI's / REST's JSON shape, sizes in bytes; warnings include the configuration's. */
export function planToJson(plan: MemoryPlan, config: Configuration, containerLimit?: ContainerLimit): MemoryPlanJson {
  const sources: Record<string, string> = {};
  for (const key of Object.values(K)) {
    const entry = config.entry(key);
    sources[key] = entry === undefined ? 'derived' : entry.origin;
  }
  if (!config.isSet(K.process) && !config.isSet(K.heap)) {
    sources[K.process] = containerLimit?.bytes !== undefined ? (containerLimit.origin ?? 'container memory limit') : 'default (1g, no container limit)';
  }
  if (containerLimit?.bytes !== undefined) {
    // The key's own row says only where it was set: the row is named by the key already.
    const setBy = containerLimit.origin?.startsWith(CONTAINER_LIMIT_KEY) ? config.entry(CONTAINER_LIMIT_KEY)?.origin : undefined;
    sources[CONTAINER_LIMIT_KEY] = setBy ?? containerLimit.origin ?? 'container memory limit';
  }
  return {
    process: plan.processBytes,
    overhead: plan.overheadBytes,
    offHeap: plan.offHeapBytes,
    network: plan.networkBytes,
    networkSegmentSize: plan.networkSegmentBytes,
    networkSegments: plan.networkSegments,
    heap: plan.heapBytes,
    semiSpace: plan.semiSpaceBytes,
    youngGeneration: plan.youngGenerationBytes,
    oldGeneration: plan.oldGenerationBytes,
    cache: plan.cacheBytes,
    containerLimit: containerLimit?.bytes ?? null,
    flags: [...plan.nodeFlags],
    warnings: [...config.warnings, ...plan.warnings],
    sources,
  };
}

/** A readable table like Flink's "Final Master Memory configuration", for the boot log and the CLI. */
export function formatPlanTable(plan: MemoryPlan): string {
  const rows: [string, number, string?][] = [
    ['Total process memory', plan.processBytes],
    ['  Runtime overhead', plan.overheadBytes],
    ['  JobManager memory', plan.processBytes - plan.overheadBytes],
    ['    Off-heap', plan.offHeapBytes],
    ['      Network buffers', plan.networkBytes, `${plan.networkSegments} x ${formatBytes(plan.networkSegmentBytes)} segments`],
    ['    V8 heap', plan.heapBytes],
    ['      Young generation', plan.youngGenerationBytes, `3 x semi-space ${formatBytes(plan.semiSpaceBytes)}`],
    ['      Old generation', plan.oldGenerationBytes],
    ['        Cache budget', plan.cacheBytes],
  ];
  const labelWidth = Math.max(...rows.map(([label]) => label.length)) + 2;
  const human = rows.map(([, bytes]) => formatBytes(bytes));
  const humanWidth = Math.max(...human.map((h) => h.length));
  const bytesWidth = Math.max(...rows.map(([, bytes]) => String(bytes).length));
  const lines = rows.map(([label, bytes, note], i) =>
    `  ${label.padEnd(labelWidth)}${(human[i] as string).padStart(humanWidth)}  ${String(bytes).padStart(bytesWidth)} bytes${note ? `  (${note})` : ''}`,
  );
  return ['Final JobManager memory configuration:', ...lines, `  Node flags: ${plan.nodeFlags.join(' ')}`].join('\n');
}
