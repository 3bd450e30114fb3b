// The chart's memory plan (templates/_memory.tpl) must equal the app's
// (`node dist/cli.js memory plan --json`) for the same inputs: hundreds of
// generated value combinations, limits from 160Mi to 64Gi written as Mi, Gi,
// M, G and plain bytes, with and without each override. Impossible
// combinations must fail `helm template` naming the same keys as the app.
// A sample also feeds the rendered env back to the CLI, as the pod's boot does.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import {
  CLI,
  cliAvailable,
  containerEnv,
  helmTestOptions,
  IN_CI,
  jobManagerDeployment,
  keysIn,
  type Manifest,
  mapLimit,
  render,
  ROOT,
  run,
  type RunResult,
} from './helm.js';

// Hundreds of helm processes on 2 shared cores: allow more than tap's default.
t.setTimeout(600_000);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Deterministic PRNG (mulberry32) so a failure reproduces; seed overridable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
const SEED = Number(process.env.JM_PARITY_SEED ?? 20261129);
const COUNT = Number(process.env.JM_PARITY_COUNT ?? 300);
const rnd = prng(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(xs: readonly T[]): T => xs[int(0, xs.length - 1)] as T;
const chance = (p: number): boolean => rnd() < p;

interface Combo {
  readonly name: string;
  /** resources.limits.memory (and requests.memory) as written. */
  readonly limit: string;
  readonly memory: Record<string, unknown>;
  /** --key=value arguments for the CLI (the same inputs). */
  readonly cliArgs: string[];
}

/** A memory limit in [160Mi, 64Gi] written as Mi, Gi, M, G or plain bytes. */
function genLimit(): { text: string; bytes: number } {
  switch (pick(['Mi', 'Gi', 'M', 'G', 'bytes'] as const)) {
    case 'Mi': {
      // Bias toward small limits, where the arithmetic is tight.
      const n = chance(0.5) ? int(160, 2048) : int(160, 65536);
      return { text: `${n}Mi`, bytes: n * MiB };
    }
    case 'Gi': {
      const n = int(1, 64);
      return { text: `${n}Gi`, bytes: n * GiB };
    }
    case 'M': {
      const n = chance(0.5) ? int(168, 2000) : int(168, 68719);
      return { text: `${n}M`, bytes: n * 1e6 };
    }
    case 'G': {
      const n = int(1, 68);
      return { text: `${n}G`, bytes: n * 1e9 };
    }
    default: {
      const n = int(160 * MiB, 64 * GiB);
      return { text: String(n), bytes: n };
    }
  }
}

/** A size written in one of the syntaxes both sides accept. */
function writeSize(bytes: number): string {
  const mib = bytes / MiB;
  if (Number.isInteger(mib)) {
    return pick([`${mib}m`, `${mib}Mi`, `${mib} mb`, String(bytes), `${mib}M`.replace(/M$/, 'm')]);
  }
  return String(bytes);
}

function genCombo(i: number): Combo {
  const limit = genLimit();
  const memory: Record<string, unknown> = {};
  const cli = new Map<string, string>();
  let processBytes = limit.bytes;
  if (chance(0.3)) {
    // Mostly below the limit; sometimes above it (the app refuses that).
    processBytes = chance(0.92) ? Math.max(160, Math.floor((limit.bytes / MiB) * (0.5 + rnd() * 0.5))) * MiB : limit.bytes + int(1, 512) * MiB;
    memory.process = writeSize(processBytes);
    cli.set('jobmanager.process.memory.size', String(memory.process));
  } else {
    // The chart's rule: process size = limits.memory floored to whole MiB (the
    // kernel enforces the limit in whole pages; Mi/Gi limits stay as written).
    cli.set('jobmanager.process.memory.size', Number.isInteger(limit.bytes / MiB) ? limit.text : String(Math.floor(limit.bytes / MiB) * MiB));
  }
  let fraction = 0.1;
  let oMin = 80 * MiB;
  let oMax = GiB;
  if (chance(0.3)) {
    fraction = pick([0, 0.05, 0.1, 0.15, 0.2, 0.25]);
    oMin = pick([16, 48, 64, 80, 128, 192]) * MiB;
    oMax = pick([256, 512, 1024, 2048]) * MiB;
    memory.overhead = { fraction, min: writeSize(oMin), max: writeSize(oMax) };
    cli.set('jobmanager.overhead.memory.fraction', String(fraction));
    cli.set('jobmanager.overhead.memory.min', writeSize(oMin));
    cli.set('jobmanager.overhead.memory.max', writeSize(oMax));
    // Same inputs, maybe differently written, on the two sides: both parse them.
    (memory.overhead as Record<string, unknown>).min = cli.get('jobmanager.overhead.memory.min');
    (memory.overhead as Record<string, unknown>).max = cli.get('jobmanager.overhead.memory.max');
  }
  let offHeapBytes: number | undefined;
  if (chance(0.3)) {
    offHeapBytes = pick([32, 48, 64, 100, 256, 512, 1024]) * MiB;
    memory.offHeap = writeSize(offHeapBytes);
    cli.set('jobmanager.offheap.memory.size', String(memory.offHeap));
  }
  if (chance(0.3)) {
    // A heap that leaves an overhead inside [min, max] most of the time.
    const overhead = Math.min(Math.max(Math.floor((processBytes * fraction) / MiB) * MiB, oMin), oMax);
    const oh = offHeapBytes ?? 32 * MiB;
    let heap = processBytes - overhead - oh;
    if (offHeapBytes === undefined) heap -= Math.min(Math.max(Math.floor(heap / 9 / MiB) * MiB, 32 * MiB), 512 * MiB) - oh;
    if (chance(0.2)) heap += int(-64, 64) * MiB;
    heap = Math.max(Math.floor(heap / MiB), 1) * MiB;
    memory.heap = writeSize(heap);
    cli.set('jobmanager.heap.memory.size', String(memory.heap));
  }
  if (chance(0.25)) {
    memory.network = writeSize(pick([1, 8, 16, 32, 64, 128]) * MiB);
    cli.set('jobmanager.network.memory.size', String(memory.network));
  }
  if (chance(0.25)) {
    memory.semiSpace = writeSize(pick([1, 2, 4, 8, 16, 32, 64]) * MiB);
    cli.set('jobmanager.heap.semi-space.size', String(memory.semiSpace));
  }
  if (chance(0.25)) {
    memory.networkSegmentSize = pick(['4k', '16k', '32k', '64kb', '1m', '65536']);
    cli.set('jobmanager.network.memory.segment-size', String(memory.networkSegmentSize));
  }
  if (chance(0.2)) {
    memory.cacheFraction = pick([0, 0.05, 0.2, 0.35, 0.5, 0.9]);
    cli.set('jobmanager.cache.memory.fraction', String(memory.cacheFraction));
  }
  cli.set('jobmanager.container.memory.limit', limit.text);
  const name = `#${i} limit=${limit.text} ${JSON.stringify(memory)}`;
  return { name, limit: limit.text, memory, cliArgs: [...cli].map(([k, v]) => `--${k}=${v}`) };
}

/** Hand-picked impossible plans, one per error of memory-model.md. */
const IMPOSSIBLE: Combo[] = (
  [
    ['process below overhead + off-heap + minimum heap', '159Mi', {}],
    ['tiny explicit process', '1Gi', { process: '128m' }],
    ['heap + off-heap exceed process', '1Gi', { heap: '1000m', offHeap: '64m' }],
    ['overhead below its minimum', '1Gi', { heap: '900m', offHeap: '64m' }],
    ['overhead above its maximum', '4Gi', { heap: '1g', offHeap: '64m' }],
    ['network larger than off-heap', '1Gi', { offHeap: '64m', network: '65m' }],
    ['overhead min above max', '1Gi', { overhead: { fraction: 0.1, min: '512m', max: '256m' } }],
    ['overhead fraction of 1', '1Gi', { overhead: { fraction: 1, min: '80m', max: '1g' } }],
    ['negative overhead fraction', '1Gi', { overhead: { fraction: -0.1, min: '80m', max: '1g' } }],
    ['semi-space leaves too little old generation', '256Mi', { semiSpace: '64m' }],
    ['heap below the hard minimum', '1Gi', { heap: '40m', process: '200m' }],
    ['process above the container limit', '1Gi', { process: '2g' }],
    ['unknown unit', '1Gi', { heap: '512x' }],
    ['segment size not a power of two', '1Gi', { networkSegmentSize: '48k' }],
    ['segment larger than the network pool', '1Gi', { network: '1m', networkSegmentSize: '2m' }],
    ['semi-space not a power of two', '1Gi', { semiSpace: '3m' }],
    ['cache fraction of 1', '1Gi', { cacheFraction: 1 }],
  ] as const
).map(([name, limit, memory]) => {
  const keyOf: Record<string, string> = {
    process: 'jobmanager.process.memory.size',
    heap: 'jobmanager.heap.memory.size',
    offHeap: 'jobmanager.offheap.memory.size',
    network: 'jobmanager.network.memory.size',
    semiSpace: 'jobmanager.heap.semi-space.size',
    networkSegmentSize: 'jobmanager.network.memory.segment-size',
    cacheFraction: 'jobmanager.cache.memory.fraction',
  };
  const cli: string[] = [];
  const m = memory as Record<string, unknown>;
  if (m.process === undefined) cli.push(`--jobmanager.process.memory.size=${limit}`);
  for (const [k, v] of Object.entries(m)) {
    if (k === 'overhead') {
      const o = v as { fraction: number; min: string; max: string };
      cli.push(
        `--jobmanager.overhead.memory.fraction=${o.fraction}`,
        `--jobmanager.overhead.memory.min=${o.min}`,
        `--jobmanager.overhead.memory.max=${o.max}`,
      );
    } else cli.push(`--${keyOf[k]}=${String(v)}`);
  }
  cli.push(`--jobmanager.container.memory.limit=${limit}`);
  return { name, limit, memory: m, cliArgs: cli };
});

// The CLI must see only the inputs: no JOBMANAGER_* from the environment and
// no ./appsettings.json (it runs in an empty directory).
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !/^(JOBMANAGER_|NODE_OPTIONS$|REST_)/.test(k)),
);
const emptyDir = mkdtempSync(join(tmpdir(), 'jm-parity-'));
t.teardown(() => rmSync(emptyDir, { recursive: true, force: true }));

