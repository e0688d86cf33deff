// The work every contender does, shared so that the bus is the only thing that differs: the same
// handler bodies, the same result, the same cache. Quantities are integer units (never floats).

/** A depth-of-book answer; built once and cached, so its size does not weigh on the hit path. */
export interface Depth {
  readonly pair: string;
  readonly levels: number;
  readonly bids: readonly (readonly [string, string])[];
  readonly asks: readonly (readonly [string, string])[];
}

export function buildDepth(pair: string, levels: number): Depth {
  const level = (i: number, side: number): readonly [string, string] => [
    String(6_400_000 + side * (i + 1) * 50),
    String(10_000 * (i + 3)),
  ];
  return {
    pair,
    levels,
    bids: Array.from({ length: levels }, (_, i) => level(i, -1)),
    asks: Array.from({ length: levels }, (_, i) => level(i, 1)),
  };
}

/** What the handlers write to, so that no engine can drop their work as dead code. */
export const sink = { units: 0, eventsHandled: 0, logged: 0 };

/** Body of the PlaceOrder handler in every contender. */
export async function placeOrder(order: {
  readonly pair: string;
  readonly quantity: number;
}): Promise<number> {
  sink.units += order.quantity;
  return sink.units;
}

const books = new Map<string, Depth>();

/** Body of the GetDepth handler in every contender (a lookup in an in-memory read model). */
export async function getDepth(query: { readonly pair: string; readonly levels: number }): Promise<Depth> {
  const key = `${query.pair}/${query.levels}`;
  let book = books.get(key);
  if (book === undefined) {
    book = buildDepth(query.pair, query.levels);
    books.set(key, book);
  }
  return book;
}

/** Body of each of the three OrderPlaced subscribers in every contender. */
export async function onOrderPlaced(event: { readonly quantity: number }): Promise<void> {
  sink.units += event.quantity;
  sink.eventsHandled += 1;
}
