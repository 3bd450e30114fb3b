// bin/jobmanager end to end (spawned under dash): the plan's flags reach
// node, the self-check refuses inconsistent starts with exit 78 and one line
// naming both values, SIGTERM/SIGINT shut down with exit 0.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { distMissingReason, kill, launch, LAUNCHER, ROOT } from '../helpers/launcher.js';

const MiB = 1024 * 1024;
const missing = distMissingReason();
if (missing !== undefined) t.fail(missing);

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** Asserts exit 78 with exactly one line on stderr; returns that line. */
async function refused(t: Test, launched: ReturnType<typeof launch>): Promise<string> {
  t.teardown(() => kill(launched));
  const { code, stderr, stdout } = await launched.exit;
  t.equal(code, 78, 'exit code 78 (EX_CONFIG)');
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('warning: '));
  t.equal(lines.length, 1, `one line on stderr: ${stderr}`);
  t.notMatch(stderr, /\n\s+at /, 'no stack trace');
  t.notMatch(stdout, /REST API listening/, 'never listened');
  return lines[0] ?? '';
}

t.test('starts with the plan flags, answers /jobmanager/memory, SIGTERM exits 0', { skip: missing ?? false }, async (t) => {
  const launched = launch({ args: ['--rest.port=0', '--jobmanager.process.memory.size=512m'] });
  t.teardown(() => kill(launched));
  const url = await launched.restUrl;

  // exec all the way down: the spawned pid is node running dist/main.js with the flags.
  const cmdline = readFileSync(`/proc/${launched.child.pid}/cmdline`, 'utf8').split('\0');
  t.ok(cmdline.some((a) => a.endsWith('dist/main.js')), `pid runs dist/main.js: ${cmdline.join(' ')}`);

  const memory = (await (await fetch(`${url}/jobmanager/memory`)).json()) as {
    plan: { process: number; heap: number; flags: string[] };
    heapSizeLimit: { expected: number; actual: number };
  };
  t.equal(memory.plan.process, 512 * MiB);
  for (const flag of memory.plan.flags) t.ok(cmdline.includes(flag), `node started with ${flag}`);
  t.equal(memory.heapSizeLimit.actual, memory.heapSizeLimit.expected);
  t.equal(memory.heapSizeLimit.actual, memory.plan.heap, 'V8 limit is the planned heap');

  const tableLogs = launched.stdout().split('\n').filter((l) => l.includes('Final JobManager memory configuration'));
  t.equal(tableLogs.length, 1, 'the plan is logged once');

  launched.child.kill('SIGTERM');
  const { code, signal } = await launched.exit;
  t.equal(code, 0, 'SIGTERM: graceful exit 0');
  t.equal(signal, null);
});

t.test('SIGINT exits 0, too', { skip: missing ?? false }, async (t) => {
  const launched = launch();
  t.teardown(() => kill(launched));
  await launched.restUrl;
  launched.child.kill('SIGINT');
  t.equal((await launched.exit).code, 0);
});

t.test('JOBMANAGER_HEAP_MEMORY_SIZE disagreeing with NODE_OPTIONS: exit 78 naming both', { skip: missing ?? false }, async (t) => {
  const line = await refused(
    t,
    launch({ env: { JOBMANAGER_HEAP_MEMORY_SIZE: '300m', NODE_OPTIONS: '--max-old-space-size=100 --max-semi-space-size=1' } }),
  );
  t.match(line, 'NODE_OPTIONS sets --max-old-space-size=100');
  t.match(line, /needs --max-old-space-size=\d+/);
  t.match(line, 'jobmanager.heap.memory.size is 314572800 bytes, 300.000mb');
  t.match(line, 'env JOBMANAGER_HEAP_MEMORY_SIZE');
});

t.test('node started without the plan flags: exit 78 naming heap_size_limit and the planned heap', { skip: missing ?? false }, async (t) => {
  const line = await refused(t, launch({ command: [process.execPath, join(ROOT, 'dist', 'main.js'), '--rest.port=0'] }));
  t.match(line, /^V8 heap_size_limit is \d+ bytes/);
  t.match(line, /needs \d+ bytes/);
  t.match(line, 'bin/jobmanager');
});

t.test('process size above the container limit: exit 78 naming both', { skip: missing ?? false }, async (t) => {
  const line = await refused(
    t,
    launch({ args: ['--rest.port=0', '--jobmanager.process.memory.size=512m'], env: { JOBMANAGER_CONTAINER_MEMORY_LIMIT: '256Mi' } }),
  );
  t.match(line, '536870912');
  t.match(line, '268435456');
  t.match(line, 'jobmanager.process.memory.size');
});

t.test('an invalid configuration fails in the launcher with the CLI line and code', { skip: missing ?? false }, async (t) => {
  const line = await refused(t, launch({ args: ['--jobmanager.process.memory.size=lots'] }));
  t.match(line, 'jobmanager.process.memory.size "lots"');
});

t.test('the launcher finds dist/ through a symlink', { skip: missing ?? false }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'jm-link-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(LAUNCHER, join(dir, 'jobmanager'));
  const launched = launch({ command: [join(dir, 'jobmanager'), '--rest.port=0', '--jobmanager.process.memory.size=256m'] });
  t.teardown(() => kill(launched));
  const url = await launched.restUrl;
  t.equal((await fetch(`${url}/healthz`)).status, 200);
  launched.child.kill('SIGTERM');
  t.equal((await launched.exit).code, 0);
});

