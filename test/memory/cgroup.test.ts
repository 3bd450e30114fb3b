// readContainerMemory against fixture trees (v1, v2, hybrid, nested, "max",
// cgroup namespaces, missing files). The real hierarchy of this host is
// covered by cgroup-host.test.ts.
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseMountInfo, readContainerMemory } from '../../app/memory/cgroup.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const PHYSICAL = 64 * GiB;
const V1_UNLIMITED = '9223372036854771712';

/** Writes files (path -> content) under a fresh directory; returns its path. */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'jm-cgroup-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, content] of Object.entries(files)) {
    const file = join(root, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }
  return root;
}

const read = (root: string, physical = PHYSICAL) =>
  readContainerMemory({ procRoot: join(root, 'proc'), sysfsRoot: join(root, 'fs'), physicalMemoryBytes: physical });

const V2_MOUNT = '30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
const V1_MOUNTS =
  '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n' +
  '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n' +
  '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n';
const HYBRID_MOUNTS = V1_MOUNTS + '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n';

t.test('cgroup v2: limit and usage of our cgroup', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/kubepods/burstable/pod1/c1\n',
    'proc/self/mountinfo': V2_MOUNT,
    'fs/sys/fs/cgroup/kubepods/burstable/pod1/c1/memory.max': '268435456\n',
    'fs/sys/fs/cgroup/kubepods/burstable/pod1/c1/memory.current': '12345678\n',
  });
  const m = read(root);
  t.equal(m.cgroupVersion, 2);
  t.equal(m.limitBytes, 256 * MiB);
  t.equal(m.usageBytes, 12345678);
  t.equal(m.cgroupPath, join(root, 'fs/sys/fs/cgroup/kubepods/burstable/pod1/c1'));
  t.same(m.warnings, []);
});

t.test('cgroup v2: "max" everywhere means no limit', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/user.slice/session-1.scope\n',
    'proc/self/mountinfo': V2_MOUNT,
    'fs/sys/fs/cgroup/user.slice/memory.max': 'max\n',
    'fs/sys/fs/cgroup/user.slice/session-1.scope/memory.max': 'max\n',
    'fs/sys/fs/cgroup/user.slice/session-1.scope/memory.current': '4096\n',
  });
  const m = read(root);
  t.equal(m.cgroupVersion, 2);
  t.equal(m.limitBytes, undefined);
  t.equal(m.usageBytes, 4096);
});

t.test('cgroup v2 nested: the tightest ancestor limit wins', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/kubepods/pod1/c1/worker\n',
    'proc/self/mountinfo': V2_MOUNT,
    'fs/sys/fs/cgroup/kubepods/memory.max': String(8 * GiB),
    'fs/sys/fs/cgroup/kubepods/pod1/memory.max': String(1 * GiB),
    'fs/sys/fs/cgroup/kubepods/pod1/c1/memory.max': String(512 * MiB),
    'fs/sys/fs/cgroup/kubepods/pod1/c1/worker/memory.max': 'max',
    'fs/sys/fs/cgroup/kubepods/pod1/c1/worker/memory.current': '1000',
  });
  const m = read(root);
  t.equal(m.limitBytes, 512 * MiB);
  t.equal(m.usageBytes, 1000, 'usage is our own cgroup, not the ancestor with the limit');
});

t.test('cgroup v2 in a cgroup namespace: path "/" is the mount point itself', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/\n',
    'proc/self/mountinfo': '1200 1100 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n',
    'fs/sys/fs/cgroup/memory.max': String(192 * MiB),
    'fs/sys/fs/cgroup/memory.current': '777',
  });
  const m = read(root);
  t.equal(m.cgroupVersion, 2);
  t.equal(m.limitBytes, 192 * MiB);
  t.equal(m.usageBytes, 777);
  t.equal(m.cgroupPath, join(root, 'fs/sys/fs/cgroup'));
});

t.test('cgroup v2 with the container cgroup mounted as root (no namespace, mount root = our path)', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/kubepods/pod9/c9\n',
    'proc/self/mountinfo': '700 600 0:26 /kubepods/pod9/c9 /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n',
    'fs/sys/fs/cgroup/memory.max': String(300 * MiB),
    'fs/sys/fs/cgroup/memory.current': '5',
  });
  const m = read(root);
  t.equal(m.limitBytes, 300 * MiB);
  t.equal(m.cgroupPath, join(root, 'fs/sys/fs/cgroup'));
});

