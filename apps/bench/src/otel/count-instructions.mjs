// Instructions per dispatch with and without the OpenTelemetry instrumentation (see ../callgrind.mjs).
//   node src/otel/count-instructions.mjs [N1=50000] [N2=150000] [contenders=plain,noSdk,idle,sdk]
import { join } from 'node:path';
import { countInstructions } from '../callgrind.mjs';

countInstructions({
  script: join(import.meta.dirname, 'instructions.mjs'),
  defaultVariants: 'plain,noSdk,idle,sdk',
  baseline: 'plain',
  operation: 'dispatch',
});
