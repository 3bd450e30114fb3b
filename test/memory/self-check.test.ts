// The boot-time self-check, driven with hand-made plans and inputs (no process
// state): injected values, NODE_OPTIONS, heap_size_limit, container limit.
import t from 'tap';
import { ConfigError } from '../../app/config/errors.js';
import type { MemoryPlan } from '../../app/memory/plan.js';
import { PLAN_256 } from '../helpers/plans.js';
import { checkMemoryPlan, expectedHeapSizeLimitBytes, heapFlagsOf, splitNodeOptions, type SelfCheckInputs } from '../../app/memory/self-check.js';

const MiB = 1024 * 1024;


const good = (over: Partial<SelfCheckInputs> = {}): SelfCheckInputs => ({
  plan: PLAN_256,
  env: {},
  heapSizeLimitBytes: 144 * MiB,
  cgroupLimitBytes: 256 * MiB,
  cgroupLimitFile: '/sys/fs/cgroup/memory/x/memory.limit_in_bytes',
  injectedContainerLimitBytes: undefined,
  originOf: (key) => (key === 'jobmanager.process.memory.size' ? 'cgroup memory limit' : 'default'),
  ...over,
});

type Test = Parameters<Parameters<typeof t.test>[0]>[0];

/** Runs the check expecting a ConfigError; returns its message. */
function refusal(t: Test, inputs: SelfCheckInputs): string {
  try {
    checkMemoryPlan(inputs);
  } catch (err) {
    t.ok(err instanceof ConfigError, 'a ConfigError');
    t.equal((err as ConfigError).exitCode, 78);
    const message = (err as Error).message;
    t.equal(message.includes('\n'), false, 'one line');
    return message;
  }
  t.fail('expected the self-check to refuse');
  return '';
}

t.test('a consistent process passes and reports the effective container limit', async (t) => {
  const r = checkMemoryPlan(good());
  t.equal(r.containerLimitBytes, 256 * MiB);
  t.equal(r.expectedHeapSizeLimitBytes, 144 * MiB);
  t.same(r.warnings, []);
});

t.test('heap_size_limit rounding measured on Node 20 and 24', async (t) => {
  // (old MiB, semi MiB) -> heap_size_limit MiB, as printed by
  // node --max-old-space-size=O --max-semi-space-size=S -p 'v8.getHeapStatistics().heap_size_limit / 2**20'
  const measured: [number, number, number][] = [
    [409, 4, 421],
    [100, 1, 103],
    [150, 2, 156],
    [1000, 16, 1048],
    [3000, 64, 3192],
    [33, 1, 36],
    [500, 3, 512],
    [500, 5, 524],
    [500, 7, 524],
    [500, 48, 692],
    [500, 100, 884],
  ];
  for (const [oldMiB, semiMiB, limitMiB] of measured) {
    t.equal(expectedHeapSizeLimitBytes(oldMiB, semiMiB), limitMiB * MiB, `old ${oldMiB} semi ${semiMiB}`);
  }
});

t.test('heapFlagsOf reads both spellings and the last occurrence', async (t) => {
  t.same(heapFlagsOf(['--max-old-space-size=100', '--max_semi_space_size=2', '--max-old-space-size=200']), { oldMiB: 200, semiMiB: 2 });
  t.same(heapFlagsOf(['--max-old-space-size', '300']), { oldMiB: 300, semiMiB: undefined });
  t.same(heapFlagsOf(['--inspect']), { oldMiB: undefined, semiMiB: undefined });
});

t.test('NODE_OPTIONS is split as node splits it (quotes, escapes)', async (t) => {
  t.same(splitNodeOptions('  --a=1   --b '), ['--a=1', '--b']);
  t.same(splitNodeOptions('"--max-old-space-size=100" "--import=file:///x y/z.mjs"'), ['--max-old-space-size=100', '--import=file:///x y/z.mjs']);
  t.same(splitNodeOptions('--title="a \\"b\\" c"'), ['--title=a "b" c']);
  t.same(splitNodeOptions(''), []);
  const message = refusal(t, good({ env: { NODE_OPTIONS: '"--max-old-space-size=100" "--import=file:///tap/import.mjs"' } }));
  t.match(message, 'NODE_OPTIONS sets --max-old-space-size=100', 'quoted flags are seen');
});

