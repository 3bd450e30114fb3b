// The real CLI process: `node dist/cli.js memory plan|flags` (build first:
// `npx tsc -p .`; `npm test` does). Invalid configurations exit 78 with one
// line on stderr naming the offending key; usage errors exit 64.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import t from 'tap';
import { readContainerMemory } from '../../app/memory/cgroup.js';
import type { MemoryPlanJson } from '../../app/memory/plan.js';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: readonly string[], env: Record<string, string> = {}, cwd: string): Promise<Run> {
  return new Promise((done) => {
    // Only PATH is inherited: the runner's own JOBMANAGER_* or NODE_OPTIONS must not leak in.
    execFile(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      // On a non-zero exit, err.code is the exit status (a string code means it never ran).
      const status = (err as { code?: unknown } | null)?.code;
      const code = err === null ? 0 : typeof status === 'number' ? status : null;
      done({ code, stdout, stderr });
    });
  });
}

/** Runs all jobs with at most `limit` child processes at a time (2 cores shared by everyone). */
async function pool<T, R>(items: readonly T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

interface Case {
  readonly label: string;
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** Text the single stderr line must contain (the offending key, or file). */
  readonly names: readonly string[];
}

const P = '--jobmanager.process.memory.size';
const INVALID: readonly Case[] = [
  { label: 'size not a size', args: [`${P}=abc`], names: ['jobmanager.process.memory.size', '"abc"'] },
  { label: 'negative size via -D', args: ['-D', 'jobmanager.process.memory.size=-1g'], names: ['jobmanager.process.memory.size'] },
  { label: 'unknown unit in env', args: [], env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '1x' }, names: ['jobmanager.process.memory.size', 'env JOBMANAGER_PROCESS_MEMORY_SIZE'] },
  { label: 'size beyond 2^53', args: [`${P}=9999999t`], names: ['jobmanager.process.memory.size'] },
  { label: 'process too small for the minimum heap', args: [`${P}=128m`], names: ['jobmanager.process.memory.size', '134217728 bytes, 128.000mb'] },
  { label: 'process smaller than the overhead', args: [`${P}=10m`], names: ['jobmanager.process.memory.size'] },
  { label: 'process too small for a configured off-heap', args: [`${P}=512m`, '--jobmanager.offheap.memory.size=400m'], names: ['jobmanager.process.memory.size', 'jobmanager.offheap.memory.size'] },
  { label: 'heap below 48m', args: ['--jobmanager.heap.memory.size=40m'], names: ['jobmanager.heap.memory.size'] },
  { label: 'heap + off-heap exceed process', args: [`${P}=1g`, '--jobmanager.heap.memory.size=1g'], names: ['jobmanager.heap.memory.size', 'jobmanager.process.memory.size'] },
  { label: 'derived overhead below min', args: [`${P}=1g`, '--jobmanager.heap.memory.size=900m', '--jobmanager.offheap.memory.size=64m'], names: ['jobmanager.overhead.memory.min'] },
  { label: 'derived overhead above max', args: [`${P}=4g`, '--jobmanager.heap.memory.size=1g'], names: ['jobmanager.overhead.memory.max'] },
  { label: 'overhead fraction 1', args: ['--jobmanager.overhead.memory.fraction=1'], names: ['jobmanager.overhead.memory.fraction'] },
  { label: 'overhead fraction text (alias)', args: ['--jobmanager.memory.jvm-overhead.fraction=abc'], names: ['jobmanager.overhead.memory.fraction', 'jvm-overhead'] },
  { label: 'overhead min > max', args: ['--jobmanager.overhead.memory.min=200m', '--jobmanager.overhead.memory.max=100m'], names: ['jobmanager.overhead.memory.min', 'jobmanager.overhead.memory.max'] },
  { label: 'network larger than off-heap', args: ['--jobmanager.network.memory.size=200m'], names: ['jobmanager.network.memory.size', 'jobmanager.offheap.memory.size'] },
  { label: 'segment not a power of two', args: ['--jobmanager.network.memory.segment-size=48k'], names: ['jobmanager.network.memory.segment-size'] },
  { label: 'segment below 4k', args: ['--jobmanager.network.memory.segment-size=2k'], names: ['jobmanager.network.memory.segment-size'] },
  { label: 'segment larger than network', args: ['--jobmanager.network.memory.segment-size=64m'], names: ['jobmanager.network.memory.segment-size', 'jobmanager.network.memory.size'] },
  { label: 'semi-space not a power of two', args: ['--jobmanager.heap.semi-space.size=3m'], names: ['jobmanager.heap.semi-space.size'] },
  { label: 'semi-space not whole MiB', args: ['--jobmanager.heap.semi-space.size=512k'], names: ['jobmanager.heap.semi-space.size'] },
  { label: 'semi-space above 64m', args: ['--jobmanager.heap.semi-space.size=128m'], names: ['jobmanager.heap.semi-space.size'] },
  { label: 'old generation below 32m', args: [`${P}=256m`, '--jobmanager.heap.semi-space.size=64m'], names: ['jobmanager.heap.semi-space.size', 'old generation'] },
  { label: 'cache fraction 1.5', args: ['--jobmanager.cache.memory.fraction=1.5'], names: ['jobmanager.cache.memory.fraction'] },
  { label: 'process above the container limit', args: [`${P}=2g`], env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '1g' }, names: ['jobmanager.process.memory.size', 'jobmanager.container.memory.limit', '1073741824 bytes'] },
  { label: 'derived process above the container limit', args: ['--jobmanager.heap.memory.size=2g'], env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '1Gi' }, names: ['jobmanager.heap.memory.size', 'jobmanager.container.memory.limit'] },
  { label: 'container limit too small for the minimum heap', args: [], env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '150Mi' }, names: ['jobmanager.process.memory.size'] },
  { label: 'container limit not a size', args: [], env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: 'lots' }, names: ['jobmanager.container.memory.limit'] },
  { label: 'alias conflict in env', args: [], env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '1g', JOBMANAGER_MEMORY_PROCESS_SIZE: '2g' }, names: ['JOBMANAGER_PROCESS_MEMORY_SIZE', 'JOBMANAGER_MEMORY_PROCESS_SIZE'] },
  { label: 'alias conflict on the command line', args: [`${P}=1g`, '-Djobmanager.memory.process.size=2g'], names: ['jobmanager.process.memory.size', 'jobmanager.memory.process.size'] },
  { label: 'key without value', args: [P], names: ['jobmanager.process.memory.size'] },
  { label: 'rest.port out of range', args: ['--rest.port=99999'], names: ['rest.port'] },
  { label: 'duration not a duration', args: ['--heartbeat.timeout=forever'], names: ['heartbeat.timeout'] },
  { label: 'missing --config file', args: ['--config', 'missing.json'], names: ['missing.json'] },
  { label: 'malformed settings file', args: ['--config', 'broken.json'], names: ['broken.json'] },
  { label: 'non-scalar leaf in settings file', args: [], env: { JOBMANAGER_CONFIG_FILE: 'leaf.json' }, names: ['leaf.json', 'jobmanager.process.memory.size'] },
  { label: 'bad size in settings file', args: ['--config=bad-size.json'], names: ['jobmanager.heap.memory.size', 'file bad-size.json'] },
];

