/** The board's stylesheet: a dark, compact NOC layout; status colours shared by every table. */
export const BOARD_STYLE = `:root {
  --bg: #0d1117;
  --panel: #161b22;
  --row: #1b212a;
  --line: #29313c;
  --text: #d7dee7;
  --muted: #8b96a3;
  --green: #3fb950;
  --amber: #d29922;
  --red: #f85149;
  --blue: #58a6ff;
  --violet: #bc8cff;
  color-scheme: dark;
}
* { box-sizing: border-box; }
html, body { margin: 0; background: var(--bg); color: var(--text); }
body { font: 13px/1.35 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
.small { font-size: 11px; }
.muted { color: var(--muted); }
.strong { font-weight: 600; }
.ok { color: var(--green); }
.warn { color: var(--amber); }
.err { color: var(--red); }
[hidden] { display: none !important; }

.topbar {
  display: flex; align-items: center; gap: 24px;
  padding: 8px 16px; border-bottom: 1px solid var(--line); background: var(--panel);
  position: sticky; top: 0; z-index: 2;
}
.topbar h1 { font-size: 16px; margin: 0; letter-spacing: .02em; }
.topbar h1 .muted { font-weight: 400; }
.summary { display: flex; gap: 16px; flex: 1; font-weight: 600; }
.conn { display: flex; align-items: center; gap: 12px; }
.pill { padding: 2px 10px; border-radius: 999px; font-weight: 600; font-size: 12px; border: 1px solid currentColor; }
.pill-live { color: var(--green); }
.pill-connecting { color: var(--amber); }
.pill-disconnected { color: var(--red); }
.pill-locked { color: var(--blue); }
button.link { background: none; border: 0; color: var(--muted); cursor: pointer; text-decoration: underline; font: inherit; }

.banner { background: #3b1d1f; color: #ffb4ae; border-bottom: 1px solid var(--red); padding: 6px 16px; font-weight: 600; }

.token-panel { display: flex; justify-content: center; padding: 48px 16px; }
.token-panel form {
  background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; width: min(520px, 100%);
}
.token-panel label { display: block; font-weight: 600; margin-bottom: 10px; }
.token-row { display: flex; gap: 8px; }
input, select, button[type="submit"] {
  background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px; padding: 5px 8px; font: inherit;
}
input:focus, select:focus { outline: 1px solid var(--blue); border-color: var(--blue); }
.token-row input { flex: 1; }
button[type="submit"] { background: #1f6feb; border-color: #1f6feb; color: #fff; font-weight: 600; cursor: pointer; }

.board {
  display: grid; gap: 12px; padding: 12px 16px;
  grid-template-columns: minmax(0, 2fr) minmax(400px, 1fr);
  grid-template-areas:
    "nodes nodes"
    "calls endpoints"
    "alerts endpoints"
    "diag endpoints";
  align-items: start;
}
.board.stale { opacity: .55; }
.area-nodes { grid-area: nodes; }
.area-calls { grid-area: calls; }
.area-alerts { grid-area: alerts; }
.area-diag { grid-area: diag; }
.area-endpoints { grid-area: endpoints; }
@media (max-width: 900px) {
  .board { grid-template-columns: minmax(0, 1fr); grid-template-areas: "nodes" "calls" "alerts" "diag" "endpoints"; }
}

.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; overflow: hidden; }
.panel h2 {
  margin: 0; padding: 7px 10px; font-size: 12px; text-transform: uppercase; letter-spacing: .06em;
  color: var(--muted); border-bottom: 1px solid var(--line);
}
.panel h2 .count { color: var(--text); margin-left: 6px; text-transform: none; letter-spacing: 0; }
.filters { display: flex; gap: 8px; padding: 8px 10px; border-bottom: 1px solid var(--line); }
.filters input { flex: 1; }
.scroll { max-height: calc(100vh - 190px); overflow: auto; }

table { width: 100%; border-collapse: collapse; }
th {
  text-align: left; font-weight: 600; color: var(--muted); font-size: 11px; padding: 5px 10px;
  border-bottom: 1px solid var(--line); background: var(--panel); position: sticky; top: 0;
}
td { padding: 5px 9px; border-bottom: 1px solid var(--line); vertical-align: top; overflow-wrap: break-word; }
.nw { white-space: nowrap; }
tbody tr:nth-child(even) td { background: var(--row); }
tbody tr:last-child td { border-bottom: 0; }
tr.empty td { color: var(--muted); font-style: italic; text-align: center; padding: 10px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.wide { min-width: 320px; }
.since { color: var(--muted); font-size: 11px; white-space: nowrap; }
td.num .since { color: var(--text); font-size: 13px; }
.remedy { margin-top: 3px; color: #b6c2cf; font-size: 12px; border-left: 2px solid var(--blue); padding-left: 6px; }
.remedy b { color: var(--blue); }

.badge {
  display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 11px; font-weight: 700;
  text-transform: uppercase; letter-spacing: .03em; border: 1px solid currentColor; white-space: nowrap;
}
.st-up { color: var(--green); }
.st-connecting { color: var(--amber); }
.st-down { color: var(--red); background: rgba(248, 81, 73, .12); }
.st-off, .st-unknown { color: var(--muted); }
.call-up { color: var(--green); }
.call-ring, .call-ringing, .call-dialing { color: var(--amber); }
.call-down, .call-busy, .call-unknown { color: var(--muted); }
.al-auth_loop { color: var(--red); }
.al-aor_not_found { color: var(--amber); }
.al-diagnostic { color: var(--violet); }
.sev-error { color: var(--red); }
.sev-warning { color: var(--amber); }
.sev-info { color: var(--blue); }
`;
