// 32-lowercase-hex identifiers (Flink's AbstractID rendering). Random bytes
// are drawn in blocks: scheduling 20,000 tasks would otherwise make 20,000
// small randomBytes calls.
import { randomBytes } from 'node:crypto';

const BLOCK_IDS = 256;
let block = Buffer.alloc(0);
let offset = 0;

/** A random 32-lowercase-hex id (128 bits). */
export function randomHexId(): string {
  if (offset >= block.length) {
    block = randomBytes(16 * BLOCK_IDS);
    offset = 0;
  }
  const id = block.toString('hex', offset, offset + 16);
  offset += 16;
  return id;
}
