// The memory plan of memory-model.md "Derivation": worked examples, the three
// cases, every error (one line, keys named with bytes and human units), the
// container limit, the same plan from every source, and re-derivation.
import t, { type Test } from 'tap';
import { loadConfiguration, type LoadOptions } from '../../app/config/configuration.js';
import { ConfigError } from '../../app/config/errors.js';
import {
  deriveMemoryPlan,
  formatPlanTable,
  memoryInputsFrom,
  pinnedInputs,
  planMemory,
  planToJson,
  resolveContainerLimit,
  type MemoryInputs,
  type MemoryPlan,
} from '../../app/memory/plan.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const DEFAULTS: MemoryInputs = {
  processBytes: undefined,
  heapBytes: undefined,
  offHeapBytes: undefined,
  networkBytes: undefined,
  networkSegmentBytes: 32 * KiB,
  overheadFraction: 0.1,
  overheadMinBytes: 80 * MiB,
  overheadMaxBytes: 1 * GiB,
  semiSpaceBytes: undefined,
  cacheFraction: 0.2,
};
const inputs = (over: Partial<MemoryInputs>): MemoryInputs => ({ ...DEFAULTS, ...over });

const checkInvariants = (t: Test, plan: MemoryPlan, label: string): void => {
  t.equal(plan.overheadBytes + plan.offHeapBytes + plan.heapBytes, plan.processBytes, `${label}: overhead + off-heap + heap == process`);
  t.equal(plan.youngGenerationBytes + plan.oldGenerationBytes, plan.heapBytes, `${label}: young + old == heap`);
  t.ok(plan.networkBytes <= plan.offHeapBytes, `${label}: network <= off-heap`);
  t.same(
    plan.nodeFlags,
    [`--max-old-space-size=${Math.floor(plan.oldGenerationBytes / MiB)}`, `--max-semi-space-size=${plan.semiSpaceBytes / MiB}`],
    `${label}: flags match old generation and semi-space in MiB`,
  );
};

t.test('worked examples for the container sizes of docs/memory.md', async (t) => {
  // P MiB -> overhead, off-heap, network, heap, semi-space, old generation, cache (MiB)
  const table: [number, number[]][] = [
    [192, [80, 32, 16, 80, 1, 77, 15]],
    [256, [80, 32, 16, 144, 2, 138, 27]],
    [512, [80, 43, 21, 389, 4, 377, 75]],
    [1024, [102, 92, 46, 830, 8, 806, 161]],
    [2048, [204, 184, 92, 1660, 16, 1612, 322]],
    [4096, [409, 368, 184, 3319, 32, 3223, 644]],
    [16384, [1024, 512, 256, 14848, 64, 14656, 2931]],
  ];
  for (const [p, expected] of table) {
    const plan = deriveMemoryPlan(inputs({ processBytes: p * MiB }));
    t.same(
      [plan.overheadBytes, plan.offHeapBytes, plan.networkBytes, plan.heapBytes, plan.semiSpaceBytes, plan.oldGenerationBytes, plan.cacheBytes].map(
        (b) => b / MiB,
      ),
      expected,
      `${p}m`,
    );
    t.equal(plan.youngGenerationBytes, 3 * plan.semiSpaceBytes);
    t.equal(plan.networkSegments, plan.networkBytes / (32 * KiB));
    checkInvariants(t, plan, `${p}m`);
  }
});

t.test('1g: the plan of the issue', async (t) => {
  const plan = deriveMemoryPlan(inputs({ processBytes: GiB }));
  t.same(plan.nodeFlags, ['--max-old-space-size=806', '--max-semi-space-size=8']);
  t.same(plan.warnings, []);
  checkInvariants(t, plan, '1g');
});

t.test('a heap below 128 MiB is warned about, naming the smallest process size that avoids it', async (t) => {
  const plan = deriveMemoryPlan(inputs({ processBytes: 192 * MiB }));
  t.equal(plan.warnings.length, 1);
  t.match(plan.warnings[0], /heap \(83886080 bytes, 80\.000mb\) is below the recommended 128\.000mb/);
  t.match(plan.warnings[0], /jobmanager\.process\.memory\.size of at least 251658240 bytes, 240\.000mb/);
  t.same(deriveMemoryPlan(inputs({ processBytes: 240 * MiB })).warnings, [], '240m: heap 128m, no warning');
  t.equal(deriveMemoryPlan(inputs({ processBytes: 239 * MiB })).warnings.length, 1, '239m still warns');
  // The smallest process size with the minimum heap (48m) is 160m.
  t.equal(deriveMemoryPlan(inputs({ processBytes: 160 * MiB })).heapBytes, 48 * MiB);
});

