// GET /jobmanager/metrics in Flink's shape: without `get`, the available
// metric ids `[{id}]`; with `?get=a,b`, `[{id, value}]` (values as strings,
// as Flink does; unknown ids are left out, as Flink does). The ids and their
// values come from app/memory/flink-metrics.ts (docs/rest-api.md has the
// table); this adapter adds the cluster ids read from the Dispatcher and
// Status.JVM.Threads.Count (libuv threadpool size + the main thread), which
// comes from the environment (app/memory reads none).
import type { FastifyPluginAsync } from 'fastify';
import type { DispatcherApi } from '../../jobs/types.js';
import { flinkJvmGauges, type FlinkGauge } from '../../memory/flink-metrics.js';

export interface FlinkMetricsRestOptions {
  readonly dispatcher: Pick<DispatcherApi, 'overview'>;
  /**
   * The memory runtime's ids (app/memory/flink-metrics.ts flinkGauges: Status.JVM.*,
   * Status.Network.*, Status.JobManager.*). Without them only the JVM ids are served,
   * with GC figures 0 (no prom-client registry to read them from).
   */
  readonly gauges?: ReadonlyMap<string, FlinkGauge>;
}

/** libuv sizes its threadpool once, from the environment at startup, so it is read once. */
const UV_THREADPOOL_SIZE = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/** Flink's cluster ids, from the Dispatcher's overview, and the thread count. */
export function clusterGauges(dispatcher: Pick<DispatcherApi, 'overview'>): Map<string, FlinkGauge> {
  return new Map<string, FlinkGauge>([
    ['Status.JVM.Threads.Count', () => UV_THREADPOOL_SIZE + 1],
    ['numRegisteredTaskManagers', () => dispatcher.overview().taskmanagers],
    ['numRunningJobs', () => dispatcher.overview()['jobs-running']],
    ['taskSlotsTotal', () => dispatcher.overview()['slots-total']],
    ['taskSlotsAvailable', () => dispatcher.overview()['slots-available']],
  ]);
}

export const flinkMetricsRest: FastifyPluginAsync<FlinkMetricsRestOptions> = async (app, { dispatcher, gauges }) => {
  const all = new Map<string, FlinkGauge>([...(gauges ?? flinkJvmGauges()), ...clusterGauges(dispatcher)]);

  app.get<{ Querystring: { get?: string } }>('/jobmanager/metrics', async (request) => {
    const get = request.query.get;
    if (get === undefined || get.trim() === '') return [...all.keys()].map((id) => ({ id }));
    const out: { id: string; value: string }[] = [];
    for (const id of new Set(get.split(',').map((s) => s.trim()))) {
      const gauge = all.get(id);
      if (gauge !== undefined) out.push({ id, value: String(await gauge()) });
    }
    return out;
  });
};
