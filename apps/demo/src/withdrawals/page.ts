/**
 * The withdrawals page: a form to withdraw, the latest withdrawals with their stage (polled every
 * second), counts by status, the accounts' money, and retry / compensate on failed ones.
 */
export function renderWithdrawalsPage(options: { tokens: readonly string[] }): string {
  const tokenOptions = options.tokens.map((token) => `<option>${escapeHtml(token)}</option>`).join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>FinAegis withdrawals</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2733; background: #f5f7fa; }
  body { margin: 0 auto; max-width: 1100px; padding: 1rem 1.5rem; }
  h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
  .sub { color: #5b6b7d; margin: 0 0 1rem; font-size: .9rem; }
  section { background: #fff; border-radius: 8px; padding: .75rem 1rem; margin-bottom: 1rem; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; font-size: .88rem; }
  th, td { text-align: left; padding: 2px 6px; }
  th { color: #5b6b7d; font-weight: 500; }
  .settled { color: #0a7d38; } .released, .rejected { color: #8a6d00; } .failed { color: #c0262d; }
  .counts span { margin-right: 1.2rem; }
  button { padding: 4px 10px; font: inherit; cursor: pointer; }
</style>
</head>
<body>
<h1>Withdrawals</h1>
<p class="sub">Each withdrawal is a process: reserve the funds, ask the payout provider (sometimes slow,
sometimes failing, sometimes silent), then settle, or release on failure or timeout. <a href="/">Exchange</a></p>
<section>
  <form id="withdraw">
    <label>Account token <select id="token">${tokenOptions}</select></label>
    <label>Amount <input id="amount" value="12.5" size="8"></label>
    <button>Withdraw</button> <span id="result"></span>
  </form>
</section>
<section><h2>Status</h2><div class="counts" id="counts"></div></section>
<section><h2>Accounts</h2><table><thead><tr><th>Account</th><th>Available</th><th>Reserved</th><th>Paid out</th></tr></thead><tbody id="accounts"></tbody></table></section>
<section>
  <h2>Latest withdrawals</h2>
  <table>
    <thead><tr><th>Id</th><th>Account</th><th>Amount</th><th>Stage</th><th>Payout</th><th>Status</th><th></th></tr></thead>
    <tbody id="list"></tbody>
  </table>
</section>
<script>
const text = (value) => String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
async function refresh() {
  const response = await fetch('/withdrawals');
  if (!response.ok) return;
  const data = await response.json();
  document.getElementById('counts').innerHTML = Object.entries(data.counts)
    .map(([status, n]) => '<span>' + text(status) + ' <b>' + n + '</b></span>').join('');
  document.getElementById('accounts').innerHTML = data.accounts
    .map((a) => '<tr><td>' + text(a.account) + '</td><td>' + text(a.available) + '</td><td>' + text(a.reserved) + '</td><td>' + text(a.paidOut) + '</td></tr>').join('');
  document.getElementById('list').innerHTML = data.withdrawals.map((w) => {
    const actions = w.status === 'failed'
      ? '<button data-act="retry" data-id="' + text(w.withdrawalId) + '">retry</button> <button data-act="compensate" data-id="' + text(w.withdrawalId) + '">compensate</button> ' + text(w.error)
      : '';
    return '<tr class="' + text(w.status === 'failed' ? 'failed' : w.stage) + '"><td>' + text(w.withdrawalId) + '</td><td>' + text(w.account) + '</td><td>' + text(w.amount) +
      '</td><td>' + text(w.stage) + '</td><td>' + text(w.payout) + (w.cancelRequests > 0 ? ' (timed out)' : '') + '</td><td>' + text(w.status) + '</td><td>' + actions + '</td></tr>';
  }).join('');
}
document.getElementById('list').addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-act]');
  if (button === null) return;
  await fetch('/withdrawals/' + encodeURIComponent(button.dataset.id) + '/' + button.dataset.act, { method: 'POST' });
  refresh();
});
document.getElementById('withdraw').addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch('/withdrawals', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer ' + document.getElementById('token').value },
    body: JSON.stringify({ amount: document.getElementById('amount').value }),
  });
  const body = await response.json();
  document.getElementById('result').textContent = response.ok ? 'requested ' + body.withdrawalId : body.error;
  refresh();
});
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>`;
}

function escapeHtml(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}
