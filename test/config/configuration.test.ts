// Sources and precedence (memory-model.md): command line > environment >
// appsettings.json > default, aliases, conflicts, warnings and typed getters.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { displayValue, loadConfiguration, type LoadOptions } from '../../app/config/configuration.js';
import { envJsonSchema, readEnvSource } from '../../app/config/env.js';
import { ConfigError } from '../../app/config/errors.js';
import { envVarName, KEYS } from '../../app/config/keys.js';

const load = (o: Partial<LoadOptions> & { cwd: string }) =>
  loadConfiguration({ argv: o.argv ?? [], env: o.env ?? {}, cwd: o.cwd });

const settings = (value: unknown): string => JSON.stringify(value);

t.test('precedence: every combination of CLI, env and file over the default', async (t) => {
  const sources = ['cli', 'env', 'file'] as const;
  for (let mask = 0; mask < 8; mask++) {
    const present = sources.filter((_, i) => mask & (1 << i));
    const dir = t.testdir(present.includes('file') ? { 'appsettings.json': settings({ 'rest.port': 3003 }) } : {});
    const config = load({
      cwd: dir,
      argv: present.includes('cli') ? ['--rest.port=1001'] : [],
      env: present.includes('env') ? { REST_PORT: '2002' } : {},
    });
    const expected = present.includes('cli')
      ? [1001, 'cli', '--rest.port']
      : present.includes('env')
        ? [2002, 'env', 'env REST_PORT']
        : present.includes('file')
          ? [3003, 'file', 'file ./appsettings.json']
          : [8081, 'default', 'default'];
    const label = present.length ? present.join('+') : 'none';
    t.equal(config.port('rest.port'), expected[0], `${label}: value`);
    t.equal(config.entry('rest.port')?.source, expected[1], `${label}: source`);
    t.equal(config.entry('rest.port')?.origin, expected[2], `${label}: origin`);
  }
});

t.test('aliases work in every source, and the canonical key of a higher source wins over an alias of a lower one', async (t) => {
  const dir = t.testdir({ 'appsettings.json': settings({ jobmanager: { memory: { 'jvm-overhead': { min: '96m' } } } }) });
  const GiB = 1024 ** 3;
  t.equal(load({ cwd: dir, argv: ['--jobmanager.memory.process.size=1g'] }).sizeBytes('jobmanager.process.memory.size'), GiB);
  t.equal(load({ cwd: dir, env: { JOBMANAGER_MEMORY_PROCESS_SIZE: '1g' } }).sizeBytes('jobmanager.process.memory.size'), GiB);
  const fromFile = load({ cwd: dir });
  t.equal(fromFile.sizeBytes('jobmanager.overhead.memory.min'), 96 * 1024 * 1024);
  t.equal(fromFile.entry('jobmanager.memory.jvm-overhead.min')?.key, 'jobmanager.overhead.memory.min', 'entry() accepts aliases');
  const mixed = load({
    cwd: dir,
    argv: ['--jobmanager.memory.process.size=2g'],
    env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '1g', JOBMANAGER_OVERHEAD_MEMORY_MIN: '100m' },
  });
  t.equal(mixed.sizeBytes('jobmanager.process.memory.size'), 2 * GiB);
  t.equal(mixed.entry('jobmanager.process.memory.size')?.origin, '--jobmanager.memory.process.size');
  t.equal(mixed.sizeBytes('jobmanager.overhead.memory.min'), 100 * 1024 * 1024, 'env canonical beats file alias');
});