t.test('cgroup v2: path outside the mount root (namespace shows "/..") falls back to the mount point', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/../../other\n',
    'proc/self/mountinfo': '700 600 0:26 /kubepods/pod9/c9 /sys/fs/cgroup ro - cgroup2 cgroup2 rw\n',
    'fs/sys/fs/cgroup/memory.max': String(300 * MiB),
  });
  const m = read(root);
  t.equal(m.limitBytes, 300 * MiB);
  t.equal(m.usageBytes, undefined, 'missing memory.current');
});

t.test('cgroup v1: memory.limit_in_bytes and memory.usage_in_bytes', async (t) => {
  const root = tree({
    'proc/self/cgroup': '9:name=systemd:/\n5:cpu,cpuacct:/\n4:memory:/docker/abc\n0::/\n',
    'proc/self/mountinfo': V1_MOUNTS,
    'fs/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
    'fs/sys/fs/cgroup/memory/docker/memory.limit_in_bytes': V1_UNLIMITED,
    'fs/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': String(256 * MiB),
    'fs/sys/fs/cgroup/memory/docker/abc/memory.usage_in_bytes': '94826496',
  });
  const m = read(root);
  t.equal(m.cgroupVersion, 1);
  t.equal(m.limitBytes, 256 * MiB);
  t.equal(m.usageBytes, 94826496);
  t.equal(m.cgroupPath, join(root, 'fs/sys/fs/cgroup/memory/docker/abc'));
});

t.test('cgroup v1 unlimited: the kernel sentinel is no limit', async (t) => {
  const root = tree({
    'proc/self/cgroup': '4:memory:/process_api/x\n',
    'proc/self/mountinfo': V1_MOUNTS,
    'fs/sys/fs/cgroup/memory/process_api/x/memory.limit_in_bytes': V1_UNLIMITED,
    'fs/sys/fs/cgroup/memory/process_api/x/memory.usage_in_bytes': '100',
  });
  const m = read(root);
  t.equal(m.cgroupVersion, 1);
  t.equal(m.limitBytes, undefined);
  t.equal(m.usageBytes, 100);
});

t.test('cgroup v1 nested: an ancestor limit applies (hierarchical)', async (t) => {
  const root = tree({
    'proc/self/cgroup': '4:memory:/pod/c/inner\n',
    'proc/self/mountinfo': V1_MOUNTS,
    'fs/sys/fs/cgroup/memory/pod/memory.limit_in_bytes': String(2 * GiB),
    'fs/sys/fs/cgroup/memory/pod/c/memory.limit_in_bytes': String(768 * MiB),
    'fs/sys/fs/cgroup/memory/pod/c/inner/memory.limit_in_bytes': V1_UNLIMITED,
    'fs/sys/fs/cgroup/memory/pod/c/inner/memory.usage_in_bytes': '1',
  });
  t.equal(read(root).limitBytes, 768 * MiB);
});

t.test('cgroup v1: hierarchical_memory_limit covers ancestors we cannot see', async (t) => {
  const root = tree({
    'proc/self/cgroup': '4:memory:/docker/abc\n',
    // the container sees only its own cgroup, bind-mounted as the root
    'proc/self/mountinfo': '35 31 0:32 /docker/abc /sys/fs/cgroup/memory ro - cgroup cgroup rw,memory\n',
    'fs/sys/fs/cgroup/memory/memory.limit_in_bytes': V1_UNLIMITED,
    'fs/sys/fs/cgroup/memory/memory.stat': `cache 0\nrss 100\nhierarchical_memory_limit ${400 * MiB}\nhierarchical_memsw_limit ${V1_UNLIMITED}\n`,
    'fs/sys/fs/cgroup/memory/memory.usage_in_bytes': '42',
  });
  const m = read(root);
  t.equal(m.limitBytes, 400 * MiB);
  t.equal(m.usageBytes, 42);
  t.equal(m.cgroupPath, join(root, 'fs/sys/fs/cgroup/memory'));
});

