// The dashboard served at GET / (DESIGN.md section 10): an HTML page, its
// script (GET /dashboard.js) and its style (GET /dashboard.css), all three
// compiled in: nothing to install, no external asset (the gateway may have no
// internet), no inline code, so the page's Content-Security-Policy allows
// scripts and styles from the gateway only (no inline event handler, no
// eval) and Trusted Types forbid HTML built from strings.
//
// Every POLL_MS the script fetches /api/windows, /api/alerts,
// /api/alerts/pending, /api/config, /api/links and /api/rules, and shows:
//  - the alerts firing and pending (hot and stale), newest data on top;
//  - each equipment as a card with a line chart (SVG, drawn by the script) of
//    its window average over the last 10 minutes, kept in the browser, and
//    the [alert] above (and clear_below) thresholds of /api/config as lines;
//    cards are searched by key, sorted hottest first (firing, pending, then
//    by average) or by key, and paged (PAGE_SIZE cards at a time): only the
//    page shown is in the DOM, so 10,000 keys stay light;
//  - each [rule.NAME]: its counters, its alert condition and its latest
//    windows;
//  - every source and sink of /api/links: up or down, state, backlog, error;
//  - the time of the last update, or a plain error line while the gateway
//    cannot be reached (the last data stays on screen).
// Reading data (keys above all) reaches the page only through textContent,
// setAttribute on SVG geometry and dataset: never as markup.
//
// Constants; any thread.
#ifndef SENSORGATE_GATEWAY_HTTP_DASHBOARD_HTML_H_
#define SENSORGATE_GATEWAY_HTTP_DASHBOARD_HTML_H_

#include <string_view>

namespace sensorgate {

inline constexpr std::string_view kDashboardHtml = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sensorgate</title>
<link rel="stylesheet" href="/dashboard.css">
<script src="/dashboard.js" defer></script>
</head>
<body>
<header>
  <h1>sensorgate</h1>
  <span id="status" role="status">connecting&hellip;</span>
</header>
<main>
  <section id="alerts" aria-labelledby="alerts-title">
    <h2 id="alerts-title">Alerts</h2>
    <div class="alert-cols">
      <div><h3 id="firing-title">Firing</h3><ul id="firing-list" class="alert-list"></ul></div>
      <div><h3 id="pending-title">Pending</h3><ul id="pending-list" class="alert-list"></ul></div>
    </div>
  </section>
  <section id="equipment" aria-labelledby="equipment-title">
    <div class="toolbar">
      <h2 id="equipment-title">Equipment</h2>
      <input id="search" type="search" placeholder="search keys" aria-label="search keys" autocomplete="off">
      <select id="sort" aria-label="order">
        <option value="hot">hottest first</option>
        <option value="key">by key</option>
      </select>
    </div>
    <div class="pager">
      <button id="prev" type="button" aria-label="previous page">&lsaquo; prev</button>
      <span id="page-info"></span>
      <button id="next" type="button" aria-label="next page">next &rsaquo;</button>
    </div>
    <div id="cards"></div>
  </section>
  <details id="rules-box" open>
    <summary><h2>Rules</h2></summary>
    <div id="rules"></div>
  </details>
  <details id="links-box" open>
    <summary><h2>Links</h2></summary>
    <div id="links"></div>
  </details>
</main>
</body>
</html>
)html";

inline constexpr std::string_view kDashboardCss = R"css(:root { --bg: #f4f5f7; --fg: #1e2327; --muted: #5f6f7a; --card: #fff; --line: #cfd8dc;
  --series: #1565c0; --hot: #c62828; --warn: #b26a00; --ok: #2e7d32; }
