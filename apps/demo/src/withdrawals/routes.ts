// The withdrawals' HTTP API and page, registered on the demo's server with one call.
import { ProcessError } from '@finaegis/core';
import type { FastifyInstance } from 'fastify';
import { decimalProblem, formatAmount } from '../decimal';
import type { Withdrawals } from './module';
import { renderWithdrawalsPage } from './page';

/**
 * `GET /withdrawals` (the latest withdrawals, counts by status, the books),
 * `POST /withdrawals` `{ amount }` with a bearer token (starts one, 202),
 * `POST /withdrawals/:id/retry` and `/compensate` (operator actions on a failed one),
 * `GET /withdrawals/page` (the page).
 */
export function registerWithdrawalRoutes(
  server: FastifyInstance,
  withdrawals: Withdrawals,
  tokens: ReadonlyMap<string, string>,
): void {
  server.get('/withdrawals/page', async (_request, reply) =>
    reply.type('text/html; charset=utf-8').send(renderWithdrawalsPage({ tokens: [...tokens.keys()] })),
  );

  server.get<{ Querystring: { limit?: string } }>('/withdrawals', async (request) => {
    const limit = Math.min(Math.max(Number(request.query.limit ?? 30) || 30, 1), 200);
    const [list, counts, accounts] = await Promise.all([
      withdrawals.list(limit),
      withdrawals.processes.counts(withdrawals.definition),
      withdrawals.book.accounts(),
    ]);
    return {
      withdrawals: list,
      counts,
      accounts: accounts.map((account) => ({
        account: account.account,
        available: formatAmount(account.available),
        reserved: formatAmount(account.reserved),
        paidOut: formatAmount(account.paidOut),
      })),
      manager: withdrawals.processes.stats(),
    };
  });

  server.post('/withdrawals', async (request, reply) => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const account = match === null ? undefined : tokens.get(match[1]!);
    if (account === undefined) return reply.code(401).send({ error: 'a valid bearer token is required' });
    const amount = (request.body as { amount?: unknown } | null)?.amount;
    const problem = decimalProblem(amount);
    if (problem !== undefined)
      return reply.code(400).send({ error: `amount ${problem}`, fields: { amount: [problem] } });
    const withdrawalId = await withdrawals.request(account, amount as string);
    return reply.code(202).send({ withdrawalId, status: 'requested' });
  });

  for (const action of ['retry', 'compensate'] as const) {
    server.post<{ Params: { id: string } }>(`/withdrawals/:id/${action}`, async (request, reply) => {
      try {
        const process = await withdrawals.processes[action](withdrawals.definition, request.params.id);
        // The error's message only: stacks stay in the process store.
        return {
          withdrawalId: process.processId,
          status: process.status,
          stage: (process.state as { stage?: string } | undefined)?.stage ?? null,
          error: process.failure?.error.message ?? null,
        };
      } catch (error) {
        if (!(error instanceof ProcessError)) throw error;
        return reply
          .code(error.reason === 'not-found' ? 404 : 409)
          .send({ error: error.message, reason: error.reason });
      }
    });
  }
}
