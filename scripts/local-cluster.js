#!/usr/bin/env node
// `npm start`: a local JobManager through the real launcher (bin/jobmanager,
// which computes the memory plan and execs node with its flags), with the
// command-line arguments passed through, e.g.
//   npm start -- --jobmanager.process.memory.size=512m --rest.port=8082
// Signals are forwarded so Ctrl-C / SIGTERM shut it down gracefully; the exit
// code is the JobManager's.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

// The JobManager runs in its own process group, so a terminal's Ctrl-C reaches
// it once, through us, and not a second time directly (close-with-grace treats
// a second signal as "exit now, code 1").
const jobManager = spawn(join(root, 'bin', 'jobmanager'), args, {
  stdio: ['ignore', 'inherit', 'inherit'],
  detached: true,
  env: { ...process.env, NODE: process.env.NODE ?? process.execPath },
});

// Add other local processes (e.g. simulated TaskManagers) here; they must be
// stopped when the JobManager exits.

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
  });
}

jobManager.on('error', (err) => {
  console.error(`local-cluster: cannot start ${join(root, 'bin', 'jobmanager')}: ${err.message}`);
  process.exit(70);
});

jobManager.on('exit', (code, signal) => {
  process.exitCode = code ?? (signal === null ? 1 : 128 + (signalNumber(signal) ?? 1));
});

function signalNumber(signal) {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal];
}
