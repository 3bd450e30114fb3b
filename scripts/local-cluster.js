#!/usr/bin/env node
// `npm start`: a local JobManager through the real launcher (bin/jobmanager,
// which computes the memory plan and execs node with its flags), with the
// command-line arguments passed through, e.g.
//   npm start -- --jobmanager.process.memory.size=512m --rest.port=8082
// Signals are forwarded so Ctrl-C / SIGTERM shut it down gracefully; the exit
// code is the JobManager's.
//
// Once the JobManager logs its RPC address, one local TaskManager simulator
// (dist/cli.js taskmanager-sim, LOCAL_TASKMANAGER_SLOTS slots, default 4)
// registers with it, so `curl -X POST localhost:8081/jobs ... -d
// @examples/streaming-pipeline.json` runs a job at once. Both log through this
// process: JSON lines, or pino-pretty when stdout is a terminal.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

// The JobManager runs in its own process group, so a terminal's Ctrl-C reaches
// it once, through us, and not a second time directly (close-with-grace treats
// a second signal as "exit now, code 1").
const jobManager = spawn(join(root, 'bin', 'jobmanager'), args, {
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
  env: { ...process.env, NODE: process.env.NODE ?? process.execPath },
});

// Log lines of both processes go through here (the JobManager's stdout is a
// pipe, so it writes JSON); a person at a terminal gets them pretty-printed.
const output = await logOutput();

/** @type {import('node:child_process').ChildProcess | undefined} */
let taskManager;
/** @type {string | undefined} */
let rpcTokenFile;
let shuttingDown = false;
forwardLines(jobManager.stdout, (line) => {
  output(line);
  if (taskManager !== undefined) return;
  let record;
  try {
    record = JSON.parse(line);
  } catch {
    return;
  }
  if (typeof record.rpcTokenFile === 'string') rpcTokenFile = record.rpcTokenFile;
  if (typeof record.rpcAddress === 'string') taskManager = startTaskManager(record.rpcAddress);
});

function startTaskManager(rpcAddress) {
  const slots = process.env.LOCAL_TASKMANAGER_SLOTS ?? '4';
  const simArgs = ['taskmanager-sim', '--jobmanager', rpcAddress, '--count', '1', '--slots', slots, '--id-prefix', 'local-taskmanager'];
  // The token: the file the JobManager logged, else a token given on our
  // command line; JOBMANAGER_RPC_AUTH_TOKEN in the environment is inherited.
  const tokenArg = args.find((a) => a.startsWith('--jobmanager.rpc.auth.token='));
  if (tokenArg !== undefined) simArgs.push('--token', tokenArg.slice(tokenArg.indexOf('=') + 1));
  else if (rpcTokenFile !== undefined) simArgs.push('--token-file', rpcTokenFile);
  const child = spawn(process.env.NODE ?? process.execPath, [join(root, 'dist', 'cli.js'), ...simArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  forwardLines(child.stdout, output);
  child.on('exit', (code, signal) => {
    if (!shuttingDown) console.error(`local-cluster: the local TaskManager simulator exited (code ${code}, signal ${signal}); the JobManager keeps running`);
  });
  return child;
}

// One Ctrl-C may reach us twice (from the terminal and forwarded by npm):
// signals within a second of the last forwarded one are dropped. A later one
// is forwarded and makes the JobManager exit at once.
let lastForwardedMs = 0;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    const now = Date.now();
    if (now - lastForwardedMs < 1000) return;
    lastForwardedMs = now;
    if (jobManager.exitCode === null && jobManager.signalCode === null) jobManager.kill(signal);
    stopTaskManager(signal);
  });
}

function stopTaskManager(signal) {
  shuttingDown = true;
  if (taskManager !== undefined && taskManager.exitCode === null && taskManager.signalCode === null) taskManager.kill(signal);
}

jobManager.on('error', (err) => {
  console.error(`local-cluster: cannot start ${join(root, 'bin', 'jobmanager')}: ${err.message}`);
  process.exit(70);
});

jobManager.on('exit', (code, signal) => {
  stopTaskManager('SIGTERM');
  process.exitCode = code ?? (signal === null ? 1 : 128 + (signalNumber(signal) ?? 1));
});

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal];
}

function forwardLines(stream, onLine) {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', onLine);
}

/** Writes one log line: through pino-pretty on a terminal (when installed), else as is. */
async function logOutput() {
  if (process.stdout.isTTY) {
    try {
      const { default: pretty } = await import('pino-pretty');
      const stream = pretty({ translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: 1, sync: true });
      return (line) => {
        if (line.startsWith('{')) stream.write(`${line}\n`);
        else process.stdout.write(`${line}\n`);
      };
    } catch {
      // pino-pretty is a dev dependency; without it, raw JSON lines.
    }
  }
  return (line) => process.stdout.write(`${line}\n`);
}
