import { assemble, featuresOff } from '../registration';
import { type ContractRunner, report } from '../runner';
import { basics } from './basics';
import { ending } from './ending';
import { features } from './features';
import type { TransactionManagerContractGroup, TransactionManagerHarness } from './harness';
import { isolation } from './isolation';
import { outbox } from './outbox';
import { savepoints } from './savepoints';
import { timeouts } from './timeouts';

export type {
  TransactionManagerContractGroup,
  TransactionManagerFeatures,
  TransactionManagerHarness,
  TransactionProbe,
} from './harness';

const GROUPS = { features, basics, timeouts, isolation, savepoints, outbox, ending } as const;

/** Names of the groups `transactionManagerContract` runs; each is also `transactionManagerContract.<name>`. */
export type TransactionManagerContractGroupName = keyof typeof GROUPS;

/**
 * Registers the whole transaction manager contract for an adapter: commit, rollback, timeout,
 * isolation, savepoints (`features.savepoint`), the outbox (`features.outbox`) and what a context
 * refuses once its transaction is over. Each group can also run alone, e.g.
 * `transactionManagerContract.savepoints(runner, harness)`.
 */
export const transactionManagerContract: ((
  runner: ContractRunner,
  harness: TransactionManagerHarness,
) => void) &
  Readonly<Record<TransactionManagerContractGroupName, TransactionManagerContractGroup>> = assemble(
  (harness: TransactionManagerHarness) => `${harness.name} transaction manager`,
  GROUPS,
  (harness) => {
    const off = featuresOff(harness.features);
    report(
      `${harness.name} transaction manager: ${off.length === 0 ? 'every group' : `features declared off: ${off.join(', ')}`}`,
    );
  },
);
