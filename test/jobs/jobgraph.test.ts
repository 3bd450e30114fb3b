import t from 'tap';
import { JobValidationError } from '../../app/jobs/errors.js';
import { defaultMaxParallelism, jobVertexIdOf, validateJobGraph } from '../../app/jobs/jobgraph.js';

const v = (id: string, parallelism: unknown = 2, extra: Record<string, unknown> = {}) => ({ id, name: id, parallelism, ...extra });
const ok = { name: 'j', vertices: [v('a'), v('b')], edges: [{ source: 'a', target: 'b', distribution: 'ALL_TO_ALL' }] };

function errorsOf(body: unknown): string[] {
  try {
    validateJobGraph(body);
  } catch (e) {
    if (e instanceof JobValidationError) return e.errors;
    throw e;
  }
  return [];
}

t.test('a valid graph is normalised', async (t) => {
  const g = validateJobGraph({
    ...ok,
    vertices: [v('a', 4, { config: { k: 'v' } }), { id: 'b', parallelism: 200 }],
    checkpointing: { interval: 1000 },
    restartStrategy: { type: 'fixed-delay', attempts: 10, delay: 1000 },
  });
  t.equal(g.vertices[0]!.maxParallelism, 128);
  t.equal(g.vertices[1]!.maxParallelism, 512, 'Flink default: roundUpToPowerOfTwo(1.5 p)');
  t.equal(g.vertices[1]!.name, 'b', 'name defaults to id');
  t.same(g.vertices[0]!.config, { k: 'v' });
  t.same(g.checkpointing, { interval: 1000, timeout: 600000, minPause: 0, maxConcurrent: 1, retained: 1 });
  t.same(g.restartStrategy, { type: 'fixed-delay', attempts: 10, delay: 1000 });
  t.equal(validateJobGraph({ vertices: [v('x')] }).edges.length, 0, 'edges optional');
  t.equal(defaultMaxParallelism(30000), 32768);
});

t.test('JobVertexIDs are 32 hex and a function of the vertex id alone', async (t) => {
  t.match(jobVertexIdOf('map'), /^[0-9a-f]{32}$/);
  t.equal(jobVertexIdOf('map'), jobVertexIdOf('map'));
  t.not(jobVertexIdOf('map'), jobVertexIdOf('sink'));
});

