// The image, run as the chart runs it: scripts/container-e2e.sh builds it from
// the unchanged Dockerfile, renders the chart, runs the image under podman with
// the rendered env, uid, read-only root and --memory = limits.memory, checks
// the plan against the chart's, runs a job on simulated TaskManagers and
// requires SIGTERM -> exit 0. Skips without podman, except under CI
// (.ci/run installs it through scripts/ci-system-deps.sh).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { IN_CI, ROOT } from '../chart/helm.js';

// A first image build in CI (npm ci inside the build) can take minutes on a busy machine.
t.setTimeout(900_000);

const hasPodman = spawnSync('sh', ['-c', 'command -v podman'], { encoding: 'utf8' }).status === 0;
const options = hasPodman || IN_CI ? {} : { skip: 'podman is not installed (bash scripts/ci-system-deps.sh installs it; root needed)' };

function e2e(valuesFile: string, skipBuild: boolean): { status: number | null; output: string } {
  const result = spawnSync('bash', [join(ROOT, 'scripts', 'container-e2e.sh'), valuesFile], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, JM_E2E_SKIP_BUILD: skipBuild ? '1' : '0' },
    timeout: 280_000,
  });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

t.test('container e2e: tiny (192Mi) JobManager, build from the Dockerfile', options, async (t) => {
  const run = e2e('chart/ci/tiny-values.yaml', false);
  t.equal(run.status, 0, 'scripts/container-e2e.sh passes', { output: run.output.slice(-4000) });
  t.match(run.output, /plan equal in all \d+ fields/, 'the running plan equals the chart plan');
  t.match(run.output, /job [0-9a-f]{32}: FINISHED/, 'a job ran on simulated TaskManagers');
  t.match(run.output, /exit code 0 after/, 'SIGTERM -> exit 0');
});

t.test('container e2e: explicit heap/off-heap/network overrides', options, async (t) => {
  const run = e2e('chart/ci/explicit-heap-values.yaml', true);
  t.equal(run.status, 0, 'scripts/container-e2e.sh passes', { output: run.output.slice(-4000) });
  t.match(run.output, /--memory 2147483648/, 'runs under the 2Gi limit');
});

t.test('container e2e: decimal limit (1G = 10^9 bytes, not page-aligned) and an existing token Secret', options, async (t) => {
  const run = e2e('chart/ci/existing-secret-values.yaml', true);
  t.equal(run.status, 0, 'scripts/container-e2e.sh passes', { output: run.output.slice(-4000) });
  t.match(run.output, /cgroup memory limit: 999997440 bytes/, 'the kernel holds 1G in whole pages; the chart plans within it');
});