t.test('heap configured, process not: P is derived', async (t) => {
  const plan = deriveMemoryPlan(inputs({ heapBytes: GiB }));
  // OH = mib(1024m / 9) = 113m; T = 1137m; O = mib(1137m x 0.1 / 0.9) = 126m.
  t.equal(plan.offHeapBytes, 113 * MiB);
  t.equal(plan.overheadBytes, 126 * MiB);
  t.equal(plan.processBytes, 1263 * MiB);
  t.equal(plan.heapBytes, GiB);
  checkInvariants(t, plan, 'H=1g');
  const small = deriveMemoryPlan(inputs({ heapBytes: 64 * MiB }));
  t.equal(small.offHeapBytes, 32 * MiB, 'off-heap default clamps to 32m');
  t.equal(small.overheadBytes, 80 * MiB, 'overhead clamps to its minimum');
  t.equal(small.processBytes, 176 * MiB);
});

t.test('heap and process configured: overhead is the rest and must lie in [min, max]', async (t) => {
  const plan = deriveMemoryPlan(inputs({ processBytes: 2 * GiB, heapBytes: GiB, offHeapBytes: 256 * MiB }));
  t.equal(plan.overheadBytes, 768 * MiB);
  checkInvariants(t, plan, 'P=2g H=1g OH=256m');
});

t.test('overrides are used as given', async (t) => {
  const plan = deriveMemoryPlan(
    inputs({
      processBytes: GiB,
      offHeapBytes: 200 * MiB,
      networkBytes: 64 * MiB,
      networkSegmentBytes: 64 * KiB,
      semiSpaceBytes: 16 * MiB,
      cacheFraction: 0.5,
      overheadFraction: 0.2,
      overheadMinBytes: 100 * MiB,
      overheadMaxBytes: 150 * MiB,
    }),
  );
  t.equal(plan.overheadBytes, 150 * MiB, 'mib(0.2 x 1g) = 204m clamps to max 150m');
  t.equal(plan.offHeapBytes, 200 * MiB);
  t.equal(plan.heapBytes, (1024 - 150 - 200) * MiB);
  t.equal(plan.networkBytes, 64 * MiB);
  t.equal(plan.networkSegments, 1024);
  t.equal(plan.semiSpaceBytes, 16 * MiB);
  t.equal(plan.youngGenerationBytes, 48 * MiB);
  t.equal(plan.cacheBytes, Math.floor((0.5 * plan.oldGenerationBytes) / MiB) * MiB);
  checkInvariants(t, plan, 'overrides');
});

t.test('re-deriving with P, H, OH, N and S pinned gives the identical plan', async (t) => {
  for (const p of [160, 192, 239, 240, 256, 300, 512, 1000, 1024, 1500, 2048, 4096, 10_000, 16384, 65536]) {
    const plan = deriveMemoryPlan(inputs({ processBytes: p * MiB }));
    t.same(deriveMemoryPlan(pinnedInputs(plan, DEFAULTS)), plan, `${p}m`);
  }
  for (const bytes of [1e9, 5e8, 1.5 * GiB + 12345]) {
    const plan = deriveMemoryPlan(inputs({ processBytes: bytes }));
    t.same(deriveMemoryPlan(pinnedInputs(plan, DEFAULTS)), plan, `${bytes} bytes`);
  }
  const fromHeap = deriveMemoryPlan(inputs({ heapBytes: 100 * MiB }));
  t.same(deriveMemoryPlan(pinnedInputs(fromHeap, DEFAULTS)), fromHeap, 'from a configured heap');
});

