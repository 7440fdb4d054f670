// End-to-end test of the dashboard (GET / of [http]) in headless Debian
// chromium, driven by playwright-core:
//
//   node tests/browser/dashboard_test.mjs BUILD_DIR     (or BUILD_DIR=... node ...)
//
// It starts the real daemon (BUILD_DIR/gateway/sensorgate) following a file
// in a temporary folder, with [http] on a free port of 127.0.0.1, opens the
// page, and has the real simulator (BUILD_DIR/simulator/sensorgate-sim) write
// into that file while the page is open. It checks that:
//  - the line chart of an equipment grows and the last-update time changes;
//  - a hot equipment shows in the firing list (pending is reported if seen),
//    first among the cards, with the alert threshold drawn in its chart;
//  - hostile keys (an <img onerror> tag, quotes and ampersands) show as text:
//    no dialog, no <img> element, the exact text visible;
//  - with 10,000 more keys the page keeps at most 50 cards in the DOM, pages
//    and searches;
//  - the page fits a 390x844 phone screen without sideways scrolling;
//  - no console error and no page error happen meanwhile.
// It saves BUILD_DIR/dashboard.png and BUILD_DIR/dashboard-phone.png.
// Every wait is on a condition (no fixed sleep). Exit 0 passed, 1 failed,
// 77 skipped (no chromium or no node_modules/playwright-core: run
// `npm ci` in tests/browser), 2 bad command line.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {setTimeout as delay} from 'node:timers/promises';

const SKIP = 77;
const buildDir = path.resolve(process.argv[2] || process.env.BUILD_DIR || '');
if (!process.argv[2] && !process.env.BUILD_DIR) {
  console.error('usage: node dashboard_test.mjs BUILD_DIR (or set BUILD_DIR)');
  process.exit(2);
}
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumPath)) {
  console.log(`SKIP: ${chromiumPath} not found (apt-get install -y chromium)`);
  process.exit(SKIP);
}
let chromium;
try {
  ({chromium} = await import('playwright-core'));
} catch (e) {
  console.log(`SKIP: playwright-core not installed (run "npm ci" in ${path.dirname(new URL(import.meta.url).pathname)}): ${e.message}`);
  process.exit(SKIP);
}
const gateway = path.join(buildDir, 'gateway', 'sensorgate');
const simulator = path.join(buildDir, 'simulator', 'sensorgate-sim');
for (const exe of [gateway, simulator]) {
  if (!fs.existsSync(exe)) {
    console.error(`FAIL: ${exe} not found: build the sensorgate and sensorgate-sim targets first`);
    process.exit(1);
  }
}

const XSS_KEY = '<img src=x onerror=alert(1)>';
const QUOTE_KEY = `"quoted" & 'apostrophe' &amp; <b>bold</b> </script>`;
const BULK_KEYS = 10000;
const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 23)}]`, ...a);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const {port} = s.address();
      s.close(() => resolve(port));
    });
  });
}

function record(key, celsius, time) {
  return JSON.stringify({sensor: key, data_evento: time, padrao: {leitura: {temperatura: celsius}}}) + '\n';
}

// Awaits `cond` (sync or async), trying again every `everyMs` until `ms`.
async function until(what, cond, ms = 20000, everyMs = 100) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ': ' + last.message : ''}`);
    await delay(everyMs);  // a polling interval, not a wait for time to pass
  }
}

function startProcess(name, exe, args) {
  const p = spawn(exe, args, {stdio: ['ignore', 'pipe', 'pipe']});
  p.output = '';
  const keep = (d) => {
    p.output += d.toString();
    if (p.output.length > 200000) p.output = p.output.slice(-100000);
  };
  p.stdout.on('data', keep);
  p.stderr.on('data', keep);
  p.exited = new Promise((resolve) => p.on('exit', (code, signal) => resolve({code, signal})));
  p.label = name;
  return p;
}

