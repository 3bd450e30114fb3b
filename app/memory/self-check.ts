// The boot-time self-check of memory-model.md "From plan to process": the
// process re-derives its plan and refuses to start (ConfigError, exit 78)
// when what it was started with disagrees with it. Pure: every input
// (environment, V8's heap limit, container limits) is passed in.
//
// Checks, in order:
//   a. injected JOBMANAGER_*_MEMORY_SIZE values (the chart renders them in
//      bytes) equal the plan's values;
//   b. V8 flags in NODE_OPTIONS, if any, equal the plan's flags (node gives
//      command-line flags precedence over NODE_OPTIONS, so without this check
//      a stale NODE_OPTIONS would go unnoticed behind bin/jobmanager's flags);
//   c. v8.getHeapStatistics().heap_size_limit equals what V8 makes of the
//      plan's flags (catches node started without bin/jobmanager);
//   d. the process size fits the container's memory limit.
import { ConfigError } from '../config/errors.js';
import { envVarName, keySpec, MEMORY_KEYS } from '../config/keys.js';
import { WHOLE_MIB_FIELDS, type MemoryPlan } from './plan.js';
import { bytesAndHuman, mib, MiB, parseSize } from './units.js';

export interface SelfCheckInputs {
  readonly plan: MemoryPlan;
  /** The process environment (injected values and NODE_OPTIONS). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** v8.getHeapStatistics().heap_size_limit of this process. */
  readonly heapSizeLimitBytes: number;
  /** Limit read from cgroup files, and the file it came from. */
  readonly cgroupLimitBytes: number | undefined;
  readonly cgroupLimitFile?: string | undefined;
  /** jobmanager.container.memory.limit (the chart's Downward API value). */
  readonly injectedContainerLimitBytes: number | undefined;
  /** Where a key's effective value came from, e.g. "env JOBMANAGER_PROCESS_MEMORY_SIZE". */
  readonly originOf?: (key: string) => string | undefined;
}

export interface SelfCheckResult {
  /** Effective container limit: the tighter of cgroup and injected. */
  readonly containerLimitBytes: number | undefined;
  /** V8's heap_size_limit the plan's flags produce (measured rounding applied). */
  readonly expectedHeapSizeLimitBytes: number;
  readonly warnings: readonly string[];
}

type PlanField = 'processBytes' | 'heapBytes' | 'offHeapBytes' | 'networkBytes' | 'networkSegmentBytes' | 'semiSpaceBytes';

/** Memory keys whose value the chart may inject, and the plan field each must equal. */
const INJECTABLE: readonly (readonly [string, PlanField])[] = [
  [MEMORY_KEYS.process, 'processBytes'],
  [MEMORY_KEYS.heap, 'heapBytes'],
  [MEMORY_KEYS.offHeap, 'offHeapBytes'],
  [MEMORY_KEYS.network, 'networkBytes'],
  [MEMORY_KEYS.networkSegmentSize, 'networkSegmentBytes'],
  [MEMORY_KEYS.semiSpace, 'semiSpaceBytes'],
];

const OLD_FLAG = /^--max[-_]old[-_]space[-_]size(?:=(.*))?$/;
const SEMI_FLAG = /^--max[-_]semi[-_]space[-_]size(?:=(.*))?$/;

/** Flag values in MiB from a list of node arguments; the last occurrence wins, as in V8. */
export function heapFlagsOf(args: readonly string[]): { oldMiB: number | undefined; semiMiB: number | undefined } {
  let oldMiB: number | undefined;
  let semiMiB: number | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    for (const [re, set] of [
      [OLD_FLAG, (v: number) => (oldMiB = v)],
      [SEMI_FLAG, (v: number) => (semiMiB = v)],
    ] as const) {
      const m = re.exec(arg);
      if (m === null) continue;
      const text = m[1] ?? args[++i] ?? '';
      set(Number(text));
    }
  }
  return { oldMiB, semiMiB };
}

/**
 * NODE_OPTIONS split as node splits it: on spaces, with double quotes
 * grouping and backslash escaping inside them (tools such as tap write
 * `"--max-old-space-size=100" "--import=..."`).
 */
export function splitNodeOptions(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let inToken = false;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '\\' && i + 1 < text.length) current += text[++i];
      else if (c === '"') quoted = false;
      else current += c;
    } else if (c === '"') {
      quoted = true;
      inToken = true;
    } else if (c === ' ' || c === '\t' || c === '\n') {
      if (inToken) out.push(current);
      current = '';
      inToken = false;
    } else {
      current += c;
      inToken = true;
    }
  }
  if (inToken) out.push(current);
  return out;
}

