// Shared by the chart tests: find helm (scripts/ensure-helm.sh), render the
// chart for a values object, run the app's CLI, bounded concurrency.
// Under CI=true a missing prerequisite is a failure (.ci/run installs it);
// elsewhere the tests skip with the reason.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART = join(ROOT, 'chart');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const IN_CI = Boolean(process.env.CI);

/** A Kubernetes object as rendered (loosely typed on purpose: tests poke into it). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Manifest = Record<string, any>;

let helmPath: string | undefined | null;

/** Path of helm, or undefined (then `helmSkipReason` says why). */
export function findHelm(): string | undefined {
  if (helmPath !== undefined) return helmPath ?? undefined;
  try {
    helmPath = execFileSync('bash', [join(ROOT, 'scripts', 'ensure-helm.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 120_000,
    }).trim();
  } catch (err) {
    helmSkipReason = `helm unavailable: ${(err as { stderr?: string }).stderr?.trim() || String(err)}`;
    helmPath = null;
  }
  return helmPath ?? undefined;
}
export let helmSkipReason = '';

/** tap options: skip with the reason, except under CI where the test must run (and fail). */
export function helmTestOptions(): { skip?: string } {
  if (findHelm() !== undefined || IN_CI) return {};
  return { skip: helmSkipReason };
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv, cwd: string = ROOT): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      cmd,
      args,
      { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024, timeout: 120_000, env: env ?? process.env, cwd },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}

/** Runs the jobs with at most `limit` in flight (2 cores are shared by everyone). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

const scratch = mkdtempSync(join(tmpdir(), 'jm-chart-'));
process.on('exit', () => rmSync(scratch, { recursive: true, force: true }));
let fileCounter = 0;

export interface Rendered extends RunResult {
  readonly manifests: Manifest[];
}

/**
 * `helm template` for a values object (written as JSON, which is YAML) and/or
 * values files. Fails fast on nothing: callers look at code/stderr.
 */
export async function render(
  values: object = {},
  opts: { valuesFiles?: readonly string[]; extraArgs?: readonly string[]; release?: string } = {},
): Promise<Rendered> {
  const helm = findHelm();
  if (helm === undefined) throw new Error(helmSkipReason);
  const file = join(scratch, `values-${process.pid}-${fileCounter++}.json`);
  writeFileSync(file, JSON.stringify(values));
  const args = ['template', opts.release ?? 'jm', CHART, '--namespace', 'jm-test'];
  for (const f of opts.valuesFiles ?? []) args.push('-f', f);
  args.push('-f', file, ...(opts.extraArgs ?? []));
  const result = await run(helm, args);
  rmSync(file, { force: true });
  const manifests: Manifest[] = [];
  if (result.code === 0) {
    for (const doc of parseAllDocuments(result.stdout)) {
      const value = doc.toJS() as Manifest | null;
      if (value) manifests.push(value);
    }
  }
  return { ...result, manifests };
}

export function find(manifests: readonly Manifest[], kind: string, nameSuffix = ''): Manifest | undefined {
  return manifests.find((m) => m.kind === kind && String(m.metadata?.name ?? '').endsWith(nameSuffix));
}

/** The JobManager Deployment (not the simulator's). */
export function jobManagerDeployment(manifests: readonly Manifest[]): Manifest {
  const d = manifests.find(
    (m) => m.kind === 'Deployment' && m.spec?.template?.metadata?.labels?.['app.kubernetes.io/component'] === 'jobmanager',
  );
  if (!d) throw new Error('no JobManager Deployment rendered');
  return d;
}

/** name -> value of the JobManager container's plain env vars. */
export function containerEnv(deployment: Manifest): Record<string, string> {
  const container = deployment.spec.template.spec.containers.find((c: Manifest) => c.name === 'jobmanager');
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) if (typeof e.value === 'string') env[e.name] = e.value;
  return env;
}

/** `node dist/cli.js ...`, or undefined when the CLI has not been built. */
export function cliAvailable(): boolean {
  return existsSync(CLI);
}

/** Canonical/alias key names (jobmanager.*) mentioned in a message. */
export function keysIn(message: string): string[] {
  const found = message.match(/\bjobmanager\.[a-z0-9-]+(?:\.[a-z0-9-]+)*/g) ?? [];
  return [...new Set(found)].sort();
}
