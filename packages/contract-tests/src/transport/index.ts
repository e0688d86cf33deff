import { assemble, featuresOff } from '../registration';
import { type ContractRunner, report, stressFactor } from '../runner';
import { afterClose } from './after-close';
import { close } from './close';
import { concurrency } from './concurrency';
import { crash } from './crash';
import { deadLetter } from './dead-letters';
import { decoding } from './decoding';
import { dedupe } from './dedupe';
import { delay } from './delay';
import { delivery } from './delivery';
import { depth } from './depth';
import { features } from './features';
import { groups } from './groups';
import type { TransportContractGroup, TransportHarness } from './harness';
import { input } from './input';
import { ordering } from './ordering';
import { priority } from './priority';
import { reconnect } from './reconnect';
import { retries } from './retries';

export type { TransportContractGroup, TransportHarness, TransportTolerances } from './harness';

const GROUPS = {
  features,
  delivery,
  groups,
  ordering,
  retries,
  deadLetter,
  decoding,
  delay,
  priority,
  crash,
  close,
  dedupe,
  depth,
  input,
  afterClose,
  concurrency,
  reconnect,
} as const;

/** Names of the groups `transportContract` runs; each is also `transportContract.<name>`. */
export type TransportContractGroupName = keyof typeof GROUPS;

/**
 * Registers the whole transport contract for an adapter, one group per rule of the `Transport`
 * port. Each group can also run alone, e.g. `transportContract.delivery(runner, harness)`.
 */
export const transportContract: ((runner: ContractRunner, harness: TransportHarness) => void) &
  Readonly<Record<TransportContractGroupName, TransportContractGroup>> = assemble(
  (harness: TransportHarness) => `${harness.name} transport`,
  GROUPS,
  (harness) => {
    const off = featuresOff(harness.features);
    report(
      `${harness.name} transport: features declared off: ${off.length > 0 ? off.join(', ') : 'none'}` +
        ` (stress ×${stressFactor(harness.stress)})`,
    );
  },
);
