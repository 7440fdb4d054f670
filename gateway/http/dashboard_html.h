// The dashboard served at GET / (DESIGN.md section 10): one self-contained
// HTML page, inline CSS and JavaScript, no external assets (the gateway may
// have no internet). Every 2 s it fetches /api/windows and /api/alerts, keeps
// the last 10 minutes of each equipment's window average in the browser, and
// draws one SVG sparkline per equipment; the alerts firing (hot or stale) are
// listed at the top and their equipment's cards come first, marked. It shows the time of the last
// update, or a plain error line while the gateway cannot be reached. Reading
// data reaches the page only through textContent, never as markup.
//
// A constant; any thread.
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
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #222; }
header { display: flex; gap: 1em; align-items: baseline; flex-wrap: wrap;
         padding: .6em 1em; background: #263238; color: #eceff1; }
header h1 { font-size: 1.2em; margin: 0; }
#status { font-size: .9em; color: #b0bec5; }
#status.error { color: #fff; background: #c62828; padding: 0 .5em; border-radius: 3px; }
#filter { margin-left: auto; padding: .2em .4em; }
main { padding: 1em; }
#alerts { margin: 0 0 1em; padding: .5em 1em; border-radius: 4px; background: #e8f5e9; }
#alerts.firing { background: #ffebee; border: 1px solid #c62828; }
#alerts h2 { font-size: 1em; margin: 0 0 .3em; }
#alerts ul { margin: 0; padding-left: 1.2em; }
#alerts li { color: #b71c1c; font-weight: 600; }
#cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: .8em; }
.card { background: #fff; border: 1px solid #cfd8dc; border-radius: 4px; padding: .5em .7em; }
.card.firing { border: 2px solid #c62828; background: #fff5f5; }
.card .key { font-weight: 600; overflow-wrap: anywhere; }
.card .avg { font-size: 1.6em; font-variant-numeric: tabular-nums; }
.card.firing .avg { color: #c62828; }
.card .meta { font-size: .8em; color: #607d8b; font-variant-numeric: tabular-nums;
              white-space: pre-line; }
.card svg { display: block; width: 100%; height: 60px; background: #fafafa; }
.card polyline { fill: none; stroke: #1565c0; stroke-width: 1.5; vector-effect: non-scaling-stroke; }
.card.firing polyline { stroke: #c62828; }
#more { color: #607d8b; margin-top: 1em; }
</style>
</head>
<body>
<header>
  <h1>sensorgate</h1>
  <span id="status">connecting&hellip;</span>
  <input id="filter" type="search" placeholder="filter equipment" aria-label="filter equipment">
</header>
<main>
  <section id="alerts"><h2>Alerts firing</h2><ul id="alert-list"></ul></section>
  <div id="cards"></div>
  <div id="more"></div>
</main>
<script>
"use strict";
const POLL_MS = 2000, HISTORY_MS = 10 * 60 * 1000, MAX_CARDS = 200;
const SVG = "http://www.w3.org/2000/svg";
const history = new Map();  // key -> [[browser ms, avg], ...]
const cards = new Map();    // key -> {el, avg, meta, line}
let windows = [], firing = new Map();  // key -> [alert, ...]
const $ = (id) => document.getElementById(id);

function fmt(x) { return Number.isFinite(x) ? x.toFixed(2) : "-"; }

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

function remember(now) {
  for (const w of windows) {
    let h = history.get(w.key);
    if (!h) history.set(w.key, h = []);
    h.push([now, w.avg]);
  }
  for (const [key, h] of history) {
    while (h.length && h[0][0] < now - HISTORY_MS) h.shift();
    if (!h.length) history.delete(key);
  }
}

function card(key) {
  let c = cards.get(key);
  if (c) return c;
  const el = document.createElement("div");
  el.className = "card";
  const name = document.createElement("div");
  name.className = "key";
  name.textContent = key;
  const avg = document.createElement("div");
  avg.className = "avg";
  const meta = document.createElement("div");
  meta.className = "meta";
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 600 60");
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS(SVG, "polyline");
  const title = document.createElementNS(SVG, "title");
  svg.append(title, line);
  el.append(name, avg, svg, meta);
  c = {el, avg, meta, line, title};
  cards.set(key, c);
  return c;
}

function draw(c, h, now) {
  let lo = Infinity, hi = -Infinity;
  for (const [, v] of h) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  const pad = (hi - lo) * 0.1;
  lo -= pad; hi += pad;
  // The x axis ends now and spans the history kept: 1 to 10 minutes.
  const span = Math.min(HISTORY_MS, Math.max(60000, h.length ? now - h[0][0] : 0));
  c.line.setAttribute("points", h.map(([t, v]) =>
    (600 - (now - t) / span * 600).toFixed(1) + "," +
    (60 - (v - lo) / (hi - lo) * 60).toFixed(1)).join(" "));
  c.title.textContent = "average over the last " + Math.round(span / 60000) + " min: " +
      fmt(lo + pad) + " to " + fmt(hi - pad);
}

function render(now) {
  const list = $("alert-list");
  list.replaceChildren();
  let n = 0;
  for (const alerts of firing.values()) {
    for (const a of alerts) {
      const li = document.createElement("li");
      li.textContent = a.key + (a.rule === "stale"
          ? ": stale, no reading since " + a.time
          : ": " + a.rule + ", average " + fmt(a.avg) + " over " + a.count +
            " readings (last reading " + a.time + ")");
      list.append(li);
      ++n;
    }
  }
  $("alerts").className = firing.size ? "firing" : "";
  $("alerts").firstChild.textContent = n ? "Alerts firing: " + n : "No alerts firing";
  const filter = $("filter").value.trim().toLowerCase();
  const shown = windows.filter((w) => !filter || w.key.toLowerCase().includes(filter));
  // Firing equipment first, then by key as the gateway sorts them.
  shown.sort((a, b) => firing.has(b.key) - firing.has(a.key));
  const box = $("cards"), keep = new Set();
  shown.slice(0, MAX_CARDS).forEach((w, i) => {
    const c = card(w.key);
    keep.add(w.key);
    c.el.className = firing.has(w.key) ? "card firing" : "card";
    c.avg.textContent = fmt(w.avg);
    c.meta.textContent = "n=" + w.count + "  min " + fmt(w.min) + "  max " + fmt(w.max) +
        "  last " + fmt(w.last) + "\n" + w.time;
    draw(c, history.get(w.key) || [], now);
    if (box.children[i] !== c.el) box.insertBefore(c.el, box.children[i] || null);
  });
  for (const [key, c] of cards) {
    if (!keep.has(key)) { c.el.remove(); cards.delete(key); }
  }
  $("more").textContent = shown.length > MAX_CARDS
      ? (shown.length - MAX_CARDS) + " more equipment: use the filter" : "";
}

async function poll() {
  try {
    const [w, a] = await Promise.all([getJson("/api/windows"), getJson("/api/alerts")]);
    const now = Date.now();
    windows = w;
    firing = new Map();
    for (const x of a) firing.set(x.key, (firing.get(x.key) || []).concat([x]));
    remember(now);
    render(now);
    $("status").className = "";
    $("status").textContent = "updated " + new Date(now).toLocaleTimeString() + ", " +
        windows.length + " equipment";
  } catch (e) {
    $("status").className = "error";
    $("status").textContent = "cannot reach the gateway (" + (e.message || e) + "), " +
        new Date().toLocaleTimeString() + "; showing the last data";
  }
  setTimeout(poll, POLL_MS);
}

$("filter").addEventListener("input", () => render(Date.now()));
poll();
</script>
</body>
</html>
)html";

}  // namespace sensorgate

#endif  // SENSORGATE_GATEWAY_HTTP_DASHBOARD_HTML_H_