async function stopProcess(p) {
  if (!p || p.exitCode !== null || p.signalCode !== null) return;
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), 10000);
  await p.exited;
  clearTimeout(timer);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sensorgate-browser-'));
const readings = path.join(tmp, 'readings.log');
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const problems = [];  // console errors, page errors, dialogs
let daemon, sim, browser, failed = false;

try {
  fs.mkdirSync(path.join(tmp, 'state'));
  fs.writeFileSync(readings, '');
  const config = path.join(tmp, 'sensorgate.ini');
  fs.writeFileSync(config, `[gateway]
name = browser-test
state_dir = ${tmp}/state
checkpoint_interval = 5s
[file]
path = ${readings}
from = beginning
[reading]
key = sensor
value = padrao.leitura.temperatura
time = data_evento
[window]
size = 20
max_keys = 20000
[alert]
above = 75
clear_below = 73
for = 4s
min_samples = 10
[rule.peaks]
key = sensor
value = padrao.leitura.temperatura
time = data_evento
window = tumbling 10s
aggregates = count, avg, max
alert = max > 79
max_keys = 20000
[http]
listen = 127.0.0.1:${port}
`);
  daemon = startProcess('sensorgate', gateway, ['--config', config]);
  await until('the daemon to answer /healthz', async () => {
    if (daemon.exitCode !== null) throw new Error('sensorgate exited: ' + daemon.output);
    return (await fetch(base + '/healthz')).ok;
  });
  log(`daemon up on ${base}`);

  browser = await chromium.launch({executablePath: chromiumPath, headless: true, args: ['--no-sandbox']});
  const watch = (page, label) => {
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`${label} console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`${label} page error: ${e.message}`));
    page.on('dialog', async (d) => {
      problems.push(`${label} dialog opened (${d.type()}: ${d.message()}): script from a key ran`);
      await d.dismiss();
    });
  };
  const desktop = await browser.newContext({viewport: {width: 1280, height: 900}});
  const page = await desktop.newPage();
  watch(page, 'desktop');
  await page.goto(base + '/');
  await page.waitForFunction(() => document.getElementById('status').dataset.updated);
  log('page loaded, first update done');
  // Every key the pending list ever shows, from now on.
  await page.evaluate(() => {
    window.__pendingSeen = [];
    new MutationObserver(() => {
      for (const k of document.querySelectorAll('#pending-list .k')) window.__pendingSeen.push(k.textContent);
    }).observe(document.getElementById('pending-list'), {childList: true, subtree: true});
  });

  // Hostile keys first, then the simulator, while the page is open.
  const old = '2026-01-01T00:00:00.000000Z';
  fs.appendFileSync(readings, record(XSS_KEY, 50.0, old) + record(QUOTE_KEY, 49.0, old));
  sim = startProcess('sensorgate-sim', simulator,
                     ['--equipment', '10', '--hot', '2', '--rate', '400', '--duration', '60s', '--seed', '5',
                      '-o', readings]);

  // 1. The chart of sensor01 grows, and the last-update time changes.
  const points = (key) => page.evaluate((k) => {
    const c = [...document.querySelectorAll('.card')].find((e) => e.dataset.key === k);
    return c ? Number(c.querySelector('svg.chart').getAttribute('data-points')) : 0;
  }, key);
  const stamp = () => page.evaluate(() => Number(document.getElementById('status').dataset.updated));
  await until('a chart for sensor01', async () => (await points('sensor01')) >= 1, 20000);
  const p0 = await points('sensor01'), t0 = await stamp();
  await until('the chart of sensor01 to get more points', async () => (await points('sensor01')) > p0, 15000);
  await until('the last-update time to change', async () => (await stamp()) > t0, 15000);
  const polyline = await page.evaluate(() => {
    const c = [...document.querySelectorAll('.card')].find((e) => e.dataset.key === 'sensor01');
    return c.querySelector('polyline.series').getAttribute('points').trim().split(/\s+/).length;
  });
  log(`chart of sensor01: ${p0} points, then ${await points('sensor01')} (polyline of ${polyline} vertices)`);

  // 2. A hot equipment is pending (for = 4 s: two polls at least), then fires.
  const hot = await (await page.waitForFunction(() => {
    const k = [...document.querySelectorAll('#firing-list .k')].map((e) => e.textContent)
        .find((t) => /^sensor\d+$/.test(t));
    return k || null;
  }, null, {timeout: 45000, polling: 200})).jsonValue();
  const pendingSeen = await page.evaluate(() => [...new Set(window.__pendingSeen)]);
  log(`firing: ${hot}; seen pending before: ${pendingSeen.join(', ') || 'none'}`);
  if (!pendingSeen.includes(hot)) throw new Error(`${hot} fired without being listed as pending first`);
  const first = await page.waitForFunction((k) => {
    const c = document.querySelector('#cards .card');
    return c && c.dataset.key === k && c.classList.contains('firing') ? c.dataset.key : null;
  }, hot, {timeout: 10000});
  const threshold = await page.evaluate((k) => {
    const c = [...document.querySelectorAll('.card')].find((e) => e.dataset.key === k);
    const t = c.querySelector('line.threshold');
    return {display: t.getAttribute('display'), y: Number(t.getAttribute('y1')),
            label: c.querySelector('text.tlabel').textContent, badge: c.querySelector('.badge').textContent};
  }, hot);
  if (threshold.display === 'none' || !Number.isFinite(threshold.y) || threshold.label !== 'alert > 75.00' ||
      threshold.badge !== 'FIRING') {
    throw new Error('the threshold line or the badge of the hot card is wrong: ' + JSON.stringify(threshold));
  }
  log(`hot card first: ${await first.jsonValue()}, threshold line at y=${threshold.y} "${threshold.label}"`);
  const ruleText = await page.evaluate(() => document.getElementById('rules').textContent);
  if (!ruleText.includes('peaks') || !ruleText.includes('alert max > 79')) throw new Error('rule panel: ' + ruleText);
  const linkText = await page.evaluate(() => document.getElementById('links').textContent);
  if (!linkText.includes('source file') || !linkText.includes('sink http')) throw new Error('links panel: ' + linkText);

  // 3. Hostile keys are text.
  for (const key of [XSS_KEY, QUOTE_KEY]) {
    await page.fill('#search', key.slice(0, 12));
    const handle = await page.waitForFunction((k) => {
      const c = [...document.querySelectorAll('#cards .card')].find((e) => e.querySelector('.key').textContent === k);
      return c ? true : null;
    }, key, {timeout: 10000});
    await handle.dispose();
    const cardKey = page.locator('#cards .card .key', {hasText: key.slice(0, 12)}).first();
    if (!(await cardKey.isVisible())) throw new Error(`the key ${key} is not visible`);
    if ((await cardKey.textContent()) !== key) throw new Error(`the key shows as ${await cardKey.textContent()}`);
  }
  const dom = await page.evaluate(() => ({
    imgs: document.querySelectorAll('img').length, bolds: document.querySelectorAll('#cards b').length,
    scripts: document.querySelectorAll('script').length,
  }));
  if (dom.imgs !== 0 || dom.bolds !== 0 || dom.scripts !== 1) {
    throw new Error('markup from a key reached the DOM: ' + JSON.stringify(dom));
  }
  log('hostile keys shown as text, no <img>, no dialog');
  await page.fill('#search', '');
  await page.waitForFunction((k) => document.querySelector('#cards .card')?.dataset.key === k, hot);
  await page.screenshot({path: path.join(buildDir, 'dashboard.png'), fullPage: true});
  log(`saved ${path.join(buildDir, 'dashboard.png')}`);

  // 4. A phone.
  const phone = await browser.newContext({viewport: {width: 390, height: 844}, deviceScaleFactor: 2,
                                          isMobile: true, hasTouch: true});
  const mobile = await phone.newPage();
  watch(mobile, 'phone');
  await mobile.goto(base + '/');
  await mobile.waitForFunction(() => document.querySelectorAll('#cards .card svg.chart').length > 0 &&
                                     document.getElementById('status').dataset.updated);
  const fit = await mobile.evaluate(() => {
    const wide = [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > 391)
        .map((e) => e.tagName + '.' + e.className);
    return {scroll: document.documentElement.scrollWidth, wide: wide.slice(0, 5),
            card: document.querySelector('#cards .card').getBoundingClientRect().width};
  });
  if (fit.scroll > 390 || fit.wide.length) throw new Error('the page is wider than a phone: ' + JSON.stringify(fit));
  // A few points in the first chart, for a telling screenshot.
  await mobile.waitForFunction(() => Number(document.querySelector('#cards .card svg.chart').dataset.points) >= 3,
                               null, {timeout: 20000});
  await mobile.screenshot({path: path.join(buildDir, 'dashboard-phone.png')});
  log(`phone: page ${fit.scroll} px wide, cards ${Math.round(fit.card)} px; saved dashboard-phone.png`);
  await phone.close();

  // 5. 10,000 more keys: still at most a page of cards, paging and search.
  let bulk = '';
  for (let i = 0; i < BULK_KEYS; ++i) bulk += record('bulk' + String(i).padStart(5, '0'), 30 + (i % 7), old);
  fs.appendFileSync(readings, bulk);
  const info = await (await page.waitForFunction((n) => {
    const t = document.getElementById('page-info').textContent;
    const m = /of (\d+) · (\d+) equipment/.exec(t);
    return m && Number(m[2]) >= n ? t : null;
  }, BULK_KEYS + 12, {timeout: 30000, polling: 250})).jsonValue();
  const counts = await page.evaluate(() => ({cards: document.querySelectorAll('.card').length,
                                              charts: document.querySelectorAll('svg.chart').length}));
  if (counts.cards > 50 || counts.charts > 50) throw new Error('too many cards in the DOM: ' + JSON.stringify(counts));
  await page.click('#next');
  await page.waitForFunction(() => /^page 2 of /.test(document.getElementById('page-info').textContent));
  await page.fill('#search', 'bulk09999');
  await page.waitForFunction(() => document.querySelectorAll('#cards .card').length === 1 &&
                                   document.querySelector('#cards .card').dataset.key === 'bulk09999');
  const t1 = await stamp();
  await until('an update with 10,000 keys', async () => (await stamp()) > t1, 15000);
  log(`10,000 keys: "${info}", ${counts.cards} cards in the DOM, paging and search work`);
  await page.fill('#search', '');

  if (problems.length) throw new Error('the page reported problems:\n  ' + problems.join('\n  '));
  log('PASS');
} catch (e) {
  failed = true;
  console.error('FAIL: ' + (e && e.stack ? e.stack : e));
  if (problems.length) console.error('problems seen:\n  ' + problems.join('\n  '));
  if (daemon) console.error('--- sensorgate output (tail) ---\n' + daemon.output.slice(-4000));
  if (sim) console.error('--- sensorgate-sim output (tail) ---\n' + sim.output.slice(-2000));
} finally {
  // The browser first: a page polling a stopped daemon logs errors.
  if (browser) await browser.close().catch(() => {});
  await stopProcess(sim);
  await stopProcess(daemon);
  if (daemon && daemon.exitCode !== 0 && !failed) {
    failed = true;
    console.error(`FAIL: sensorgate exited with ${daemon.exitCode} (signal ${daemon.signalCode})\n` + daemon.output.slice(-4000));
  }
  if (failed) {
    console.error(`(files kept in ${tmp})`);
  } else {
    fs.rmSync(tmp, {recursive: true, force: true});
  }
}
process.exit(failed ? 1 : 0);
