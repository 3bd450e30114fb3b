// The compact ExecutionGraph: one ExecutionVertex per subtask, stored as
// columns of typed arrays per job vertex (state, attempt number, times,
// TaskManager), never one object per subtask and never one object per
// subtask PAIR. An ALL_TO_ALL job edge is one ConsumedPartitionGroup (the
// consumer side) and one ConsumerVertexGroup (the producer side), shared by
// all subtasks (Flink's 1.14 idea); POINTWISE edges are index arithmetic.
// Memory is O(subtasks + job edges).
import { randomHexId } from '../cluster/ids.js';
import { jobVertexIdOf } from './jobgraph.js';
import { EXECUTION_STATES, type DistributionPattern, type ExecutionState, type JobGraph, type JobVertexSpec, type TaskInputSummary } from './types.js';

export const NUM_STATES = EXECUTION_STATES.length;
export const STATE: { readonly [K in ExecutionState]: number } = Object.fromEntries(EXECUTION_STATES.map((s, i) => [s, i])) as {
  [K in ExecutionState]: number;
};
export function isTerminalCode(code: number): boolean {
  return code === STATE.FINISHED || code === STATE.CANCELED || code === STATE.FAILED;
}

/** A contiguous range of one vertex's subtasks: [start, end). */
export interface SubtaskRange {
  readonly vertex: number;
  readonly start: number;
  readonly end: number;
}

/** One job edge, seen from both ends. */
export interface ExecutionEdge {
  readonly index: number;
  readonly producer: number;
  readonly consumer: number;
  readonly distribution: DistributionPattern;
  /** ALL_TO_ALL only: the single group every consumer subtask consumes (all producer subtasks). */
  readonly consumedPartitionGroup: SubtaskRange | undefined;
  /** ALL_TO_ALL only: the single group every producer subtask feeds (all consumer subtasks). */
  readonly consumerVertexGroup: SubtaskRange | undefined;
}

// ---- POINTWISE index arithmetic, as Flink's EdgeManagerBuildUtil.connectPointwise ----

/** Producer subtasks [start, end) consumed by consumer subtask `c` (sources S, targets T). */
export function pointwiseInputs(S: number, T: number, c: number): [number, number] {
  if (S === T) return [c, c + 1];
  if (S > T) return [Math.floor((c * S) / T), Math.floor(((c + 1) * S) / T)];
  // S < T: each consumer reads exactly one producer p with ceil(p*T/S) <= c < ceil((p+1)*T/S)
  let p = Math.floor((c * S) / T);
  while (p + 1 < S && Math.ceil(((p + 1) * T) / S) <= c) p++;
  while (p > 0 && Math.ceil((p * T) / S) > c) p--;
  return [p, p + 1];
}

/** Consumer subtasks [start, end) fed by producer subtask `p`. */
export function pointwiseConsumers(S: number, T: number, p: number): [number, number] {
  if (S === T) return [p, p + 1];
  if (S < T) return [Math.ceil((p * T) / S), Math.ceil(((p + 1) * T) / S)];
  // S > T: each producer feeds exactly one consumer c with floor(c*S/T) <= p < floor((c+1)*S/T)
  let c = Math.floor((p * T) / S);
  while (c + 1 < T && Math.floor(((c + 1) * S) / T) <= p) c++;
  while (c > 0 && Math.floor((c * S) / T) > p) c--;
  return [c, c + 1];
}

/**
 * Prior attempts of each subtask, bounded: a ring of `capacity` records per
 * subtask, in typed arrays allocated on the first restart.
 */
export class AttemptHistory {
  private attempt: Uint32Array | undefined;
  private state: Uint8Array | undefined;
  private start: Float64Array | undefined;
  private end: Float64Array | undefined;
  private tm: Int32Array | undefined;
  private head: Uint8Array | undefined;
  private size: Uint8Array | undefined;

  constructor(
    private readonly parallelism: number,
    readonly capacity: number,
  ) {
    if (!(capacity >= 0 && capacity <= 255)) throw new RangeError('attempt history capacity must be 0..255');
  }

