// `helm upgrade` rolls the JobManager pod exactly when its plan or its config
// changes: the pod template's env and checksum/config annotation follow
// resources.limits.memory and `config`, and nothing else (not the random token).
import t from 'tap';
import { containerEnv, helmTestOptions, jobManagerDeployment, type Manifest, render } from './helm.js';

async function podTemplate(values: object): Promise<{ env: Record<string, string>; checksum: string; template: Manifest }> {
  const out = await render(values, { extraArgs: ['--show-only', 'templates/deployment.yaml'] });
  if (out.code !== 0) throw new Error(out.stderr);
  const d = jobManagerDeployment(out.manifests);
  return { env: containerEnv(d), checksum: d.spec.template.metadata.annotations['checksum/config'], template: d.spec.template };
}

t.test('pod template follows the memory limit and config', helmTestOptions(), async (t) => {
  const base = await podTemplate({});
  const again = await podTemplate({});
  t.same(again.template, base.template, 'rendering twice gives the same pod template (the generated token is not part of it)');

  const bigger = await podTemplate({ resources: { limits: { memory: '2Gi' }, requests: { memory: '2Gi' } } });
  t.not(bigger.checksum, base.checksum, 'new memory limit: checksum/config changes');
  t.not(bigger.env.JOBMANAGER_PROCESS_MEMORY_SIZE, base.env.JOBMANAGER_PROCESS_MEMORY_SIZE, 'new memory limit: process size env changes');
  t.not(bigger.env.JOBMANAGER_HEAP_MEMORY_SIZE, base.env.JOBMANAGER_HEAP_MEMORY_SIZE, 'new memory limit: heap env changes');
  t.not(bigger.env.NODE_OPTIONS, base.env.NODE_OPTIONS, 'new memory limit: NODE_OPTIONS changes');
  t.equal(bigger.env.JOBMANAGER_PROCESS_MEMORY_SIZE, String(2 * 1024 ** 3));

  const sameBytes = await podTemplate({ resources: { limits: { memory: '1024Mi' } } });
  t.equal(sameBytes.checksum, base.checksum, 'the same limit written differently (1024Mi = 1Gi) does not roll the pod');

  const configured = await podTemplate({ config: { 'heartbeat.timeout': '60 s' } });
  t.not(configured.checksum, base.checksum, 'changed config: checksum/config changes');
  t.same(configured.env, base.env, 'changed config: the plan env stays');

  const override = await podTemplate({ memory: { offHeap: '128m' } });
  t.not(override.checksum, base.checksum, 'a memory override changes the checksum');
  t.equal(override.env.JOBMANAGER_OFFHEAP_MEMORY_SIZE, String(128 * 1024 ** 2));

  const cosmetic = await podTemplate({ service: { annotations: { team: 'streaming' } } });
  t.equal(cosmetic.checksum, base.checksum, 'unrelated values leave the checksum alone');
});
