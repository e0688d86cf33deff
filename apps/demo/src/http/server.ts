import { createHash } from 'node:crypto';
import { CommandValidationError, type FieldErrors, HandlerNotFoundError, newId } from '@finaegis/core';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { ExchangeApp } from '../app';
import { DEMO_ACCOUNTS, MARKETS } from '../config/domain';
import { IdempotencyKeyReusedError } from '../domain/errors/idempotency-key-reused-error';
import { LimitExceededError } from '../domain/errors/limit-exceeded-error';
import { OrderNotCancellableError } from '../domain/errors/order-not-cancellable-error';
import { OrderNotFoundError } from '../domain/errors/order-not-found-error';
import {
  CancelOrderCommand,
  DepositCommand,
  decodeOrderCursor,
  GetBalancesQuery,
  GetOrderBookQuery,
  GetOrderQuery,
  IDEMPOTENCY_KEY,
  type IdempotencyClaim,
  ListOrdersQuery,
  type OrderType,
  PlaceOrderCommand,
  type Side,
} from '../domain/messages';
import type { OrderView } from '../domain/views';
import { PROMETHEUS_CONTENT_TYPE, type Telemetry, traceRequests } from '../telemetry';
import { renderPage } from '../web/page';
import { registerWithdrawalRoutes } from '../withdrawals/routes';

/** Largest request body accepted; bigger ones get 413. */
export const BODY_LIMIT = 16 * 1024;
const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare module 'fastify' {
  interface FastifyRequest {
    correlationId: string;
  }
}

export interface ServerOptions {
  /** Fastify's logger (default off: the buses log). */
  readonly logger?: boolean;
  /** This process's telemetry: a SERVER span per request, `GET /metrics` and the page's panel. */
  readonly telemetry?: Telemetry;
}

/** The first error in a `cause` chain that is one of ours, or the error itself. */
function rootCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth++) {
    if (
      current instanceof CommandValidationError ||
      current instanceof OrderNotFoundError ||
      current instanceof OrderNotCancellableError ||
      current instanceof LimitExceededError ||
      current instanceof IdempotencyKeyReusedError ||
      current instanceof HandlerNotFoundError
    )
      return current;
    if (!(current instanceof Error) || current.cause === undefined) return error;
    current = current.cause;
  }
  return error;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
}

/** A body field that must be a string; anything else (a JSON number included) stays visible as wrong. */
function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  // Numbers are refused rather than converted: 0.1 as a JSON number is already a float.
  return typeof value === 'string'
    ? value.trim()
    : value === undefined || value === null
      ? ''
      : `\u0000${typeof value}`;
}

/** JSON with object keys sorted at every depth: the same body however its keys were ordered. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** What makes two requests "the same" for an Idempotency-Key: the operation and the body. */
function requestHash(operation: string, body: unknown): string {
  return createHash('sha256')
    .update(`${operation}\n${canonicalJson(body)}`)
    .digest('base64url');
}

function objectBody(request: FastifyRequest): Record<string, unknown> {
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new CommandValidationError('request', { _: ['the body must be a JSON object'] });
  }
  return body as Record<string, unknown>;
}

/**
 * The HTTP API and the web page. Identity comes from `Authorization: Bearer <token>` only; the
 * `X-Correlation-ID` header (or a new id) goes onto the commands and so onto their events.
 */