* { box-sizing: border-box; }
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: var(--bg); color: var(--fg); }
header { display: flex; gap: .3em 1em; align-items: baseline; flex-wrap: wrap; padding: .6em 1em;
  background: #263238; color: #eceff1; position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 1.2em; margin: 0; }
#status { font-size: .9em; color: #b0bec5; overflow-wrap: anywhere; }
#status.error { color: #fff; background: var(--hot); padding: 0 .5em; border-radius: 3px; }
main { padding: .8em 1em 2em; max-width: 1600px; margin: 0 auto; }
h2 { font-size: 1.05em; margin: 0; display: inline; }
h3 { font-size: .95em; margin: 0 0 .3em; }
section, details { margin: 0 0 1em; }
summary { cursor: pointer; margin-bottom: .4em; }
#alerts { padding: .5em .8em; border-radius: 4px; background: #e8f5e9; border: 1px solid #c8e6c9; }
#alerts.firing { background: #ffebee; border-color: var(--hot); }
#alerts.pending { background: #fff8e1; border-color: #ffcc80; }
.alert-cols { display: grid; grid-template-columns: 1fr 1fr; gap: .3em 1.5em; margin-top: .3em; }
.alert-list { margin: 0; padding: 0; list-style: none; max-height: 14em; overflow-y: auto; }
.alert-list li { padding: .15em 0; border-top: 1px solid rgba(0,0,0,.06); overflow-wrap: anywhere; cursor: pointer; }
.alert-list li .k { font-weight: 600; }
#firing-list .k { color: var(--hot); }
#pending-list .k { color: var(--warn); }
.alert-list .d { color: var(--muted); font-size: .9em; }
.toolbar { display: flex; flex-wrap: wrap; gap: .5em; align-items: center; margin-bottom: .5em; }
#search { flex: 1 1 12em; min-width: 0; max-width: 28em; padding: .35em .5em; font: inherit; }
#sort { padding: .3em; font: inherit; }
.pager { display: flex; gap: .6em; align-items: center; margin-bottom: .5em; flex-wrap: wrap; }
.pager button { font: inherit; padding: .25em .7em; }
#page-info { color: var(--muted); font-variant-numeric: tabular-nums; }
#cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(270px, 1fr)); gap: .7em; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 5px; padding: .5em .6em; min-width: 0; }
.card.firing { border: 2px solid var(--hot); background: #fff7f7; }
.card.pending { border: 2px solid #ffb74d; }
.card .top { display: flex; gap: .5em; align-items: baseline; justify-content: space-between; }
.card .key { font-weight: 600; overflow-wrap: anywhere; min-width: 0; }
.card .badge { font-size: .75em; font-weight: 700; padding: 0 .4em; border-radius: 3px; color: #fff; flex: none; }
.card.firing .badge { background: var(--hot); }
.card.pending .badge { background: var(--warn); }
.card .avg { font-size: 1.5em; font-variant-numeric: tabular-nums; }
.card.firing .avg { color: var(--hot); }
.card .meta { font-size: .8em; color: var(--muted); font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; background: #fafbfc; border: 1px solid #eceff1; }
svg.chart .series { fill: none; stroke: var(--series); stroke-width: 1.6; stroke-linejoin: round; }
.card.firing svg.chart .series { stroke: var(--hot); }
svg.chart .dot { fill: var(--series); }
.card.firing svg.chart .dot { fill: var(--hot); }
svg.chart .threshold { stroke: var(--hot); stroke-width: 1; stroke-dasharray: 5 3; }
svg.chart .clear { stroke: var(--ok); stroke-width: 1; stroke-dasharray: 2 3; }
svg.chart .grid { stroke: #e3e8eb; stroke-width: 1; }
svg.chart text { font-size: 10px; fill: var(--muted); font-family: system-ui, sans-serif; }
svg.chart text.tlabel { fill: var(--hot); }
#rules { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: .7em; }
.rule { background: var(--card); border: 1px solid var(--line); border-radius: 5px; padding: .5em .6em; min-width: 0; }
.rule .name { font-weight: 600; overflow-wrap: anywhere; }
.kv { display: flex; flex-wrap: wrap; gap: .1em .9em; font-size: .85em; font-variant-numeric: tabular-nums; }
.kv span b { font-weight: 600; }
.rule ol { margin: .3em 0 0; padding-left: 1.3em; font-size: .8em; }
.rule li { overflow-wrap: anywhere; }
.muted { color: var(--muted); }
#links { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: .5em; }
.link { background: var(--card); border: 1px solid var(--line); border-left: 5px solid var(--ok);
  border-radius: 4px; padding: .4em .6em; min-width: 0; overflow-wrap: anywhere; }
.link.down { border-left-color: var(--hot); }
.link.unhealthy { border-left-color: var(--warn); }
.link .name { font-weight: 600; }
.link .err { color: var(--hot); font-size: .85em; }
.empty { color: var(--muted); font-style: italic; }
@media (max-width: 600px) {
  main { padding: .5em .5em 2em; }
  header { padding: .5em .6em; }
  .alert-cols { grid-template-columns: 1fr; }
  #cards, #rules, #links { grid-template-columns: 1fr; }
  #search { max-width: none; }
}
)css";

inline constexpr std::string_view kDashboardJs = R"js("use strict";
// sensorgate dashboard: see gateway/http/dashboard_html.h. Data from the
// gateway is only ever set with textContent or setAttribute.
const POLL_MS = 2000, HISTORY_MS = 10 * 60 * 1000, PAGE_SIZE = 50;
// Keys not on the page (nor alerting) keep a point every SLOW_SAMPLE_MS only.
const SLOW_SAMPLE_MS = 10000, MAX_LISTED = 200, RULE_WINDOWS = 5;
const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 112, X0 = 40, X1 = 296, Y0 = 16, Y1 = 94;
const $ = (id) => document.getElementById(id);
const history = new Map();  // key -> {t: [ms], v: [avg], last: ms}
const cards = new Map();    // key -> card elements, for the page shown only
const view = {windows: [], firing: new Map(), pending: new Map(), config: {}, links: [], rules: [],
              page: 0, shown: new Set(), updated: 0};

function fmt(x) { return typeof x === "number" && Number.isFinite(x) ? x.toFixed(2) : "-"; }
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k in attrs) e.setAttribute(k, String(attrs[k]));
  return e;
}
function show(e, on) {
  if (on) e.removeAttribute("display"); else e.setAttribute("display", "none");
}
function alertCfg() {
  const a = view.config && view.config.alert;
  return a && a.enabled ? a : null;
}

async function getJson(path) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  try {
    const r = await fetch(path, {cache: "no-store", signal: ctl.signal});
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return await r.json();
  } finally {
    clearTimeout(timer);
  }
}

function byKey(list) {
  const m = new Map();
  for (const a of list) {
    if (!m.has(a.key)) m.set(a.key, []);
    m.get(a.key).push(a);
  }
  return m;
}

function remember(now) {
  for (const w of view.windows) {
    let h = history.get(w.key);
    if (!h) history.set(w.key, h = {t: [], v: [], last: 0});
    const busy = view.shown.has(w.key) || view.firing.has(w.key) || view.pending.has(w.key);
    if (!busy && now - h.last < SLOW_SAMPLE_MS) continue;
    h.t.push(now);
    h.v.push(w.avg);
    h.last = now;
  }
  for (const [key, h] of history) {
    let drop = 0;
    while (drop < h.t.length && h.t[drop] < now - HISTORY_MS) ++drop;
    if (drop) { h.t.splice(0, drop); h.v.splice(0, drop); }
    if (!h.t.length) history.delete(key);
  }
}

function heat(key) { return view.firing.has(key) ? 2 : view.pending.has(key) ? 1 : 0; }

function ordered() {
  const q = $("search").value.trim().toLowerCase();
  const list = q ? view.windows.filter((w) => w.key.toLowerCase().includes(q)) : view.windows.slice();
  if ($("sort").value === "hot") {
    list.sort((a, b) => heat(b.key) - heat(a.key) || b.avg - a.avg || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }
  return list;  // else: by key, as the gateway sorts them
}

function makeCard(key) {
  const c = {el: el("div", "card")};
  c.el.dataset.key = key;
  const top = el("div", "top");
  top.append(c.key = el("span", "key", key), c.badge = el("span", "badge"));
  c.avg = el("div", "avg");
  c.svg = svgEl("svg", {viewBox: "0 0 " + W + " " + H, class: "chart", role: "img"});
  c.title = svgEl("title", {});
  c.grid = svgEl("line", {class: "grid", x1: X0, x2: X1, y1: Y1, y2: Y1});
  c.clear = svgEl("line", {class: "clear", x1: X0, x2: X1});
  c.thr = svgEl("line", {class: "threshold", x1: X0, x2: X1});
  c.tlabel = svgEl("text", {class: "tlabel", x: X1, "text-anchor": "end"});
  c.series = svgEl("polyline", {class: "series", points: ""});
  c.dot = svgEl("circle", {class: "dot", r: 2.5, cx: X1, cy: Y1, display: "none"});
  c.hi = svgEl("text", {x: X0 - 3, y: Y0 + 8, "text-anchor": "end"});
  c.lo = svgEl("text", {x: X0 - 3, y: Y1, "text-anchor": "end"});
  c.from = svgEl("text", {x: X0, y: H - 2});
  c.to = svgEl("text", {x: X1, y: H - 2, "text-anchor": "end"});
  c.to.textContent = "now";
  c.svg.append(c.title, c.grid, c.clear, c.thr, c.tlabel, c.series, c.dot, c.hi, c.lo, c.from, c.to);
  c.meta = el("div", "meta");
  c.el.append(top, c.avg, c.svg, c.meta);
  return c;
}

function draw(c, key, now) {
  const h = history.get(key) || {t: [], v: []};
  const a = alertCfg();
  let lo = Infinity, hi = -Infinity;
  for (const v of h.v) { if (v < lo) lo = v; if (v > hi) hi = v; }
  if (a) {
    lo = Math.min(lo, a.clear_below, a.above);
    hi = Math.max(hi, a.above);
  }
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) { lo = 0; hi = 1; }
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.08;
  lo -= pad; hi += pad;
  const span = Math.min(HISTORY_MS, Math.max(60000, h.t.length ? now - h.t[0] : 0));
  const x = (t) => (X1 - (now - t) / span * (X1 - X0)).toFixed(1);
  const y = (v) => (Y1 - (v - lo) / (hi - lo) * (Y1 - Y0)).toFixed(1);
  const pts = [];
  for (let i = 0; i < h.t.length; ++i) pts.push(x(h.t[i]) + "," + y(h.v[i]));
  c.series.setAttribute("points", pts.join(" "));
  const n = h.t.length;
  show(c.dot, n > 0);
  if (n) { c.dot.setAttribute("cx", x(h.t[n - 1])); c.dot.setAttribute("cy", y(h.v[n - 1])); }
  c.svg.setAttribute("data-points", String(pts.length));
  c.hi.textContent = fmt(hi - pad);
  c.hi.setAttribute("y", String(Number(y(hi - pad)) + 4));
  c.lo.textContent = fmt(lo + pad);
  c.lo.setAttribute("y", String(Number(y(lo + pad)) + 4));
  c.from.textContent = "-" + Math.round(span / 60000) + " min";
  if (a) {
    const ty = y(a.above);
    for (const [k, v] of [["y1", ty], ["y2", ty]]) c.thr.setAttribute(k, v);
    c.tlabel.setAttribute("y", String(Number(ty) - 3));  // above its line: Y0 leaves room
    c.tlabel.textContent = "alert > " + fmt(a.above);
    const cy = y(a.clear_below);
    for (const [k, v] of [["y1", cy], ["y2", cy]]) c.clear.setAttribute(k, v);
    show(c.clear, a.clear_below < a.above);
    show(c.thr, true);
    show(c.tlabel, true);
  } else {
    for (const e of [c.thr, c.tlabel, c.clear]) show(e, false);
  }
  c.title.textContent = key + ": window average over the last " + Math.round(span / 60000) + " min" +
      (a ? ", alert above " + fmt(a.above) : "");
}

function fillCard(c, w, now) {
  const f = view.firing.get(w.key), p = view.pending.get(w.key);
  c.el.className = f ? "card firing" : p ? "card pending" : "card";
  c.badge.textContent = f ? f.map((x) => x.rule === "stale" ? "STALE" : "FIRING").join(" ") : p ? "PENDING" : "";
  c.avg.textContent = fmt(w.avg);
  c.meta.textContent = "n " + w.count + " · min " + fmt(w.min) + " · max " + fmt(w.max) + " · last " +
      fmt(w.last) + " · " + w.time;
  draw(c, w.key, now);
}

function renderCards(now) {
  const list = ordered();
  const pages = Math.max(1, Math.ceil(list.length / PAGE_SIZE));
  view.page = Math.min(Math.max(0, view.page), pages - 1);
  const slice = list.slice(view.page * PAGE_SIZE, (view.page + 1) * PAGE_SIZE);
  const box = $("cards"), keep = new Set();
  slice.forEach((w, i) => {
    let c = cards.get(w.key);
    if (!c) cards.set(w.key, c = makeCard(w.key));
    keep.add(w.key);
    fillCard(c, w, now);
    if (box.children[i] !== c.el) box.insertBefore(c.el, box.children[i] || null);
  });
  for (const [key, c] of cards) {
    if (!keep.has(key)) { c.el.remove(); cards.delete(key); }
  }
  view.shown = keep;
  $("page-info").textContent = list.length
      ? "page " + (view.page + 1) + " of " + pages + " · " + list.length +
        (list.length === view.windows.length ? " equipment" : " of " + view.windows.length + " equipment")
      : (view.windows.length ? "no key matches" : "no readings yet");
  $("prev").disabled = view.page === 0;
  $("next").disabled = view.page >= pages - 1;
}

function alertItem(a, pending) {
  const li = el("li");
  li.append(el("span", "k", a.key), document.createTextNode(" "));
  let d;
  if (a.rule === "stale") {
    d = "stale: no reading since " + a.time;
  } else {
    d = a.rule + ": average " + fmt(a.avg) + " over " + a.count + " readings" +
        (pending ? ", hot since " + a.since : ", last reading " + a.time);
  }
  li.append(el("span", "d", d));
  li.addEventListener("click", () => { $("search").value = a.key; view.page = 0; renderCards(Date.now()); });
  return li;
}

function renderAlerts(firing, pending) {
  for (const [id, list, isPending, name] of [["firing-list", firing, false, "Firing"],
                                             ["pending-list", pending, true, "Pending"]]) {
    const ul = $(id);
    ul.replaceChildren();
    for (const a of list.slice(0, MAX_LISTED)) ul.append(alertItem(a, isPending));
    if (list.length > MAX_LISTED) ul.append(el("li", "muted", (list.length - MAX_LISTED) + " more"));
    if (!list.length) ul.append(el("li", "empty", "none"));
    $(isPending ? "pending-title" : "firing-title").textContent = name + " (" + list.length + ")";
  }
  $("alerts").className = firing.length ? "firing" : pending.length ? "pending" : "";
  document.title = (firing.length ? "(" + firing.length + ") " : "") + "sensorgate";
}

function conditionText(r) {
  const c = (view.config.rules || []).find((x) => x.rule === r.rule);
  if (!c || !c.alert) return "no alert";
  return "alert " + c.alert + (c.clear ? ", clear " + c.clear : "") + (c.for_s ? ", for " + c.for_s + " s" : "") +
      (c.min_samples > 1 ? ", min " + c.min_samples + " samples" : "");
}

function windowText(w) {
  const parts = [];
  for (const k in w) {
    if (k === "event" || k === "rule") continue;
    const v = w[k];
    parts.push(k + " " + (typeof v === "number" ? (Number.isInteger(v) ? v : fmt(v)) :
                          typeof v === "object" ? JSON.stringify(v) : String(v)));
  }
  return parts.join(" · ");
}

function renderRules() {
  const box = $("rules");
  box.replaceChildren();
  $("rules-box").hidden = !view.rules.length;
  for (const r of view.rules) {
    const d = el("div", "rule");
    d.dataset.rule = r.rule;
    d.append(el("div", "name", r.rule + " (" + r.window + ")"), el("div", "muted", conditionText(r)));
    const kv = el("div", "kv");
    let skipped = 0;
    for (const k in r.skipped) skipped += r.skipped[k];
    for (const [k, v] of [["accepted", r.accepted], ["filtered", r.filtered], ["late", r.late],
                          ["skipped", skipped], ["results", r.results], ["alerts", r.alerts],
                          ["outliers", r.outliers], ["watermark", r.watermark || "-"]]) {
      const s = el("span", "", k + " ");
      s.append(el("b", "", v));
      kv.append(s);
    }
    d.append(kv);
    const ws = (r.windows || []).slice();
    const t = (w) => String(w.end || w.time || w.start || "");
    ws.sort((a, b) => (t(a) < t(b) ? 1 : t(a) > t(b) ? -1 : 0));
    if (ws.length) {
      const ol = el("ol");
      for (const w of ws.slice(0, RULE_WINDOWS)) ol.append(el("li", "", windowText(w)));
      d.append(el("div", "muted", "latest of " + ws.length + " windows:"), ol);
    } else {
      d.append(el("div", "empty", "no window yet"));
    }
    box.append(d);
  }
}

function renderLinks() {
  const box = $("links");
  box.replaceChildren();
  for (const l of view.links) {
    const d = el("div", "link" + (l.up ? "" : " down") + (l.up && l.last_error ? " unhealthy" : ""));
    d.dataset.link = l.name;
    d.append(el("div", "name", l.kind + " " + l.name + ": " + (l.up ? "up" : "DOWN")), el("div", "", l.state));
    if (l.backlog || l.backlog_unit) d.append(el("div", "muted", "backlog " + l.backlog + " " + (l.backlog_unit || "")));
    if (l.last_error) d.append(el("div", "err", l.last_error));
    box.append(d);
  }
  if (!view.links.length) box.append(el("div", "empty", "no links"));
}

function render(now) {
  renderCards(now);
}

async function poll() {
  try {
    const [w, a, p, c, l, r] = await Promise.all([
      getJson("/api/windows"), getJson("/api/alerts"), getJson("/api/alerts/pending"),
      getJson("/api/config"), getJson("/api/links"), getJson("/api/rules")]);
    const now = Date.now();
    view.windows = w;
    view.firing = byKey(a);
    view.pending = byKey(p);
    view.config = c;
    view.links = l;
    view.rules = r;
    remember(now);
    renderAlerts(a, p);
    render(now);
    renderRules();
    renderLinks();
    view.updated = now;
    const s = $("status");
    s.className = "";
    s.dataset.updated = String(now);
    s.textContent = "updated " + new Date(now).toLocaleTimeString() + " · " + w.length + " equipment · " +
        a.length + " firing · " + p.length + " pending";
  } catch (e) {
    const s = $("status");
    s.className = "error";
    s.textContent = "cannot reach the gateway (" + (e.message || e) + "), " +
        new Date().toLocaleTimeString() + "; showing the last data";
  }
  setTimeout(poll, POLL_MS);
}

$("search").addEventListener("input", () => { view.page = 0; render(Date.now()); });
$("sort").addEventListener("change", () => { view.page = 0; render(Date.now()); });
$("prev").addEventListener("click", () => { --view.page; render(Date.now()); });
$("next").addEventListener("click", () => { ++view.page; render(Date.now()); });
poll();
)js";

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_DASHBOARD_HTML_H_
