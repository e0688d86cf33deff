// The fake payout provider: a stand-in for an external service that is sometimes slow, sometimes
// fails and sometimes never answers. What it does with a withdrawal is decided from the
// withdrawal's id, so a test knows the mix it will get and a redelivered request gets the same.
import type { Cqrs } from '@finaegis/core';
import { parseAmount } from '../decimal';
import type { PayoutDecision, WithdrawalBook } from './book';
import { CancelPayout, PayoutCancelled, PayoutFailed, PayoutSucceeded, RequestPayout } from './messages';

/** How the provider treats a payout request. */
export type PayoutBehaviour = 'pays' | 'pays-slowly' | 'fails' | 'never-answers';

export interface PayoutProviderOptions {
  /** Shares of each behaviour (any positive numbers; normalised). Default 6 : 2 : 1 : 1. */
  readonly mix?: Partial<Record<PayoutBehaviour, number>>;
  /** How long a slow payout takes before the provider answers. Default 3000 ms. */
  readonly slowMs?: number;
}

const BEHAVIOURS: readonly PayoutBehaviour[] = ['pays', 'pays-slowly', 'fails', 'never-answers'];
const DEFAULT_MIX: Record<PayoutBehaviour, number> = {
  pays: 6,
  'pays-slowly': 2,
  fails: 1,
  'never-answers': 1,
};

/** A number in [0, 1) from a string (FNV-1a, then a final mix), the same in every process. */
function unit(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // Spreads the last characters' bits over the whole word (ids often differ only at the end).
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return (hash >>> 0) / 2 ** 32;
}

/** What the provider will do with this withdrawal. */
export function behaviourOf(
  withdrawalId: string,
  mix: PayoutProviderOptions['mix'] = DEFAULT_MIX,
): PayoutBehaviour {
  const shares = BEHAVIOURS.map((behaviour) => Math.max(0, mix[behaviour] ?? 0));
  const total = shares.reduce((sum, share) => sum + share, 0);
  let pick = unit(withdrawalId) * total;
  for (const [index, share] of shares.entries()) {
    if (pick < share) return BEHAVIOURS[index]!;
    pick -= share;
  }
  return 'pays';
}

const DECISION: Record<PayoutBehaviour, PayoutDecision> = {
  pays: 'paid',
  'pays-slowly': 'paid',
  fails: 'failed',
  'never-answers': 'pending',
};

/** Registers the provider's two operations as command handlers of `cqrs`. */
export function registerPayoutProvider(
  cqrs: Cqrs,
  book: WithdrawalBook,
  options: PayoutProviderOptions = {},
): void {
  const mix = options.mix ?? DEFAULT_MIX;
  const slowMs = options.slowMs ?? 3000;
  const answer = (withdrawalId: string, decision: PayoutDecision) => {
    if (decision === 'paid') return cqrs.eventBus.publishAsync(new PayoutSucceeded(withdrawalId));
    if (decision === 'failed') return cqrs.eventBus.publishAsync(new PayoutFailed(withdrawalId));
    if (decision === 'cancelled') return cqrs.eventBus.publishAsync(new PayoutCancelled(withdrawalId));
    return undefined;
  };
  cqrs.commandBus.register(RequestPayout, async (command) => {
    const behaviour = behaviourOf(command.withdrawalId, mix);
    const decision = await book.decide(
      command.withdrawalId,
      parseAmount(command.amount),
      DECISION[behaviour],
    );
    if (behaviour === 'pays-slowly' && decision === 'paid')
      await new Promise((resolve) => setTimeout(resolve, slowMs));
    await answer(command.withdrawalId, decision);
  });
  // Always answered: with what the provider did, or that it cancelled.
  cqrs.commandBus.register(CancelPayout, async (command) => {
    await answer(command.withdrawalId, await book.cancel(command.withdrawalId, parseAmount(command.amount)));
  });
}
