// The simulator's endpoint (JobManager -> TaskManager calls) requires the same
// bearer token on every route, and routes by TaskManager id.
import t from 'tap';
import { pino } from 'pino';
import { TM_PATHS, tmPath } from '../../app/http/rpc/protocol.js';
import { buildSimulatorServer } from '../../app/taskmanager-sim/server.js';

const TOKEN = 'tm-side-token';

t.test('401 without or with a wrong token on every route; 404 for a TaskManager it does not host', async (t) => {
  const app = buildSimulatorServer({ token: TOKEN, maxBodyBytes: 1 << 20, logger: pino({ level: 'silent' }), taskManager: () => undefined });
  t.teardown(() => app.close());
  for (const kind of Object.keys(TM_PATHS) as (keyof typeof TM_PATHS)[]) {
    const url = tmPath(kind, 'tm-x');
    for (const headers of [{}, { authorization: 'Bearer nope' }]) {
      const res = await app.inject({ method: 'POST', url, headers, payload: {} });
      t.equal(res.statusCode, 401, `${kind} with ${JSON.stringify(headers)}`);
      t.ok(Array.isArray(res.json().errors));
    }
  }
  const unknown = await app.inject({ method: 'POST', url: tmPath('cancel', 'tm-x'), headers: { authorization: `Bearer ${TOKEN}` }, payload: { executionAttemptIds: ['a'] } });
  t.equal(unknown.statusCode, 404);
  t.match(unknown.json(), { errors: [/no TaskManager tm-x at this address/] });
});
