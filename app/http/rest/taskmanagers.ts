// GET /taskmanagers and /taskmanagers/:id in Flink's shapes, from the
// ResourceManager's registry.
import type { FastifyPluginAsync } from 'fastify';
import type { ResourceManagerApi } from '../../cluster/types.js';

export interface TaskManagersRestOptions {
  readonly resourceManager: Pick<ResourceManagerApi, 'listTaskManagers' | 'getTaskManager'>;
}

export const taskManagersRest: FastifyPluginAsync<TaskManagersRestOptions> = async (app, { resourceManager }) => {
  app.get('/taskmanagers', async () => ({ taskmanagers: resourceManager.listTaskManagers() }));

  app.get<{ Params: { taskmanagerid: string } }>('/taskmanagers/:taskmanagerid', async (request, reply) => {
    const id = request.params.taskmanagerid;
    const details = resourceManager.getTaskManager(id);
    if (details === undefined) {
      return reply.code(404).send({ errors: [`TaskManager ${id.slice(0, 128)} not found (it never registered or was lost; see GET /taskmanagers)`] });
    }
    return details;
  });
};
