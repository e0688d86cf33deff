// Instructions per askCached hit against the hand-written cache-aside of the core suite (see
// ../callgrind.mjs). Contenders: ours, oursOwnKey, direct, and oursTwoKeys, directTwoKeys (two
// queries in turn).
//   node src/core/count-cached-instructions.mjs [N1=50000] [N2=150000] [contenders=ours,direct]
import { join } from 'node:path';
import { countInstructions } from '../callgrind.mjs';

countInstructions({
  script: join(import.meta.dirname, 'cached-instructions.mjs'),
  defaultVariants: 'ours,direct',
  baseline: 'direct',
  operation: 'askCached hit',
});