t.test('alias and canonical key with different values in one source is an error naming both', async (t) => {
  const dir = t.testdir({
    'flat.json': settings({ 'jobmanager.process.memory.size': '1g', 'jobmanager.memory.process.size': '2g' }),
    'mixed.json': settings({ 'jobmanager.process.memory.size': '1g', jobmanager: { memory: { process: { size: '2g' } } } }),
    'same.json': settings({ 'jobmanager.process.memory.size': '1g', 'jobmanager.memory.process.size': '1024m' }),
  });
  const cases: Partial<LoadOptions>[] = [
    { argv: ['--jobmanager.process.memory.size=1g', '-D', 'jobmanager.memory.process.size=2g'] },
    { env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '1g', JOBMANAGER_MEMORY_PROCESS_SIZE: '2g' } },
    { argv: ['--config', 'flat.json'] },
    { argv: ['--config', 'mixed.json'] },
  ];
  for (const c of cases) {
    t.throws(
      () => load({ cwd: dir, ...c }),
      { name: 'ConfigError', message: /jobmanager\.process\.memory\.size.*jobmanager\.memory\.process\.size/ },
      JSON.stringify(c),
    );
  }
  // The same size spelled differently is not a conflict.
  t.equal(load({ cwd: dir, argv: ['--config=same.json'] }).sizeBytes('jobmanager.process.memory.size'), 1024 ** 3);
  t.equal(
    load({ cwd: dir, env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '1g', JOBMANAGER_MEMORY_PROCESS_SIZE: '1Gi' } }).sizeBytes(
      'jobmanager.process.memory.size',
    ),
    1024 ** 3,
  );
  // Repeating the same name on the command line keeps the last value.
  t.equal(
    load({ cwd: dir, argv: ['--rest.port=1', '--rest.port=2'] }).port('rest.port'),
    2,
  );
});

t.test('appsettings.json: flat, nested, mixed; path from --config, env, or ./appsettings.json', async (t) => {
  const dir = t.testdir({
    'appsettings.json': settings({ 'rest.port': 1111 }),
    'nested.json': settings({ rest: { port: 2222, 'bind-address': '0.0.0.0' }, jobmanager: { 'rpc.port': '7777' } }),
    conf: { 'env.json': settings({ 'rest.port': '3333' }) },
  });
  t.equal(load({ cwd: dir }).port('rest.port'), 1111);
  t.equal(load({ cwd: dir }).configFile, './appsettings.json');
  const nested = load({ cwd: dir, argv: ['--config', 'nested.json'] });
  t.equal(nested.port('rest.port'), 2222);
  t.equal(nested.string('rest.bind-address'), '0.0.0.0');
  t.equal(nested.port('jobmanager.rpc.port'), 7777);
  t.equal(nested.entry('rest.port')?.origin, 'file nested.json');
  t.equal(load({ cwd: dir, env: { JOBMANAGER_CONFIG_FILE: 'conf/env.json' } }).port('rest.port'), 3333);
  t.equal(load({ cwd: dir, env: { JOBMANAGER_CONFIG_FILE: join(dir, 'conf/env.json') } }).port('rest.port'), 3333, 'absolute path');
  t.equal(
    load({ cwd: dir, argv: ['--config=nested.json'], env: { JOBMANAGER_CONFIG_FILE: 'conf/env.json' } }).port('rest.port'),
    2222,
    '--config beats JOBMANAGER_CONFIG_FILE',
  );
  const empty = t.testdir({});
  t.equal(load({ cwd: empty }).port('rest.port'), 8081, 'no file: defaults');
  t.equal(load({ cwd: empty }).configFile, undefined);
});

t.test('bad settings files are ConfigErrors naming the file (and the key path)', async (t) => {
  const dir = t.testdir({
    'broken.json': '{"rest.port": 1,',
    'array.json': '[1, 2]',
    'leaf-array.json': settings({ jobmanager: { process: { memory: { size: ['1g'] } } } }),
    'leaf-null.json': settings({ 'rest.port': null }),
  });
  const cases: [string, RegExp][] = [
    ['broken.json', /configuration file broken\.json is not valid JSON/],
    ['array.json', /configuration file array\.json must hold a JSON object/],
    ['leaf-array.json', /leaf-array\.json: jobmanager\.process\.memory\.size is an array/],
    ['leaf-null.json', /leaf-null\.json: rest\.port is null/],
    ['missing.json', /configuration file missing\.json cannot be read \(ENOENT\)/],
  ];
  for (const [file, message] of cases) {
    t.throws(() => load({ cwd: dir, argv: ['--config', file] }), { name: 'ConfigError', message }, file);
    try {
      load({ cwd: dir, argv: ['--config', file] });
    } catch (err) {
      t.notMatch((err as Error).message, /\n/, `${file}: one line`);
    }
  }
  t.throws(() => load({ cwd: dir, env: { JOBMANAGER_CONFIG_FILE: 'missing.json' } }), { message: /missing\.json/ });
});