/** `node dist/cli.js memory plan --json ...` as a child process. */
async function spawnCliPlan(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv): Promise<RunResult> {
  return run(process.execPath, [CLI, 'memory', 'plan', '--json', ...args], env, emptyDir);
}

interface MemoryCli {
  run(args: readonly string[], ctx: object): Promise<number>;
}
let memoryCli: MemoryCli | undefined;
let ConfigErrorClass: (new (...a: never[]) => Error) | undefined;

/**
 * The same CLI code path in-process (dist/cli/memory.js `run` with an injected
 * context: no cgroup limit, so the host's limits cannot leak in): hundreds of
 * plans without hundreds of node start-ups. `spawnCliPlan` proves on a sample
 * that it prints exactly what `node dist/cli.js` prints.
 */
async function cliPlan(args: readonly string[], env: NodeJS.ProcessEnv = cleanEnv): Promise<RunResult> {
  memoryCli ??= (await import(pathToFileURL(join(ROOT, 'dist', 'cli', 'memory.js')).href)) as MemoryCli;
  ConfigErrorClass ??= ((await import(pathToFileURL(join(ROOT, 'dist', 'config', 'errors.js')).href)) as {
    ConfigError: new (...a: never[]) => Error;
  }).ConfigError;
  let stdout = '';
  let stderr = '';
  const ctx = {
    env,
    cwd: emptyDir,
    stdout: (text: string) => void (stdout += text),
    stderr: (text: string) => void (stderr += text),
    containerMemory: () => ({ limitBytes: undefined, warnings: [] }),
  };
  try {
    const code = await memoryCli.run(['plan', '--json', ...args], ctx);
    return { code, stdout, stderr };
  } catch (err) {
    if (err instanceof ConfigErrorClass) {
      return { code: 78, stdout, stderr: `${err.message.replace(/\s*[\r\n]+\s*/g, ' ').trim()}\n` };
    }
    throw err;
  }
}