t.test('plan warnings are logged once by the JobManager, not repeated by the launcher', { skip: missing ?? false }, async (t) => {
  const launched = launch({ args: ['--rest.port=0', '--jobmanager.process.memory.size=192m'] });
  t.teardown(() => kill(launched));
  await launched.restUrl;
  launched.child.kill('SIGTERM');
  const { code, stdout, stderr } = await launched.exit;
  t.equal(code, 0);
  t.equal(stderr, '', 'nothing on stderr');
  const warnings = stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { level: number; msg: string })
    .filter((r) => r.level === 40 && r.msg.includes('below the recommended'));
  t.equal(warnings.length, 1, 'the small-heap warning, once, as a warn log record');
});

t.test('--help prints the launcher usage; an unknown option exits 64', { skip: missing ?? false }, async (t) => {
  const help = launch({ args: ['--help'] });
  t.teardown(() => kill(help));
  const shown = await help.exit;
  t.equal(shown.code, 0);
  t.match(shown.stdout, /^Usage: jobmanager /);

  const unknown = launch({ args: ['--nonsense'] });
  t.teardown(() => kill(unknown));
  const result = await unknown.exit;
  t.equal(result.code, 64, 'EX_USAGE from the CLI, passed on');
  t.match(result.stderr, "Unknown option '--nonsense'");
  t.notMatch(result.stdout, /REST API listening/);
});

/** What the Helm chart injects for a plan: derived sizes in bytes, NODE_OPTIONS, the Downward API limit. */
function chartEnv(limit: string): Record<string, string> {
  const plan = JSON.parse(
    execFileSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'memory', 'plan', '--json'], {
      env: { PATH: process.env['PATH'] ?? '', JOBMANAGER_CONTAINER_MEMORY_LIMIT: limit },
      encoding: 'utf8',
    }),
  ) as { process: number; heap: number; offHeap: number; network: number; semiSpace: number; flags: string[] };
  return {
    JOBMANAGER_CONTAINER_MEMORY_LIMIT: limit,
    JOBMANAGER_PROCESS_MEMORY_SIZE: String(plan.process),
    JOBMANAGER_HEAP_MEMORY_SIZE: String(plan.heap),
    JOBMANAGER_OFFHEAP_MEMORY_SIZE: String(plan.offHeap),
    JOBMANAGER_NETWORK_MEMORY_SIZE: String(plan.network),
    JOBMANAGER_HEAP_SEMI_SPACE_SIZE: String(plan.semiSpace),
    NODE_OPTIONS: plan.flags.join(' '),
  };
}

t.test('chart-style injection (all derived values + NODE_OPTIONS) starts with the same plan', { skip: missing ?? false }, async (t) => {
  const env = chartEnv('512Mi');
  const launched = launch({ env });
  t.teardown(() => kill(launched));
  const url = await launched.restUrl;
  const memory = (await (await fetch(`${url}/jobmanager/memory`)).json()) as {
    plan: { process: number; heap: number; flags: string[] };
    heapSizeLimit: { expected: number; actual: number };
  };
  t.equal(memory.plan.process, 512 * MiB);
  t.equal(String(memory.plan.heap), env['JOBMANAGER_HEAP_MEMORY_SIZE']);
  t.equal(memory.plan.flags.join(' '), env['NODE_OPTIONS']);
  t.equal(memory.heapSizeLimit.actual, memory.plan.heap);
  launched.child.kill('SIGTERM');
  t.equal((await launched.exit).code, 0);
});

t.test('a command-line override contradicting an injected value: exit 78 naming both', { skip: missing ?? false }, async (t) => {
  const env = chartEnv('512Mi');
  t.equal(env['JOBMANAGER_HEAP_SEMI_SPACE_SIZE'], String(4 * MiB), 'the 512Mi plan has a 4m semi-space');
  const line = await refused(t, launch({ env, args: ['--rest.port=0', '--jobmanager.heap.semi-space.size=2m'] }));
  t.match(line, `JOBMANAGER_HEAP_SEMI_SPACE_SIZE=${4 * MiB}`);
  t.match(line, 'jobmanager.heap.semi-space.size is 2097152 bytes, 2.000mb, from --jobmanager.heap.semi-space.size');
});

t.test('under Node.js 24: node without the plan flags is refused, the launcher starts it', { skip: missing ?? false }, async (t) => {
  let node24: string;
  try {
    node24 = execFileSync('sh', [join(ROOT, 'scripts', 'ensure-node.sh'), '24'], { encoding: 'utf8', timeout: 120_000 }).trim();
  } catch (err) {
    if (process.env['CI']) t.fail(`cannot fetch Node.js 24: ${(err as Error).message}`);
    else t.pass(`Node.js 24 unavailable, nothing to check: ${(err as Error).message.split('\n')[0]}`);
    return;
  }
  const line = await refused(t, launch({ command: [node24, join(ROOT, 'dist', 'main.js'), '--rest.port=0'] }));
  t.match(line, /^V8 heap_size_limit is \d+ bytes/);

  const launched = launch({ node: node24, args: ['--rest.port=0', '--jobmanager.process.memory.size=768m'] });
  t.teardown(() => kill(launched));
  const url = await launched.restUrl;
  const memory = (await (await fetch(`${url}/jobmanager/memory`)).json()) as { plan: { heap: number }; heapSizeLimit: { actual: number } };
  t.equal(memory.heapSizeLimit.actual, memory.plan.heap, 'heap_size_limit = planned heap on Node 24');
  launched.child.kill('SIGTERM');
  t.equal((await launched.exit).code, 0);
});