// Every error: ConfigError, one line, each named key present, sizes in bytes and human units.
const ERRORS: [string, Partial<MemoryInputs>, string[], RegExp?][] = [
  ['overhead fraction 1', { processBytes: GiB, overheadFraction: 1 }, ['jobmanager.overhead.memory.fraction'], /outside \[0, 1\)/],
  ['overhead fraction < 0', { processBytes: GiB, overheadFraction: -0.1 }, ['jobmanager.overhead.memory.fraction']],
  ['overhead fraction NaN', { processBytes: GiB, overheadFraction: Number.NaN }, ['jobmanager.overhead.memory.fraction']],
  ['cache fraction 1', { processBytes: GiB, cacheFraction: 1 }, ['jobmanager.cache.memory.fraction']],
  ['min > max', { processBytes: GiB, overheadMinBytes: 200 * MiB, overheadMaxBytes: 100 * MiB }, ['jobmanager.overhead.memory.min', 'jobmanager.overhead.memory.max'], /209715200 bytes, 200\.000mb.*104857600 bytes, 100\.000mb/],
  ['P too small', { processBytes: 128 * MiB }, ['jobmanager.process.memory.size', 'jobmanager.overhead.memory.min'], /jobmanager\.process\.memory\.size \(134217728 bytes, 128\.000mb\) is less than the sum of runtime overhead \(83886080 bytes, 80\.000mb\), off-heap \(33554432 bytes, 32\.000mb\) and the minimum heap \(50331648 bytes, 48\.000mb\); raise jobmanager\.process\.memory\.size to at least 167772160 bytes, 160\.000mb/],
  ['P smaller than overhead', { processBytes: 10 * MiB }, ['jobmanager.process.memory.size']],
  ['P too small for configured off-heap', { processBytes: 512 * MiB, offHeapBytes: 400 * MiB }, ['jobmanager.process.memory.size', 'jobmanager.offheap.memory.size']],
  ['heap below minimum', { heapBytes: 40 * MiB }, ['jobmanager.heap.memory.size'], /48\.000mb/],
  ['H + OH > P', { processBytes: GiB, heapBytes: GiB }, ['jobmanager.heap.memory.size', 'jobmanager.offheap.memory.size', 'jobmanager.process.memory.size']],
  ['overhead below min', { processBytes: GiB, heapBytes: 900 * MiB, offHeapBytes: 64 * MiB }, ['jobmanager.process.memory.size', 'jobmanager.heap.memory.size', 'jobmanager.overhead.memory.min'], /below jobmanager\.overhead\.memory\.min/],
  ['overhead above max', { processBytes: 4 * GiB, heapBytes: GiB, overheadMaxBytes: GiB }, ['jobmanager.process.memory.size', 'jobmanager.heap.memory.size', 'jobmanager.overhead.memory.max'], /above jobmanager\.overhead\.memory\.max/],
  ['N > OH', { processBytes: GiB, networkBytes: 200 * MiB }, ['jobmanager.network.memory.size', 'jobmanager.offheap.memory.size']],
  ['segment not a power of two', { processBytes: GiB, networkSegmentBytes: 48 * KiB }, ['jobmanager.network.memory.segment-size']],
  ['segment below 4k', { processBytes: GiB, networkSegmentBytes: 2 * KiB }, ['jobmanager.network.memory.segment-size']],
  ['segment zero', { processBytes: GiB, networkSegmentBytes: 0 }, ['jobmanager.network.memory.segment-size']],
  ['segment > N', { processBytes: GiB, networkBytes: 16 * KiB }, ['jobmanager.network.memory.segment-size', 'jobmanager.network.memory.size']],
  ['semi-space not whole MiB', { processBytes: GiB, semiSpaceBytes: 512 * KiB }, ['jobmanager.heap.semi-space.size']],
  ['semi-space not a power of two', { processBytes: GiB, semiSpaceBytes: 3 * MiB }, ['jobmanager.heap.semi-space.size']],
  ['semi-space above 64m', { processBytes: GiB, semiSpaceBytes: 128 * MiB }, ['jobmanager.heap.semi-space.size']],
  ['old generation below 32m', { processBytes: 256 * MiB, semiSpaceBytes: 64 * MiB }, ['jobmanager.heap.semi-space.size', 'jobmanager.heap.memory.size'], /old generation/],
];

t.test('every inconsistent plan is a one-line ConfigError naming its keys', async (t) => {
  for (const [label, over, keys, message] of ERRORS) {
    try {
      deriveMemoryPlan(inputs(over));
      t.fail(`${label}: accepted`);
    } catch (err) {
      t.ok(err instanceof ConfigError, `${label}: ConfigError`);
      const e = err as ConfigError;
      t.notMatch(e.message, /\n/, `${label}: one line`);
      for (const key of keys) {
        t.match(e.message, key, `${label}: names ${key}`);
        t.ok(e.keys.includes(key), `${label}: keys include ${key}`);
      }
      if (message) t.match(e.message, message, label);
      if (!/fraction/.test(label)) t.match(e.message, /\d+ bytes, \d+(\.\d{3}[kmgt])?b/, `${label}: bytes and human units`);
    }
  }
});