interface Outcome {
  readonly combo: Combo;
  readonly chart: RunResult & { manifests: Manifest[] };
  readonly cli: RunResult;
}

async function evaluate(combo: Combo): Promise<Outcome> {
  const values = { resources: { requests: { memory: combo.limit }, limits: { memory: combo.limit } }, memory: combo.memory };
  const [chart, cli] = await Promise.all([
    render(values, { extraArgs: ['--show-only', 'templates/deployment.yaml', '--show-only', 'templates/tests/test-plan.yaml'] }),
    cliPlan(combo.cliArgs),
  ]);
  return { combo, chart, cli };
}

const cliOptions = (): { skip?: string } => {
  const helm = helmTestOptions();
  if (helm.skip) return helm;
  if (!cliAvailable() && !IN_CI) return { skip: `${CLI} not built (run \`npx tsc -p .\` or \`npm test\`)` };
  return {};
};

function checkParity(t: Test, o: Outcome): void {
  const plan = JSON.parse(o.cli.stdout) as Record<string, unknown>;
  const deployment = jobManagerDeployment(o.chart.manifests);
  const env = containerEnv(deployment);
  const testPod = o.chart.manifests.find((m) => m.kind === 'Pod');
  const expected = JSON.parse(
    testPod?.spec.containers[0].env.find((e: Manifest) => e.name === 'EXPECTED_PLAN').value ?? '{}',
  ) as Record<string, number>;
  const got = {
    process: Number(env.JOBMANAGER_PROCESS_MEMORY_SIZE),
    heap: Number(env.JOBMANAGER_HEAP_MEMORY_SIZE),
    offHeap: Number(env.JOBMANAGER_OFFHEAP_MEMORY_SIZE),
    network: Number(env.JOBMANAGER_NETWORK_MEMORY_SIZE),
    networkSegmentSize: Number(env.JOBMANAGER_NETWORK_MEMORY_SEGMENT_SIZE),
    semiSpace: Number(env.JOBMANAGER_HEAP_SEMI_SPACE_SIZE),
    overhead: expected.overhead,
    youngGeneration: expected.youngGeneration,
    oldGeneration: expected.oldGeneration,
    networkSegments: expected.networkSegments,
    cache: expected.cache,
    flags: env.NODE_OPTIONS,
  };
  const want = {
    process: plan.process,
    heap: plan.heap,
    offHeap: plan.offHeap,
    network: plan.network,
    networkSegmentSize: plan.networkSegmentSize,
    semiSpace: plan.semiSpace,
    overhead: plan.overhead,
    youngGeneration: plan.youngGeneration,
    oldGeneration: plan.oldGeneration,
    networkSegments: plan.networkSegments,
    cache: plan.cache,
    flags: (plan.flags as string[]).join(' '),
  };
  t.same(got, want, `chart plan equals the app's: ${o.combo.name}`);
}