t.test('every effective value is validated at load with key, value, origin and what is accepted', async (t) => {
  const dir = t.testdir({});
  const cases: [Partial<LoadOptions>, RegExp][] = [
    [{ argv: ['--rest.port=http'] }, /rest\.port "http" \(--rest\.port\) is invalid; accepted: a port/],
    [{ env: { REST_PORT: '70000' } }, /rest\.port "70000" \(env REST_PORT\)/],
    [{ argv: ['--jobmanager.overhead.memory.fraction=1'] }, /jobmanager\.overhead\.memory\.fraction "1".*\[0, 1\)/],
    [{ argv: ['--jobmanager.cache.memory.fraction=-0.1'] }, /jobmanager\.cache\.memory\.fraction/],
    [{ argv: ['--jobstore.max-capacity=1.5'] }, /jobstore\.max-capacity "1\.5".*whole number/],
    [{ argv: ['--heartbeat.timeout=soon'] }, /heartbeat\.timeout "soon"/],
    [{ argv: ['--rest.bind-address='] }, /rest\.bind-address ""/],
    [{ env: { JOBMANAGER_HEAP_MEMORY_SIZE: 'lots' } }, /jobmanager\.heap\.memory\.size "lots" \(env JOBMANAGER_HEAP_MEMORY_SIZE\)/],
  ];
  for (const [opts, message] of cases) {
    t.throws(() => load({ cwd: dir, ...opts }), { name: 'ConfigError', message }, JSON.stringify(opts));
  }
  // An empty environment variable is unset (templates render them for "not configured").
  t.equal(load({ cwd: dir, env: { REST_PORT: '', JOBMANAGER_CONFIG_FILE: ' ' } }).port('rest.port'), 8081);
  t.equal(load({ cwd: dir, env: { JOBMANAGER_PROCESS_MEMORY_SIZE: '' } }).isConfigured('jobmanager.process.memory.size'), false);
  // An invalid value that is overridden by a higher source is never read.
  t.equal(load({ cwd: dir, argv: ['--rest.port=1'], env: { REST_PORT: 'x' } }).port('rest.port'), 1);
});

t.test('typed getters', async (t) => {
  const dir = t.testdir({});
  const config = load({
    cwd: dir,
    argv: ['--jobmanager.rpc.auth.token=s3cret', '--heartbeat.timeout=1 min', '--rest.port=0'],
  });
  t.equal(config.sizeBytes('jobmanager.network.memory.segment-size'), 32 * 1024);
  t.equal(config.optionalSizeBytes('jobmanager.process.memory.size'), undefined);
  t.equal(config.fraction('jobmanager.overhead.memory.fraction'), 0.1);
  t.equal(config.integer('jobstore.max-capacity'), 1000);
  t.equal(config.port('rest.port'), 0, '0 = ephemeral port');
  t.equal(config.durationMs('heartbeat.timeout'), 60_000);
  t.equal(config.durationMs('heartbeat.interval'), 10_000);
  t.equal(config.optionalDurationMs('execution.checkpointing.interval'), undefined);
  t.equal(config.string('jobmanager.storage.dir'), './data');
  t.equal(config.string('jobmanager.rpc.auth.token'), 's3cret', 'getters return secrets');
  t.equal(config.optionalString('jobmanager.rpc.auth.token-file'), undefined);
  t.ok(config.isConfigured('heartbeat.timeout'));
  t.notOk(config.isConfigured('heartbeat.interval'));
  t.ok(config.isSet('heartbeat.interval'));
  t.throws(() => config.sizeBytes('jobmanager.process.memory.size'), {
    name: 'ConfigError',
    message: /jobmanager\.process\.memory\.size is not set.*JOBMANAGER_PROCESS_MEMORY_SIZE/,
  });
  t.throws(() => config.string('no.such.key'), /not a configuration key/);
});

t.test('entries(): every effective key incl. defaults, secrets masked', async (t) => {
  const dir = t.testdir({});
  const config = load({ cwd: dir, env: { JOBMANAGER_RPC_AUTH_TOKEN: 's3cret' } });
  const entries = config.entries();
  const byKey = new Map(entries.map((e) => [e.key, e]));
  for (const spec of KEYS) {
    if (spec.defaultValue !== undefined) t.equal(byKey.get(spec.key)?.value, spec.defaultValue, `${spec.key} default`);
  }
  t.equal(byKey.get('jobmanager.rpc.auth.token')?.value, '******');
  t.notMatch(JSON.stringify(entries), /s3cret/);
  t.equal(config.entry('jobmanager.rpc.auth.token')?.value, 's3cret', 'entry() is raw');
  t.equal(displayValue(config.entry('jobmanager.rpc.auth.token')!), '******');
  t.equal(displayValue(config.entry('rest.port')!), '8081');
  t.notOk(byKey.has('jobmanager.process.memory.size'), 'unset keys without defaults are absent');
});