t.test('a. injected values', async (t) => {
  await t.test('equal to the plan: pass (canonical and alias names)', async (t) => {
    const r = checkMemoryPlan(
      good({
        env: {
          JOBMANAGER_PROCESS_MEMORY_SIZE: String(256 * MiB),
          JOBMANAGER_MEMORY_HEAP_SIZE: '144Mi',
          JOBMANAGER_OFFHEAP_MEMORY_SIZE: '32m',
          JOBMANAGER_NETWORK_MEMORY_SIZE: String(16 * MiB),
          JOBMANAGER_HEAP_SEMI_SPACE_SIZE: String(2 * MiB),
        },
      }),
    );
    t.same(r.warnings, []);
  });
  await t.test('sizes the plan takes in whole MiB compare in whole MiB', async (t) => {
    // 256 MiB + 1000 bytes is planned as 256 MiB: the same input, not a conflict.
    const r = checkMemoryPlan(good({ env: { JOBMANAGER_PROCESS_MEMORY_SIZE: String(256 * MiB + 1000), JOBMANAGER_HEAP_MEMORY_SIZE: String(144 * MiB + 5) } }));
    t.same(r.warnings, []);
    // Network is taken as given, so a byte off is a conflict.
    t.match(refusal(t, good({ env: { JOBMANAGER_NETWORK_MEMORY_SIZE: String(16 * MiB + 1) } })), /jobmanager\.network\.memory\.size/);
    t.match(refusal(t, good({ env: { JOBMANAGER_PROCESS_MEMORY_SIZE: String(257 * MiB) } })), /jobmanager\.process\.memory\.size/);
  });
  const cases: [string, string, RegExp][] = [
    ['JOBMANAGER_HEAP_MEMORY_SIZE', String(200 * MiB), /jobmanager\.heap\.memory\.size is 150994944 bytes, 144\.000mb/],
    ['JOBMANAGER_MEMORY_PROCESS_SIZE', '512m', /jobmanager\.process\.memory\.size is 268435456 bytes, 256\.000mb, from cgroup memory limit/],
    ['JOBMANAGER_OFFHEAP_MEMORY_SIZE', String(64 * MiB), /jobmanager\.offheap\.memory\.size/],
    ['JOBMANAGER_NETWORK_MEMORY_SIZE', String(8 * MiB), /jobmanager\.network\.memory\.size/],
    ['JOBMANAGER_HEAP_SEMI_SPACE_SIZE', String(4 * MiB), /jobmanager\.heap\.semi-space\.size/],
  ];
  for (const [variable, value, names] of cases) {
    await t.test(`${variable}=${value} disagreeing`, async (t) => {
      const message = refusal(t, good({ env: { [variable]: value } }));
      t.match(message, `${variable}=${value}`);
      t.match(message, names);
    });
  }
  await t.test('an unparseable injected value names the variable', async (t) => {
    const message = refusal(t, good({ env: { JOBMANAGER_HEAP_MEMORY_SIZE: 'lots' } }));
    t.match(message, /jobmanager\.heap\.memory\.size "lots" \(env JOBMANAGER_HEAP_MEMORY_SIZE\)/);
  });
});

t.test('b. NODE_OPTIONS disagreeing with the plan', async (t) => {
  const message = refusal(
    t,
    good({ env: { JOBMANAGER_HEAP_MEMORY_SIZE: String(144 * MiB), NODE_OPTIONS: '--enable-source-maps --max-old-space-size=400 --max-semi-space-size=2' } }),
  );
  t.match(message, 'NODE_OPTIONS sets --max-old-space-size=400');
  t.match(message, '--max-old-space-size=138');
  t.match(message, /jobmanager\.heap\.memory\.size is 150994944 bytes, 144\.000mb/);

  const semi = refusal(t, good({ env: { NODE_OPTIONS: '--max-semi-space-size=16' } }));
  t.match(semi, 'NODE_OPTIONS sets --max-semi-space-size=16 but the memory plan needs --max-semi-space-size=2');

  t.same(checkMemoryPlan(good({ env: { NODE_OPTIONS: '--max-old-space-size=138 --max-semi-space-size=2' } })).warnings, [], 'equal flags pass');
  t.same(checkMemoryPlan(good({ env: { NODE_OPTIONS: '--enable-source-maps' } })).warnings, [], 'no heap flags pass');
});

t.test('c. heap_size_limit', async (t) => {
  await t.test('node started without the flags', async (t) => {
    const message = refusal(t, good({ heapSizeLimitBytes: 4345298944 }));
    t.match(message, 'V8 heap_size_limit is 4345298944 bytes');
    t.match(message, 'needs 150994944 bytes, 144.000mb');
    t.match(message, 'bin/jobmanager');
  });
  await t.test('off by one MiB is a mismatch, too (no tolerance beyond the measured rounding)', async (t) => {
    refusal(t, good({ heapSizeLimitBytes: 145 * MiB }));
  });
  await t.test('a non-power-of-two semi-space passes with V8 rounding and a warning', async (t) => {
    const plan: MemoryPlan = {
      ...PLAN_256,
      semiSpaceBytes: 3 * MiB,
      youngGenerationBytes: 9 * MiB,
      oldGenerationBytes: 135 * MiB,
      nodeFlags: ['--max-old-space-size=135', '--max-semi-space-size=3'],
    };
    const r = checkMemoryPlan(good({ plan, heapSizeLimitBytes: (135 + 12) * MiB }));
    t.match(r.warnings.join('\n'), /not a power of two: V8 rounds it up to 4 MiB/);
  });
});

t.test('d. process size vs container limit', async (t) => {
  await t.test('cgroup limit below the process size', async (t) => {
    const message = refusal(t, good({ cgroupLimitBytes: 200 * MiB }));
    t.match(message, 'jobmanager.process.memory.size (268435456 bytes, 256.000mb');
    t.match(message, "container's memory limit (209715200 bytes, 200.000mb, cgroup /sys/fs/cgroup/memory/x/memory.limit_in_bytes)");
  });
  await t.test('injected limit (JOBMANAGER_CONTAINER_MEMORY_LIMIT) below the process size, no cgroup', async (t) => {
    const message = refusal(t, good({ cgroupLimitBytes: undefined, injectedContainerLimitBytes: 128 * MiB }));
    t.match(message, '134217728 bytes, 128.000mb, jobmanager.container.memory.limit');
  });
  await t.test('the tighter of cgroup and injected applies, with a warning when they differ', async (t) => {
    const r = checkMemoryPlan(good({ cgroupLimitBytes: 512 * MiB, injectedContainerLimitBytes: 256 * MiB }));
    t.equal(r.containerLimitBytes, 256 * MiB);
    t.match(r.warnings.join('\n'), /differs from the cgroup limit/);
  });
  await t.test('no limit anywhere: pass', async (t) => {
    t.equal(checkMemoryPlan(good({ cgroupLimitBytes: undefined })).containerLimitBytes, undefined);
  });
});