  record(subtask: number, attemptNumber: number, stateCode: number, startTime: number, endTime: number, tmIndex: number): void {
    if (this.capacity === 0) return;
    if (!this.attempt) {
      const n = this.parallelism * this.capacity;
      this.attempt = new Uint32Array(n);
      this.state = new Uint8Array(n);
      this.start = new Float64Array(n);
      this.end = new Float64Array(n);
      this.tm = new Int32Array(n);
      this.head = new Uint8Array(this.parallelism);
      this.size = new Uint8Array(this.parallelism);
    }
    const slot = subtask * this.capacity + this.head![subtask]!;
    this.attempt[slot] = attemptNumber;
    this.state![slot] = stateCode;
    this.start![slot] = startTime;
    this.end![slot] = endTime;
    this.tm![slot] = tmIndex;
    this.head![subtask] = (this.head![subtask]! + 1) % this.capacity;
    if (this.size![subtask]! < this.capacity) this.size![subtask]!++;
  }

  /** Newest first. */
  entries(subtask: number): { attemptNumber: number; state: ExecutionState; startTime: number; endTime: number; tmIndex: number }[] {
    if (!this.attempt) return [];
    const out = [];
    const n = this.size![subtask]!;
    for (let k = 1; k <= n; k++) {
      const slot = subtask * this.capacity + ((this.head![subtask]! - k + this.capacity) % this.capacity);
      out.push({
        attemptNumber: this.attempt[slot]!,
        state: EXECUTION_STATES[this.state![slot]!]!,
        startTime: this.start![slot]!,
        endTime: this.end![slot]!,
        tmIndex: this.tm![slot]!,
      });
    }
    return out;
  }
}

/** All subtasks of one job vertex, as columns. */
export class ExecutionJobVertex {
  readonly jobVertexId: string;
  readonly parallelism: number;
  readonly states: Uint8Array;
  readonly attempts: Uint32Array;
  /** Deployment time of the current attempt, -1 before. */
  readonly startTimes: Float64Array;
  /** Time the current attempt reached a terminal state, -1 before. */
  readonly endTimes: Float64Array;
  /** Interned TaskManager (ExecutionGraph.taskManagerName) of the current attempt, -1 = none. */
  readonly taskManagers: Int32Array;
  /** Subtasks per state code, kept current on every transition. */
  readonly counts: Int32Array;
  readonly inputs: ExecutionEdge[] = [];
  readonly outputs: ExecutionEdge[] = [];
  readonly history: AttemptHistory;

  constructor(
    readonly index: number,
    readonly spec: JobVertexSpec,
    readonly offset: number,
    historyCapacity: number,
  ) {
    this.jobVertexId = jobVertexIdOf(spec.id);
    const p = spec.parallelism;
    this.parallelism = p;
    this.states = new Uint8Array(p); // all CREATED (code 0)
    this.attempts = new Uint32Array(p);
    this.startTimes = new Float64Array(p).fill(-1);
    this.endTimes = new Float64Array(p).fill(-1);
    this.taskManagers = new Int32Array(p).fill(-1);
    this.counts = new Int32Array(NUM_STATES);
    this.counts[STATE.CREATED] = p;
    this.history = new AttemptHistory(p, historyCapacity);
  }
}

export class ExecutionGraph {
  readonly vertices: ExecutionJobVertex[];
  readonly edges: ExecutionEdge[];
  readonly totalSubtasks: number;
  /** max parallelism over vertices = slots needed with Flink's default slot sharing. */
  readonly slotsNeeded: number;
  /** 12 hex, the first part of every ExecutionAttemptID of this graph. */
  readonly attemptIdPrefix: string;
  /** Subtasks per state code over all vertices, kept current on every transition. */
  readonly totals = new Int32Array(NUM_STATES);
  private readonly byKey = new Map<string, number>();
  private readonly byJobVertexId = new Map<string, number>();
  private readonly tmNames: string[] = [];
  private readonly tmIndex = new Map<string, number>();

