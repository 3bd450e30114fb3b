import t from 'tap';
import { createRestartBackoff } from '../../app/jobs/restart-strategy.js';

const drain = (b: ReturnType<typeof createRestartBackoff>, n: number) => Array.from({ length: n }, () => b.nextRestartDelayMs());

t.test('none never restarts', async (t) => {
  const b = createRestartBackoff({ type: 'none' });
  t.same(drain(b, 2), [undefined, undefined]);
  t.match(b.describe(), /deactivated/);
});

t.test('fixed-delay: attempts times the delay, then no more', async (t) => {
  const b = createRestartBackoff({ type: 'fixed-delay', attempts: 3, delay: 250 });
  t.same(drain(b, 5), [250, 250, 250, undefined, undefined]);
  t.equal(b.restarts, 3);
  t.same(drain(createRestartBackoff({ type: 'fixed-delay', attempts: 0, delay: 1 }), 1), [undefined]);
});

t.test('exponential-delay: multiplies up to maxDelay, bounded by attempts', async (t) => {
  const b = createRestartBackoff({ type: 'exponential-delay', initialDelay: 100, maxDelay: 1000, multiplier: 3, attempts: 6 });
  t.same(drain(b, 7), [100, 300, 900, 1000, 1000, 1000, undefined]);
});
