// `memory plan` prints each warning once, on stderr only, in table and JSON
// mode alike (a reported defect: the small-heap warning twice in table mode).
// In-process through the CLI context, so no build is needed.
import t from 'tap';
import { run } from '../../app/cli/memory.js';
import type { CliContext } from '../../app/cli/context.js';

const HEAP_WARNING = /the heap \(\d+ bytes, [\d.]+mb\) is below the recommended/g;

async function plan(args: string[], limitBytes?: number): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const ctx: CliContext = {
    env: {},
    cwd: t.testdir(),
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    containerMemory: () => ({ limitBytes, warnings: [] }),
  };
  const code = await run(['plan', ...args], ctx);
  return { code, stdout, stderr };
}

const cases: [string, string[], number | undefined][] = [
  ['process size', ['--jobmanager.process.memory.size=200m'], undefined],
  ['heap size', ['--jobmanager.heap.memory.size=64m'], undefined],
  ['container limit (configured)', ['--jobmanager.container.memory.limit=200Mi'], undefined],
  ['container limit (cgroup)', [], 200 * 1024 * 1024],
];

for (const [name, args, limit] of cases) {
  t.test(`${name}: the small-heap warning once`, async (t) => {
    for (const mode of [[], ['--json']]) {
      const r = await plan([...args, ...mode], limit);
      const label = mode.length > 0 ? 'json' : 'table';
      t.equal(r.code, 0, `${label}: exit 0`);
      t.equal(r.stderr.match(HEAP_WARNING)?.length, 1, `${label}: once on stderr`);
      if (mode.length === 0) t.notMatch(r.stdout, HEAP_WARNING, 'table: not in the table on stdout');
    }
  });
}
