// The process logger: JSON lines on stdout (what log collectors want), or
// pino-pretty when a person is watching a terminal. pino-pretty is a dev
// dependency: the image installs production dependencies only, so it is used
// only when it resolves.
import { createRequire } from 'node:module';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerSettings {
  readonly level?: string;
  /** Defaults to process.stdout.isTTY. */
  readonly pretty?: boolean;
}

function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

export function loggerOptions(settings: LoggerSettings = {}): LoggerOptions {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { pid: process.pid },
    // Authorization headers never reach the log (RPC bearer tokens).
    redact: ['req.headers.authorization'],
  };
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  if (pretty && prettyAvailable()) {
    options.transport = { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } };
  }
  return options;
}

export function createLogger(settings: LoggerSettings = {}): Logger {
  const options = loggerOptions(settings);
  if (options.transport !== undefined) return pino(options);
  // Synchronous writes: log lines stay in order up to process.exit (an async
  // buffer flushed at exit can land before an in-flight write), and a slow
  // reader cannot make the log buffer grow without bound.
  return pino(options, pino.destination({ fd: 1, sync: true }));
}