t.test('chart plan equals `memory plan --json` for generated inputs', cliOptions(), async (t) => {
  const combos = Array.from({ length: COUNT }, (_, i) => genCombo(i));
  const outcomes = await mapLimit(combos, 2, evaluate);
  let agreed = 0;
  let refusedByBoth = 0;
  const limitForms = new Set<string>();
  for (const o of outcomes) {
    const chartOk = o.chart.code === 0;
    const cliOk = o.cli.code === 0;
    if (chartOk !== cliOk) {
      t.fail(`chart and app disagree on feasibility: ${o.combo.name}`, {
        chart: chartOk ? 'rendered' : o.chart.stderr.trim(),
        app: cliOk ? 'planned' : o.cli.stderr.trim(),
      });
      continue;
    }
    if (chartOk) {
      checkParity(t, o);
      agreed++;
      limitForms.add(o.combo.limit.replace(/^[0-9]+/, '') || 'bytes');
    } else {
      t.equal(o.cli.code, 78, `app exits 78: ${o.combo.name}`);
      t.same(keysIn(o.chart.stderr), keysIn(o.cli.stderr), `same keys named: ${o.combo.name}`, {
        chart: o.chart.stderr.trim(),
        app: o.cli.stderr.trim(),
      });
      refusedByBoth++;
    }
  }
  t.ok(agreed >= 200, `at least 200 valid combinations compared (${agreed}; ${refusedByBoth} refused by both)`);
  t.same([...limitForms].sort(), ['G', 'Gi', 'M', 'Mi', 'bytes'], 'limits written as Mi, Gi, M, G and plain bytes');
});

