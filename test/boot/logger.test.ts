// The process logger: JSON on stdout unless a person watches a terminal and
// pino-pretty (a dev dependency, absent from the image) is installed.
import t from 'tap';
import { loggerOptions } from '../../app/http/logger.js';

t.test('pretty only when asked for (TTY) and pino-pretty resolves', async (t) => {
  t.equal(loggerOptions({ pretty: false }).transport, undefined, 'not a TTY: JSON lines');
  const pretty = loggerOptions({ pretty: true });
  t.match(pretty.transport, { target: 'pino-pretty' }, 'TTY with pino-pretty installed (dev dependencies here)');
});

t.test('pino-pretty missing (production image): JSON even on a TTY', async (t) => {
  const { loggerOptions: withoutPretty } = await t.mockImport<typeof import('../../app/http/logger.js')>('../../app/http/logger.js', {
    'node:module': {
      createRequire: () => ({
        resolve: (id: string) => {
          throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
        },
      }),
    },
  });
  t.equal(withoutPretty({ pretty: true }).transport, undefined);
});

t.test('authorization headers are redacted and the level defaults to info', async (t) => {
  const options = loggerOptions({ pretty: false });
  t.equal(options.level, 'info');
  t.same(options.redact, ['req.headers.authorization']);
});
