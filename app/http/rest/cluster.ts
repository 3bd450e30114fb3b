// All cluster REST endpoints (jobs, overview, /config, taskmanagers, Flink
// metrics) as one plugin for the composition root. Registered unprefixed and
// under /v1, as Flink serves its REST API v1 at both.
import type { FastifyPluginAsync } from 'fastify';
import type { ResourceManagerApi } from '../../cluster/types.js';
import type { DispatcherApi } from '../../jobs/types.js';
import type { FlinkGauge } from '../../memory/flink-metrics.js';
import { clusterRestErrorHandler } from './errors-domain.js';
import { jobsRest } from './jobs.js';
import { flinkMetricsRest } from './metrics-flink.js';
import { overviewRest } from './overview.js';
import { taskManagersRest } from './taskmanagers.js';

export interface ClusterRestOptions {
  readonly dispatcher: DispatcherApi;
  readonly resourceManager: ResourceManagerApi;
  /** Resolves once a submitted job's JobGraph is durable (app/checkpoints); POST /jobs waits for it. */
  readonly whenJobPersisted?: (jobId: string) => Promise<void>;
  /** The /jobmanager/metrics ids besides the cluster ones (the memory runtime's flinkGauges). */
  readonly flinkMetricGauges?: ReadonlyMap<string, FlinkGauge>;
}

export const clusterRest: FastifyPluginAsync<ClusterRestOptions> = async (app, { dispatcher, resourceManager, whenJobPersisted, flinkMetricGauges }) => {
  for (const prefix of ['', '/v1']) {
    await app.register(async (scope) => {
      scope.setErrorHandler(clusterRestErrorHandler(app.initialConfig.bodyLimit ?? 1048576));
      await scope.register(jobsRest, { dispatcher, ...(whenJobPersisted ? { whenJobPersisted } : {}) });
      await scope.register(overviewRest, { dispatcher });
      await scope.register(taskManagersRest, { resourceManager });
      await scope.register(flinkMetricsRest, { dispatcher, ...(flinkMetricGauges ? { gauges: flinkMetricGauges } : {}) });
    }, { prefix });
  }
};