  constructor(jobGraph: JobGraph, historyCapacity = 16) {
    this.attemptIdPrefix = randomHexId().slice(0, 12);
    let offset = 0;
    let slots = 0;
    this.vertices = jobGraph.vertices.map((spec, i) => {
      const v = new ExecutionJobVertex(i, spec, offset, historyCapacity);
      offset += spec.parallelism;
      slots = Math.max(slots, spec.parallelism);
      this.byKey.set(spec.id, i);
      this.byJobVertexId.set(v.jobVertexId, i);
      return v;
    });
    this.totalSubtasks = offset;
    this.totals[STATE.CREATED] = offset;
    this.slotsNeeded = slots;
    this.edges = jobGraph.edges.map((e, index) => {
      const producer = this.byKey.get(e.source)!;
      const consumer = this.byKey.get(e.target)!;
      const all = e.distribution === 'ALL_TO_ALL';
      const edge: ExecutionEdge = {
        index,
        producer,
        consumer,
        distribution: e.distribution,
        consumedPartitionGroup: all ? { vertex: producer, start: 0, end: this.vertices[producer]!.parallelism } : undefined,
        consumerVertexGroup: all ? { vertex: consumer, start: 0, end: this.vertices[consumer]!.parallelism } : undefined,
      };
      this.vertices[producer]!.outputs.push(edge);
      this.vertices[consumer]!.inputs.push(edge);
      return edge;
    });
  }

  vertexByJobVertexId(jobVertexId: string): ExecutionJobVertex | undefined {
    const i = this.byJobVertexId.get(jobVertexId);
    return i === undefined ? undefined : this.vertices[i];
  }

  /** Producer subtasks consumed by subtask `s` of vertex `v`, one range per input edge. */
  inputRanges(v: number, s: number): SubtaskRange[] {
    const vertex = this.vertices[v]!;
    return vertex.inputs.map((e) => {
      if (e.consumedPartitionGroup) return e.consumedPartitionGroup;
      const [start, end] = pointwiseInputs(this.vertices[e.producer]!.parallelism, vertex.parallelism, s);
      return { vertex: e.producer, start, end };
    });
  }

  /** Consumer subtasks fed by subtask `s` of vertex `v`, one range per output edge. */
  outputRanges(v: number, s: number): SubtaskRange[] {
    const vertex = this.vertices[v]!;
    return vertex.outputs.map((e) => {
      if (e.consumerVertexGroup) return e.consumerVertexGroup;
      const [start, end] = pointwiseConsumers(vertex.parallelism, this.vertices[e.consumer]!.parallelism, s);
      return { vertex: e.consumer, start, end };
    });
  }

  inputSummaries(v: number, s: number): TaskInputSummary[] {
    return this.inputRanges(v, s).map((r, k) => ({
      sourceJobVertexId: this.vertices[r.vertex]!.jobVertexId,
      distribution: this.vertices[v]!.inputs[k]!.distribution,
      subtaskRange: [r.start, r.end] as const,
    }));
  }

  // ---- ExecutionAttemptID: 12 hex graph prefix + 8 hex vertex + 4 hex subtask + 8 hex attempt ----
  // Decodable like Flink's (ExecutionGraphID, ExecutionVertexID, attempt), so
  // incoming state updates need no id -> subtask map.

  attemptId(v: number, s: number): string {
    return (
      this.attemptIdPrefix +
      v.toString(16).padStart(8, '0') +
      s.toString(16).padStart(4, '0') +
      this.vertices[v]!.attempts[s]!.toString(16).padStart(8, '0')
    );
  }

  /** The subtask of a CURRENT attempt id; undefined for foreign, malformed or stale ids. */
  resolveAttemptId(id: string): { v: number; s: number } | undefined {
    if (id.length !== 32 || !id.startsWith(this.attemptIdPrefix)) return undefined;
    const v = parseInt(id.slice(12, 20), 16);
    const s = parseInt(id.slice(20, 24), 16);
    const attempt = parseInt(id.slice(24, 32), 16);
    const vertex = this.vertices[v];
    if (!vertex || !(s >= 0 && s < vertex.parallelism) || vertex.attempts[s] !== attempt) return undefined;
    if (this.attemptId(v, s) !== id) return undefined; // rejects non-hex/uppercase variants
    return { v, s };
  }

  // ---- state ----

