// Spawning the real launcher (bin/jobmanager -> dist/cli.js memory flags ->
// exec node dist/main.js) for boot tests. Needs a build (`npx tsc -p .`;
// `npm test` builds first). The child gets a clean environment: no
// JOBMANAGER_* or NODE_OPTIONS from the test runner, a fresh working
// directory (no stray appsettings.json), rest.port=0 unless given.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAUNCHER = join(ROOT, 'bin', 'jobmanager');

/** Why dist/ cannot be used, or undefined when it is built. */
export function distMissingReason(): string | undefined {
  for (const file of ['dist/main.js', 'dist/cli.js']) {
    if (!existsSync(join(ROOT, file))) return `${file} is missing: run \`npx tsc -p .\` (npm test builds first)`;
  }
  return undefined;
}

export interface LaunchOptions {
  readonly args?: readonly string[];
  /** Added to a minimal environment (PATH, HOME). */
  readonly env?: Readonly<Record<string, string>>;
  /** The node binary (NODE for the launcher); default this process's. */
  readonly node?: string;
  /** Shell command run before exec'ing the launcher, e.g. joining a cgroup. */
  readonly prefix?: string;
  /** Run the launcher with this shell (default dash when present, else sh). */
  readonly shell?: string;
  /** Run this instead of the launcher (e.g. node dist/main.js directly). */
  readonly command?: readonly string[];
}

export interface Launched {
  readonly child: ChildProcess;
  /** Resolves with the REST base URL once the JobManager logs it; rejects if it exits first. */
  readonly restUrl: Promise<string>;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
  stdout(): string;
  stderr(): string;
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function defaultShell(): string {
  return existsSync('/usr/bin/dash') || existsSync('/bin/dash') ? 'dash' : 'sh';
}

export function launch(opts: LaunchOptions = {}): Launched {
  const cwd = mkdtempSync(join(tmpdir(), 'jm-boot-'));
  const args = opts.args ?? ['--rest.port=0'];
  const argv = opts.command ?? [LAUNCHER, ...args];
  // NODE_OPTIONS is set inside the script: the test runner (tap) rewrites the
  // NODE_OPTIONS of every child it spawns to add its own loader, which must
  // not reach the JobManager.
  const nodeOptions = opts.env?.['NODE_OPTIONS'];
  const scrub = `unset _TAPJS_PROCESSINFO_COV_EXCLUDE_ _TAPJS_PROCESSINFO_EXCLUDE_; ${
    nodeOptions === undefined ? 'unset NODE_OPTIONS' : `export NODE_OPTIONS=${quote(nodeOptions)}`
  }`;
  const script = `${scrub}; ${opts.prefix ? `${opts.prefix}; ` : ''}exec ${argv.map(quote).join(' ')}`;
  const shell = opts.shell ?? defaultShell();
  const child = spawn(shell, ['-c', script], {
    cwd,
    env: {
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: process.env['HOME'] ?? cwd,
      NODE: opts.node ?? process.execPath,
      // An ephemeral RPC port unless a test says otherwise (the default 6123
      // would collide between parallel tests and with a running npm start).
      JOBMANAGER_RPC_PORT: '0',
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8');
  child.stderr?.setEncoding('utf8');

  let resolveUrl: (url: string) => void = () => undefined;
  let rejectUrl: (e: Error) => void = () => undefined;
  const restUrl = new Promise<string>((resolve, reject) => {
    resolveUrl = resolve;
    rejectUrl = reject;
  });
  restUrl.catch(() => undefined); // callers that only await exit must not see an unhandled rejection

  let pending = '';
  child.stdout?.on('data', (chunk: string) => {
    out += chunk;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      try {
        const record = JSON.parse(line) as { restAddress?: string };
        if (typeof record.restAddress === 'string') resolveUrl(record.restAddress);
      } catch {
        /* not a JSON log line */
      }
    }
  });
  child.stderr?.on('data', (chunk: string) => (err += chunk));

  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => {
      rmSync(cwd, { recursive: true, force: true });
      rejectUrl(new Error(`JobManager exited (code ${code}, signal ${signal}) before listening; stderr: ${err.trim()}`));
      resolve({ code, signal, stdout: out, stderr: err });
    });
  });
  return { child, restUrl, exit, stdout: () => out, stderr: () => err };
}

/** SIGKILL if still running (teardown safety net). */
export function kill(launched: Launched): void {
  if (launched.child.exitCode === null && launched.child.signalCode === null) launched.child.kill('SIGKILL');
}
