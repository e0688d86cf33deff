/**
 * The demo's web page: the live order book of a pair (polled from the API every second), recent
 * trades, balances, the caller's latest orders, a form to place orders, and a panel of the guide's
 * five metrics (when telemetry is on). Served inline by the API, so a build needs no
 * asset copying.
 */
export function renderPage(options: { token: string; pairs: readonly string[] }): string {
  const pairOptions = options.pairs
    .map((pair) => `<option value="${escapeHtml(pair)}">${escapeHtml(pair)}</option>`)
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FinAegis exchange demo</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2733; background: #f5f7fa; }
  body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  .sub { color: #5b6b7d; margin: 0 0 1rem; font-size: .9rem; }
  .grid { display: grid; grid-template-columns: 1fr 1fr 1.2fr; gap: 1rem; }
  section { background: #fff; border-radius: 8px; padding: .75rem 1rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .9rem; }
  th, td { text-align: right; padding: 2px 4px; }
  th { color: #5b6b7d; font-weight: 500; }
  .bid { color: #0a7d38; } .ask { color: #c0262d; }
  .stats { display: flex; gap: 1.5rem; margin-bottom: 1rem; font-size: .95rem; }
  .stats b { font-variant-numeric: tabular-nums; }
  form label { display: block; margin: .35rem 0; font-size: .9rem; }
  form input, form select { width: 100%; box-sizing: border-box; padding: 4px; font: inherit; }
  button { margin-top: .5rem; padding: 6px 14px; font: inherit; cursor: pointer; }
  #result { margin-top: .5rem; font-size: .85rem; white-space: pre-wrap; min-height: 2.5em; }
  .error { color: #c0262d; }
  .empty { color: #8a98a8; text-align: center; }
  section.orders { margin-top: 1rem; }
  .rejected { color: #c0262d; }
  section.monitoring { margin-bottom: 1rem; }
  .metrics { display: grid; grid-template-columns: repeat(5, 1fr); gap: .75rem; }
  .metric { font-size: .8rem; color: #5b6b7d; }
  .metric b { display: block; font-size: 1.1rem; color: #1d2733; font-variant-numeric: tabular-nums; }
</style>
</head>
<body>
<h1>FinAegis exchange demo</h1>
<p class="sub">Commands, queries and events on @finaegis/core. The book refreshes every second.</p>
<div class="stats">
  <label>Pair <select id="pair">${pairOptions}</select></label>
  <span>Best bid <b id="best-bid">–</b></span>
  <span>Best ask <b id="best-ask">–</b></span>
  <span>Spread <b id="spread">–</b></span>
  <span>Last price <b id="last-price">–</b></span>
</div>
<section class="monitoring" id="monitoring" hidden>
  <h2>Monitoring <span class="sub">(this process since it started, from its OpenTelemetry metrics; <a href="/metrics">/metrics</a>)</span></h2>
  <div class="metrics">
    <div class="metric">Command time p50 / p95<b id="m-command">–</b></div>
    <div class="metric">Query cache hit rate<b id="m-cache">–</b></div>
    <div class="metric">Event processing lag p50 / p95<b id="m-lag">–</b></div>
    <div class="metric">Queue depth<b id="m-depth">–</b></div>
    <div class="metric">Error rate<b id="m-errors">–</b></div>
    <div class="metric">Orders placed / trades <span class="sub" id="f-source"></span><b id="f-figures">–</b></div>
  </div>
</section>
<div class="grid">
  <section>
    <h2>Order book</h2>
    <table><thead><tr><th>Price</th><th>Amount</th><th>Orders</th></tr></thead>
      <tbody id="asks"></tbody>
      <tbody><tr><td colspan="3"><hr></td></tr></tbody>
      <tbody id="bids"></tbody>
    </table>
  </section>
  <section>
    <h2>Recent trades</h2>
    <table><thead><tr><th>Price</th><th>Amount</th><th>Time</th></tr></thead><tbody id="trades"></tbody></table>
  </section>
  <section>
    <h2>Place an order</h2>
    <form id="order-form">
      <label>Token <input id="token" name="token" value="${escapeHtml(options.token)}" autocomplete="off"></label>
      <label>Side <select id="side" name="side"><option value="buy">buy</option><option value="sell">sell</option></select></label>
      <label>Type <select id="type" name="type"><option value="limit">limit</option><option value="market">market</option></select></label>
      <label>Amount <input id="amount" name="amount" value="0.1" inputmode="decimal"></label>
      <label>Price <input id="price" name="price" value="30000" inputmode="decimal"></label>
      <button id="submit" type="submit">Place order</button>
    </form>
    <div id="result"></div>
    <h2>Balances</h2>
    <table><thead><tr><th>Asset</th><th>Available</th><th>Locked</th></tr></thead><tbody id="balances"></tbody></table>
  </section>
</div>
<section class="orders">
  <h2>Your orders <span class="sub">(newest first, last 10)</span></h2>
  <table><thead><tr><th>Order</th><th>Pair</th><th>Side</th><th>Type</th><th>Amount</th><th>Price</th><th>Filled</th><th>Status</th></tr></thead><tbody id="orders"></tbody></table>
</section>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const rows = (levels, cls) => levels.length === 0
    ? '<tr><td colspan="3" class="empty">empty</td></tr>'
    : levels.map((l) => '<tr class="' + cls + '"><td>' + esc(l.price) + '</td><td>' + esc(l.amount) + '</td><td>' + l.orders + '</td></tr>').join('');
  const auth = () => ({ authorization: 'Bearer ' + $('token').value.trim() });

  async function refreshBook() {
    const [base, quote] = $('pair').value.split('/');
    const response = await fetch('/orderbook/' + base + '/' + quote + '?depth=10');
    if (!response.ok) return;
    const book = await response.json();
    $('asks').innerHTML = rows([...book.asks].reverse(), 'ask');
    $('bids').innerHTML = rows(book.bids, 'bid');
    $('best-bid').textContent = book.bestBid ?? '–';
    $('best-ask').textContent = book.bestAsk ?? '–';
    $('spread').textContent = book.spread ?? '–';
    $('last-price').textContent = book.lastPrice ?? '–';
    $('trades').innerHTML = book.recentTrades.length === 0
      ? '<tr><td colspan="3" class="empty">no trades yet</td></tr>'
      : book.recentTrades.map((t) => '<tr class="' + (t.takerSide === 'buy' ? 'bid' : 'ask') + '"><td>' + esc(t.price) + '</td><td>' + esc(t.quantity) + '</td><td>' + esc(new Date(t.at).toLocaleTimeString()) + '</td></tr>').join('');
  }

  async function refreshBalances() {
    const response = await fetch('/balances', { headers: auth() });
    if (!response.ok) { $('balances').innerHTML = '<tr><td colspan="3" class="empty">unknown token</td></tr>'; return; }
    const { balances } = await response.json();
    $('balances').innerHTML = Object.entries(balances).map(([asset, b]) => '<tr><td>' + esc(asset) + '</td><td>' + esc(b.available) + '</td><td>' + esc(b.locked) + '</td></tr>').join('');
  }

  async function refreshOrders() {
    const response = await fetch('/orders?limit=10', { headers: auth() });
    if (!response.ok) { $('orders').innerHTML = '<tr><td colspan="8" class="empty">unknown token</td></tr>'; return; }
    const { orders } = await response.json();
    $('orders').innerHTML = orders.length === 0
      ? '<tr><td colspan="8" class="empty">no orders yet</td></tr>'
      : orders.map((o) => '<tr' + (o.status === 'rejected' ? ' class="rejected"' : '') + ' title="' + esc(o.reason ?? '') + '"><td>' + esc(o.orderId.slice(-8)) + '</td><td>' + esc(o.pair) + '</td><td>' + esc(o.side) + '</td><td>' + esc(o.type) + '</td><td>' + esc(o.amount) + '</td><td>' + esc(o.price ?? 'market') + '</td><td>' + esc(o.filled) + '</td><td>' + esc(o.status) + (o.reason ? ': ' + esc(o.reason) : '') + '</td></tr>').join('');
  }

  const ms = (seconds) => seconds === null ? '–' : (seconds * 1000).toFixed(seconds < 0.01 ? 2 : 1) + ' ms';
  const pct = (ratio) => ratio === null ? '–' : (ratio * 100).toFixed(1) + ' %';
  async function refreshMonitoring() {
    const response = await fetch('/metrics/panel');
    if (!response.ok) { $('monitoring').hidden = true; return; }
    const m = await response.json();
    $('monitoring').hidden = false;
    $('m-command').textContent = ms(m.commandSeconds.p50) + ' / ' + ms(m.commandSeconds.p95);
    $('m-cache').textContent = pct(m.cacheHitRate) + ' (' + m.cacheCalls.hit + ' of ' + (m.cacheCalls.hit + m.cacheCalls.miss + m.cacheCalls.coalesced) + ')';
    // The demo publishes its events in process: async lag is then that of the commands workers handle.
    const lag = m.eventLagSeconds.count > 0 ? m.eventLagSeconds : m.messageLagSeconds;
    $('m-lag').textContent = lag.count === 0 ? 'nothing handled yet' : ms(lag.p50) + ' / ' + ms(lag.p95) + (lag === m.eventLagSeconds ? '' : ' (async commands)');
    const depth = Object.entries(m.queueDepth);
    $('m-depth').textContent = depth.length === 0 ? '–' : depth.map(([channel, n]) => channel + ' ' + n).join(', ');
    $('m-errors').textContent = pct(m.errorRate) + ' (' + m.errors + ', ' + m.deadLettered + ' dead-lettered)';
    const figures = await (await fetch('/figures')).json();
    $('f-figures').textContent = figures.ordersPlaced + ' / ' + figures.trades;
    $('f-source').textContent = figures.source === 'event-store' ? '(all processes, from the event store)' : '(this process)';
  }

  async function refresh() {
    try { await Promise.all([refreshBook(), refreshBalances(), refreshOrders(), refreshMonitoring()]); } catch { /* the next tick retries */ }
  }

  $('type').addEventListener('change', () => { $('price').disabled = $('type').value === 'market'; });
  $('pair').addEventListener('change', refresh);
  $('token').addEventListener('change', refresh);
  $('order-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { pair: $('pair').value, side: $('side').value, type: $('type').value, amount: $('amount').value.trim() };
    if (body.type === 'limit') body.price = $('price').value.trim();
    const result = $('result');
    result.className = '';
    result.textContent = 'placing…';
    try {
      const response = await fetch('/orders', { method: 'POST', headers: { 'content-type': 'application/json', ...auth() }, body: JSON.stringify(body) });
      const data = await response.json();
      if (response.ok) {
        result.textContent = 'Order ' + data.orderId + ': ' + data.status + ' (filled ' + data.filled + ' of ' + data.amount + ')';
      } else {
        result.className = 'error';
        const fields = data.fields ? Object.entries(data.fields).map(([f, r]) => f + ': ' + r.join(', ')).join('; ') : '';
        result.textContent = response.status + ' ' + data.error + (fields ? ' — ' + fields : '');
      }
    } catch (error) {
      result.className = 'error';
      result.textContent = String(error);
    }
    await refresh();
  });

  refresh();
  setInterval(refresh, 1000);
})();
</script>
</body>
</html>
`;
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
