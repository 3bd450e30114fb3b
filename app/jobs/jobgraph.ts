// JobGraph validation (a JSON-schema-like structural pass, then graph checks)
// and the ids derived from it. Every error names the offending field and what
// is accepted; all errors are collected, not just the first.
import { createHash } from 'node:crypto';
import { JobValidationError } from './errors.js';
import type { CheckpointingSpec, DistributionPattern, JobEdgeSpec, JobGraph, JobVertexSpec, RestartStrategySpec } from './types.js';

export const MAX_PARALLELISM_LIMIT = 32768; // Flink's UPPER_BOUND_MAX_PARALLELISM
export const MAX_VERTICES = 10_000;
export const MAX_EDGES = 100_000;
/** Sum of parallelism over vertices: a hard ceiling independent of the memory plan (admission control is the finer one). */
export const MAX_SUBTASKS_PER_JOB = 1 << 20;
const MAX_ID_LENGTH = 256;
const MAX_NAME_LENGTH = 1024;
const MAX_CONFIG_ENTRIES = 1000;
const MAX_CONFIG_VALUE_LENGTH = 65536;

const TOP_FIELDS = ['name', 'vertices', 'edges', 'checkpointing', 'restartStrategy'];
const VERTEX_FIELDS = ['id', 'name', 'parallelism', 'maxParallelism', 'config'];
const EDGE_FIELDS = ['source', 'target', 'distribution'];
const CHECKPOINT_FIELDS = ['interval', 'timeout', 'minPause', 'maxConcurrent', 'retained'];
const DISTRIBUTIONS: readonly DistributionPattern[] = ['ALL_TO_ALL', 'POINTWISE'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? v.slice(0, 40) + '...' : v}"`;
  if (typeof v === 'object') return 'an object';
  return String(v);
}

function unknownFields(obj: Record<string, unknown>, allowed: readonly string[], path: string, errors: string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) errors.push(`${path}${path ? '.' : ''}${key}: unknown field (accepted: ${allowed.join(', ')})`);
  }
}

/** Flink's KeyGroupRangeAssignment.computeDefaultMaxParallelism. */
export function defaultMaxParallelism(parallelism: number): number {
  const wanted = parallelism + Math.floor(parallelism / 2);
  let pow = 1;
  while (pow < wanted) pow *= 2;
  return Math.min(Math.max(pow, 128), MAX_PARALLELISM_LIMIT);
}

/** JobVertexID: 32 hex, a deterministic function of the vertex's own id. */
export function jobVertexIdOf(vertexKey: string): string {
  return createHash('sha256').update('jobvertex\0').update(vertexKey).digest('hex').slice(0, 32);
}

function intField(
  obj: Record<string, unknown>,
  key: string,
  path: string,
  min: number,
  max: number,
  errors: string[],
  fallback: number | undefined,
): number | undefined {
  const v = obj[key];
  if (v === undefined) {
    if (fallback === undefined) errors.push(`${path}: required, an integer ${min}..${max}`);
    return fallback;
  }
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    errors.push(`${path}: must be an integer ${min}..${max} (got ${describe(v)})`);
    return undefined;
  }
  if (v < min || v > max) {
    errors.push(`${path}: must be an integer ${min}..${max} (got ${v})`);
    return undefined;
  }
  return v;
}

function validateCheckpointing(v: unknown, errors: string[]): CheckpointingSpec | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) {
    errors.push(`checkpointing: must be an object {interval, timeout?, minPause?, maxConcurrent?, retained?} (got ${describe(v)})`);
    return undefined;
  }
  unknownFields(v, CHECKPOINT_FIELDS, 'checkpointing', errors);
  const day = 86_400_000 * 365;
  const interval = intField(v, 'interval', 'checkpointing.interval', 10, day, errors, undefined);
  const timeout = intField(v, 'timeout', 'checkpointing.timeout', 10, day, errors, 600_000);
  const minPause = intField(v, 'minPause', 'checkpointing.minPause', 0, day, errors, 0);
  const maxConcurrent = intField(v, 'maxConcurrent', 'checkpointing.maxConcurrent', 1, 1000, errors, 1);
  const retained = intField(v, 'retained', 'checkpointing.retained', 1, 10_000, errors, 1);
  if (interval === undefined || timeout === undefined || minPause === undefined || maxConcurrent === undefined || retained === undefined) return undefined;
  return { interval, timeout, minPause, maxConcurrent, retained };
}