t.test('unknown keys and JOBMANAGER_* variables warn with the closest known name', async (t) => {
  const dir = t.testdir({
    'appsettings.json': settings({
      jobmanager: { 'heap.memory.szie': '1g' },
      taskmanager: { memory: { process: { size: '4g' } } }, // a Flink file's other keys: silent
      Logging: { LogLevel: { Default: 'Information' } },
    }),
  });
  const config = load({
    cwd: dir,
    argv: ['--jobmanager.proces.memory.size=1g', '--rest.prot=1', '--json'],
    env: {
      JOBMANAGER_PROCES_MEMORY_SIZE: '1g',
      JOBMANAGER_SERVICE_HOST: '10.0.0.1', // Kubernetes service links: silent
      JOBMANAGER_PORT: 'tcp://10.0.0.1:8081',
      JOBMANAGER_PORT_8081_TCP_ADDR: '10.0.0.1',
      PATH: '/usr/bin',
    },
  });
  const w = config.warnings.join('\n');
  t.match(w, /unknown configuration key jobmanager\.proces\.memory\.size \(--jobmanager\.proces\.memory\.size\) is ignored; did you mean jobmanager\.process\.memory\.size\?/);
  t.match(w, /unknown configuration key rest\.prot .*did you mean rest\.port\?/);
  t.match(w, /unknown configuration key jobmanager\.heap\.memory\.szie \(file \.\/appsettings\.json\).*did you mean jobmanager\.heap\.memory\.size\?/);
  t.match(w, /unknown environment variable JOBMANAGER_PROCES_MEMORY_SIZE is ignored; did you mean JOBMANAGER_PROCESS_MEMORY_SIZE \(jobmanager\.process\.memory\.size\)\?/);
  t.equal(config.warnings.length, 4, w);
  t.same(config.rest, ['--json']);
  t.equal(config.optionalSizeBytes('jobmanager.process.memory.size'), undefined, 'unknown keys are ignored');
});

t.test('environment contract through env-schema: no mutation, unknown vars reported, every key has a variable', async (t) => {
  const before = { ...process.env };
  const env = Object.freeze({ JOBMANAGER_PROCESS_MEMORY_SIZE: '1g', JOBMANAGER_CONFIG_FILE: 'x.json', HOME: '/root', JOBMANAGER_X: '1' });
  const source = readEnvSource(env);
  t.same(source.entries, [
    { name: 'jobmanager.process.memory.size', envVar: 'JOBMANAGER_PROCESS_MEMORY_SIZE', value: '1g', origin: 'env JOBMANAGER_PROCESS_MEMORY_SIZE' },
  ]);
  t.equal(source.configFile, 'x.json');
  t.same(source.unknown, ['JOBMANAGER_X']);
  t.same(process.env, before, 'process.env untouched');
  const schema = envJsonSchema();
  for (const spec of KEYS) {
    for (const name of [spec.key, ...spec.aliases]) t.ok(schema.properties[envVarName(name)], `${name} -> ${envVarName(name)}`);
  }
  t.ok(schema.properties.JOBMANAGER_CONTAINER_MEMORY_LIMIT);
  t.ok(schema.properties.JOBMANAGER_CONFIG_FILE);
  // No two names map to the same variable.
  const all = KEYS.flatMap((s) => [s.key, ...s.aliases]).map(envVarName);
  t.equal(new Set(all).size, all.length, 'environment variable names are unique');
});

t.test('ConfigError carries the canonical keys', async (t) => {
  const dir = t.testdir({});
  try {
    load({ cwd: dir, argv: ['--rest.port=x'] });
    t.fail('accepted');
  } catch (err) {
    t.ok(err instanceof ConfigError);
    t.same((err as ConfigError).keys, ['rest.port']);
    t.equal((err as ConfigError).exitCode, 78);
  }
  writeFileSync(join(dir, 'appsettings.json'), '{}');
  t.equal(load({ cwd: dir }).configFile, './appsettings.json');
});