t.test('container limit: default process size, and an error when the process size exceeds it', async (t) => {
  const plan = deriveMemoryPlan(inputs({ processBytes: 256 * MiB }), 256 * MiB);
  t.equal(plan.processBytes, 256 * MiB);
  t.throws(() => deriveMemoryPlan(inputs({ processBytes: 300 * MiB }), 256 * MiB, 'cgroup memory limit'), {
    name: 'ConfigError',
    message:
      /^jobmanager\.process\.memory\.size \(314572800 bytes, 300\.000mb\) exceeds the cgroup memory limit \(268435456 bytes, 256\.000mb\); lower jobmanager\.process\.memory\.size to at most 268435456 bytes/,
  });
  t.throws(() => deriveMemoryPlan(inputs({ heapBytes: GiB }), GiB), {
    message: /process size derived from jobmanager\.heap\.memory\.size .* is 1324351488 bytes, 1\.233gb, which exceeds/,
  });
});

const dirFor = (t: Test, files: Record<string, string> = {}): string => t.testdir(files);
const planFrom = (o: Partial<LoadOptions> & { cwd: string }, cgroupLimit?: number) => {
  const config = loadConfiguration({ argv: o.argv ?? [], env: o.env ?? {}, cwd: o.cwd });
  return { config, ...planMemory(config, cgroupLimit) };
};

t.test('the same 1g plan from every source and spelling', async (t) => {
  const reference = deriveMemoryPlan(inputs({ processBytes: GiB }));
  const dir = dirFor(t, {
    'flat.json': JSON.stringify({ 'jobmanager.process.memory.size': '1g' }),
    'nested.json': JSON.stringify({ jobmanager: { process: { memory: { size: '1g' } } } }),
    'alias.json': JSON.stringify({ jobmanager: { memory: { process: { size: 1073741824 } } } }),
  });
  const variants: [string, Partial<LoadOptions>][] = [
    ['--key=1g', { argv: ['--jobmanager.process.memory.size=1g'] }],
    ['--key 1g', { argv: ['--jobmanager.process.memory.size', '1g'] }],
    ['-D key=1g', { argv: ['-D', 'jobmanager.process.memory.size=1g'] }],
    ['-Dalias=1g', { argv: ['-Djobmanager.memory.process.size=1g'] }],
    ['env', { env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '1g' } }],
    ['alias env', { env: { JOBMANAGER_MEMORY_PROCESS_SIZE: '1g' } }],
    ['flat file', { argv: ['--config', 'flat.json'] }],
    ['nested file', { env: { JOBMANAGER_CONFIG_FILE: 'nested.json' } }],
    ['alias file, number', { argv: ['--config=alias.json'] }],
    ['1Gi', { argv: ['--jobmanager.process.memory.size=1Gi'] }],
    ['1024m', { argv: ['--jobmanager.process.memory.size=1024m'] }],
    ['1073741824', { argv: ['--jobmanager.process.memory.size=1073741824'] }],
    ['container limit', { env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '1073741824' } }],
    ['no configuration, no limit: 1g', {}],
  ];
  for (const [label, opts] of variants) {
    t.same(planFrom({ cwd: dir, ...opts }).plan, reference, label);
  }
  t.same(planFrom({ cwd: dir }, GiB).plan, reference, 'cgroup limit 1g');
});