function validateRestartStrategy(v: unknown, errors: string[]): RestartStrategySpec | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) {
    errors.push(`restartStrategy: must be an object {type: "none" | "fixed-delay" | "exponential-delay", ...} (got ${describe(v)})`);
    return undefined;
  }
  const day = 86_400_000;
  const max = Number.MAX_SAFE_INTEGER;
  switch (v.type) {
    case 'none':
    case 'disable':
    case 'off':
      unknownFields(v, ['type'], 'restartStrategy', errors);
      return { type: 'none' };
    case 'fixed-delay':
    case 'fixeddelay': {
      unknownFields(v, ['type', 'attempts', 'delay'], 'restartStrategy', errors);
      const attempts = intField(v, 'attempts', 'restartStrategy.attempts', 0, 2_147_483_647, errors, 1);
      const delay = intField(v, 'delay', 'restartStrategy.delay', 0, day, errors, 1000);
      if (attempts === undefined || delay === undefined) return undefined;
      return { type: 'fixed-delay', attempts, delay };
    }
    case 'exponential-delay':
    case 'exponentialdelay': {
      unknownFields(v, ['type', 'initialDelay', 'maxDelay', 'multiplier', 'attempts'], 'restartStrategy', errors);
      const initialDelay = intField(v, 'initialDelay', 'restartStrategy.initialDelay', 0, day, errors, 1000);
      const maxDelay = intField(v, 'maxDelay', 'restartStrategy.maxDelay', 0, day, errors, 300_000);
      const attempts = intField(v, 'attempts', 'restartStrategy.attempts', 0, max, errors, max);
      let multiplier = 2;
      if (v.multiplier !== undefined) {
        if (typeof v.multiplier !== 'number' || !(v.multiplier >= 1) || v.multiplier > 1000) {
          errors.push(`restartStrategy.multiplier: must be a number 1..1000 (got ${describe(v.multiplier)})`);
        } else multiplier = v.multiplier;
      }
      if (initialDelay !== undefined && maxDelay !== undefined && maxDelay < initialDelay) {
        errors.push(`restartStrategy.maxDelay: must be >= initialDelay (${initialDelay})`);
        return undefined;
      }
      if (initialDelay === undefined || maxDelay === undefined || attempts === undefined) return undefined;
      return { type: 'exponential-delay', initialDelay, maxDelay, multiplier, attempts };
    }
    default:
      errors.push(`restartStrategy.type: must be one of "none", "fixed-delay", "exponential-delay" (got ${describe(v.type)})`);
      return undefined;
  }
}

function validateVertex(v: unknown, i: number, errors: string[]): JobVertexSpec | undefined {
  const path = `vertices[${i}]`;
  if (!isRecord(v)) {
    errors.push(`${path}: must be an object {id, name?, parallelism, maxParallelism?, config?} (got ${describe(v)})`);
    return undefined;
  }
  unknownFields(v, VERTEX_FIELDS, path, errors);
  let ok = true;
  const id = v.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    errors.push(`${path}.id: required, a non-empty string of at most ${MAX_ID_LENGTH} characters (got ${describe(id)})`);
    ok = false;
  }
  let name = typeof id === 'string' ? id : '';
  if (v.name !== undefined) {
    if (typeof v.name !== 'string' || v.name.length > MAX_NAME_LENGTH) {
      errors.push(`${path}.name: must be a string of at most ${MAX_NAME_LENGTH} characters (got ${describe(v.name)})`);
      ok = false;
    } else name = v.name;
  }
  const parallelism = intField(v, 'parallelism', `${path}.parallelism`, 1, MAX_PARALLELISM_LIMIT, errors, undefined);
  let maxParallelism: number | undefined;
  if (v.maxParallelism === undefined) {
    maxParallelism = parallelism === undefined ? undefined : defaultMaxParallelism(parallelism);
  } else {
    maxParallelism = intField(v, 'maxParallelism', `${path}.maxParallelism`, 1, MAX_PARALLELISM_LIMIT, errors, undefined);
    if (maxParallelism !== undefined && parallelism !== undefined && parallelism > maxParallelism) {
      errors.push(`${path}.parallelism: ${parallelism} exceeds ${path}.maxParallelism ${maxParallelism} (need 1 <= parallelism <= maxParallelism <= ${MAX_PARALLELISM_LIMIT})`);
      ok = false;
    }
  }
  let config: Record<string, string> = {};
  if (v.config !== undefined) {
    if (!isRecord(v.config)) {
      errors.push(`${path}.config: must be an object mapping strings to strings (got ${describe(v.config)})`);
      ok = false;
    } else {
      const entries = Object.entries(v.config);
      if (entries.length > MAX_CONFIG_ENTRIES) {
        errors.push(`${path}.config: at most ${MAX_CONFIG_ENTRIES} entries (got ${entries.length})`);
        ok = false;
      }
      for (const [key, value] of entries) {
        if (typeof value !== 'string' || value.length > MAX_CONFIG_VALUE_LENGTH) {
          errors.push(`${path}.config.${key}: must be a string of at most ${MAX_CONFIG_VALUE_LENGTH} characters (got ${describe(value)})`);
          ok = false;
        }
      }
      config = Object.fromEntries(entries) as Record<string, string>;
    }
  }
  if (!ok || typeof id !== 'string' || parallelism === undefined || maxParallelism === undefined) return undefined;
  return { id, name, parallelism, maxParallelism, config };
}