export async function buildServer(app: ExchangeApp, options: ServerOptions = {}): Promise<FastifyInstance> {
  const server = Fastify({ logger: options.logger ?? false, bodyLimit: BODY_LIMIT });
  const { commandBus, queryBus } = app.cqrs;
  const telemetry = options.telemetry;
  // Before any route: it wraps each route's handler in the request's SERVER span.
  if (telemetry?.enabled) traceRequests(server);

  server.decorateRequest('correlationId', '');
  server.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-correlation-id'];
    request.correlationId = typeof given === 'string' && CORRELATION_ID.test(given) ? given : newId();
    reply.header('x-correlation-id', request.correlationId);
  });

  server.setErrorHandler((error, request, reply) => {
    const cause = rootCause(error);
    if (cause instanceof CommandValidationError) {
      return reply.code(422).send({ error: 'validation failed', fields: publicFields(cause.fields) });
    }
    if (cause instanceof LimitExceededError) {
      return reply
        .code(422)
        .send({ error: 'limit exceeded', limit: cause.limit, fields: { [cause.field]: [cause.reason] } });
    }
    if (cause instanceof IdempotencyKeyReusedError) {
      return reply.code(422).send({
        error: cause.message,
        fields: { 'Idempotency-Key': ['was already used with a different request'] },
      });
    }
    if (cause instanceof OrderNotFoundError) return reply.code(404).send({ error: cause.message });
    if (cause instanceof OrderNotCancellableError) {
      return reply.code(409).send({ error: cause.message, status: cause.status });
    }
    if (cause instanceof HandlerNotFoundError) return reply.code(503).send({ error: cause.message });
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      return reply.code(status).send({ error: (error as Error).message });
    }
    request.log.error(error);
    app.cqrs.logger.error('Request failed', {
      url: request.url,
      correlationId: request.correlationId,
      error: error instanceof Error ? error.message : String(error),
    });
    return reply.code(500).send({ error: 'internal error', correlationId: request.correlationId });
  });

  const accountOf = (request: FastifyRequest, reply: FastifyReply): string | undefined => {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    const accountId = match === null ? undefined : app.tokens.get(match[1]!);
    if (accountId === undefined) {
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: 'a valid bearer token is required (Authorization: Bearer <token>)' });
    }
    return accountId;
  };

  /**
   * The request's Idempotency-Key as a claim (`null` without the header); `undefined` when the
   * header is malformed, after answering 400.
   */
  const idempotencyOf = (
    request: FastifyRequest,
    reply: FastifyReply,
    operation: string,
    body: unknown,
  ): IdempotencyClaim | null | undefined => {
    const header = request.headers['idempotency-key'];
    if (header === undefined) return null;
    if (typeof header !== 'string' || !IDEMPOTENCY_KEY.test(header)) {
      void reply.code(400).send({
        error:
          'invalid Idempotency-Key header: it must appear once, with 1 to 128 characters of A-Z a-z 0-9 - _ . : ~ + / =',
        header: 'Idempotency-Key',
      });
      return undefined;
    }
    return { key: header, requestHash: requestHash(operation, body) };
  };

  /** Sync placements answer 201 with the order, or 422 when the exchange rejected it (stored too). */
  const orderAnswer = (reply: FastifyReply, order: OrderView) => {
    if (order.status === 'rejected') {
      return reply.code(422).send({
        error: 'order rejected',
        fields: { [order.field ?? '_']: [order.reason ?? 'rejected'] },
        order,
      });
    }
    return reply.code(201).header('location', `/orders/${order.orderId}`).send(order);
  };

  server.get('/', async (_request, reply) =>
    reply
      .type('text/html; charset=utf-8')
      .send(renderPage({ token: DEMO_ACCOUNTS[0]!.token, pairs: MARKETS.map((m) => m.pair) })),
  );

  // Readiness of every adapter from `app.health()` (broker and database reachable, consumers in
  // their group, relay running), with this process's counters. 503 while not ready.
  server.get('/health', async (_request, reply) => {
    const health = await app.cqrs.health();
    return reply.code(health.ready ? 200 : 503).send({
      status: health.ready ? 'ok' : 'unavailable',
      health: health.status,
      ready: health.ready,
      live: health.live,
      queue: app.config.domain.queueConnection,
      cache: app.config.domain.cacheDriver,
      eventStore: app.config.domain.eventStore,
      adapters: health.components,
      stats: app.stats,
      figures: await app.figures().catch((error: unknown) => ({
        error: error instanceof Error ? error.message : String(error),
      })),
      cacheStats: queryBus.cacheStats(),
      afterCommit: app.cqrs.afterCommitStats(),
    });
  });
  // Orders placed and trades: from the committed events for all processes on PostgreSQL (see figures.ts).
  server.get('/figures', async () => app.figures());
  // Probes: liveness fails only when a restart would help; readiness while an adapter is down.
  server.get('/health/live', async (_request, reply) => {
    const { live, status } = await app.cqrs.health();
    return reply.code(live ? 200 : 503).send({ live, status });
  });
  server.get('/health/ready', async (_request, reply) => {
    const { ready, status } = await app.cqrs.health();
    return reply.code(ready ? 200 : 503).send({ ready, status });
  });

  const placeOrder = async (request: FastifyRequest, reply: FastifyReply, async: boolean) => {
    const accountId = accountOf(request, reply);
    if (accountId === undefined) return reply;
    // The header is checked before the body, so a malformed key is a 400 whatever the body is.
    const claim = idempotencyOf(request, reply, async ? 'POST /orders async' : 'POST /orders', request.body);
    if (claim === undefined) return reply;
    const body = objectBody(request);
    const price = field(body, 'price');
    const orderFor = (orderId: string, idempotency: IdempotencyClaim | null) =>
      new PlaceOrderCommand(
        orderId,
        accountId,
        field(body, 'pair'),
        field(body, 'side') as Side,
        (field(body, 'type') || 'limit') as OrderType,
        field(body, 'amount'),
        price === '' ? null : price,
        idempotency,
      ).withMetadata({ correlationId: request.correlationId, accountId });
    if (!async) return orderAnswer(reply, await commandBus.dispatch(orderFor(newId(), claim)));

    const command = orderFor(newId(), null);
    const accepted = (answer: { messageId: string; orderId: string; status: 'pending' }) =>
      reply.code(202).header('location', `/orders/${answer.orderId}`).send(answer);
    if (claim === null) {
      const messageId = await app.dispatchAsync(command, { key: command.pair });
      return accepted({ messageId, orderId: command.orderId, status: 'pending' });
    }
    // With a key the answer is stored first (in the event store), then the command is sent: a
    // retry through any API process finds the answer, and a second request cannot send a second
    // order. A send that fails now is a failure after commit: the answer stands, and a retry with
    // the key sends the order again while it is undecided (workers place one order per order id).
    const { answer, first } = await app.acceptOrder(
      accountId,
      claim,
      { messageId: command.messageId, orderId: command.orderId, status: 'pending' as const },
      request.correlationId,
    );
    const undecided = first || (await queryBus.ask(new GetOrderQuery(answer.orderId, accountId))) === null;
    if (undecided) {
      const send = first ? command : orderFor(answer.orderId, null);
      try {
        await app.dispatchAsync(send, { key: send.pair });
      } catch (error) {
        app.stats.afterCommitFailures += 1;
        app.cqrs.logger.error(
          'Sending an accepted order failed; a retry with its Idempotency-Key sends it again',
          {
            orderId: answer.orderId,
            correlationId: request.correlationId,
            error: error instanceof Error ? error.message : String(error),
          },
        );
      }
    }
    return accepted(answer);
  };

  server.post<{ Querystring: { async?: string } }>('/orders', async (request, reply) => {
    const async = request.query.async;
    return placeOrder(request, reply, async === '1' || async === 'true');
  });
  server.get('/metrics', async (_request, reply) => {
    if (!telemetry?.enabled)
      return reply.code(404).send({ error: 'telemetry is off (OTEL_SDK_DISABLED=true)' });
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(await telemetry.prometheus());
  });
  server.get('/metrics/panel', async (_request, reply) => {
    if (!telemetry?.enabled)
      return reply.code(404).send({ error: 'telemetry is off (OTEL_SDK_DISABLED=true)' });
    return telemetry.panel();
  });

  server.post('/orders/async', async (request, reply) => placeOrder(request, reply, true));

  server.get<{ Querystring: { limit?: string; cursor?: string } }>('/orders', async (request, reply) => {
    const accountId = accountOf(request, reply);
    if (accountId === undefined) return reply;
    const limitText = text(request.query.limit);
    const cursorText = text(request.query.cursor);
    const before = cursorText === '' ? null : (decodeOrderCursor(cursorText) ?? Number.NaN);
    // Digits only: Number() would also take "1e2" or " 7".
    const limit = limitText === '' ? 20 : /^\d{1,4}$/.test(limitText) ? Number(limitText) : Number.NaN;
    const query = new ListOrdersQuery(accountId, limit, before);
    query.validate();
    return queryBus.ask(query);
  });

  server.get<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    const accountId = accountOf(request, reply);
    if (accountId === undefined) return reply;
    const order = await queryBus.ask(new GetOrderQuery(request.params.id, accountId));
    if (order === null) return reply.code(404).send({ error: `order ${request.params.id} not found` });
    return order;
  });

  server.delete<{ Params: { id: string } }>('/orders/:id', async (request, reply) => {
    const accountId = accountOf(request, reply);
    if (accountId === undefined) return reply;
    const claim = idempotencyOf(request, reply, `DELETE /orders/${request.params.id}`, null);
    if (claim === undefined) return reply;
    const command = new CancelOrderCommand(request.params.id, accountId, claim).withMetadata({
      correlationId: request.correlationId,
      accountId,
    });
    return commandBus.dispatch(command);
  });

  server.get<{ Params: { base: string; quote: string }; Querystring: { depth?: string } }>(
    '/orderbook/:base/:quote',
    async (request, reply) => {
      const pair = `${request.params.base.toUpperCase()}/${request.params.quote.toUpperCase()}`;
      if (!MARKETS.some((m) => m.pair === pair))
        return reply.code(404).send({ error: `unknown pair ${pair}` });
      const depthText = text(request.query.depth);
      const depth = depthText === '' ? 20 : Number(depthText);
      const query = new GetOrderBookQuery(pair, depth);
      query.validate();
      return app.orderBook(query);
    },
  );

  server.get('/balances', async (request, reply) => {
    const accountId = accountOf(request, reply);
    if (accountId === undefined) return reply;
    return queryBus.ask(new GetBalancesQuery(accountId));
  });

  server.post('/deposits', async (request, reply) => {
    const accountId = accountOf(request, reply);
    if (accountId === undefined) return reply;
    const body = objectBody(request);
    const command = new DepositCommand(
      newId(),
      accountId,
      field(body, 'asset'),
      field(body, 'amount'),
    ).withMetadata({
      correlationId: request.correlationId,
      accountId,
    });
    const balances = await commandBus.dispatch(command);
    return reply.code(201).send(balances);
  });

  registerWithdrawalRoutes(server, app.withdrawals, app.tokens);
  return server;
}

/** The field errors as the API names them (the command's `orderType` is the body's `type`). */
function publicFields(fields: FieldErrors): FieldErrors {
  const result: FieldErrors = {};
  for (const [name, reasons] of Object.entries(fields))
    result[name === 'orderType' ? 'type' : name] = reasons;
  return result;
}
