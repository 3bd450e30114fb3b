// GET /overview (Flink's ClusterOverviewWithVersion) and GET /config (Flink's
// DashboardConfiguration, what the web UI reads first).
import type { FastifyPluginAsync } from 'fastify';
import type { DispatcherApi } from '../../jobs/types.js';
import { JOBMANAGER_REVISION, JOBMANAGER_VERSION } from './version.js';

export interface OverviewRestOptions {
  readonly dispatcher: Pick<DispatcherApi, 'overview'>;
  /** Dashboard refresh interval (Flink's web.refresh-interval, default 3000 ms). */
  readonly refreshIntervalMs?: number;
}

export const overviewRest: FastifyPluginAsync<OverviewRestOptions> = async (app, options) => {
  app.get('/overview', async () => ({
    ...options.dispatcher.overview(),
    // No blocklist here; Flink 1.17+ shows these two, always 0 without blocking.
    'taskmanagers-blocked': 0,
    'slots-free-and-blocked': 0,
    'flink-version': JOBMANAGER_VERSION,
    'flink-commit': JOBMANAGER_REVISION,
  }));

  app.get('/config', async () => {
    const offsetMinutes = -new Date().getTimezoneOffset();
    return {
      'refresh-interval': options.refreshIntervalMs ?? 3000,
      'timezone-name': Intl.DateTimeFormat().resolvedOptions().timeZone,
      'timezone-offset': offsetMinutes * 60_000,
      'flink-version': JOBMANAGER_VERSION,
      'flink-revision': JOBMANAGER_REVISION,
      features: {
        // Jar upload does not apply: jobs are JSON JobGraphs (POST /jobs).
        'web-submit': false,
        'web-cancel': true,
        'web-rescale': false,
        'web-history': false,
      },
    };
  });
};