t.test('in-process CLI path prints what `node dist/cli.js memory plan --json` prints', cliOptions(), async (t) => {
  const sample = [...Array.from({ length: 16 }, (_, i) => genCombo(20_000 + i)), ...IMPOSSIBLE.slice(0, 6)];
  await mapLimit(sample, 2, async (combo) => {
    const [inProcess, spawned] = await Promise.all([cliPlan(combo.cliArgs), spawnCliPlan(combo.cliArgs)]);
    t.equal(spawned.code, inProcess.code, `exit code: ${combo.name}`, { stderr: spawned.stderr });
    if (spawned.code === 0) {
      t.same(JSON.parse(spawned.stdout), JSON.parse(inProcess.stdout), `same plan: ${combo.name}`);
    } else {
      t.equal(spawned.stderr, inProcess.stderr, `same one-line error: ${combo.name}`);
    }
  });
});

t.test('the app accepts the injected env at boot (same plan from the env)', cliOptions(), async (t) => {
  // What the pod's process sees: the rendered env (sizes in bytes) and nothing else.
  const combos = Array.from({ length: 40 }, (_, i) => genCombo(10_000 + i));
  await mapLimit(combos, 2, async (combo) => {
    const o = await evaluate(combo);
    if (o.chart.code !== 0) return;
    const env = containerEnv(jobManagerDeployment(o.chart.manifests));
    const podEnv: NodeJS.ProcessEnv = { ...cleanEnv };
    for (const [k, v] of Object.entries(env)) if (/^JOBMANAGER_.*(MEMORY|SEMI_SPACE)/.test(k)) podEnv[k] = v;
    // The Downward API resolves limits.memory to bytes.
    podEnv.JOBMANAGER_CONTAINER_MEMORY_LIMIT = String(limitBytes(combo.limit));
    const fromEnv = await cliPlan([], podEnv);
    t.equal(fromEnv.code, 0, `plan from the injected env: ${combo.name}`, { stderr: fromEnv.stderr });
    if (fromEnv.code === 0) {
      const numbers = (text: string): Record<string, unknown> => {
        const { sources: _s, warnings: _w, containerLimit: _c, ...rest } = JSON.parse(text) as Record<string, unknown>;
        return rest;
      };
      t.same(numbers(fromEnv.stdout), numbers(o.cli.stdout), `same plan from the pod's env: ${combo.name}`);
    }
  });
});

