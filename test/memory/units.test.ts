// Size and duration syntax: Flink first, then Kubernetes quantities; every
// rejection is a ConfigError naming the key and the value.
import t from 'tap';
import { ConfigError } from '../../app/config/errors.js';
import { parseDurationMs, formatDurationMs } from '../../app/memory/duration.js';
import { bytesAndHuman, formatBytes, mib, parseSize } from '../../app/memory/units.js';

const KEY = 'jobmanager.process.memory.size';
const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

t.test('parseSize accepts Flink syntax and Kubernetes quantities', async (t) => {
  const cases: [string, number][] = [
    ['1073741824', GiB],
    ['0', 0],
    ['100b', 100],
    ['100 bytes', 100],
    ['64k', 64 * KiB],
    ['64 kb', 64 * KiB],
    ['64K', 64 * KiB],
    ['1kibibytes', KiB],
    ['1m', MiB], // Flink first: one MiB, never a milli-byte
    ['1024m', GiB],
    ['512 mb', 512 * MiB],
    ['512MB', 512 * MiB],
    ['2 mebibytes', 2 * MiB],
    ['1g', GiB],
    ['1 gb', GiB],
    ['1GB', GiB],
    ['1 gibibytes', GiB],
    ['1t', 1024 * GiB],
    ['1tb', 1024 * GiB],
    ['1k', 1024], // Flink's k wins over Kubernetes' k = 1000
    ['1Ki', KiB],
    ['512Mi', 512 * MiB],
    ['1Gi', GiB],
    ['2Ti', 2 * 1024 * GiB],
    ['1G', 1e9],
    ['500M', 5e8],
    ['2T', 2e12],
    ['1e9', 1e9],
    ['5E8', 5e8],
    ['1.5g', 1.5 * GiB],
    ['1.5Gi', 1.5 * GiB],
    ['0.5k', 512],
    ['1.0000001k', 1024], // floors to whole bytes
    ['  1g  ', GiB],
  ];
  for (const [text, bytes] of cases) t.equal(parseSize(text, KEY), bytes, text);
  t.equal(parseSize(1048576, KEY), MiB, 'numbers (from JSON) are bytes');
});

t.test('parseSize rejects everything else, naming key, value and the syntax', async (t) => {
  for (const text of ['', '   ', '-1', '-1g', 'abc', '1x', '1 gigs', 'g', '1..5g', '1,5g', '1e', 'NaN', 'Infinity', '1e400', '9007199254740993', '8192t', '1E', '0x10', '1 g b', '1\ng']) {
    try {
      parseSize(text, KEY, 'env JOBMANAGER_PROCESS_MEMORY_SIZE');
      t.fail(`accepted ${JSON.stringify(text)}`);
    } catch (err) {
      t.ok(err instanceof ConfigError, `${JSON.stringify(text)} -> ConfigError`);
      const message = (err as ConfigError).message;
      t.match(message, KEY);
      t.match(message, JSON.stringify(text));
      t.match(message, 'env JOBMANAGER_PROCESS_MEMORY_SIZE');
      t.match(message, /accepted: .*Gi/);
      t.notMatch(message, /\n/, 'one line even when the value holds a newline');
      t.same((err as ConfigError).keys, [KEY]);
    }
  }
});

t.test('formatBytes is Flink-style and never rounds up', async (t) => {
  t.equal(formatBytes(128 * MiB), '128.000mb');
  t.equal(formatBytes(GiB), '1.000gb');
  t.equal(formatBytes(1.5 * GiB), '1.500gb');
  t.equal(formatBytes(32 * KiB), '32.000kb');
  t.equal(formatBytes(512), '512b');
  t.equal(formatBytes(0), '0b');
  t.equal(formatBytes(GiB - 1), '1023.999mb');
  t.equal(formatBytes(2 * 1024 * GiB), '2.000tb');
  t.equal(bytesAndHuman(128 * MiB), '134217728 bytes, 128.000mb');
  t.equal(formatBytes(-144 * MiB), '-144.000mb');
});

t.test('mib floors to whole MiB', async (t) => {
  t.equal(mib(0), 0);
  t.equal(mib(MiB - 1), 0);
  t.equal(mib(MiB), MiB);
  t.equal(mib(107374182.4), 102 * MiB);
});

t.test('parseDurationMs: Flink syntax, plain number = ms', async (t) => {
  const cases: [string, number][] = [
    ['10 s', 10_000],
    ['10s', 10_000],
    ['500ms', 500],
    ['500', 500],
    ['0 ms', 0],
    ['1 min', 60_000],
    ['2 h', 7_200_000],
    ['1d', 86_400_000],
    ['3 seconds', 3000],
    ['1 MIN', 60_000],
    ['1500 us', 1],
    ['1.5 s', 1500],
  ];
  for (const [text, ms] of cases) t.equal(parseDurationMs(text, 'heartbeat.timeout'), ms, text);
  for (const text of ['', '-1 s', '10 parsecs', 'soon', '1e400 d']) {
    t.throws(() => parseDurationMs(text, 'heartbeat.timeout'), { name: 'ConfigError', message: /heartbeat\.timeout/ }, text);
  }
  t.equal(formatDurationMs(10_000), '10 s');
  t.equal(formatDurationMs(600_000), '10 min');
  t.equal(formatDurationMs(1500), '1500 ms');
});