if (!existsSync(CLI)) {
  t.fail(`${CLI} is missing: build first with \`npx tsc -p .\` (npm test does)`);
} else {
  const dir = t.testdir({
    'broken.json': '{"jobmanager": ',
    'leaf.json': JSON.stringify({ jobmanager: { process: { memory: { size: ['1g'] } } } }),
    'bad-size.json': JSON.stringify({ 'jobmanager.heap.memory.size': '12 parsecs' }),
    'flat.json': JSON.stringify({ 'jobmanager.process.memory.size': '1g' }),
    'nested.json': JSON.stringify({ jobmanager: { memory: { process: { size: '1024m' } } } }),
  });

  t.test(`${INVALID.length} invalid configurations: exit 78, one stderr line naming the key`, async (t) => {
    t.ok(INVALID.length >= 25);
    // A fixed container limit: plans that default to it must not depend on this host's cgroup.
    const runs = await pool(INVALID, 2, (c) =>
      runCli(['memory', 'flags', ...c.args], { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '1g', ...c.env }, dir),
    );
    INVALID.forEach((c, i) => {
      const run = runs[i] as Run;
      t.equal(run.code, 78, `${c.label}: exit 78 (stderr: ${run.stderr.trim()})`);
      t.equal(run.stdout, '', `${c.label}: nothing on stdout`);
      const lines = run.stderr.split('\n').filter((l) => l !== '');
      t.equal(lines.length, 1, `${c.label}: exactly one line on stderr`);
      t.ok(run.stderr.endsWith('\n'), `${c.label}: line terminated`);
      t.notMatch(run.stderr, /^\s+at /m, `${c.label}: no stack trace`);
      for (const name of c.names) t.ok(run.stderr.includes(name), `${c.label}: names ${name}`);
    });
  });

  // The CLI honours the real cgroup limit too: these 1g cases need a host allowing 1g.
  const host = readContainerMemory().limitBytes;
  const skip = host !== undefined && host < GiB ? `this host's cgroup memory limit (${host} bytes) is below the 1g these cases plan for` : false;
  t.test('the 1g plan: the same from every source and spelling, invariants hold', { skip }, async (t) => {
    const variants: [string, string[], Record<string, string>?][] = [
      ['--key=1g', [`${P}=1g`]],
      ['-D key 1Gi', ['-D', 'jobmanager.process.memory.size=1Gi']],
      ['env', [], { JOBMANAGER_PROCESS_MEMORY_SIZE: '1g' }],
      ['alias env', [], { JOBMANAGER_MEMORY_PROCESS_SIZE: '1g' }],
      ['flat file', ['--config', 'flat.json']],
      ['nested file (alias, 1024m)', [], { JOBMANAGER_CONFIG_FILE: 'nested.json' }],
      ['bytes', [`${P}`, '1073741824']],
    ];
    const runs = await pool(variants, 2, ([, args, env]) => runCli(['memory', 'plan', '--json', ...args], env ?? {}, dir));
    const plans = runs.map((run, i) => {
      t.equal(run.code, 0, `${variants[i]?.[0]}: exit 0 (${run.stderr.trim()})`);
      return JSON.parse(run.stdout) as MemoryPlanJson;
    });
    const strip = ({ sources: _s, ...rest }: MemoryPlanJson) => rest;
    for (let i = 1; i < plans.length; i++) t.same(strip(plans[i] as MemoryPlanJson), strip(plans[0] as MemoryPlanJson), `${variants[i]?.[0]} == ${variants[0]?.[0]}`);
    const p = plans[0] as MemoryPlanJson;
    t.equal(p.process, GiB);
    t.equal(p.overhead + p.offHeap + p.heap, p.process, 'overhead + offHeap + heap == process');
    t.equal(p.youngGeneration + p.oldGeneration, p.heap, 'heap == young + old');
    t.ok(p.network <= p.offHeap, 'network <= offHeap');
    t.same(p.flags, [`--max-old-space-size=${Math.floor(p.oldGeneration / MiB)}`, `--max-semi-space-size=${p.semiSpace / MiB}`]);
    for (const field of ['networkSegmentSize', 'networkSegments', 'cache'] as const) t.type(p[field], 'number', field);
    t.same(p.warnings, []);
    t.equal(p.sources['jobmanager.process.memory.size'], '--jobmanager.process.memory.size');
    t.equal(plans[3]?.sources['jobmanager.process.memory.size'], 'env JOBMANAGER_MEMORY_PROCESS_SIZE');
  });

  t.test('precedence through the real process: CLI > env > file', async (t) => {
    const cwd = t.testdir({ 'appsettings.json': JSON.stringify({ 'jobmanager.process.memory.size': '300m' }) });
    const env = { JOBMANAGER_PROCESS_MEMORY_SIZE: '400m', JOBMANAGER_CONTAINER_MEMORY_LIMIT: '64g' };
    const [cli, fromEnv, fromFile] = await pool(
      [
        [[`${P}=500m`], env],
        [[], env],
        [[], { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '64g' }],
      ] as [string[], Record<string, string>][],
      2,
      ([args, e]) => runCli(['memory', 'plan', '--json', ...args], e, cwd),
    );
    t.equal(JSON.parse(cli?.stdout ?? '').process, 500 * MiB);
    t.equal(JSON.parse(fromEnv?.stdout ?? '').process, 400 * MiB);
    t.equal(JSON.parse(fromFile?.stdout ?? '').process, 300 * MiB);
    t.equal(JSON.parse(fromFile?.stdout ?? '').sources['jobmanager.process.memory.size'], 'file ./appsettings.json');
  });

  t.test('memory flags: one line on stdout, warnings on stderr; the table', async (t) => {
    const cwd = t.testdir({});
    const [flags, withWarning, table, limit] = await pool(
      [
        [['memory', 'flags', `${P}=256m`], {}],
        [['memory', 'flags', `${P}=192m`, '--jobmanager.proces.memory.size=1g'], {}],
        [['memory', 'plan', `${P}=1g`], {}],
        [['memory', 'flags'], { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '256Mi' }],
      ] as [string[], Record<string, string>][],
      2,
      ([args, env]) => runCli(args, env, cwd),
    );
    t.equal(flags?.code, 0);
    t.equal(flags?.stdout, '--max-old-space-size=138 --max-semi-space-size=2\n');
    t.equal(flags?.stderr, '');
    t.equal(withWarning?.code, 0);
    t.equal(withWarning?.stdout, '--max-old-space-size=77 --max-semi-space-size=1\n');
    t.match(withWarning?.stderr, /^warning: unknown configuration key jobmanager\.proces\.memory\.size .*did you mean jobmanager\.process\.memory\.size\?$/m);
    t.match(withWarning?.stderr, /^warning: the heap \(83886080 bytes, 80\.000mb\) is below the recommended 128\.000mb/m);
    t.equal(table?.code, 0);
    t.match(table?.stdout, /Final JobManager memory configuration:[\s\S]*Node flags: --max-old-space-size=806 --max-semi-space-size=8/);
    t.match(table?.stdout, /Sources:\n  jobmanager\.process\.memory\.size\s+--jobmanager\.process\.memory\.size\n  jobmanager\.heap\.memory\.size\s+derived\n/);
    t.equal(limit?.stdout, '--max-old-space-size=138 --max-semi-space-size=2\n', 'no process size: the container limit (256Mi)');
  });

  t.test('usage errors exit 64 with usage', async (t) => {
    const cwd = t.testdir({});
    const cases: [string[], RegExp][] = [
      [[], /Usage:/],
      [['nonsense'], /unknown subcommand "nonsense"/],
      [['memory'], /missing action/],
      [['memory', 'sizes'], /unknown action "sizes"/],
      [['memory', 'plan', '--bogus'], /memory plan: Unknown option '--bogus'/],
      [['memory', 'flags', '--json'], /memory flags: Unknown option '--json'/],
      [['memory', 'plan', 'extra'], /memory plan: /],
    ];
    const runs = await pool(cases, 2, ([args]) => runCli(args, {}, cwd));
    cases.forEach(([args, message], i) => {
      t.equal(runs[i]?.code, 64, `${args.join(' ') || '(none)'}: exit 64`);
      t.match(runs[i]?.stderr, message);
      t.match(runs[i]?.stderr, /Usage:/);
    });
    const help = await runCli(['memory', '--help'], {}, cwd);
    t.equal(help.code, 0);
    t.match(help.stdout, /jobmanager memory plan \[--json\]/);
  });
}
