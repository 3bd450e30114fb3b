// Command-line configuration is separated from every other argument.
import t from 'tap';
import { splitConfigArgs } from '../../app/config/args.js';
import { ConfigError } from '../../app/config/errors.js';

t.test('all four spellings, --config, and the rest kept in order', async (t) => {
  const split = splitConfigArgs([
    'plan',
    '--jobmanager.process.memory.size=1g',
    '--json',
    '--rest.port',
    '9000',
    '-D',
    'jobmanager.rpc.port=7000',
    '-Djobmanager.storage.dir=/tmp/x=y',
    '--config',
    'conf/app.json',
    '--port',
    '8080',
    '--',
    '--jobmanager.heap.memory.size=1g',
  ]);
  t.same(split.entries, [
    { name: 'jobmanager.process.memory.size', value: '1g', origin: '--jobmanager.process.memory.size' },
    { name: 'rest.port', value: '9000', origin: '--rest.port' },
    { name: 'jobmanager.rpc.port', value: '7000', origin: '-D jobmanager.rpc.port' },
    { name: 'jobmanager.storage.dir', value: '/tmp/x=y', origin: '-D jobmanager.storage.dir' },
  ]);
  t.equal(split.configFile, 'conf/app.json');
  t.same(split.rest, ['plan', '--json', '--port', '8080', '--', '--jobmanager.heap.memory.size=1g']);
});

t.test('--config=PATH, last one wins; empty values are kept for validation', async (t) => {
  const split = splitConfigArgs(['--config=a.json', '--config=b.json', '--rest.bind-address=']);
  t.equal(split.configFile, 'b.json');
  t.same(split.entries, [{ name: 'rest.bind-address', value: '', origin: '--rest.bind-address' }]);
  t.same(split.rest, []);
});

t.test('missing values are ConfigErrors naming the option', async (t) => {
  const bad: [string[], RegExp][] = [
    [['--jobmanager.process.memory.size'], /--jobmanager\.process\.memory\.size needs a value/],
    [['--jobmanager.process.memory.size', '--json'], /--jobmanager\.process\.memory\.size needs a value/],
    [['-D'], /-D needs a key=value/],
    [['-D', 'jobmanager.process.memory.size'], /-D needs a key=value.*jobmanager\.process\.memory\.size/],
    [['-Dfoo'], /-Dfoo needs a key=value/],
    [['--config'], /--config needs a file path/],
  ];
  for (const [argv, message] of bad) {
    t.throws(() => splitConfigArgs(argv), ConfigError, argv.join(' '));
    t.throws(() => splitConfigArgs(argv), { message }, argv.join(' '));
  }
});
