// The container's memory limit and usage, read from the kernel's cgroup files.
//
// The memory cgroup is located through /proc/self/cgroup (which cgroup this
// process is in) and /proc/self/mountinfo (where that hierarchy is mounted and
// which part of it the mount shows). cgroup v1 is preferred when the memory
// controller is bound to a v1 hierarchy (the "hybrid" layout, as on this
// project's CI host); otherwise the unified v2 hierarchy is used.
//
// The effective limit is the tightest one on the way from our cgroup up to the
// root of the mount: Kubernetes sets it on the container's cgroup, but
// nested cgroups (systemd slices, runtimes that create a child per process)
// may leave the leaf unlimited. v1 additionally reports the limit of ancestors
// outside our view as `hierarchical_memory_limit` in memory.stat.
//
// Never throws: a host without cgroups, or with unreadable files, simply has
// no known limit; anything surprising is reported in `warnings`.
import { readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { join, posix } from 'node:path';

export interface ContainerMemory {
  readonly cgroupVersion: 1 | 2 | undefined;
  /** Tightest memory limit of our cgroup and its ancestors; undefined = no limit. */
  readonly limitBytes: number | undefined;
  /** Current charge of our own cgroup (page cache included, as the kernel counts it). */
  readonly usageBytes: number | undefined;
  /** Filesystem directory of our memory cgroup, e.g. /sys/fs/cgroup/memory/kubepods/pod1/abc. */
  readonly cgroupPath: string | undefined;
  /** Things an operator may want to know (unparseable files, missing mounts). */
  readonly warnings: readonly string[];
}

export interface ReadContainerMemoryOptions {
  /** Where `self/cgroup` and `self/mountinfo` live; default /proc. */
  readonly procRoot?: string;
  /** Prefix joined to every mount point from mountinfo (fixture trees); default none. */
  readonly sysfsRoot?: string;
  /** Limits at or above this are "no limit"; default os.totalmem(). */
  readonly physicalMemoryBytes?: number;
}

interface CgroupLine {
  readonly hierarchyId: string;
  readonly controllers: readonly string[];
  readonly path: string;
}

interface MountLine {
  readonly root: string;
  readonly mountPoint: string;
  readonly fsType: string;
  readonly superOptions: readonly string[];
}

const NONE: ContainerMemory = {
  cgroupVersion: undefined,
  limitBytes: undefined,
  usageBytes: undefined,
  cgroupPath: undefined,
  warnings: [],
};

export function readContainerMemory(opts: ReadContainerMemoryOptions = {}): ContainerMemory {
  const procRoot = opts.procRoot ?? '/proc';
  const sysfsRoot = opts.sysfsRoot ?? '';
  const physicalBytes = opts.physicalMemoryBytes ?? totalmem();
  const warnings: string[] = [];

  const cgroupText = readText(join(procRoot, 'self', 'cgroup'));
  const mountText = readText(join(procRoot, 'self', 'mountinfo'));
  if (cgroupText === undefined || mountText === undefined) return NONE; // not Linux, or /proc hidden

  const cgroups = parseCgroupFile(cgroupText);
  const mounts = parseMountInfo(mountText);

  const v1Entry = cgroups.find((c) => c.hierarchyId !== '0' && c.controllers.includes('memory'));
  const v2Entry = cgroups.find((c) => c.hierarchyId === '0' && c.controllers.length === 0);
  const v1Mounts = mounts.filter((m) => m.fsType === 'cgroup' && m.superOptions.includes('memory'));
  const v2Mounts = mounts.filter((m) => m.fsType === 'cgroup2');

  let version: 1 | 2;
  let located: { dir: string; mountPoint: string } | undefined;
  if (v1Entry !== undefined && v1Mounts.length > 0) {
    version = 1;
    located = locate(v1Entry.path, v1Mounts, sysfsRoot);
  } else if (v2Entry !== undefined && v2Mounts.length > 0) {
    version = 2;
    located = locate(v2Entry.path, v2Mounts, sysfsRoot);
  } else {
    if (v1Entry !== undefined || v2Entry !== undefined) {
      warnings.push(`process is in a memory cgroup (${(v1Entry ?? v2Entry)?.path}) but no matching cgroup mount is visible in ${join(procRoot, 'self', 'mountinfo')}`);
    }
    return { ...NONE, warnings };
  }
  if (located === undefined) {
    warnings.push(`cgroup v${version} memory directory not found under any mount point`);
    return { ...NONE, cgroupVersion: version, warnings };
  }

  const { dir, mountPoint } = located;
  const limitFile = version === 2 ? 'memory.max' : 'memory.limit_in_bytes';
  const usageFile = version === 2 ? 'memory.current' : 'memory.usage_in_bytes';

  let limit: number | undefined;
  const consider = (value: number | undefined): void => {
    if (value === undefined || value >= physicalBytes) return;
    if (limit === undefined || value < limit) limit = value;
  };

  // Walk from our cgroup up to the top of what the mount shows.
  for (let current = dir; ; ) {
    consider(readLimit(join(current, limitFile), warnings));
    if (current === mountPoint) break;
    const parent = posix.dirname(current);
    if (parent === current || parent.length < mountPoint.length) break;
    current = parent;
  }
  if (version === 1) consider(readHierarchicalLimit(join(dir, 'memory.stat'), warnings));

  const usage = readLimit(join(dir, usageFile), warnings);
  return { cgroupVersion: version, limitBytes: limit, usageBytes: usage, cgroupPath: dir, warnings };
}

/**
 * Turns a cgroup path (from /proc/self/cgroup) into a directory under one of
 * the mounts. A mount whose root is a prefix of the path shows it at
 * mountPoint + rest; the mount that shows the deepest part wins. In a cgroup
 * namespace (or with the container's own cgroup bind-mounted as the root) the
 * path is not under the mount's root: the mount point itself is our cgroup.
 */
function locate(
  cgroupPath: string,
  mounts: readonly MountLine[],
  sysfsRoot: string,
): { dir: string; mountPoint: string } | undefined {
  let best: { dir: string; mountPoint: string; depth: number } | undefined;
  for (const m of mounts) {
    const mountPoint = sysfsRoot === '' ? m.mountPoint : join(sysfsRoot, m.mountPoint);
    const rel = relativeUnder(m.root, cgroupPath);
    const dir = rel === undefined ? mountPoint : rel === '' ? mountPoint : join(mountPoint, rel);
    if (!isDirectory(dir)) continue;
    const depth = rel === undefined ? -1 : rel === '' ? 0 : rel.split('/').length;
    if (best === undefined || depth > best.depth) best = { dir, mountPoint, depth };
  }
  return best === undefined ? undefined : { dir: best.dir, mountPoint: best.mountPoint };
}

/** `path` relative to `root` ('' when equal), or undefined when not under it. */
function relativeUnder(root: string, path: string): string | undefined {
  const r = root === '/' ? '' : root.replace(/\/+$/, '');
  if (path === r || (r === '' && path === '/')) return '';
  if (path.startsWith(r + '/')) return path.slice(r.length + 1).replace(/\/+$/, '');
  return undefined;
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** A byte count from a cgroup file; "max" and missing files are undefined. */
function readLimit(file: string, warnings: string[]): number | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  const value = text.trim();
  if (value === 'max') return undefined;
  if (!/^\d+$/.test(value)) {
    warnings.push(`ignoring ${file}: expected a number of bytes or "max", found ${JSON.stringify(value.slice(0, 40))}`);
    return undefined;
  }
  return Number(value);
}

function readHierarchicalLimit(file: string, warnings: string[]): number | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  for (const line of text.split('\n')) {
    const [name, value] = line.trim().split(/\s+/);
    if (name !== 'hierarchical_memory_limit') continue;
    if (value === undefined || !/^\d+$/.test(value)) {
      warnings.push(`ignoring hierarchical_memory_limit in ${file}: not a number of bytes (${JSON.stringify(line.trim())})`);
      return undefined;
    }
    return Number(value);
  }
  return undefined;
}

export function parseCgroupFile(text: string): CgroupLine[] {
  const out: CgroupLine[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first < 0 || second < 0) continue;
    const controllers = line.slice(first + 1, second);
    out.push({
      hierarchyId: line.slice(0, first),
      controllers: controllers === '' ? [] : controllers.split(','),
      path: line.slice(second + 1),
    });
  }
  return out;
}

// mountinfo(5): id parent major:minor root mountpoint options [optional...] - fstype source superoptions
export function parseMountInfo(text: string): MountLine[] {
  const out: MountLine[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    const root = left[3];
    const mountPoint = left[4];
    const fsType = right[0];
    if (root === undefined || mountPoint === undefined || fsType === undefined) continue;
    out.push({
      root: unescapeOctal(root),
      mountPoint: unescapeOctal(mountPoint),
      fsType,
      superOptions: (right[2] ?? '').split(','),
    });
  }
  return out;
}

// The kernel escapes space, tab, newline and backslash in mountinfo paths as \ooo.
function unescapeOctal(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