t.test('container limit resolution: the tighter of cgroup and jobmanager.container.memory.limit', async (t) => {
  const dir = dirFor(t);
  const load = (env: Record<string, string>) => loadConfiguration({ argv: [], env, cwd: dir });
  t.same(resolveContainerLimit(load({}), undefined), { bytes: undefined, origin: undefined });
  t.same(resolveContainerLimit(load({}), GiB), { bytes: GiB, origin: 'cgroup memory limit' });
  const injected = load({ JOBMANAGER_CONTAINER_MEMORY_LIMIT: '512Mi' });
  t.same(resolveContainerLimit(injected, undefined), {
    bytes: 512 * MiB,
    origin: 'jobmanager.container.memory.limit set by env JOBMANAGER_CONTAINER_MEMORY_LIMIT',
  });
  t.equal(resolveContainerLimit(injected, GiB).bytes, 512 * MiB);
  t.equal(resolveContainerLimit(injected, 256 * MiB).bytes, 256 * MiB);
  t.equal(memoryInputsFrom(injected, 512 * MiB).processBytes, 512 * MiB, 'process defaults to the limit');
  t.throws(() => planFrom({ cwd: dir, env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '150Mi' } }), {
    message:
      /^jobmanager\.process\.memory\.size \(157286400 bytes, 150\.000mb; from the jobmanager\.container\.memory\.limit set by env JOBMANAGER_CONTAINER_MEMORY_LIMIT\) is less than .*; raise the container's memory limit or jobmanager\.process\.memory\.size to at least 167772160 bytes/,
    keys: ['jobmanager.process.memory.size', 'jobmanager.overhead.memory.min', 'jobmanager.container.memory.limit'],
  });
  t.throws(() => planFrom({ cwd: dir }, 100 * MiB), { message: /\(104857600 bytes, 100\.000mb; from the cgroup memory limit\)/ });
  const heapOnly = loadConfiguration({ argv: ['--jobmanager.heap.memory.size=200m'], env: {}, cwd: dir });
  t.equal(memoryInputsFrom(heapOnly, 512 * MiB).processBytes, undefined, 'with a heap configured, P is derived');
  t.throws(() => planFrom({ cwd: dir, argv: ['--jobmanager.process.memory.size=2g'] }, GiB), {
    message: /exceeds the cgroup memory limit/,
  });
  t.throws(() => planFrom({ cwd: dir, argv: ['--jobmanager.process.memory.size=2g'], env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '1g' } }), {
    message: /exceeds the jobmanager\.container\.memory\.limit set by env JOBMANAGER_CONTAINER_MEMORY_LIMIT \(1073741824 bytes, 1\.000gb\)/,
  });
});

t.test('planToJson and formatPlanTable', async (t) => {
  const dir = dirFor(t);
  const { config, plan, containerLimit } = planFrom({
    cwd: dir,
    argv: ['--jobmanager.memory.process.size=1g'],
    env: { JOBMANAGER_NETWORK_MEMORY_SIZE: '32m', JOBMANAGER_HEAP_MEMORY_SIZ: 'x' },
  });
  const json = planToJson(plan, config, containerLimit);
  t.same(Object.keys(json), [
    'process', 'overhead', 'offHeap', 'network', 'networkSegmentSize', 'networkSegments', 'heap', 'semiSpace',
    'youngGeneration', 'oldGeneration', 'cache', 'containerLimit', 'flags', 'warnings', 'sources',
  ]);
  t.equal(json.process, GiB);
  t.equal(json.network, 32 * MiB);
  t.equal(json.networkSegments, 1024);
  t.equal(json.overhead + json.offHeap + json.heap, json.process);
  t.equal(json.containerLimit, null);
  t.same(json.flags, plan.nodeFlags);
  t.match(json.warnings[0], /JOBMANAGER_HEAP_MEMORY_SIZ/, 'configuration warnings included');
  t.same(json.sources, {
    'jobmanager.process.memory.size': '--jobmanager.memory.process.size',
    'jobmanager.heap.memory.size': 'derived',
    'jobmanager.offheap.memory.size': 'derived',
    'jobmanager.network.memory.size': 'env JOBMANAGER_NETWORK_MEMORY_SIZE',
    'jobmanager.network.memory.segment-size': 'default',
    'jobmanager.overhead.memory.fraction': 'default',
    'jobmanager.overhead.memory.min': 'default',
    'jobmanager.overhead.memory.max': 'default',
    'jobmanager.heap.semi-space.size': 'derived',
    'jobmanager.cache.memory.fraction': 'default',
  });
  const limited = planFrom({ cwd: dir }, 512 * MiB);
  const limitedJson = planToJson(limited.plan, limited.config, limited.containerLimit);
  t.equal(limitedJson.sources['jobmanager.process.memory.size'], 'cgroup memory limit');
  t.equal(limitedJson.containerLimit, 512 * MiB);

  const table = formatPlanTable(plan);
  t.match(table, /^Final JobManager memory configuration:/);
  t.match(table, /Total process memory\s+1\.000gb\s+1073741824 bytes/);
  t.match(table, /V8 heap\s+830\.000mb\s+870318080 bytes/);
  t.match(table, /Network buffers\s+32\.000mb\s+33554432 bytes\s+\(1024 x 32\.000kb segments\)/);
  t.match(table, /Node flags: --max-old-space-size=806 --max-semi-space-size=8/);
});
