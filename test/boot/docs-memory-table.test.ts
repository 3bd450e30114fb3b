// docs/memory.md's worked table must be what the derivation produces: it is
// regenerated here through the real CLI (scripts/memory-table.js) and compared.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
// @ts-expect-error plain JS script without type declarations
import { memoryTable } from '../../scripts/memory-table.js';
import { distMissingReason, ROOT } from '../helpers/launcher.js';

const missing = distMissingReason();
if (missing !== undefined) t.fail(missing);

t.test('docs/memory.md worked table = CLI output', { skip: missing ?? false }, async (t) => {
  const doc = readFileSync(join(ROOT, 'docs', 'memory.md'), 'utf8');
  const m = /<!-- memory-table:begin -->\n([\s\S]*?)\n<!-- memory-table:end -->/.exec(doc);
  t.ok(m, 'docs/memory.md has the memory-table markers');
  const generated = (memoryTable as () => string)();
  t.equal(m?.[1], generated, 'regenerate with `node scripts/memory-table.js` and paste between the markers');
});
