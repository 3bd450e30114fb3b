// Restart strategies (Flink's fixed-delay, exponential-delay, none): decide
// whether a failed job may restart and after how long.
import type { RestartStrategySpec } from './types.js';

export interface RestartBackoff {
  /** Consumes one restart attempt if allowed; returns the delay in ms, or undefined when no restart is allowed. */
  nextRestartDelayMs(): number | undefined;
  /** Restarts consumed so far. */
  readonly restarts: number;
  describe(): string;
}

export function createRestartBackoff(spec: RestartStrategySpec): RestartBackoff {
  switch (spec.type) {
    case 'none':
      return {
        restarts: 0,
        nextRestartDelayMs: () => undefined,
        describe: () => 'Restart deactivated (restartStrategy none).',
      };
    case 'fixed-delay': {
      const b = {
        restarts: 0,
        nextRestartDelayMs(): number | undefined {
          if (b.restarts >= spec.attempts) return undefined;
          b.restarts++;
          return spec.delay;
        },
        describe: () => `Restart with fixed delay (${spec.delay} ms, at most ${spec.attempts} attempts).`,
      };
      return b;
    }
    case 'exponential-delay': {
      let delay = spec.initialDelay;
      const b = {
        restarts: 0,
        nextRestartDelayMs(): number | undefined {
          if (b.restarts >= spec.attempts) return undefined;
          b.restarts++;
          const d = delay;
          delay = Math.min(spec.maxDelay, Math.round(delay * spec.multiplier));
          return d;
        },
        describe: () =>
          `Restart with exponential delay (initial ${spec.initialDelay} ms, x${spec.multiplier}, max ${spec.maxDelay} ms, at most ${spec.attempts} attempts).`,
      };
      return b;
    }
  }
}