function limitBytes(text: string): number {
  const m = /^(\d+)(Mi|Gi|M|G)?$/.exec(text);
  if (!m) throw new Error(`unexpected limit ${text}`);
  const mult = { Mi: MiB, Gi: GiB, M: 1e6, G: 1e9 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * mult;
}

t.test('impossible plans fail helm template naming the app\'s keys', cliOptions(), async (t) => {
  const outcomes = await mapLimit(IMPOSSIBLE, 2, evaluate);
  for (const o of outcomes) {
    t.not(o.chart.code, 0, `helm template fails: ${o.combo.name}`);
    t.equal(o.cli.code, 78, `app exits 78: ${o.combo.name}`, { stdout: o.cli.stdout });
    t.equal(o.cli.stderr.trim().split('\n').length, 1, `app: one line: ${o.combo.name}`);
    const chartKeys = keysIn(o.chart.stderr);
    t.ok(chartKeys.length > 0, `chart names a key: ${o.combo.name}`, { stderr: o.chart.stderr });
    t.same(chartKeys, keysIn(o.cli.stderr), `same keys as the app: ${o.combo.name}`, {
      chart: o.chart.stderr.trim(),
      app: o.cli.stderr.trim(),
    });
  }
});

t.test('without a memory limit: requests.memory, or a heap alone, as the app derives it', cliOptions(), async (t) => {
  const cases: [string, object, string[]][] = [
    ['requests.memory only', { resources: { requests: { memory: '768Mi' }, limits: { memory: null } } }, ['--jobmanager.process.memory.size=768Mi']],
    ['heap only: process derived', { resources: { requests: { memory: null }, limits: { memory: null } }, memory: { heap: '512m' } }, ['--jobmanager.heap.memory.size=512m']],
    [
      'heap and off-heap only',
      { resources: { requests: { memory: null }, limits: { memory: null } }, memory: { heap: '3g', offHeap: '256m' } },
      ['--jobmanager.heap.memory.size=3g', '--jobmanager.offheap.memory.size=256m'],
    ],
  ];
  for (const [name, values, args] of cases) {
    const [chart, cli] = await Promise.all([
      render(values, { extraArgs: ['--show-only', 'templates/deployment.yaml', '--show-only', 'templates/tests/test-plan.yaml'] }),
      cliPlan(args),
    ]);
    t.equal(chart.code, 0, `${name}: renders`, { stderr: chart.stderr });
    t.equal(cli.code, 0, `${name}: the app plans`, { stderr: cli.stderr });
    if (chart.code !== 0 || cli.code !== 0) continue;
    checkParity(t, { combo: { name, limit: '', memory: {}, cliArgs: args }, chart, cli });
    const env = jobManagerDeployment(chart.manifests).spec.template.spec.containers[0].env as Manifest[];
    t.notOk(env.find((e) => e.name === 'JOBMANAGER_CONTAINER_MEMORY_LIMIT'), `${name}: no Downward API limit without a limit`);
  }
});

t.test('size syntax: every spelling the schema lets through is parsed like the app', cliOptions(), async (t) => {
  const spellings = [
    '1g', '1G', '1Gi', '1 gb', '1024 MB', '1024m', '1073741824', '1.5g', '.5g', '2.g', '1e9', '1.5e9', '1E+9',
    '1048576k', '1048576 KiB', '1gibibytes', '1024 mebibytes', ' 768m ', '0.75Gi', '1tb', '0', '999999999999999999', '1GiB', '1Mb',
  ];
  await mapLimit(spellings, 2, async (text) => {
    const combo: Combo = {
      name: `memory.process ${JSON.stringify(text)}`,
      limit: '64Gi',
      memory: { process: text },
      cliArgs: [`--jobmanager.process.memory.size=${text}`, '--jobmanager.container.memory.limit=64Gi'],
    };
    const o = await evaluate(combo);
    t.equal(o.chart.code === 0, o.cli.code === 0, `same verdict: ${combo.name}`, { chart: o.chart.stderr.trim(), app: o.cli.stderr.trim() });
    if (o.chart.code === 0 && o.cli.code === 0) checkParity(t, o);
    else if (o.chart.code !== 0) {
      t.notMatch(o.chart.stderr, /error calling|wrong type|can't evaluate/, `a chart message, not a template crash: ${combo.name}`);
      t.same(keysIn(o.chart.stderr), keysIn(o.cli.stderr), `same keys: ${combo.name}`, { chart: o.chart.stderr.trim(), app: o.cli.stderr.trim() });
    }
  });
});

t.test('requests above the limit are refused', helmTestOptions(), async (t) => {
  const out = await render({ resources: { requests: { memory: '2Gi' }, limits: { memory: '1Gi' } } });
  t.not(out.code, 0, 'fails');
  t.match(out.stderr, /resources\.requests\.memory \(2Gi\) is larger than resources\.limits\.memory \(1Gi\)/);
});

t.test('no memory limit and no memory.process: helm template fails', helmTestOptions(), async (t) => {
  const out = await render({ resources: { requests: { cpu: '100m', memory: null }, limits: { memory: null } } });
  t.not(out.code, 0, 'fails');
  t.match(out.stderr, /resources\.limits\.memory/, 'names resources.limits.memory');
  t.match(out.stderr, /jobmanager\.process\.memory\.size/, 'names jobmanager.process.memory.size');
});
