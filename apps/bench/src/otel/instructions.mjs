// One process, one contender, `count` awaited dispatches: run under `valgrind --tool=callgrind` by
// count-instructions.mjs, which takes the difference between two counts to get the instructions
// per dispatch without start-up and warm-up. Plain JavaScript so that no loader runs under valgrind.
//   node src/otel/instructions.mjs <plain|noSdk|idle|sdk> <count>
import { Command, createCqrs, silentLogger } from '@finaegis/core';
import { otelInstrumentation } from '@finaegis/opentelemetry';
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { AlwaysOffSampler, BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

class PlaceOrder extends Command {
  static messageType = 'bench.PlaceOrder';
  constructor(pair, quantity) {
    super();
    this.pair = pair;
    this.quantity = quantity;
  }
}

const [variant, countText] = process.argv.slice(2);
const count = Number(countText);
let instrumentation;
if (variant === 'noSdk') instrumentation = otelInstrumentation();
else if (variant === 'sdk') {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const exporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => undefined };
  instrumentation = otelInstrumentation({
    tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    meterProvider: new MeterProvider(),
  });
} else if (variant === 'idle') {
  // An SDK that records nothing: every trace sampled out, no metric reader. The hooks run in full.
  instrumentation = otelInstrumentation({
    tracerProvider: new BasicTracerProvider({ sampler: new AlwaysOffSampler() }),
    meterProvider: new MeterProvider(),
  });
} else if (variant !== 'plain') throw new Error(`unknown variant ${variant}`);

const app = createCqrs({ logger: silentLogger, ...(instrumentation ? { instrumentation } : {}) });
let units = 0;
app.commandBus.register(PlaceOrder, { handle: async (command) => (units += command.quantity) });
for (let i = 0; i < count; i++) await app.commandBus.dispatch(new PlaceOrder('BTC-USD', 1));
if (units !== count) throw new Error(`expected ${count} dispatches, counted ${units}`);
await app.close();