function validateEdge(e: unknown, i: number, errors: string[]): JobEdgeSpec | undefined {
  const path = `edges[${i}]`;
  if (!isRecord(e)) {
    errors.push(`${path}: must be an object {source, target, distribution} (got ${describe(e)})`);
    return undefined;
  }
  unknownFields(e, EDGE_FIELDS, path, errors);
  let ok = true;
  for (const end of ['source', 'target'] as const) {
    if (typeof e[end] !== 'string' || (e[end] as string).length === 0) {
      errors.push(`${path}.${end}: required, the id of a vertex (got ${describe(e[end])})`);
      ok = false;
    }
  }
  let distribution: DistributionPattern = 'ALL_TO_ALL';
  if (e.distribution !== undefined) {
    if (typeof e.distribution !== 'string' || !DISTRIBUTIONS.includes(e.distribution as DistributionPattern)) {
      errors.push(`${path}.distribution: must be "ALL_TO_ALL" or "POINTWISE" (got ${describe(e.distribution)})`);
      ok = false;
    } else distribution = e.distribution as DistributionPattern;
  }
  if (!ok) return undefined;
  return { source: e.source as string, target: e.target as string, distribution };
}

/**
 * Validates an untrusted body and returns the normalised JobGraph.
 * Throws JobValidationError whose `errors` each name a field.
 */
