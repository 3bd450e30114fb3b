// The time source of the domain core. Injected so unit tests drive time by
// hand (ManualClock) and never sleep.

export interface TimerHandle {
  readonly _timer: unknown;
}

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, delayMs) {
    const t = setTimeout(callback, delayMs);
    // Domain timers (restart delays, slot timeouts) must not keep a shutting-down process alive.
    t.unref();
    return { _timer: t };
  },
  clearTimeout(handle) {
    clearTimeout(handle._timer as NodeJS.Timeout);
  },
};

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** A clock for tests: time moves only through advance(). */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = { at: this.current + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return { _timer: timer };
  }

  clearTimeout(handle: TimerHandle): void {
    (handle._timer as ManualTimer).cancelled = true;
  }

  /** Moves time forward, firing due timers in order (timers scheduled meanwhile fire too if due). */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= target && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.current = Math.max(this.current, next.at);
      next.cancelled = true;
      next.callback();
    }
    this.current = target;
  }

  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }
}