const invalid: [string, unknown, RegExp][] = [
  ['non-object body', 'hello', /^body: must be a JSON object/],
  ['array body', [], /^body: must be a JSON object/],
  ['null body', null, /^body:/],
  ['missing vertices', { name: 'x' }, /^vertices: required/],
  ['vertices not an array', { vertices: {} }, /^vertices: must be an array/],
  ['empty vertices', { vertices: [] }, /^vertices: must contain at least one/],
  ['vertex not an object', { vertices: [42] }, /^vertices\[0\]: must be an object/],
  ['missing vertex id', { vertices: [{ parallelism: 1 }] }, /^vertices\[0\]\.id: required/],
  ['numeric vertex id', { vertices: [{ id: 7, parallelism: 1 }] }, /^vertices\[0\]\.id:/],
  ['duplicate ids', { vertices: [v('a'), v('b'), v('a')] }, /^vertices\[2\]\.id: duplicate vertex id "a" \(first used by vertices\[0\]\)/],
  ['missing parallelism', { vertices: [{ id: 'a' }] }, /^vertices\[0\]\.parallelism: required/],
  ['parallelism 0', { vertices: [v('a', 0)] }, /^vertices\[0\]\.parallelism: must be an integer 1\.\.32768 \(got 0\)/],
  ['parallelism as string', { vertices: [v('a', '4')] }, /^vertices\[0\]\.parallelism: must be an integer/],
  ['fractional parallelism', { vertices: [v('a', 1.5)] }, /^vertices\[0\]\.parallelism:/],
  ['parallelism above maxParallelism', { vertices: [v('a', 200, { maxParallelism: 128 })] }, /^vertices\[0\]\.parallelism: 200 exceeds vertices\[0\]\.maxParallelism 128/],
  ['maxParallelism above 32768', { vertices: [v('a', 2, { maxParallelism: 40000 })] }, /^vertices\[0\]\.maxParallelism: must be an integer 1\.\.32768/],
  ['parallelism above 32768', { vertices: [v('a', 40000)] }, /^vertices\[0\]\.parallelism: must be an integer 1\.\.32768/],
  ['config not an object', { vertices: [v('a', 1, { config: 'x' })] }, /^vertices\[0\]\.config: must be an object/],
  ['config value not a string', { vertices: [v('a', 1, { config: { n: 5 } })] }, /^vertices\[0\]\.config\.n: must be a string/],
  ['unknown vertex field', { vertices: [v('a', 1, { paralelism: 3 })] }, /^vertices\[0\]\.paralelism: unknown field/],
  ['unknown top-level field', { ...ok, vertexes: [] }, /^vertexes: unknown field \(accepted: name, vertices, edges/],
  ['name not a string', { ...ok, name: 5 }, /^name: must be a string/],
  ['edges not an array', { ...ok, edges: 'a->b' }, /^edges: must be an array/],
  ['edge not an object', { ...ok, edges: [1] }, /^edges\[0\]: must be an object/],
  ['edge without target', { ...ok, edges: [{ source: 'a' }] }, /^edges\[0\]\.target: required/],
  ['unknown edge source', { ...ok, edges: [{ source: 'zz', target: 'b' }] }, /^edges\[0\]\.source: unknown vertex "zz"/],
  ['unknown edge target', { ...ok, edges: [{ source: 'a', target: 'zz' }] }, /^edges\[0\]\.target: unknown vertex "zz"/],
  ['bad distribution', { ...ok, edges: [{ source: 'a', target: 'b', distribution: 'BROADCAST' }] }, /^edges\[0\]\.distribution: must be "ALL_TO_ALL" or "POINTWISE"/],
  ['self loop', { ...ok, edges: [{ source: 'a', target: 'a' }] }, /^edges\[0\]: self-loop on vertex "a"/],
  ['too many subtasks in total', { vertices: Array.from({ length: 40 }, (_, i) => v(`v${i}`, 32768)) }, /^vertices: the parallelism of all vertices adds up to 1310720 subtasks/],
  ['duplicate edge', { ...ok, edges: [{ source: 'a', target: 'b' }, { source: 'a', target: 'b' }] }, /^edges\[1\]: duplicate edge/],
  [
    'cycle',
    { vertices: [v('a'), v('b'), v('c')], edges: [{ source: 'a', target: 'b' }, { source: 'b', target: 'c' }, { source: 'c', target: 'a' }] },
    /^edges: cycle "a" -> "b" -> "c" -> "a"/,
  ],
  ['checkpointing not an object', { ...ok, checkpointing: 1000 }, /^checkpointing: must be an object/],
  ['checkpointing without interval', { ...ok, checkpointing: { timeout: 1000 } }, /^checkpointing\.interval: required/],
  ['negative checkpoint minPause', { ...ok, checkpointing: { interval: 1000, minPause: -1 } }, /^checkpointing\.minPause:/],
  ['checkpoint maxConcurrent 0', { ...ok, checkpointing: { interval: 1000, maxConcurrent: 0 } }, /^checkpointing\.maxConcurrent:/],
  ['checkpoint retained as string', { ...ok, checkpointing: { interval: 1000, retained: 'three' } }, /^checkpointing\.retained:/],
  ['unknown restart type', { ...ok, restartStrategy: { type: 'sometimes' } }, /^restartStrategy\.type: must be one of/],
  ['restart attempts negative', { ...ok, restartStrategy: { type: 'fixed-delay', attempts: -1, delay: 10 } }, /^restartStrategy\.attempts:/],
  ['restart delay as string', { ...ok, restartStrategy: { type: 'fixed-delay', attempts: 1, delay: '1 s' } }, /^restartStrategy\.delay:/],
  ['restartStrategy not an object', { ...ok, restartStrategy: 'none' }, /^restartStrategy: must be an object/],
  ['exponential multiplier below 1', { ...ok, restartStrategy: { type: 'exponential-delay', multiplier: 0.5 } }, /^restartStrategy\.multiplier:/],
  ['exponential maxDelay < initialDelay', { ...ok, restartStrategy: { type: 'exponential-delay', initialDelay: 5000, maxDelay: 10 } }, /^restartStrategy\.maxDelay: must be >= initialDelay/],
];

t.test(`${invalid.length} invalid JobGraphs are refused, each naming the field`, async (t) => {
  t.ok(invalid.length >= 20);
  for (const [what, body, expected] of invalid) {
    const errors = errorsOf(body);
    t.ok(errors.length > 0, `${what}: refused`);
    t.ok(
      errors.some((e) => expected.test(e)),
      `${what}: ${JSON.stringify(errors)} has ${expected}`,
    );
  }
});

t.test('all errors are reported at once', async (t) => {
  const errors = errorsOf({ vertices: [v('a', 0), v('b', 'x')], edges: [{ source: 'a', target: 'b', distribution: 'X' }], checkpointing: 'on' });
  t.ok(errors.length >= 4, JSON.stringify(errors));
});

t.test('a deep chain validates without stack overflow', async (t) => {
  const n = 5000;
  const vertices = Array.from({ length: n }, (_, i) => v(`v${i}`, 1));
  const edges = Array.from({ length: n - 1 }, (_, i) => ({ source: `v${i}`, target: `v${i + 1}` }));
  t.equal(validateJobGraph({ vertices, edges }).vertices.length, n);
  edges.push({ source: `v${n - 1}`, target: 'v0' });
  t.match(errorsOf({ vertices, edges })[0], /^edges: cycle/);
});