/** Smallest power of two >= n (n >= 1). */
function ceilPowerOfTwo(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/**
 * The heap_size_limit V8 reports for `--max-old-space-size=oldMiB
 * --max-semi-space-size=semiMiB`. Measured on Node 20.20 (V8 11.3) and Node
 * 24.22 (V8 13.6), see docs/memory.md: old + 3 x semi, exactly, after V8
 * rounds the semi-space up to a power of two (3 -> 4, 48 -> 64 MiB).
 */
export function expectedHeapSizeLimitBytes(oldMiB: number, semiMiB: number): number {
  return (oldMiB + 3 * ceilPowerOfTwo(Math.max(1, semiMiB))) * MiB;
}

export function checkMemoryPlan(inputs: SelfCheckInputs): SelfCheckResult {
  const { plan, env } = inputs;
  const origin = (key: string): string => {
    const o = inputs.originOf?.(key);
    return o === undefined ? '' : `, from ${o}`;
  };
  const warnings: string[] = [];

  // a. injected derived values
  for (const [key, field] of INJECTABLE) {
    const names = [key, ...(keySpec(key)?.aliases ?? [])];
    for (const name of names) {
      const variable = envVarName(name);
      const text = env[variable];
      if (text === undefined || text.trim() === '') continue;
      const injected = parseSize(text, key, `env ${variable}`);
      const planned = plan[field];
      // Compared as the plan takes it: a 1G process size is planned as 953 MiB.
      if ((WHOLE_MIB_FIELDS.has(field) ? mib(injected) : injected) !== planned) {
        throw new ConfigError(
          `${variable}=${text} (${bytesAndHuman(injected)}) disagrees with this process's memory plan: ` +
            `${key} is ${bytesAndHuman(planned)}${origin(key)}; ` +
            `the injected values and the process's own configuration must come from the same inputs ` +
            `(re-render the Helm chart, or remove the conflicting ${key} setting)`,
          [key],
        );
      }
    }
  }

  // b. NODE_OPTIONS vs the plan's flags
  const planFlags = heapFlagsOf(plan.nodeFlags);
  if (planFlags.oldMiB === undefined || planFlags.semiMiB === undefined) {
    throw new ConfigError(
      `the memory plan has no V8 heap flags (${plan.nodeFlags.join(' ')}); this is a bug in the plan derivation`,
      [MEMORY_KEYS.heap],
    );
  }
  const nodeOptions = env['NODE_OPTIONS'] ?? '';
  const optionFlags = heapFlagsOf(splitNodeOptions(nodeOptions));
  for (const [name, given, planned] of [
    ['--max-old-space-size', optionFlags.oldMiB, planFlags.oldMiB],
    ['--max-semi-space-size', optionFlags.semiMiB, planFlags.semiMiB],
  ] as const) {
    if (given !== undefined && given !== planned) {
      throw new ConfigError(
        `NODE_OPTIONS sets ${name}=${given} but the memory plan needs ${name}=${planned} ` +
          `(${MEMORY_KEYS.heap} is ${bytesAndHuman(plan.heapBytes)}${origin(MEMORY_KEYS.heap)}, ` +
          `semi-space ${bytesAndHuman(plan.semiSpaceBytes)}); ` +
          `set NODE_OPTIONS to "${plan.nodeFlags.join(' ')}" or remove the heap flags from it, ` +
          `or change ${MEMORY_KEYS.heap} (env ${envVarName(MEMORY_KEYS.heap)}) to match`,
        [MEMORY_KEYS.heap],
      );
    }
  }

  // c. what V8 actually reserved
  const expected = expectedHeapSizeLimitBytes(planFlags.oldMiB, planFlags.semiMiB);
  if (inputs.heapSizeLimitBytes !== expected) {
    throw new ConfigError(
      `V8 heap_size_limit is ${bytesAndHuman(inputs.heapSizeLimitBytes)} but the memory plan's heap ` +
        `(${MEMORY_KEYS.heap} = ${bytesAndHuman(plan.heapBytes)}${origin(MEMORY_KEYS.heap)}) needs ${bytesAndHuman(expected)} ` +
        `from ${plan.nodeFlags.join(' ')}; node was started without these flags or with different ones: ` +
        `start the JobManager through bin/jobmanager, or pass exactly "${plan.nodeFlags.join(' ')}" to node`,
      [MEMORY_KEYS.heap],
    );
  }
  if (planFlags.semiMiB !== ceilPowerOfTwo(planFlags.semiMiB)) {
    warnings.push(
      `${MEMORY_KEYS.semiSpace} ${planFlags.semiMiB} MiB is not a power of two: V8 rounds it up to ` +
        `${ceilPowerOfTwo(planFlags.semiMiB)} MiB, so the young generation is ${3 * ceilPowerOfTwo(planFlags.semiMiB)} MiB, ` +
        `not ${3 * planFlags.semiMiB} MiB; use a power of two`,
    );
  }

  // d. process size vs container limit
  const { cgroupLimitBytes: cgroup, injectedContainerLimitBytes: injected } = inputs;
  let containerLimitBytes: number | undefined;
  let limitSource = '';
  if (cgroup !== undefined && (injected === undefined || cgroup <= injected)) {
    containerLimitBytes = cgroup;
    limitSource = `cgroup ${inputs.cgroupLimitFile ?? 'memory limit'}`;
  } else if (injected !== undefined) {
    containerLimitBytes = injected;
    limitSource = `jobmanager.container.memory.limit${origin('jobmanager.container.memory.limit')}`;
  }
  if (cgroup !== undefined && injected !== undefined && cgroup !== injected) {
    warnings.push(
      `jobmanager.container.memory.limit (${bytesAndHuman(injected)}) differs from the cgroup limit ` +
        `(${bytesAndHuman(cgroup)}); the smaller one is used`,
    );
  }
  if (containerLimitBytes !== undefined && plan.processBytes > containerLimitBytes) {
    throw new ConfigError(
      `${MEMORY_KEYS.process} (${bytesAndHuman(plan.processBytes)}${origin(MEMORY_KEYS.process)}) exceeds the container's ` +
        `memory limit (${bytesAndHuman(containerLimitBytes)}, ${limitSource}); lower ${MEMORY_KEYS.process} ` +
        `(or leave it unset to use the limit) or raise the container's memory limit`,
      [MEMORY_KEYS.process],
    );
  }

  return { containerLimitBytes, expectedHeapSizeLimitBytes: expected, warnings };
}
