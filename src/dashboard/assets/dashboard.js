// The dashboard page's script: listens to the server's snapshots (/events) and redraws every
// panel. Text from the data (ids, reasons, payloads) only ever goes through textContent, so a
// transaction id such as "<img onerror=…>" is shown, never run.

(() => {
  const byId = (id) => document.getElementById(id);
  const count = (n) => (n == null ? '–' : Math.round(n).toLocaleString('en-US'));
  const fixed = (n, digits) => (n == null ? '–' : n.toFixed(digits));
  const time = (ms) => new Date(ms).toLocaleTimeString();
  const clock = (seconds) =>
    new Date(seconds * 1000).toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
  const setText = (id, text) => {
    byId(id).textContent = text;
  };

  function cell(text, className) {
    const td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    if (className === 'id') td.title = text;
    return td;
  }

  function row(cells) {
    const tr = document.createElement('tr');
    tr.append(...cells);
    return tr;
  }

  function emptyRow(columns, text) {
    const td = cell(text, 'empty');
    td.colSpan = columns;
    return row([td]);
  }

  // uPlot wants seconds on a time axis and null for "no value in this bucket".
  const seconds = (ts) => ts.map((t) => t / 1000);
  const bars = () => uPlot.paths.bars({ size: [0.7, 60] });
  const chartSpecs = {
    'chart-score': {
      y: [0, 1],
      series: [
        { label: 'mean score', stroke: '#2563eb', width: 1.5 },
        {
          label: 'max flagged score',
          stroke: '#dc2626',
          paths: () => null,
          points: { show: true, size: 6, fill: '#dc2626' },
        },
      ],
      data: (s) => [seconds(s.perSecond.t), s.perSecond.averageScore, s.perSecond.maxFlaggedScore],
    },
    'chart-rate': {
      series: [{ label: 'transactions/s', stroke: '#0f766e', fill: 'rgba(15,118,110,0.12)', width: 1.5 }],
      data: (s) => [seconds(s.perSecond.t), s.perSecond.transactions],
    },
    'chart-fraud-count': {
      series: [
        { label: 'flagged', stroke: '#dc2626', fill: 'rgba(220,38,38,0.35)', paths: bars() },
        { label: 'declined', stroke: '#7f1d1d', width: 1.5 },
      ],
      data: (s) => [seconds(s.per10s.t), s.per10s.flagged, s.per10s.decline],
    },
    'chart-averages': {
      y: [0, 1],
      series: [
        { label: 'fraudulent', stroke: '#dc2626', width: 1.5, points: { show: true } },
        { label: 'non-fraudulent', stroke: '#2563eb', width: 1.5, points: { show: true } },
      ],
      data: (s) => [seconds(s.per10s.t), s.per10s.fraudulentAverage, s.per10s.nonFraudulentAverage],
    },
  };
  const charts = new Map();
  const CHART_HEIGHT = 200;

  function drawCharts(snapshot) {
    for (const [id, spec] of Object.entries(chartSpecs)) {
      const data = spec.data(snapshot);
      const chart = charts.get(id);
      if (chart) {
        chart.setData(data);
        continue;
      }
      const el = byId(id);
      const options = {
        width: Math.max(200, el.clientWidth),
        height: CHART_HEIGHT,
        scales: {
          x: { time: true },
          y: spec.y ? { range: spec.y } : { range: (_u, _min, max) => [0, Math.max(1, max)] },
        },
        series: [{}, ...spec.series],
        // Clock times only: uPlot's default puts the date under the first tick, where it runs
        // into the next label on a narrow chart.
        axes: [{ space: 70, values: (_u, ticks) => ticks.map((t) => clock(t)) }, {}],
        legend: { live: false },
      };
      charts.set(id, new uPlot(options, data, el));
    }
  }

  window.addEventListener('resize', () => {
    for (const [id, chart] of charts)
      chart.setSize({ width: Math.max(200, byId(id).clientWidth), height: CHART_HEIGHT });
  });

  function drawAlerts(alerts) {
    const body = byId('alerts');
    if (alerts.length === 0) {
      body.replaceChildren(emptyRow(8, 'no alerts yet'));
      return;
    }
    body.replaceChildren(
      ...alerts.map((a) => {
        const tr = row([
          cell(time(a.processedAtMs)),
          cell(a.decision, a.decision === 'decline' ? 'decline' : 'review'),
          cell(a.transactionId, 'id'),
          cell(a.cardId, 'id'),
          cell(a.terminalId, 'id'),
          cell(fixed(a.amount, 2), 'num'),
          cell(fixed(a.fraudScore, 3), 'num'),
          cell(a.reasons.map((r) => `${r.name} (${r.source})`).join(', '), 'text'),
        ]);
        tr.dataset.key = a.key;
        return tr;
      }),
    );
  }

  // One listener for the table: its rows are replaced on every snapshot.
  byId('alerts').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-key]');
    if (tr) void showDetail(tr.dataset.key);
  });
  byId('detail-close').addEventListener('click', () => {
    byId('detail').hidden = true;
  });

  const isoTime = (ms) => (ms == null ? '–' : new Date(ms).toISOString());

  /** Opens a transaction's detail: what the models saw and said, read from the store. */
  async function showDetail(key) {
    const panel = byId('detail');
    panel.hidden = false;
    setText('detail-title', key);
    setText('detail-status', 'loading…');
    byId('detail-facts').replaceChildren();
    byId('detail-reasons').replaceChildren();
    byId('detail-features').replaceChildren();
    let r;
    try {
      const res = await fetch(`/api/transactions/${encodeURIComponent(key)}`);
      if (!res.ok) throw new Error((await res.json()).message);
      r = await res.json();
    } catch (err) {
      setText('detail-status', `could not load: ${err.message}`);
      return;
    }
    setText('detail-status', '');
    const tx = r.transaction;
    const facts = [
      ['transaction', tx.id],
      ['decision', r.decision],
      ['fraud score', fixed(r.fraudScore, 4)],
      ['classifier probability', fixed(r.classifierProbability, 4)],
      ['anomaly score (raw)', fixed(r.anomalyScore, 4)],
      ['anomaly score (normalised)', fixed(r.anomalyNormalized, 4)],
      ['card', tx.cardId],
      ['terminal', tx.terminalId],
      ['amount', fixed(tx.amount, 2)],
      ['channel', tx.channel],
      ['event time', isoTime(tx.timestampMs)],
      ['enqueued', isoTime(r.enqueuedAtMs)],
      ['decided', isoTime(r.processedAtMs)],
      ['model version', r.modelVersion],
      ['record key', r.key],
    ];
    const list = byId('detail-facts');
    for (const [k, v] of facts) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v == null ? '–' : String(v);
      dd.dataset.fact = k;
      list.append(dt, dd);
    }
    byId('detail-reasons').replaceChildren(
      ...(r.reasons.length === 0
        ? [emptyRow(3, 'none')]
        : r.reasons.map((x) =>
            row([cell(x.name, 'text'), cell(x.source), cell(fixed(x.contribution, 4), 'num')]),
          )),
    );
    byId('detail-features').replaceChildren(
      ...Object.entries(r.features).map(([name, v]) => row([cell(name), cell(fixed(v, 4), 'num')])),
    );
  }

  function drawDrift(drift) {
    const panel = byId('drift-panel');
    if (!drift) {
      panel.dataset.state = '';
      setText('drift-max', '–');
      setText('drift-detail', 'not measured by this process');
      return;
    }
    if (drift.max == null) {
      panel.dataset.state = '';
      setText('drift-max', '–');
      setText('drift-detail', `collecting: ${count(drift.samples)} transactions in the window`);
      return;
    }
    const warn = drift.max > drift.warnAbove;
    panel.dataset.state = warn ? 'warn' : 'ok';
    setText('drift-max', fixed(drift.max, 3));
    let worst = 'fraud score';
    let worstValue = drift.score ?? -1;
    for (const [name, v] of Object.entries(drift.features)) {
      if (v != null && v > worstValue) {
        worst = name;
        worstValue = v;
      }
    }
    setText(
      'drift-detail',
      `${warn ? `warning: above ${drift.warnAbove}; ` : ''}highest: ${worst}; score ${fixed(drift.score, 3)}; last ${count(drift.samples)} tx`,
    );
  }

  function drawSeries(series, info) {
    byId('series').replaceChildren(
      ...series.map((s) =>
        row([
          cell(s.name),
          cell(
            Object.entries(s.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(' '),
          ),
          cell(count(s.samples), 'num'),
          cell(fixed(s.average, 3), 'num'),
        ]),
      ),
    );
    const list = byId('info');
    list.replaceChildren();
    for (const [k, v] of Object.entries(info)) {
      const dt = document.createElement('dt');
      dt.textContent = k;
      const dd = document.createElement('dd');
      dd.textContent = v;
      list.append(dt, dd);
    }
  }

  function drawDeadLetters(items) {
    const body = byId('dead');
    if (items.length === 0) {
      body.replaceChildren(emptyRow(5, 'none'));
      return;
    }
    body.replaceChildren(
      ...items.map((d) =>
        row([
          cell(time(d.atMs)),
          cell(d.position, 'id'),
          cell(d.errorName),
          cell(d.reason, 'text'),
          cell(
            d.payloadLength > d.payloadExcerpt.length ? `${d.payloadExcerpt}…` : d.payloadExcerpt,
            'payload',
          ),
        ]),
      ),
    );
  }

  function render(s) {
    setText('updated', `updated ${time(s.atMs)}, window ${Math.round(s.windowMs / 60000)} min`);
    const latest = s.latestFraudulent;
    byId('latest-meter').value = latest ? latest.v : 0;
    setText('latest-score', latest ? fixed(latest.v, 3) : '–');
    setText(
      'latest-detail',
      latest ? `${latest.transactionId} at ${time(latest.t)}` : 'no flagged transaction yet',
    );
    setText('rate', count(s.transactionsPerSecond));
    setText('total-transactions', count(s.totals.transactions));
    setText('window-transactions', count(s.window.transactions));
    setText('window-flagged', count(s.window.flagged));
    setText('window-average', fixed(s.window.averageScore, 3));
    const p = s.pipeline;
    // The store counts its own dead letters; the transport's (max-deliveries) are counted by the consumer.
    setText('dead-letters', count(s.totals.deadLetters + (p ? p.transportDeadLetters : 0)));
    setText(
      'dead-letter-detail',
      p && p.deadLetters.length > 0
        ? p.deadLetters.map((d) => `${d.destination} ${d.reason}: ${count(d.count)}`).join(' · ')
        : 'records that could not be parsed or stored',
    );
    drawStall(p);
    const total = s.window.transactions;
    for (const d of ['approve', 'review', 'decline']) {
      const n = s.window.decisions[d];
      setText(`decision-${d}`, total > 0 ? `${count(n)} (${((100 * n) / total).toFixed(1)}%)` : count(n));
    }
    drawCharts(s);
    drawAlerts(s.alerts);
    drawDrift(s.drift);
    drawSeries(s.series, s.info);
    drawDeadLetters(s.deadLetters);
  }

  function drawStall(p) {
    const el = byId('stall');
    if (!p?.stalled) {
      el.hidden = true;
      return;
    }
    el.hidden = false;
    el.textContent = `stalled: the store has been failing for ${Math.round(p.stalledSeconds)} s (${p.lastStoreError ?? 'error'}, ${count(p.storeRetries)} retries); records wait unacknowledged, none are dead-lettered`;
  }

  function setStatus(text, state) {
    const el = byId('status');
    el.textContent = text;
    el.dataset.state = state;
  }

  // EventSource reconnects by itself (after the server's `retry:` delay) when the stream drops.
  const events = new EventSource('/events');
  events.addEventListener('open', () => setStatus('live', 'live'));
  events.addEventListener('error', () => setStatus('disconnected, reconnecting…', 'down'));
  events.addEventListener('store-error', (e) => {
    const data = JSON.parse(e.data);
    setStatus(`store unavailable: ${data.message}`, 'down');
    drawStall(data.pipeline);
  });
  events.addEventListener('message', (e) => {
    setStatus('live', 'live');
    render(JSON.parse(e.data));
  });
})();