  /** Sets the state of one subtask, keeping the per-vertex counts. Returns the previous code. */
  setState(v: number, s: number, code: number, now: number): number {
    const vertex = this.vertices[v]!;
    const old = vertex.states[s]!;
    if (old === code) return old;
    vertex.states[s] = code;
    vertex.counts[old]!--;
    vertex.counts[code]!++;
    this.totals[old]!--;
    this.totals[code]!++;
    if (code === STATE.DEPLOYING) vertex.startTimes[s] = now;
    if (isTerminalCode(code)) vertex.endTimes[s] = now;
    return old;
  }

  countIn(code: number): number {
    return this.totals[code]!;
  }

  nonTerminalCount(): number {
    return this.totalSubtasks - this.countIn(STATE.FINISHED) - this.countIn(STATE.CANCELED) - this.countIn(STATE.FAILED);
  }

  /** New attempts for every subtask: records the old one in the bounded history, resets to CREATED. */
  resetForRestart(): void {
    for (const vertex of this.vertices) {
      for (let s = 0; s < vertex.parallelism; s++) {
        vertex.history.record(s, vertex.attempts[s]!, vertex.states[s]!, vertex.startTimes[s]!, vertex.endTimes[s]!, vertex.taskManagers[s]!);
        vertex.attempts[s]!++;
      }
      vertex.states.fill(STATE.CREATED);
      vertex.counts.fill(0);
      vertex.counts[STATE.CREATED] = vertex.parallelism;
      vertex.startTimes.fill(-1);
      vertex.endTimes.fill(-1);
      vertex.taskManagers.fill(-1);
    }
    this.totals.fill(0);
    this.totals[STATE.CREATED] = this.totalSubtasks;
  }

  internTaskManager(taskManagerId: string): number {
    let i = this.tmIndex.get(taskManagerId);
    if (i === undefined) {
      i = this.tmNames.length;
      this.tmNames.push(taskManagerId);
      this.tmIndex.set(taskManagerId, i);
    }
    return i;
  }

  taskManagerName(index: number): string | undefined {
    return index < 0 ? undefined : this.tmNames[index];
  }

  // ---- failover regions ----

  /**
   * The subtasks to restart when subtask `s` of vertex `v` fails: its
   * pipelined region (everything connected to it through pipelined edges;
   * all edges of a streaming job are pipelined). Returns global subtask
   * indices (vertex offset + subtask). O(subtasks + edges): an ALL_TO_ALL
   * group is expanded once, not once per member.
   */
  tasksToRestart(v: number, s: number): Int32Array {
    const visited = new Uint8Array(this.totalSubtasks);
    const groupDone = new Uint8Array(this.edges.length * 2); // [2e] consumed side, [2e+1] consumer side
    const queue = new Int32Array(this.totalSubtasks);
    const vertexOf = new Int32Array(this.totalSubtasks);
    let head = 0;
    let tail = 0;
    const push = (vi: number, si: number): void => {
      const g = this.vertices[vi]!.offset + si;
      if (visited[g]) return;
      visited[g] = 1;
      vertexOf[tail] = vi;
      queue[tail++] = g;
    };
    const pushRange = (vi: number, start: number, end: number): void => {
      for (let i = start; i < end; i++) push(vi, i);
    };
    push(v, s);
    while (head < tail) {
      const vi = vertexOf[head]!;
      const g = queue[head++]!;
      const vertex = this.vertices[vi]!;
      const si = g - vertex.offset;
      for (const e of vertex.inputs) {
        if (e.consumedPartitionGroup) {
          if (groupDone[2 * e.index]) continue;
          groupDone[2 * e.index] = 1;
          pushRange(e.producer, 0, this.vertices[e.producer]!.parallelism);
        } else {
          const [a, b] = pointwiseInputs(this.vertices[e.producer]!.parallelism, vertex.parallelism, si);
          pushRange(e.producer, a, b);
        }
      }
      for (const e of vertex.outputs) {
        if (e.consumerVertexGroup) {
          if (groupDone[2 * e.index + 1]) continue;
          groupDone[2 * e.index + 1] = 1;
          pushRange(e.consumer, 0, this.vertices[e.consumer]!.parallelism);
        } else {
          const [a, b] = pointwiseConsumers(vertex.parallelism, this.vertices[e.consumer]!.parallelism, si);
          pushRange(e.consumer, a, b);
        }
      }
    }
    return queue.slice(0, tail);
  }
}
