// `helm lint --strict` for the default values and every chart/ci/*-values.yaml,
// and every manifest they render validated offline against the Kubernetes
// OpenAPI schemas (kubernetes-models). Also the pod-level promises of the
// chart: security context, probes, Recreate, Downward API, config checksum.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  CHART,
  containerEnv,
  find,
  findHelm,
  helmTestOptions,
  jobManagerDeployment,
  type Manifest,
  mapLimit,
  render,
  run,
} from './helm.js';

const ciFiles = readdirSync(join(CHART, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();
const variants: { name: string; files: string[] }[] = [
  { name: 'default values', files: [] },
  ...ciFiles.map((f) => ({ name: `ci/${f}`, files: [join(CHART, 'ci', f)] })),
];

/** kubernetes-models class for apiVersion/kind, e.g. apps/v1 Deployment. */
async function modelFor(apiVersion: string, kind: string): Promise<new (data: object) => { validate(): void }> {
  const path = apiVersion.includes('/') ? apiVersion : `v1`; // core group lives under kubernetes-models/v1
  const mod = (await import(`kubernetes-models/${path}/${kind}`)) as Record<string, unknown>;
  const cls = mod[kind] ?? mod.default;
  if (typeof cls !== 'function') throw new Error(`kubernetes-models has no ${apiVersion} ${kind}`);
  return cls as new (data: object) => { validate(): void };
}

t.test('chart lint and offline schema validation', helmTestOptions(), async (t) => {
  const helm = findHelm();
  t.ok(helm, 'helm is available');
  if (!helm) return;
  t.ok(ciFiles.length >= 6, `chart/ci has the main variants (${ciFiles.join(', ')})`);

  await mapLimit(variants, 2, async (variant) => {
    const args = ['lint', '--strict', CHART, ...variant.files.flatMap((f) => ['-f', f])];
    const lint = await run(helm, args);
    t.equal(lint.code, 0, `helm lint --strict: ${variant.name}`, { stdout: lint.stdout, stderr: lint.stderr });
  });

  for (const variant of variants) {
    const out = await render({}, { valuesFiles: variant.files });
    t.equal(out.code, 0, `renders: ${variant.name}`, { stderr: out.stderr });
    t.ok(out.manifests.length >= 4, `${variant.name}: renders the release's objects`);
    for (const m of out.manifests) {
      const label = `${variant.name}: ${m.apiVersion} ${m.kind} ${m.metadata?.name}`;
      try {
        const Model = await modelFor(m.apiVersion, m.kind);
        new Model(m).validate();
        t.pass(`valid ${label}`);
      } catch (err) {
        t.fail(`invalid ${label}: ${(err as Error).message}`);
      }
    }
  }
});

t.test('schema rejects what the chart cannot honour', helmTestOptions(), async (t) => {
  const cases: [string, object, RegExp][] = [
    ['unknown top-level key', { replicaCount: 2 }, /replicaCount/],
    ['memory limit in milli-bytes', { resources: { limits: { memory: '512m' } } }, /resources\/limits\/memory/],
    ['memory override that is no size', { memory: { heap: 'lots' } }, /memory\/heap/],
    ['unknown memory key', { memory: { young: '8m' } }, /young/],
    ['service port out of range', { service: { restPort: 70000 } }, /restPort/],
  ];
  await mapLimit(cases, 2, async ([name, values, re]) => {
    const out = await render(values);
    t.not(out.code, 0, `${name}: helm template fails`);
    t.match(out.stderr, re, `${name}: the message names the value`);
  });
});

t.test('pod contract of the default render', helmTestOptions(), async (t) => {
  const out = await render({});
  t.equal(out.code, 0, 'renders', { stderr: out.stderr });
  const d = jobManagerDeployment(out.manifests);
  const pod = d.spec.template.spec as Manifest;
  const c = pod.containers[0] as Manifest;
  t.equal(d.spec.replicas, 1, 'one JobManager');
  t.equal(d.spec.strategy.type, 'Recreate', 'Recreate: the storage directory is single-writer');
  t.equal(pod.automountServiceAccountToken, false, 'no service-account token');
  t.equal(pod.securityContext.runAsNonRoot, true, 'runAsNonRoot');
  t.equal(pod.securityContext.runAsUser, 1000, 'uid 1000');
  t.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault', 'seccomp RuntimeDefault');
  t.equal(c.securityContext.readOnlyRootFilesystem, true, 'read-only root filesystem');
  t.same(c.securityContext.capabilities.drop, ['ALL'], 'drops ALL capabilities');
  t.equal(c.securityContext.allowPrivilegeEscalation, false, 'no privilege escalation');
  const tmp = c.volumeMounts.find((m: Manifest) => m.mountPath === '/tmp');
  t.ok(tmp, 'writable /tmp mounted');
  t.ok(pod.volumes.find((v: Manifest) => v.name === tmp.name).emptyDir, '/tmp is an emptyDir');
  t.equal(c.startupProbe.httpGet.path, '/readyz', 'startup probe on /readyz');
  t.equal(c.readinessProbe.httpGet.path, '/readyz', 'readiness probe on /readyz');
  t.equal(c.livenessProbe.httpGet.path, '/healthz', 'liveness probe on /healthz');
  const env = containerEnv(d);
  const shutdownSeconds = Number(/^(\d+) s$/.exec(env.JOBMANAGER_SHUTDOWN_TIMEOUT ?? '')?.[1]);
  t.ok(pod.terminationGracePeriodSeconds > shutdownSeconds, 'grace period is longer than the graceful-shutdown delay');
  t.equal(env.REST_BIND_ADDRESS, '0.0.0.0', 'REST reachable from the Service');
  t.equal(env.JOBMANAGER_RPC_BIND_ADDRESS, '0.0.0.0', 'RPC reachable from the Service');
  t.equal(env.JOBMANAGER_CONFIG_FILE, '/etc/jobmanager/appsettings.json', 'config file from the ConfigMap');
  t.match(env.JOBMANAGER_STORAGE_DIR, /^\/var\/lib\/jobmanager\//, 'storage on the storage volume');
  const limitVar = c.env.find((e: Manifest) => e.name === 'JOBMANAGER_CONTAINER_MEMORY_LIMIT');
  t.same(limitVar.valueFrom.resourceFieldRef, { containerName: 'jobmanager', resource: 'limits.memory' }, 'container limit via the Downward API');
  t.match(d.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/, 'checksum/config annotation');
  // Only keys of the app's registry are injected (unknown JOBMANAGER_* vars make it warn).
  const { KEYS } = await import('../../app/config/keys.js');
  const known = new Set(
    KEYS.flatMap((k) => [k.key, ...k.aliases]).map((k) => k.toUpperCase().replace(/[.-]/g, '_')),
  );
  known.add('JOBMANAGER_CONFIG_FILE');
  for (const e of c.env as Manifest[]) {
    if (e.name === 'NODE_OPTIONS') continue;
    t.ok(known.has(e.name), `${e.name} is a key the app knows`);
  }
  const cm = find(out.manifests, 'ConfigMap', '-config');
  t.ok(cm?.data?.['appsettings.json'], 'ConfigMap carries appsettings.json');
  const secret = find(out.manifests, 'Secret', '-rpc');
  t.ok(secret?.data?.token, 'a generated RPC token Secret');
  t.notOk(find(out.manifests, 'PersistentVolumeClaim'), 'no PVC by default (emptyDir)');
  t.notOk(out.manifests.find((m) => m.metadata?.name?.endsWith('taskmanager-sim')), 'no simulator by default');
  const testPod = out.manifests.find((m) => m.kind === 'Pod' && m.metadata.annotations?.['helm.sh/hook'] === 'test');
  t.ok(testPod, 'a helm test pod');
});

t.test('variants: persistence, existing secret, simulator, config', helmTestOptions(), async (t) => {
  const pers = await render({}, { valuesFiles: [join(CHART, 'ci', 'persistence-values.yaml')] });
  const pvc = find(pers.manifests, 'PersistentVolumeClaim');
  t.ok(pvc, 'persistence creates a PVC');
  const pvcVolume = jobManagerDeployment(pers.manifests).spec.template.spec.volumes.find((v: Manifest) => v.name === 'storage');
  t.equal(pvcVolume.persistentVolumeClaim.claimName, pvc?.metadata.name, 'storage volume is the PVC');
  t.same(
    JSON.parse(find(pers.manifests, 'ConfigMap', '-config')?.data['appsettings.json']),
    { execution: { checkpointing: { interval: '10 s' } }, 'state.checkpoints.num-retained': 3 },
    'config is written to appsettings.json as given',
  );

  const existing = await render({}, { valuesFiles: [join(CHART, 'ci', 'existing-secret-values.yaml')] });
  t.notOk(find(existing.manifests, 'Secret'), 'existingSecret: the chart creates no Secret');
  const tokenVolume = jobManagerDeployment(existing.manifests).spec.template.spec.volumes.find((v: Manifest) => v.name === 'rpc-token');
  t.equal(tokenVolume.secret.secretName, 'my-jobmanager-rpc-token', 'token volume from the existing Secret');
  t.equal(containerEnv(jobManagerDeployment(existing.manifests)).JOBMANAGER_RPC_AUTH_TOKEN_FILE, '/var/run/secrets/jobmanager/rpc/rpc-token');

  const sim = await render({}, { valuesFiles: [join(CHART, 'ci', 'taskmanagers-values.yaml')] });
  const simDeployment = sim.manifests.find((m) => m.kind === 'Deployment' && m.metadata.name.endsWith('taskmanager-sim'));
  t.ok(simDeployment, 'simulator Deployment when enabled');
  const simContainer = simDeployment?.spec.template.spec.containers[0];
  t.same(simContainer.command, ['node', 'dist/cli.js', 'taskmanager-sim'], 'the same image runs the simulator');
  t.match(simContainer.args.join(' '), /--jobmanager http:\/\/jm-jobmanager:6123 --count 4 --slots 8 --token-file \/var\/run\/secrets\/jobmanager\/rpc\/token --bind \$\(POD_IP\) --port 6122/, 'simulator args');
  t.equal(simContainer.image, jobManagerDeployment(sim.manifests).spec.template.spec.containers[0].image, 'same image');

  const managed = await render({ config: { 'rest.port': 9000 } });
  t.not(managed.code, 0, 'a key the chart sets is refused under config');
  t.match(managed.stderr, /config\.rest\.port is set by the chart; use the value service\.restPort/);
  const nested = await render({ config: { jobmanager: { heap: { memory: { size: '1g' } } } } });
  t.match(nested.stderr, /config\.jobmanager\.heap\.memory\.size is set by the chart; use the value memory\.heap/, 'nested keys too');

  const grace = await render({ shutdown: { timeoutSeconds: 30 }, terminationGracePeriodSeconds: 20 });
  t.match(grace.stderr, /terminationGracePeriodSeconds \(20\) must be larger than shutdown\.timeoutSeconds \(30\)/);
});

t.test('NOTES (printed by helm install) show the plan table for every variant', helmTestOptions(), async (t) => {
  const helm = findHelm();
  if (!helm) return t.fail('helm is available');
  await mapLimit(variants, 2, async (variant) => {
    const out = await run(helm, [
      'install', 'jm', CHART, '--dry-run=client', '--namespace', 'jm-test',
      ...variant.files.flatMap((f) => ['-f', f]),
    ]);
    t.equal(out.code, 0, `helm install --dry-run: ${variant.name}`, { stderr: out.stderr });
    const notes = out.stdout.slice(out.stdout.indexOf('NOTES:'));
    t.match(notes, /process\s+\d+\s+\d+\.\d{3}(mb|gb)/, `${variant.name}: plan table`);
    t.match(notes, /node flags: --max-old-space-size=\d+ --max-semi-space-size=\d+/, `${variant.name}: node flags`);
    t.match(notes, /port-forward service\/jm-jobmanager/, `${variant.name}: next commands`);
  });
});
