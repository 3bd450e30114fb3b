// `npm start`'s local cluster (scripts/local-cluster.js): the JobManager
// through bin/jobmanager plus one simulated TaskManager that registers by
// itself, so an example JobGraph runs at once; SIGTERM stops both.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { distMissingReason, ROOT } from '../helpers/launcher.js';
import { until } from './cluster-harness.js';

const missing = distMissingReason();
if (missing !== undefined) {
  if (process.env['CI']) throw new Error(missing);
  t.plan(0, `needs a build: ${missing}`);
} else {
  t.test('local cluster: one TaskManager registers by itself; examples/streaming-pipeline.json runs; SIGTERM stops everything', async (t) => {
    const cwd = mkdtempSync(join(tmpdir(), 'jm-local-'));
    const child = spawn(process.execPath, [join(ROOT, 'scripts', 'local-cluster.js'), '--rest.port=0', '--jobmanager.rpc.port=0'], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: cwd },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    t.teardown(async () => {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(cwd, { recursive: true, force: true });
    });

    const restUrl = await until('the REST address in the log', async () => /"restAddress":"([^"]+)"/.exec(out)?.[1]);
    const get = async <T>(path: string): Promise<T> => (await (await fetch(`${restUrl}${path}`)).json()) as T;
    await until('the local TaskManager', async () => ((await get<{ taskmanagers: number }>('/overview')).taskmanagers === 1 ? true : undefined));
    const tms = (await get<{ taskmanagers: unknown[] }>('/taskmanagers')).taskmanagers;
    t.match(tms, [{ id: 'local-taskmanager-0', slotsNumber: 4 }]);

    const res = await fetch(`${restUrl}/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: readFileSync(join(ROOT, 'examples', 'streaming-pipeline.json')),
    });
    t.equal(res.status, 202);
    const { jobid } = (await res.json()) as { jobid: string };
    await until('the example job RUNNING', async () => ((await get<{ state: string }>(`/jobs/${jobid}`)).state === 'RUNNING' ? true : undefined));

    child.kill('SIGTERM');
    t.equal(await exited, 0, 'the local cluster exits 0 on SIGTERM');
    t.match(out, /stopping simulated TaskManagers/, 'the simulator was stopped too');
    const simPid = /"pid":(\d+),[^\n]*"name":"taskmanager-sim"/.exec(out)?.[1];
    t.ok(simPid, 'the simulator logged its pid');
    await until('the simulator process is gone', async () => {
      try {
        process.kill(Number(simPid), 0);
        return undefined;
      } catch {
        return true;
      }
    });
  });
}
