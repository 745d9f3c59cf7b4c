/**
 * The board's HTML shell: static, no data, no inline script or style (see BOARD_CSP). Relative asset
 * and API paths keep it working behind a reverse proxy that mounts the daemon under a prefix.
 */
export const BOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>pbxpulse · live board</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="board.css">
<script src="board.js" defer></script>
</head>
<body>
<header class="topbar">
  <h1>pbxpulse <span class="muted">live board</span></h1>
  <div class="summary" id="summary" data-testid="summary"></div>
  <div class="conn">
    <span id="ws-status" class="pill pill-connecting" data-testid="ws-status">connecting</span>
    <button type="button" id="token-forget" class="link" data-testid="token-forget" hidden>forget token</button>
  </div>
</header>

<div id="banner" class="banner" data-testid="disconnected-banner" hidden></div>

<section id="token-panel" class="token-panel" data-testid="token-panel" hidden>
  <form id="token-form" data-testid="token-form" autocomplete="off">
    <label for="token-input" id="token-reason">This pbxpulse needs a viewer token.</label>
    <div class="token-row">
      <input id="token-input" name="token" type="password" spellcheck="false" autocomplete="off"
             placeholder="viewer or admin token" data-testid="token-input" required>
      <button type="submit" data-testid="token-submit">Open the board</button>
    </div>
    <p class="muted small">Kept for this browser tab only (sessionStorage) and sent as
      <code>Authorization: Bearer</code>.</p>
  </form>
</section>

<main id="board" class="board">
  <section class="panel area-nodes" data-testid="nodes">
    <h2>Nodes</h2>
    <table>
      <thead><tr><th>Node</th><th>AMI</th><th>ARI</th><th>Asterisk</th><th>Last resync</th><th>Last error</th></tr></thead>
      <tbody id="nodes-body"></tbody>
    </table>
  </section>

  <section class="panel area-calls" data-testid="calls">
    <h2>Active calls <span class="count" id="calls-count"></span></h2>
    <table>
      <thead><tr><th>Node</th><th>Call</th><th>State</th><th>Duration</th><th>Channels</th></tr></thead>
      <tbody id="calls-body"></tbody>
    </table>
  </section>

  <section class="panel area-alerts" data-testid="alerts">
    <h2>Active alerts <span class="count" id="alerts-count"></span></h2>
    <table>
      <thead><tr><th>Type</th><th>Node</th><th>Endpoint</th><th>Since</th><th>Count</th><th>What and how to fix it</th></tr></thead>
      <tbody id="alerts-body"></tbody>
    </table>
  </section>

  <section class="panel area-diag" data-testid="diagnostics">
    <h2>Diagnostic findings <span class="count" id="findings-count"></span></h2>
    <table>
      <thead><tr><th>Severity</th><th>Node</th><th>Code</th><th>Object</th><th>Finding and remedy</th></tr></thead>
      <tbody id="findings-body"></tbody>
    </table>
  </section>

  <section class="panel area-endpoints" data-testid="endpoints">
    <h2>Endpoints <span class="count" id="endpoints-count"></span></h2>
    <div class="filters">
      <input id="endpoint-filter" type="search" placeholder="filter: name, node, state…"
             spellcheck="false" data-testid="endpoint-filter">
      <select id="endpoint-show" data-testid="endpoint-show">
        <option value="all">all</option>
        <option value="registered">registered</option>
        <option value="unregistered">unregistered</option>
      </select>
    </div>
    <div class="scroll">
      <table>
        <thead><tr><th>Node</th><th>Endpoint</th><th>Registration</th><th>Contacts</th><th>Device</th></tr></thead>
        <tbody id="endpoints-body"></tbody>
      </table>
    </div>
  </section>
</main>
</body>
</html>
`;