export function validateJobGraph(body: unknown): JobGraph {
  const errors: string[] = [];
  if (!isRecord(body)) {
    throw new JobValidationError([`body: must be a JSON object {name, vertices, edges, checkpointing?, restartStrategy?} (got ${describe(body)})`]);
  }
  unknownFields(body, TOP_FIELDS, '', errors);
  let name = 'Job';
  if (body.name !== undefined) {
    if (typeof body.name !== 'string' || body.name.length > MAX_NAME_LENGTH) {
      errors.push(`name: must be a string of at most ${MAX_NAME_LENGTH} characters (got ${describe(body.name)})`);
    } else name = body.name;
  }

  const vertices: JobVertexSpec[] = [];
  const vertexIndex: number[] = []; // position in the body, for messages
  let verticesComplete = false;
  if (body.vertices === undefined) errors.push('vertices: required, a non-empty array of {id, name?, parallelism, maxParallelism?, config?}');
  else if (!Array.isArray(body.vertices)) errors.push(`vertices: must be an array (got ${describe(body.vertices)})`);
  else if (body.vertices.length === 0) errors.push('vertices: must contain at least one vertex');
  else if (body.vertices.length > MAX_VERTICES) errors.push(`vertices: at most ${MAX_VERTICES} vertices (got ${body.vertices.length})`);
  else {
    verticesComplete = true;
    body.vertices.forEach((v, i) => {
      const spec = validateVertex(v, i, errors);
      if (spec) {
        vertices.push(spec);
        vertexIndex.push(i);
      } else verticesComplete = false;
    });
  }

  const edges: JobEdgeSpec[] = [];
  const edgeIndex: number[] = []; // position in the body, for messages
  if (body.edges !== undefined) {
    if (!Array.isArray(body.edges)) errors.push(`edges: must be an array (got ${describe(body.edges)})`);
    else if (body.edges.length > MAX_EDGES) errors.push(`edges: at most ${MAX_EDGES} edges (got ${body.edges.length})`);
    else
      body.edges.forEach((e, i) => {
        const spec = validateEdge(e, i, errors);
        if (spec) {
          edges.push(spec);
          edgeIndex.push(i);
        }
      });
  }

  const checkpointing = validateCheckpointing(body.checkpointing, errors);
  const restartStrategy = validateRestartStrategy(body.restartStrategy, errors);

  // --- graph checks ---
  const positions = new Map<string, number>();
  vertices.forEach((v, i) => {
    const first = positions.get(v.id);
    if (first !== undefined) errors.push(`vertices[${vertexIndex[i]}].id: duplicate vertex id "${v.id}" (first used by vertices[${vertexIndex[first]}])`);
    else positions.set(v.id, i);
  });
  const seenEdges = new Set<string>();
  edges.forEach((e, k) => {
    const path = `edges[${edgeIndex[k]}]`;
    // Only blame an unknown end when the vertex list itself was valid.
    if (verticesComplete) {
      if (!positions.has(e.source)) errors.push(`${path}.source: unknown vertex "${e.source}"`);
      if (!positions.has(e.target)) errors.push(`${path}.target: unknown vertex "${e.target}"`);
    }
    if (e.source === e.target) errors.push(`${path}: self-loop on vertex "${e.source}" (the graph must be acyclic)`);
    const key = `${e.source}\0${e.target}`;
    if (seenEdges.has(key)) errors.push(`${path}: duplicate edge "${e.source}" -> "${e.target}"`);
    seenEdges.add(key);
  });
  const subtasks = vertices.reduce((n, v) => n + v.parallelism, 0);
  if (subtasks > MAX_SUBTASKS_PER_JOB) {
    errors.push(`vertices: the parallelism of all vertices adds up to ${subtasks} subtasks, more than the ${MAX_SUBTASKS_PER_JOB} accepted per job`);
  }
  if (errors.length === 0) {
    const cycle = findCycle(vertices, edges);
    if (cycle) errors.push(`edges: cycle ${cycle.map((c) => `"${c}"`).join(' -> ')} (the graph must be acyclic)`);
  }
  if (errors.length > 0) throw new JobValidationError(errors);
  return {
    name,
    vertices,
    edges,
    ...(checkpointing ? { checkpointing } : {}),
    ...(restartStrategy ? { restartStrategy } : {}),
  };
}

/** Returns one cycle as a list of vertex ids (first repeated at the end), or undefined. */
function findCycle(vertices: readonly JobVertexSpec[], edges: readonly JobEdgeSpec[]): string[] | undefined {
  const out = new Map<string, string[]>();
  for (const v of vertices) out.set(v.id, []);
  for (const e of edges) out.get(e.source)?.push(e.target);
  const color = new Map<string, number>(); // 0 white, 1 on stack, 2 done
  const parent = new Map<string, string>();
  for (const start of vertices) {
    if (color.get(start.id)) continue;
    // iterative DFS (a deep chain must not overflow the stack)
    const stack: { id: string; next: number }[] = [{ id: start.id, next: 0 }];
    color.set(start.id, 1);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const targets = out.get(top.id)!;
      if (top.next >= targets.length) {
        color.set(top.id, 2);
        stack.pop();
        continue;
      }
      const t = targets[top.next++]!;
      const c = color.get(t) ?? 0;
      if (c === 1) {
        const cycle = [t];
        for (let x = top.id; x !== t; x = parent.get(x)!) cycle.push(x);
        cycle.push(t);
        return cycle.reverse();
      }
      if (c === 0) {
        color.set(t, 1);
        parent.set(t, top.id);
        stack.push({ id: t, next: 0 });
      }
    }
  }
  return undefined;
}
