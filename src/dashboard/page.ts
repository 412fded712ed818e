/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * The dashboard page: static markup whose panels `dashboard.js` fills from the server-sent
 * snapshots. No inline script or style, so the Content-Security-Policy can forbid both.
 */
export function renderPage(title: string): string {
  const t = escapeHtml(title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${t}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/uPlot.min.css">
<link rel="stylesheet" href="/assets/dashboard.css">
<script src="/assets/uPlot.iife.min.js" defer></script>
<script src="/assets/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>${t}</h1>
  <p><span id="status" class="status">connecting…</span> <span id="updated"></span></p>
  <p id="stall" class="stall" hidden></p>
</header>
<main>
  <section class="tiles">
    <article class="tile" id="latest-panel">
      <h2>Latest fraudulent score</h2>
      <meter id="latest-meter" min="0" max="1" low="0.5" high="0.7" optimum="0" value="0"></meter>
      <p class="big" id="latest-score">–</p>
      <p class="small" id="latest-detail">no flagged transaction yet</p>
    </article>
    <article class="tile">
      <h2>Transactions/s</h2>
      <p class="big" id="rate">–</p>
      <p class="small">mean of the last 5 complete seconds</p>
    </article>
    <article class="tile">
      <h2>Transactions stored</h2>
      <p class="big" id="total-transactions">–</p>
      <p class="small"><span id="window-transactions">–</span> in the window</p>
    </article>
    <article class="tile">
      <h2>Flagged in the window</h2>
      <p class="big" id="window-flagged">–</p>
      <p class="small">mean fraud score <span id="window-average">–</span></p>
    </article>
    <article class="tile" id="drift-panel">
      <h2>Drift (PSI)</h2>
      <p class="big" id="drift-max">–</p>
      <p class="small" id="drift-detail">not measured by this process</p>
    </article>
    <article class="tile">
      <h2>Dead letters</h2>
      <p class="big" id="dead-letters">–</p>
      <p class="small" id="dead-letter-detail">records that could not be parsed or stored</p>
    </article>
  </section>
  <section class="panel">
    <h2>Decisions in the window</h2>
    <table class="decisions">
      <thead><tr><th>approve</th><th>review</th><th>decline</th></tr></thead>
      <tbody><tr><td id="decision-approve">–</td><td id="decision-review">–</td><td id="decision-decline">–</td></tr></tbody>
    </table>
  </section>
  <section class="charts">
    <article class="panel"><h2>Live fraud score, per second</h2><div class="chart" id="chart-score"></div></article>
    <article class="panel"><h2>Transactions per second</h2><div class="chart" id="chart-rate"></div></article>
    <article class="panel"><h2>Fraud count per 10 s</h2><div class="chart" id="chart-fraud-count"></div></article>
    <article class="panel"><h2>Fraud vs non-fraud average score per 10 s</h2><div class="chart" id="chart-averages"></div></article>
  </section>
  <section class="panel">
    <h2>Recent alerts <span class="small">(click a row for its detail)</span></h2>
    <table class="clickable">
      <thead><tr><th>time</th><th>decision</th><th>transaction</th><th>card</th><th>terminal</th><th class="num">amount</th><th class="num">score</th><th>reasons</th></tr></thead>
      <tbody id="alerts"><tr><td colspan="8" class="empty">no alerts yet</td></tr></tbody>
    </table>
  </section>
  <section class="panel" id="detail" hidden>
    <h2>Transaction <span id="detail-title"></span> <button type="button" id="detail-close">close</button></h2>
    <p class="small" id="detail-status"></p>
    <dl id="detail-facts"></dl>
    <h3>Reasons</h3>
    <table><thead><tr><th>name</th><th>source</th><th class="num">contribution</th></tr></thead><tbody id="detail-reasons"></tbody></table>
    <h3>Features</h3>
    <table><thead><tr><th>feature</th><th class="num">value</th></tr></thead><tbody id="detail-features"></tbody></table>
  </section>
  <section class="panel">
    <h2>Series info</h2>
    <table>
      <thead><tr><th>series</th><th>labels</th><th class="num">samples in the window</th><th class="num">average</th></tr></thead>
      <tbody id="series"></tbody>
    </table>
    <dl id="info"></dl>
  </section>
  <section class="panel">
    <h2>Recent dead letters</h2>
    <table>
      <thead><tr><th>time</th><th>position</th><th>error</th><th>reason</th><th>payload</th></tr></thead>
      <tbody id="dead"><tr><td colspan="5" class="empty">none</td></tr></tbody>
    </table>
  </section>
</main>
</body>
</html>
`;
}
