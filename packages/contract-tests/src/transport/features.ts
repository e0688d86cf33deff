import type { SendOptions, TransportFeatures } from '@finaegis/core';
import type { TransportContractGroup } from './harness';
import { define, message } from './scope';

export const features: TransportContractGroup = (runner, harness) => {
  const test = define(runner, harness);
  runner.describe('features', () => {
    test('every transport declares the features the harness states', async (scope) => {
      const transport = await scope.transport();
      runner.expect({ ...transport.features }).toEqual({ ...harness.features });
      for (const value of Object.values(transport.features)) runner.expect(typeof value).toBe('boolean');
    });
    const refusals: Array<[keyof TransportFeatures, SendOptions]> = [
      ['delay', { delayMs: 1_000 }],
      ['priority', { priority: 5 }],
      ['dedupe', { dedupeId: 'once' }],
    ];
    for (const [feature, options] of refusals) {
      if (harness.features[feature]) continue;
      test(`a send asking for ${feature}, declared off, is refused with UnsupportedFeatureError`, async (scope) => {
        const transport = await scope.transport();
        const error = await transport.send(scope.channel, message(1), options).then(
          () => undefined,
          (e: unknown) => e,
        );
        runner.expect((error as Error | undefined)?.name).toBe('UnsupportedFeatureError');
      });
    }
    if (!harness.features.depth) {
      test('depth(), declared off, is refused with UnsupportedFeatureError', async (scope) => {
        const transport = await scope.transport();
        const error = await transport.depth(scope.channel).then(
          () => undefined,
          (e: unknown) => e,
        );
        runner.expect((error as Error | undefined)?.name).toBe('UnsupportedFeatureError');
      });
    }
  });
};
