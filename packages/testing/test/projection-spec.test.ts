import { Projection } from '@finaegis/core';
import { describe, expect, test } from 'vitest';
import { projectionSpec, SpecAssertionError } from '../src/index';
import { balancesProjection, CardIssued, Deposited, GetBalance, Withdrawn } from './domain';

const { projection, balances } = balancesProjection();
const spec = projectionSpec(projection, {
  events: [Deposited, Withdrawn],
  queries: (bus) =>
    bus.register(GetBalance, (query) => ({
      accountId: query.accountId,
      balance: String(balances.get(query.accountId) ?? 0n),
    })),
});

describe('projectionSpec', () => {
  test('given events, then the read model', async () => {
    const outcome = await spec
      .given(new Deposited('alice', '10'), new Deposited('bob', '3'), new Withdrawn('alice', '4'))
      .thenReadModel(() => {
        expect(Object.fromEntries(balances)).toEqual({ alice: 6n, bob: 3n });
      });
    expect(outcome).toEqual({ applied: 3, position: 3 });
  });

  test('given events, then a query answer; each spec starts from the reset read model', async () => {
    await spec.given(new Deposited('alice', '10')).thenAnswers(new GetBalance('alice'), { balance: '10' });
    await spec.given(new Deposited('carol', '1')).thenAnswers(new GetBalance('alice'), { balance: '0' });
  });

  test('the projection sees events rebuilt from storage (not the objects given), in order, with their stream', async () => {
    const seen: unknown[] = [];
    const given = new Deposited('dave', '7');
    const watching = new Projection('watching').on(Deposited, (event, context) => {
      seen.push([event === given, event.amount, event.aggregateId, context.streamId, event.version]);
    });
    await projectionSpec(watching, { events: [Deposited] })
      .given(given, new Deposited('dave', '8'))
      .thenReadModel(() => undefined);
    expect(seen).toEqual([
      [false, '7', 'dave', 'bank.Account-dave', 1],
      [false, '8', 'dave', 'bank.Account-dave', 2],
    ]);
  });

  test('a wrong answer fails naming the field; an event class not given to the spec fails', async () => {
    const wrong = await spec
      .given(new Deposited('alice', '10'))
      .thenAnswers(new GetBalance('alice'), { balance: '11' })
      .catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(SpecAssertionError);
    expect((wrong as Error).message).toContain(
      "bank.GetBalance answered otherwise: balance: expected '11', got '10'",
    );
    const undeclared = await spec
      .given(new CardIssued('4111') as never)
      .thenReadModel(() => undefined)
      .catch((error: unknown) => error);
    expect((undeclared as Error).message).toContain('bank.CardIssued is not among the event classes');
  });

  test('thenAnswers without query handlers is refused', async () => {
    await expect(
      projectionSpec(projection, { events: [Deposited] })
        .given()
        .thenAnswers(new GetBalance('x'), {}),
    ).rejects.toThrow(/invalid queries/);
  });
});