t.test('hybrid (v1 memory controller + cgroup2 unified): v1 is used', async (t) => {
  const root = tree({
    'proc/self/cgroup': '4:memory:/jm\n0::/jm\n',
    'proc/self/mountinfo': HYBRID_MOUNTS,
    'fs/sys/fs/cgroup/memory/jm/memory.limit_in_bytes': String(256 * MiB),
    'fs/sys/fs/cgroup/memory/jm/memory.usage_in_bytes': '10',
    'fs/sys/fs/cgroup/unified/jm/cgroup.procs': '',
  });
  const m = read(root);
  t.equal(m.cgroupVersion, 1);
  t.equal(m.limitBytes, 256 * MiB);
});

t.test('a combined v1 hierarchy (cpu,memory) is recognised', async (t) => {
  const root = tree({
    'proc/self/cgroup': '3:cpu,memory:/a\n',
    'proc/self/mountinfo': '35 31 0:32 / /cg rw - cgroup cgroup rw,cpu,memory\n',
    'fs/cg/a/memory.limit_in_bytes': String(100 * MiB),
  });
  t.equal(read(root).limitBytes, 100 * MiB);
});

t.test('a limit at or above physical memory means no limit', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/big\n',
    'proc/self/mountinfo': V2_MOUNT,
    'fs/sys/fs/cgroup/big/memory.max': String(8 * GiB),
  });
  t.equal(read(root, 8 * GiB).limitBytes, undefined, 'equal to physical');
  t.equal(read(root, 4 * GiB).limitBytes, undefined, 'above physical');
  t.equal(read(root, 16 * GiB).limitBytes, 8 * GiB, 'below physical');
});

t.test('missing files', async (t) => {
  await t.test('no /proc at all: nothing known, no warning', async (t) => {
    const root = tree({ 'fs/.keep': '' });
    t.same(read(root), { cgroupVersion: undefined, limitBytes: undefined, usageBytes: undefined, cgroupPath: undefined, warnings: [] });
  });
  await t.test('no cgroup mount visible: a warning, no limit', async (t) => {
    const root = tree({
      'proc/self/cgroup': '0::/x\n',
      'proc/self/mountinfo': '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n',
    });
    const m = read(root);
    t.equal(m.cgroupVersion, undefined);
    t.equal(m.limitBytes, undefined);
    t.match(m.warnings.join('\n'), /no matching cgroup mount/);
  });
  await t.test('cgroup directory missing under the mount', async (t) => {
    const root = tree({
      'proc/self/cgroup': '0::/gone\n',
      'proc/self/mountinfo': '30 23 0:26 /elsewhere /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n',
    });
    const m = read(root);
    t.equal(m.cgroupVersion, 2);
    t.equal(m.limitBytes, undefined);
    t.match(m.warnings.join('\n'), /not found/);
  });
  await t.test('memory.max and memory.current missing (controller not delegated)', async (t) => {
    const root = tree({
      'proc/self/cgroup': '0::/nodelegation\n',
      'proc/self/mountinfo': V2_MOUNT,
      'fs/sys/fs/cgroup/nodelegation/cgroup.procs': '',
    });
    const m = read(root);
    t.equal(m.cgroupVersion, 2);
    t.equal(m.limitBytes, undefined);
    t.equal(m.usageBytes, undefined);
    t.same(m.warnings, []);
  });
});

t.test('unparseable limit files are ignored with a warning naming the file', async (t) => {
  const root = tree({
    'proc/self/cgroup': '0::/bad\n',
    'proc/self/mountinfo': V2_MOUNT,
    'fs/sys/fs/cgroup/bad/memory.max': 'lots\n',
    'fs/sys/fs/cgroup/memory.max': String(64 * MiB),
  });
  const m = read(root);
  t.equal(m.limitBytes, 64 * MiB, 'the parent still counts');
  t.match(m.warnings[0], /bad\/memory\.max.*"lots"/);
});

t.test('mountinfo paths with escaped spaces', async (t) => {
  const mounts = parseMountInfo('35 31 0:32 / /sys/fs/cgroup/my\\040memory rw shared:9 master:2 - cgroup cgroup rw,memory\n');
  t.same(mounts, [{ root: '/', mountPoint: '/sys/fs/cgroup/my memory', fsType: 'cgroup', superOptions: ['rw', 'memory'] }]);
});
