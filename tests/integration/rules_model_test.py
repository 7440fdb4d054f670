#!/usr/bin/env python3
"""Model-based test of the [rule.NAME] feature (DESIGN.md section 13).

A plain reference model, written from DESIGN.md sections 4, 5, 6 and 13 only (not
from the gateway's C++ code), computes the replay output of random rule sets over
random JSON-lines records (late records, missing/null/bad fields, several time
formats).  The program's `--replay` output must equal it, object for object:

  python3 tests/integration/rules_model_test.py --sensorgate build/gateway/sensorgate \
      [--seed N] [--cases N] [--exclude FEATURE,...] [--shrink] [--keep]
  python3 tests/integration/rules_model_test.py --selftest

Case i uses the seed N+i, so `--seed S --cases 1` replays exactly the case printed
with seed S (for the same --exclude list: excluding a feature changes the random
stream).  --keep-going runs every case and lists the failing seeds; --shrink reduces
a failing case (fewer rules, fewer records) before printing it.  --exclude FEATURE
stops generating a feature (e.g. one known broken); --quirk NAME makes the model
mimic a known deviation of the program (see QUIRKS) so the rest can be compared.  Exit 0: all cases equal; 1: a mismatch (seed, config, the first
differing pair and the kept case directory are printed); 77: binary missing.

The model uses exact arithmetic (fractions.Fraction for sum/avg/slope/variance,
decimal with 60 digits for square roots), so every threshold comparison is exact.
Comparison: same keys in the same order; strings, integers, min/max/last/value
exactly; sum/avg/stddev/slope/zscore within 1e-9 relative (1e-9 absolute near 0).

Readings of DESIGN.md where the text leaves a choice (see the report / README):
  * a result object holds start, end, then the configured aggregates in the
    configured order (count only when configured); a count window's final line is
    event, rule, key, count, total, time, then the configured aggregates other
    than count (count already has its place);
  * "exact":false is appended after the aggregates (before "open") to the result of
    a window for which at least one distinct value was not counted; max_distinct
    counts the distinct values held by the rule's open windows (released when a
    window closes); small max_distinct is only generated for tumbling/total;
  * an alert event is the rule's result object (time windows) or window line
    (count windows) with "event":"alert" and "state" inserted after "rule", and
    "zscore(AGG)" appended last when the condition uses it;
  * default clear = the alert condition (without min_samples) is false; a null
    aggregate makes a condition false;
  * for count windows an outlier event comes before the alert event of the same
    record;
  * `A != lit` and `A not in (...)` are false when A is missing/null or of the
    other type (the text: "a type mismatch, a missing field or a JSON null is
    false"); not-in lists are generated with the field's own type only;
  * a record joins its still-open windows, then moves the watermark, then the
    windows it closes are emitted (13.3: "joins ... and moves the watermark");
  * a JSON string in a time field must be RFC 3339 (`"1678882537"` is unreadable);
    a numeric string value is not a number; a non-object JSON line is rejected;
  * not generated (unclear in DESIGN): a distinct(F) field missing in a record,
    empty key parts in a 2-field key, float key fields, small max_distinct on count
    or sliding windows or with two distinct() aggregates, value configured but
    unused, lateness on count/total windows, min_samples above a count window's N
    (the program refuses it).
"""

import argparse
import datetime
import decimal
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

decimal.getcontext().prec = 60
D = decimal.Decimal

MISSING = object()

# Known deviations of the program, to mimic on request (--quirk) so that the rest can
# still be compared; each is reported as a program bug or a DESIGN question.
QUIRKS = {
    'numstr_time': 'a JSON string of digits in a time field is read as a unix s/ms number',
    'total_by_key': 'open total windows are printed sorted by key only (not by start, key)',
    'null_no_clear': 'with the default clear, a null aggregate (or zscore) does not resolve a firing alert',
    'close_before_join': '(approximate) a record first closes the windows its time closes (freeing max_distinct), then joins its own',
    'lazy_release': '(approximate) the distinct values of a closed window stay counted against max_distinct until its key opens a new window',
    'outlier_margin': 'a value within 1e-12 (relative) of exactly outlier_z stddev away is no outlier: a tie of decimal readings, whichever way its binary rounding falls',
    'flat_zscore': 'a zscore() history whose stddev is at most 1e-12 of its largest |value| is flat (null): rounding, not spread',
}
ACTIVE_QUIRKS = set()
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
US = 1_000_000

# ----------------------------------------------------------------------------
# Time (DESIGN 4 and 6): whole microseconds since the epoch.

RFC3339 = re.compile(
    r'^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.(\d{1,6}))?Z$')


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def parse_time(v):
    """Returns microseconds, or None when missing/unreadable."""
    if v is MISSING or v is None:
        return None
    if isinstance(v, str) and 'numstr_time' in ACTIVE_QUIRKS and re.match(r'^[0-9]+$', v):
        v = int(v)
    if isinstance(v, str):
        m = RFC3339.match(v)
        if not m:
            return None
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        try:
            dt = datetime.datetime(y, mo, d, h, mi, s, tzinfo=datetime.timezone.utc)
        except ValueError:
            return None
        frac = m.group(8) or ''
        us = int((frac + '000000')[:6])
        delta = dt - EPOCH
        return (delta.days * 86400 + delta.seconds) * US + us
    if is_number(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None
        f = Fraction(v)
        us = f * 1000 if v >= 1e11 else f * US
        return round(us)
    return None


def fmt_time(us):
    dt = EPOCH + datetime.timedelta(microseconds=us)
    return dt.strftime('%Y-%m-%dT%H:%M:%S.') + '%06dZ' % (us % US)


def fmt_dur(us):
    if us % (60 * US) == 0:
        return '%dm' % (us // (60 * US))
    if us % US == 0:
        return '%ds' % (us // US)
    return '%dms' % (us // 1000)


def parse_dur(text):
    m = re.match(r'^(\d+)(ms|s|m|h|d)$', text.strip())
    mult = {'ms': 1000, 's': US, 'm': 60 * US, 'h': 3600 * US, 'd': 86400 * US}
    return int(m.group(1)) * mult[m.group(2)]

# ----------------------------------------------------------------------------
# Fields and the where filter (DESIGN 13.2).


def get_field(rec, path):
    cur = rec
    for part in path.split('.'):
        if not isinstance(cur, dict) or part not in cur:
            return MISSING
        cur = cur[part]
    return cur


def absent(v):
    return v is MISSING or v is None


def lit_text(lit):
    if isinstance(lit, str):
        return '"%s"' % lit
    return repr(lit) if isinstance(lit, float) else str(lit)


def kw(word, rnd):
    if rnd is None:
        return word
    c = rnd.random()
    if c < 0.15:
        return word.upper()
    if c < 0.25:
        return word.capitalize()
    return word


def render_expr(e, rnd=None, top=True):
    kind = e[0]
    if kind == 'or':
        return (' %s ' % kw('or', rnd)).join(render_expr(x, rnd, False) for x in e[1])
    if kind == 'and':
        parts = []
        for x in e[1]:
            s = render_expr(x, rnd, False)
            parts.append('(' + s + ')' if x[0] == 'or' else s)
        return (' %s ' % kw('and', rnd)).join(parts)
    if kind == 'not':
        s = render_expr(e[1], rnd, False)
        if e[1][0] in ('or', 'and'):
            s = '(' + s + ')'
        return kw('not', rnd) + ' ' + s
    if kind == 'paren':
        return '(' + render_expr(e[1], rnd, True) + ')'
    if kind == 'cmp':
        return '%s %s %s' % (e[1], e[2], lit_text(e[3]))
    if kind == 'in':
        neg = (kw('not', rnd) + ' ') if e[2] else ''
        return '%s %s%s (%s)' % (e[1], neg, kw('in', rnd), ', '.join(lit_text(x) for x in e[3]))
    if kind == 'exists':
        return '%s(%s)' % (kw('exists', rnd), e[1])
    raise ValueError(kind)


def same_type(a, b):
    if is_number(a) and is_number(b):
        return True
    return isinstance(a, str) and isinstance(b, str)


def cmp_values(a, op, b):
    if is_number(a):
        x, y = Fraction(a), Fraction(b)
    else:
        x, y = a.encode(), b.encode()
    return {'=': x == y, '!=': x != y, '<': x < y, '<=': x <= y,
            '>': x > y, '>=': x >= y}[op]


def eval_expr(e, rec):
    kind = e[0]
    if kind == 'or':
        return any(eval_expr(x, rec) for x in e[1])
    if kind == 'and':
        return all(eval_expr(x, rec) for x in e[1])
    if kind == 'not':
        return not eval_expr(e[1], rec)
    if kind == 'paren':
        return eval_expr(e[1], rec)
    if kind == 'exists':
        return not absent(get_field(rec, e[1]))
    v = get_field(rec, e[1])
    if absent(v):
        return False
    if kind == 'cmp':
        if not same_type(v, e[3]):
            return False
        return cmp_values(v, e[2], e[3])
    if kind == 'in':
        lits = [x for x in e[3] if same_type(v, x)]
        if not lits:
            return False  # type mismatch
        hit = any(cmp_values(v, '=', x) for x in lits)
        return (not hit) if e[2] else hit
    raise ValueError(kind)

# ----------------------------------------------------------------------------
# Aggregates (DESIGN 13.4), exact.


def dnorm(v):
    if is_number(v):
        return ('n', Fraction(v))
    if isinstance(v, str):
        return ('s', v.encode())
    return None  # missing/null/other: not counted


def dsqrt(fr):
    return (D(fr.numerator) / D(fr.denominator)).sqrt()


class Entry:
    __slots__ = ('value', 't', 'dvals')

    def __init__(self, value, t, dvals):
        self.value, self.t, self.dvals = value, t, dvals


def compute_aggs(rule, entries, dsets=None):
    """Exact aggregate values: int, Fraction, Decimal (stddev), float or None."""
    out = {}
    n = len(entries)
    vals = [Fraction(e.value) for e in entries] if rule.value else []
    for a in rule.aggs:
        if a == 'count':
            out[a] = n
        elif a.startswith('distinct('):
            f = a[len('distinct('):-1]
            if dsets is not None:
                out[a] = len(dsets[a])
            else:
                out[a] = len({e.dvals[f] for e in entries if e.dvals[f] is not None})
        elif n == 0:
            out[a] = None
        elif a == 'sum':
            out[a] = sum(vals, Fraction(0))
        elif a == 'avg':
            out[a] = sum(vals, Fraction(0)) / n
        elif a == 'min':
            out[a] = min(e.value for e in entries)
        elif a == 'max':
            out[a] = max(e.value for e in entries)
        elif a == 'last':
            out[a] = entries[-1].value
        elif a == 'stddev':
            mean = sum(vals, Fraction(0)) / n
            var = sum(((x - mean) ** 2 for x in vals), Fraction(0)) / n
            out[a] = dsqrt(var)
        elif a == 'slope':
            ts = [Fraction(e.t, US) for e in entries]
            if len(set(ts)) < 2:
                out[a] = None
            else:
                mt = sum(ts, Fraction(0)) / n
                mv = sum(vals, Fraction(0)) / n
                num = sum(((t - mt) * (v - mv) for t, v in zip(ts, vals)), Fraction(0))
                den = sum(((t - mt) ** 2 for t in ts), Fraction(0))
                out[a] = num / den
        else:
            raise ValueError(a)
    return out


def to_json(v):
    if v is None or isinstance(v, (int, str, bool)):
        return v
    return float(v)


def exact(v):
    if isinstance(v, D):
        return v
    return D(Fraction(v).numerator) / D(Fraction(v).denominator)


def cond_holds(val, op, k):
    if val is None:
        return False
    a, b = exact(val), D(k)
    return {'>': a > b, '>=': a >= b, '<': a < b, '<=': a <= b}[op]

# ----------------------------------------------------------------------------
# Rules.


class Rule:
    def __init__(self, d):
        self.name = d['name']
        self.where = d.get('where')          # AST or None
        self.key = d.get('key', [])
        self.value = d.get('value')
        self.time = d['time']
        self.window = d['window']            # ('count', N) | ('tumbling', D) | ('sliding', D, S) | ('total',)
        self.lateness = d.get('lateness', 0)
        self.aggs = d['aggs']
        self.alert = d.get('alert')          # (kind, agg, op, K); kind 'agg' | 'zscore'
        self.clear = d.get('clear')
        self.for_us = d.get('for', 0)
        self.min_samples = d.get('min_samples', 1)
        self.baseline = d.get('baseline', 30)
        self.outlier_z = d.get('outlier_z')
        self.vmin = d.get('min', -1e6)
        self.vmax = d.get('max', 1e6)
        self.max_distinct = d.get('max_distinct', 100000)
        self.dfields = [a[len('distinct('):-1] for a in self.aggs if a.startswith('distinct(')]

    def style(self, rnd, ex):
        """Fixes the random spelling of the INI text (keyword case, empty key line)."""
        self.where_text = None
        if self.where is not None:
            self.where_text = render_expr(self.where, None if 'caseins' in ex else rnd)
        self.empty_key_line = 'keyomit' in ex or rnd.random() < 0.5

    def ini(self):
        w = self.window
        lines = ['[rule.%s]' % self.name]
        if self.where is not None:
            lines.append('where = ' + (getattr(self, 'where_text', None) or render_expr(self.where)))
        if self.key or getattr(self, 'empty_key_line', False):
            lines.append('key = ' + ', '.join(self.key))
        if self.value:
            lines.append('value = ' + self.value)
        lines.append('time = ' + self.time)
        if w[0] == 'count':
            lines.append('window = count %d' % w[1])
        elif w[0] == 'tumbling':
            lines.append('window = tumbling ' + fmt_dur(w[1]))
        elif w[0] == 'sliding':
            lines.append('window = sliding %s every %s' % (fmt_dur(w[1]), fmt_dur(w[2])))
        else:
            lines.append('window = total')
        if self.lateness:
            lines.append('lateness = ' + fmt_dur(self.lateness))
        lines.append('aggregates = ' + ', '.join(self.aggs))

        def cond_text(c):
            kind, agg, op, k = c
            a = 'zscore(%s)' % agg if kind == 'zscore' else agg
            return '%s %s %s' % (a, op, k)
        if self.alert:
            lines.append('alert = ' + cond_text(self.alert))
            if self.clear:
                lines.append('clear = ' + cond_text(self.clear))
            if self.for_us:
                lines.append('for = ' + fmt_dur(self.for_us))
            if self.min_samples != 1:
                lines.append('min_samples = %d' % self.min_samples)
            if self.alert[0] == 'zscore':
                lines.append('baseline = %d' % self.baseline)
        if self.outlier_z is not None:
            lines.append('outlier_z = %s' % self.outlier_z)
            if self.min_samples != 1 and not self.alert:
                lines.append('min_samples = %d' % self.min_samples)
        if self.vmin != -1e6:
            lines.append('min = %s' % self.vmin)
        if self.vmax != 1e6:
            lines.append('max = %s' % self.vmax)
        if self.max_distinct != 100000:
            lines.append('max_distinct = %d' % self.max_distinct)
        return '\n'.join(lines) + '\n'


class AlertState:
    __slots__ = ('state', 'since')

    def __init__(self):
        self.state, self.since = 'ok', 0


def alert_step(st, hot, clear_now, t, for_us):
    """Section 5; returns 'firing', 'resolved' or None."""
    if st.state == 'ok':
        if hot:
            if for_us == 0:
                st.state = 'firing'
                return 'firing'
            st.state, st.since = 'pending', t
    elif st.state == 'pending':
        if not hot:
            st.state = 'ok'
        elif t - st.since >= for_us:
            st.state = 'firing'
            return 'firing'
    elif st.state == 'firing':
        if clear_now:
            st.state = 'ok'
            return 'resolved'
    return None


class Window:
    __slots__ = ('key', 'start', 'end', 'entries', 'dsets', 'lost')

    def __init__(self, key, start, end, dfields):
        self.key, self.start, self.end = key, start, end
        self.entries = []
        self.dsets = {'distinct(%s)' % f: set() for f in dfields}
        self.lost = False


class RuleModel:
    def __init__(self, rule):
        self.r = rule
        self.states = {}
        self.ring = {}      # count windows: key -> list of Entry
        self.total = {}     # key -> accepted
        self.lastt = {}     # key -> time of last accepted
        self.wins = {}      # time windows: (key, start) -> Window
        self.wm = None
        self.held = 0
        self.hist = {}      # key -> list of defined zscore AGG values
        self.unreleased = {}  # quirk lazy_release: key -> values of its closed windows

    # -- record --
    def extract(self, rec):
        """Returns (key, value, t, dvals) or None when filtered/skipped."""
        r = self.r
        if r.where is not None and not eval_expr(r.where, rec):
            return None
        if r.key:
            parts = []
            for f in r.key:
                v = get_field(rec, f)
                if isinstance(v, str):
                    parts.append(v)
                elif is_number(v) and isinstance(v, int):
                    parts.append(str(v))
                else:
                    return None
            key = '/'.join(parts)
            if key == '' or len(key.encode()) > 128 or any(ord(c) < 0x20 or ord(c) == 0x7f for c in key):
                return None
        else:
            key = '*'
        value = None
        if r.value:
            v = get_field(rec, r.value)
            if not is_number(v) or not math.isfinite(v):
                return None
            if v < r.vmin or v > r.vmax:
                return None
            value = v
        t = parse_time(get_field(rec, r.time))
        if t is None:
            return None
        dvals = {f: dnorm(get_field(rec, f)) for f in r.dfields}
        return key, value, t, dvals

    def condition(self, c, aggs, z):
        if c is None:
            return False
        kind, agg, op, k = c
        return cond_holds(z if kind == 'zscore' else aggs[agg], op, k)

    def cond_is_null(self, c, aggs, z):
        kind, agg, op, k = c
        return (z if kind == 'zscore' else aggs[agg]) is None

    def alert_event(self, key, count, aggs, t, base, z):
        r = self.r
        if not r.alert:
            return None
        st = self.states.setdefault(key, AlertState())
        fires = self.condition(r.alert, aggs, z)
        hot = count >= r.min_samples and fires
        clear_now = self.condition(r.clear, aggs, z) if r.clear else not fires
        if not r.clear and 'null_no_clear' in ACTIVE_QUIRKS and self.cond_is_null(r.alert, aggs, z):
            clear_now = False
        ev = alert_step(st, hot, clear_now, t, r.for_us)
        if ev is None:
            return None
        out = {'event': 'alert', 'rule': r.name, 'state': ev}
        for k, v in base.items():
            if k not in ('event', 'rule'):
                out[k] = v
        if r.alert[0] == 'zscore':
            out['zscore(%s)' % r.alert[1]] = to_json(z)
        return out

    def window_line(self, key):
        r = self.r
        entries = self.ring[key]
        aggs = compute_aggs(r, entries)
        o = {'event': 'window', 'rule': r.name, 'key': key, 'count': len(entries),
             'total': self.total[key], 'time': fmt_time(self.lastt[key])}
        for a in r.aggs:
            if a != 'count':
                o[a] = to_json(aggs[a])
        return o, aggs

    def feed(self, rec, out):
        x = self.extract(rec)
        if x is None:
            return
        key, value, t, dvals = x
        r = self.r
        if r.window[0] == 'count':
            self.feed_count(key, value, t, dvals, out)
        else:
            self.feed_time(key, value, t, dvals, out)

    def feed_count(self, key, value, t, dvals, out):
        r = self.r
        ring = self.ring.setdefault(key, [])
        if r.outlier_z is not None and len(ring) >= max(r.min_samples, 1):
            vals = [Fraction(e.value) for e in ring]
            n = len(vals)
            mean = sum(vals, Fraction(0)) / n
            var = sum(((v - mean) ** 2 for v in vals), Fraction(0)) / n
            z = Fraction(str(r.outlier_z))
            dev = Fraction(value) - mean
            if 'outlier_margin' in ACTIVE_QUIRKS:
                z *= 1 + Fraction(1, 10 ** 12)
            if var > 0 and dev * dev > z * z * var:
                out.append({'event': 'outlier', 'rule': r.name, 'key': key, 'value': value,
                            'avg': float(mean), 'stddev': float(dsqrt(var)), 'time': fmt_time(t)})
        ring.append(Entry(value, t, dvals))
        if len(ring) > r.window[1]:
            del ring[0]
        self.total[key] = self.total.get(key, 0) + 1
        self.lastt[key] = t
        if r.alert:
            line, aggs = self.window_line(key)
            ev = self.alert_event(key, len(ring), aggs, t, line, None)
            if ev:
                out.append(ev)

    def windows_of(self, t):
        w = self.r.window
        if w[0] == 'tumbling':
            s = t // w[1] * w[1]
            return [(s, s + w[1])]
        if w[0] == 'sliding':
            d, step = w[1], w[2]
            first = t // step * step
            return [(s, s + d) for s in range(first - d + step, first + step, step)]
        return [None]  # total

    def is_closed(self, end):
        return self.wm is not None and self.wm >= end + self.r.lateness

    def feed_time(self, key, value, t, dvals, out):
        r = self.r
        entry = Entry(value, t, dvals)
        if r.window[0] == 'total':
            w = self.wins.get((key, None))
            if w is None:
                w = self.wins[(key, None)] = Window(key, t, t, r.dfields)
            w.start, w.end = min(w.start, t), max(w.end, t)
            self.add(w, entry)
            self.wm = t if self.wm is None else max(self.wm, t)
            return
        spans = [(s, e) for s, e in self.windows_of(t) if not self.is_closed(e)]
        if not spans:
            return  # late
        join_first = 'close_before_join' not in ACTIVE_QUIRKS
        if join_first:
            self.join(key, spans, entry)
        if self.wm is None or t > self.wm:
            self.wm = t
        closing = [w for w in self.wins.values() if self.is_closed(w.end)]
        closing.sort(key=lambda w: (w.end, w.key.encode()))
        for w in closing:
            del self.wins[(w.key, w.start)]
            freed = sum(len(s) for s in w.dsets.values())
            if 'lazy_release' in ACTIVE_QUIRKS:
                self.unreleased[w.key] = self.unreleased.get(w.key, 0) + freed
            else:
                self.held -= freed
            res, aggs = self.result(w)
            out.append(res)
            if r.alert:
                z = self.zscore(w.key, aggs)
                ev = self.alert_event(w.key, len(w.entries), aggs, w.end, res, z)
                if ev:
                    out.append(ev)
        if not join_first:
            self.join(key, spans, entry)

    def join(self, key, spans, entry):
        for s, e in spans:
            w = self.wins.get((key, s))
            if w is None:
                w = self.wins[(key, s)] = Window(key, s, e, self.r.dfields)
                self.held -= self.unreleased.pop(key, 0)
            self.add(w, entry)

    def add(self, w, entry):
        w.entries.append(entry)
        for a, s in w.dsets.items():
            v = entry.dvals[a[len('distinct('):-1]]
            if v is None or v in s:
                continue
            if self.held < self.r.max_distinct:
                s.add(v)
                self.held += 1
            else:
                w.lost = True

    def result(self, w, open_=False):
        r = self.r
        aggs = compute_aggs(r, w.entries, w.dsets)
        o = {'event': 'result', 'rule': r.name, 'key': w.key,
             'start': fmt_time(w.start), 'end': fmt_time(w.end)}
        for a in r.aggs:
            o[a] = to_json(aggs[a])
        if w.lost:
            o['exact'] = False
        if open_:
            o['open'] = True
        return o, aggs

    def zscore(self, key, aggs):
        r = self.r
        if r.alert[0] != 'zscore':
            return None
        x = aggs[r.alert[1]]
        h = self.hist.setdefault(key, [])
        z = None
        if x is not None and len(h) >= r.baseline:
            prev = [Fraction(v) if not isinstance(v, D) else v for v in h[-r.baseline:]]
            if any(isinstance(v, D) for v in prev) or isinstance(x, D):
                # stddev as AGG: high-precision decimal
                pv = [exact(v) for v in prev]
                n = D(len(pv))
                mean = sum(pv) / n
                var = sum((v - mean) ** 2 for v in pv) / n
                sd = var.sqrt() if var > 0 else D(0)
                if 'flat_zscore' in ACTIVE_QUIRKS and sd <= D('1e-12') * max(abs(v) for v in pv):
                    sd = D(0)
                if sd > D('1e-40'):
                    z = (exact(x) - mean) / sd
            else:
                n = len(prev)
                mean = sum(prev, Fraction(0)) / n
                var = sum(((v - mean) ** 2 for v in prev), Fraction(0)) / n
                scale = max(abs(v) for v in prev)
                if 'flat_zscore' in ACTIVE_QUIRKS and var <= Fraction(1, 10 ** 24) * scale * scale:
                    var = Fraction(0)
                if var > 0:
                    z = exact(Fraction(x) - mean) / dsqrt(var)
        if x is not None:
            h.append(x)
            del h[:-r.baseline]
        return z

    def finish(self, out):
        r = self.r
        if r.window[0] == 'count':
            for key in sorted(self.ring, key=lambda k: k.encode()):
                out.append(self.window_line(key)[0])
        else:
            if r.window[0] == 'total' and 'total_by_key' in ACTIVE_QUIRKS:
                ws = sorted(self.wins.values(), key=lambda w: w.key.encode())
            else:
                ws = sorted(self.wins.values(), key=lambda w: (w.start, w.key.encode()))
            for w in ws:
                out.append(self.result(w, open_=True)[0])


def model_output(rules, lines):
    models = [RuleModel(r) for r in rules]
    out = []
    for line in lines:
        if len(line.encode()) > 65536:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict):
            continue
        for m in models:
            m.feed(rec, out)
    for m in models:
        m.finish(out)
    return out

# ----------------------------------------------------------------------------
# Random cases.

ALL_FEATURES = ['where', 'notin', 'mismatch', 'late', 'sliding', 'tumbling', 'total', 'count',
                'distinct', 'overflow', 'slope', 'stddev', 'zscore', 'outlier', 'alert',
                'for', 'clear', 'timefmt', 'baddate', 'nested', 'numkey', 'badvalue',
                'range', 'malformed', 'nokey', 'keyomit', 'lateness', 'caseins', 'numstrtime']

KEY_FIELDS = ['dev', 'site', 'unit', 'm.loc']
DISTINCT_FIELDS = ['user', 'proto', 'port', 'code']
TIME_FIELDS = ['ts', 'tsec', 'tms']


def gen_where(rnd, ex, depth=0):
    c = rnd.random()
    if depth < 2 and c < 0.25:
        kind = rnd.choice(['and', 'or'])
        return (kind, [gen_where(rnd, ex, depth + 1) for _ in range(rnd.randint(2, 3))])
    if depth < 2 and c < 0.35:
        return ('not', gen_where(rnd, ex, depth + 1))
    if depth < 2 and c < 0.4:
        return ('paren', gen_where(rnd, ex, depth + 1))
    c = rnd.random()
    if c < 0.15:
        return ('exists', rnd.choice(['lvl', 'tag', 'flag', 'm.loc', 'site', 'nosuch']))
    if c < 0.4:
        f = rnd.choice(['proto', 'port', 'tag', 'lvl', 'site'])
        if f in ('proto', 'tag', 'site'):
            pool = {'proto': ['TCP', 'UDP', 'ICMP', 'SCTP'], 'tag': ['a', 'b', 'c', 'x y'],
                    'site': ['north', 'south', 'east', 'west']}[f]
        else:
            pool = {'port': [22, 80, 443, 8000, 9999], 'lvl': [1.5, 2, 5, 7.5, 9]}[f]
        lits = rnd.sample(pool, rnd.randint(1, 3))
        neg = 'notin' not in ex and rnd.random() < 0.4
        return ('in', f, neg, lits)
    f = rnd.choice(['proto', 'port', 'lvl', 'tag', 'code', 'site'])
    op = rnd.choice(['=', '!=', '<', '<=', '>', '>='])
    numeric = f in ('port', 'lvl', 'code')
    if 'mismatch' not in ex and rnd.random() < 0.1:
        numeric = not numeric
    if numeric:
        lit = rnd.choice([80, 443, 1000, 442.5, 5, 2.5, 1, 0, 3, 7.25])
    else:
        lit = rnd.choice(['TCP', 'UDP', 'ICMP', 'M', 'a', 'b', 'x y', 'north', 'south', 'm'])
    return ('cmp', f, op, lit)


def pick_dur(rnd, choices):
    return rnd.choice(choices)


def gen_rule(rnd, idx, ex):
    d = {'name': rnd.choice(['r%d' % idx, 'rule_%d' % idx, 'x-%d' % idx, 'a%d_b-c' % idx])}
    if 'where' not in ex and rnd.random() < 0.5:
        d['where'] = gen_where(rnd, ex)
    nk = rnd.choice([0, 1, 1, 2]) if 'nokey' not in ex else rnd.choice([1, 1, 2])
    kf = [f for f in KEY_FIELDS if not ('nested' in ex and '.' in f) and not ('numkey' in ex and f == 'unit')]
    d['key'] = rnd.sample(kf, nk)
    tf = TIME_FIELDS if 'timefmt' not in ex else ['ts', 'tsec', 'tms']
    d['time'] = rnd.choice(tf)
    kinds = [k for k in ['count', 'tumbling', 'sliding', 'total'] if k not in ex]
    kind = rnd.choice(kinds)
    if kind == 'count':
        d['window'] = ('count', rnd.choice([1, 2, 3, 5, 8, 13, 20]))
    elif kind == 'tumbling':
        d['window'] = ('tumbling', rnd.choice([500_000, US, 2 * US, 5 * US, 10 * US, 30 * US, 60 * US, 1_500_000]))
    elif kind == 'sliding':
        s = rnd.choice([500_000, US, 2 * US, 5 * US])
        d['window'] = ('sliding', s * rnd.randint(1, 5), s)
    else:
        d['window'] = ('total',)
    if kind in ('tumbling', 'sliding') and 'lateness' not in ex and rnd.random() < 0.5:
        d['lateness'] = rnd.choice([500_000, US, 3 * US, 10 * US])
    aggs = ['count', 'sum', 'avg', 'min', 'max', 'stddev', 'last', 'slope']
    if 'slope' in ex:
        aggs.remove('slope')
    if 'stddev' in ex:
        aggs.remove('stddev')
    if 'distinct' not in ex:
        for f in DISTINCT_FIELDS:
            aggs.append('distinct(%s)' % f)
    chosen = rnd.sample(aggs, rnd.randint(1, min(5, len(aggs))))
    d['aggs'] = chosen
    needs_value = any(a in ('sum', 'avg', 'min', 'max', 'stddev', 'last', 'slope') for a in chosen)
    if kind == 'count' and 'outlier' not in ex and rnd.random() < 0.35:
        d['outlier_z'] = rnd.choice([1.5, 2, 2.5, 3])
        needs_value = True
    if needs_value:
        d['value'] = rnd.choice(['v', 'v', 'm.val'] if 'nested' not in ex else ['v'])
        if 'range' not in ex and rnd.random() < 0.4:
            d['min'] = rnd.choice([0, 10, -20])
            d['max'] = rnd.choice([90, 100, 120])
    dd = [a for a in chosen if a.startswith('distinct(')]
    if (kind in ('tumbling', 'total') and len(dd) == 1 and 'overflow' not in ex
            and rnd.random() < 0.5):
        d['max_distinct'] = rnd.choice([2, 3, 5, 8, 20])
    if 'alert' not in ex and rnd.random() < 0.6:
        thresholds = {'count': [1, 2, 3, 5, 10], 'sum': [100.0137, 500.0137, 1000.0137],
                      'avg': [40.0137, 50.0137, 60.0137], 'min': [20.0137, 40.0137],
                      'max': [60.0137, 75.0137], 'last': [50.0137, 65.0137],
                      'stddev': [3.0137, 8.0137, 12.0137], 'slope': [-0.5137, 0.0137, 0.5137]}
        cands = [a for a in chosen]
        ztime = kind in ('tumbling', 'sliding') and 'zscore' not in ex and rnd.random() < 0.35
        agg = rnd.choice(cands)
        op = rnd.choice(['>', '>=', '<', '<='])
        if ztime:
            d['alert'] = ('zscore', agg, op if op in ('>', '>=') else rnd.choice(['<', '<=']),
                          rnd.choice(['0.5137', '1.0137', '1.5137', '-1.0137']))
            d['baseline'] = rnd.choice([2, 3, 4, 5])
        else:
            if agg.startswith('distinct('):
                k = str(rnd.choice([1, 2, 3, 4]))
            else:
                k = str(rnd.choice(thresholds[agg]))
            d['alert'] = ('agg', agg, op, k)
        if 'clear' not in ex and rnd.random() < 0.4:
            cagg = rnd.choice(cands)
            cop = rnd.choice(['>', '>=', '<', '<='])
            ck = str(rnd.choice([1, 2, 3])) if cagg.startswith('distinct(') else str(rnd.choice(thresholds[cagg]))
            d['clear'] = ('agg', cagg, cop, ck)
        if 'for' not in ex and rnd.random() < 0.4:
            d['for'] = rnd.choice([500_000, US, 2 * US, 10 * US, 30 * US])
        if rnd.random() < 0.4:
            d['min_samples'] = rnd.randint(2, 6)
    elif d.get('outlier_z') is not None and rnd.random() < 0.4:
        d['min_samples'] = rnd.randint(2, 6)
    if kind == 'count' and d.get('min_samples', 1) > d['window'][1]:
        # the program refuses min_samples above N (DESIGN is silent; a sane refusal)
        d['min_samples'] = d['window'][1]
    return Rule(d)


def gen_records(rnd, ex):
    n = rnd.randint(50, 2000)
    ndev = rnd.randint(1, 8)
    base = {('d%d' % i): rnd.uniform(20, 80) for i in range(ndev)}
    t = rnd.randint(1_600_000_000, 1_800_000_000) * US + rnd.choice([0, rnd.randint(0, US - 1)])
    mean_gap = rnd.choice([50_000, 200_000, 500_000, 2 * US])
    p_late = 0 if 'late' in ex else rnd.choice([0, 0.02, 0.05, 0.15])
    p_bad = rnd.choice([0, 0.02, 0.08])
    lines = []
    shift = 0.0
    for i in range(n):
        if rnd.random() < 0.6:
            gap = int(rnd.expovariate(1.0 / mean_gap))
            gap = gap - gap % rnd.choice([1, 1000, 125_000])
            t += gap
        tt = t
        if rnd.random() < p_late:
            tt = t - rnd.choice([rnd.randint(1, 3 * US), rnd.randint(1, 30 * US), rnd.randint(1, 120 * US)])
        if rnd.random() < 0.01:
            shift = rnd.choice([0.0, 15.0, -15.0, 40.0])
        dev = 'd%d' % rnd.randrange(ndev)
        rec = {}
        val = round(base[dev] + shift + rnd.gauss(0, 6), rnd.choice([0, 1, 1, 2]))
        if rnd.random() < 0.3:
            val = int(round(val))
        # time fields
        if rnd.random() < 0.3 and 'timefmt' not in ex:
            sec = tt // US
            rec['ts'] = rnd.choice([fmt_time(sec * US)[:19] + 'Z',
                                    fmt_time(tt // 1000 * 1000)[:23] + 'Z'])
        else:
            rec['ts'] = fmt_time(tt)
        if tt % 125_000 == 0 and tt % US != 0:
            rec['tsec'] = tt / US
        else:
            rec['tsec'] = tt // US
        rec['tms'] = tt // 1000
        for f in TIME_FIELDS:
            c = rnd.random()
            if c < p_bad:
                del rec[f]
            elif c < 2 * p_bad:
                bad = ['yesterday', '', True, '2023-13-01T00:00:00Z', [1]]
                if 'numstrtime' not in ex:
                    bad.append(str(tt // US))
                if 'baddate' not in ex:
                    bad.append('2023-02-30T10:00:00Z')
                rec[f] = rnd.choice(bad)
            elif c < 2.5 * p_bad:
                rec[f] = None
        rec['dev'] = dev
        rec['site'] = rnd.choice(['north', 'south', 'east'])
        rec['unit'] = rnd.randint(1, 4)
        rec['proto'] = rnd.choice(['TCP', 'UDP', 'ICMP'])
        rec['port'] = rnd.choice([22, 80, 443, 8000, 8080])
        rec['code'] = rnd.choice([1, 1.0, 2, 2.5, 3, 3.0])
        rec['user'] = 'u%d' % rnd.randrange(rnd.choice([3, 30]))
        c = rnd.random()
        if c < 0.8:
            rec['lvl'] = round(rnd.uniform(0, 10), 1)
        elif c < 0.9:
            rec['lvl'] = None
        c = rnd.random()
        if c < 0.75:
            rec['tag'] = rnd.choice(['a', 'b', 'c', 'x y'])
        elif c < 0.85:
            rec['tag'] = None
        c = rnd.random()
        if c < 0.5:
            rec['flag'] = rnd.choice([True, False])
        elif c < 0.7:
            rec['flag'] = None
        m = {'loc': rnd.choice(['hall-1', 'hall-2'])}
        rec['v'] = val
        m['val'] = round(val * 1.5, 2)
        rec['m'] = m
        for f in ('dev', 'site', 'unit'):
            c = rnd.random()
            if c < p_bad:
                del rec[f]
            elif c < 1.5 * p_bad:
                rec[f] = None
        if rnd.random() < p_bad:
            del m['loc']
        if rnd.random() < p_bad / 2:
            rec['m'] = 5
        if 'badvalue' not in ex:
            for holder, f in ((rec, 'v'), (m, 'val')):
                c = rnd.random()
                if c < p_bad:
                    holder.pop(f, None)
                elif c < 2 * p_bad:
                    holder[f] = rnd.choice(['abc', '12.5', True, None, {}, [3]])
                elif c < 3 * p_bad and 'range' not in ex:
                    holder[f] = rnd.choice([-50, 150.5, 2e6, -1e7])
        keys = list(rec)
        rnd.shuffle(keys)
        rec = {k: rec[k] for k in keys}
        line = json.dumps(rec)
        if 'malformed' not in ex and rnd.random() < p_bad / 4:
            line = rnd.choice(['{"dev": "d0", ', 'not json', '[1,2]', line[:-1]])
        lines.append(line)
    return lines


def gen_case(seed, ex):
    rnd = random.Random(seed)
    rules = [gen_rule(rnd, i, ex) for i in range(rnd.randint(1, 4))]
    names = set()
    for i, r in enumerate(rules):
        if r.name in names:
            r.name = 'r%d' % i
        names.add(r.name)
    lines = gen_records(rnd, ex)
    for r in rules:
        r.style(rnd, ex)
    cfg = '\n'.join(r.ini() for r in rules)
    return rules, cfg, lines

# ----------------------------------------------------------------------------
# Comparison.

FLOAT_KEYS = {'sum', 'avg', 'stddev', 'slope'}


def near(a, b):
    if not (is_number(a) and is_number(b)):
        return False
    if a == b:
        return True
    diff = abs(a - b)
    return diff <= 1e-9 or diff <= 1e-9 * max(abs(a), abs(b))


def same_obj(m, p):
    """None if equal, else a reason."""
    if not isinstance(p, dict):
        return 'not an object'
    if list(m) != list(p):
        return 'keys differ: model %s, program %s' % (list(m), list(p))
    for k in m:
        a, b = m[k], p[k]
        if k in FLOAT_KEYS or k.startswith('zscore(') or (m.get('event') == 'outlier' and k in ('avg', 'stddev')):
            if a is None or b is None:
                if a is not b:
                    return '%s: model %r, program %r' % (k, a, b)
            elif not near(a, b):
                return '%s: model %r, program %r' % (k, a, b)
        elif isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
            if a is not b:
                return '%s: model %r, program %r' % (k, a, b)
        elif isinstance(a, int) and (k in ('count', 'total') or k.startswith('distinct(')):
            if not (isinstance(b, int) and a == b):
                return '%s: model %r, program %r' % (k, a, b)
        elif type(a) is str or type(b) is str:
            if a != b:
                return '%s: model %r, program %r' % (k, a, b)
        elif not (is_number(b) and a == b):
            return '%s: model %r, program %r' % (k, a, b)
    return None


def compare(model, stdout):
    plines = [l for l in stdout.splitlines() if l.strip()]
    for i in range(max(len(model), len(plines))):
        m = model[i] if i < len(model) else None
        p = plines[i] if i < len(plines) else None
        if m is None or p is None:
            return i, json.dumps(m) if m is not None else '<none>', p or '<none>', 'line count differs (model %d, program %d)' % (len(model), len(plines))
        try:
            po = json.loads(p)
        except ValueError:
            return i, json.dumps(m), p, 'program line is not JSON'
        why = same_obj(m, po)
        if why:
            return i, json.dumps(m), p, why
    return None


def run_program(binary, cfg, lines, workdir):
    cfg_path = os.path.join(workdir, 'rules.ini')
    rec_path = os.path.join(workdir, 'records.jsonl')
    with open(cfg_path, 'w') as f:
        # Four rules at the default max_keys can plan more than the default
        # memory_max (64MiB); the windows are allocated lazily, so a larger
        # ceiling costs the test nothing.
        f.write('[gateway]\nmemory_max = 2GiB\n\n' + cfg)
    with open(rec_path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    for attempt in range(60):
        try:
            p = subprocess.run([binary, '--config', cfg_path, '--replay', rec_path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
            return p.returncode, p.stdout.decode(errors='replace'), p.stderr.decode(errors='replace')
        except OSError as e:  # the binary is being rebuilt: wait for it (up to 10 minutes)
            print('waiting for %s (%s)' % (binary, e), file=sys.stderr)
            time.sleep(10)
    raise SystemExit('sensorgate binary disappeared: %s' % binary)


def check_case(binary, rules, cfg, lines, workdir):
    rc, out, err = run_program(binary, cfg, lines, workdir)
    with open(os.path.join(workdir, 'program.jsonl'), 'w') as f:
        f.write(out)
    with open(os.path.join(workdir, 'program.stderr'), 'w') as f:
        f.write(err)
    if rc != 0:
        return ('exit', 'exit code %d; stderr: %s' % (rc, err.strip()[-2000:]))
    model = model_output(rules, lines)
    diff = compare(model, out)
    if diff:
        return ('diff', diff)
    return None


def shrink(binary, rules, lines, workdir):
    """Greedy: fewer rules, then fewer records, while some mismatch remains."""
    def fails(rs, ls):
        cfg = '\n'.join(r.ini() for r in rs)
        return check_case(binary, rs, cfg, ls, workdir) is not None
    i = 0
    while len(rules) > 1 and i < len(rules):
        cand = rules[:i] + rules[i + 1:]
        if fails(cand, lines):
            rules = cand
        else:
            i += 1
    chunk = max(1, len(lines) // 2)
    while chunk >= 1:
        i = 0
        while i < len(lines):
            cand = lines[:i] + lines[i + chunk:]
            if cand and fails(rules, cand):
                lines = cand
            else:
                i += chunk
        chunk //= 2
    return rules, lines

# ----------------------------------------------------------------------------
# Self-test: tiny hand-computed cases.


def selftest():
    T0 = 1_700_000_000 * US  # 2023-11-14T22:13:20Z, a multiple of 10 s

    def rec(**kw):
        return json.dumps(kw)
    assert parse_time('2023-03-15T12:15:37.166944Z') == 1678882537166944
    assert parse_time(1678882537) == 1678882537 * US
    assert parse_time(1678882537123) == 1678882537123000
    assert parse_time(1678882537.5) == 1678882537500000
    assert parse_time('2023-02-30T00:00:00Z') is None
    assert parse_time(True) is None and parse_time('') is None
    assert fmt_time(1678882537166944) == '2023-03-15T12:15:37.166944Z'
    assert fmt_time(T0) == '2023-11-14T22:13:20.000000Z'

    # where
    r = {'a': 5, 's': 'x', 'n': None}
    assert eval_expr(('cmp', 'a', '>', 4), r)
    assert not eval_expr(('cmp', 's', '!=', 4), r)         # type mismatch is false
    assert not eval_expr(('cmp', 'n', '!=', 4), r)         # null is false
    assert not eval_expr(('cmp', 'zz', '!=', 4), r)        # missing is false
    assert eval_expr(('not', ('cmp', 'zz', '=', 4)), r)
    assert eval_expr(('in', 'a', False, [4, 5.0]), r)
    assert not eval_expr(('in', 'zz', True, [4]), r)
    assert eval_expr(('in', 's', True, ['y']), r)
    assert not eval_expr(('exists', 'n'), r) and eval_expr(('exists', 's'), r)
    assert eval_expr(('cmp', 's', '<', 'y'), r)
    assert render_expr(('and', [('or', [('exists', 'a'), ('cmp', 'b', '=', 'q')]),
                                ('in', 'c', True, [1, 2.5])])) == \
        '(exists(a) or b = "q") and c not in (1, 2.5)'

    # tumbling 10s, lateness 0: windows close when the watermark reaches their end
    rule = Rule({'name': 't', 'key': ['k'], 'value': 'v', 'time': 't', 'window': ('tumbling', 10 * US),
                 'aggs': ['count', 'sum', 'avg', 'min', 'max', 'last', 'stddev', 'slope']})
    lines = [rec(k='a', v=1, t=T0 // US), rec(k='a', v=3, t=T0 // US + 4), rec(k='b', v=10, t=T0 // US + 5),
             rec(k='a', v=5, t=T0 // US + 10),        # closes [T0, T0+10) for a and b
             rec(k='a', v=100, t=T0 // US + 9),       # late
             rec(k='b', v='x', t=T0 // US + 11)]      # skipped
    out = model_output([rule], lines)
    assert out[0] == {'event': 'result', 'rule': 't', 'key': 'a', 'start': fmt_time(T0),
                      'end': fmt_time(T0 + 10 * US), 'count': 2, 'sum': 4.0, 'avg': 2.0,
                      'min': 1, 'max': 3, 'last': 3, 'stddev': 1.0, 'slope': 0.5}, out[0]
    assert out[1]['key'] == 'b' and out[1]['count'] == 1 and out[1]['slope'] is None and out[1]['stddev'] == 0.0
    assert out[2] == {'event': 'result', 'rule': 't', 'key': 'a', 'start': fmt_time(T0 + 10 * US),
                      'end': fmt_time(T0 + 20 * US), 'count': 1, 'sum': 5.0, 'avg': 5.0, 'min': 5,
                      'max': 5, 'last': 5, 'stddev': 0.0, 'slope': None, 'open': True}, out[2]
    assert len(out) == 3

    # lateness 5s: the record at +9 joins, as the window closes only at watermark >= +15
    rule.lateness = 5 * US
    out = model_output([rule], lines[:5] + [rec(k='b', v=7, t=T0 // US + 15)])
    assert [o['event'] for o in out] == ['result', 'result', 'result', 'result']
    assert out[0]['key'] == 'a' and out[0]['count'] == 3 and out[0]['last'] == 100
    assert out[1]['key'] == 'b' and out[1]['count'] == 1
    assert out[2]['key'] == 'a' and out[2].get('open') and out[3]['key'] == 'b' and out[3]['start'] == fmt_time(T0 + 10 * US)

    # sliding 4s every 2s: a record belongs to 2 windows
    rule = Rule({'name': 's', 'time': 't', 'window': ('sliding', 4 * US, 2 * US), 'aggs': ['count']})
    out = model_output([rule], [rec(t=T0 // US + 3), rec(t=T0 // US + 5)])
    # windows of +3: [0,4) [2,6); of +5: [2,6) [4,8); watermark +5 closes [0,4)
    assert out == [{'event': 'result', 'rule': 's', 'key': '*', 'start': fmt_time(T0), 'end': fmt_time(T0 + 4 * US), 'count': 1},
                   {'event': 'result', 'rule': 's', 'key': '*', 'start': fmt_time(T0 + 2 * US), 'end': fmt_time(T0 + 6 * US), 'count': 2, 'open': True},
                   {'event': 'result', 'rule': 's', 'key': '*', 'start': fmt_time(T0 + 4 * US), 'end': fmt_time(T0 + 8 * US), 'count': 1, 'open': True}], out

    # count window, alert avg > 5 with for 2s, min_samples 2; clear default
    rule = Rule({'name': 'c', 'key': ['k'], 'value': 'v', 'time': 't', 'window': ('count', 2),
                 'aggs': ['avg', 'count'], 'alert': ('agg', 'avg', '>', '5'), 'for': 2 * US, 'min_samples': 2})
    ts = T0 // US
    out = model_output([rule], [rec(k='a', v=10, t=ts), rec(k='a', v=10, t=ts + 1),    # pending since +1
                                rec(k='a', v=10, t=ts + 3),                            # +3-+1 >= 2: firing
                                rec(k='a', v=0, t=ts + 4),                             # avg 5: resolved
                                rec(k='a', v=1, t=ts + 5)])
    assert out == [
        {'event': 'alert', 'rule': 'c', 'state': 'firing', 'key': 'a', 'count': 2, 'total': 3, 'time': fmt_time(T0 + 3 * US), 'avg': 10.0},
        {'event': 'alert', 'rule': 'c', 'state': 'resolved', 'key': 'a', 'count': 2, 'total': 4, 'time': fmt_time(T0 + 4 * US), 'avg': 5.0},
        {'event': 'window', 'rule': 'c', 'key': 'a', 'count': 2, 'total': 5, 'time': fmt_time(T0 + 5 * US), 'avg': 0.5}], out

    # outlier_z on a count window
    rule = Rule({'name': 'o', 'value': 'v', 'time': 't', 'window': ('count', 3), 'aggs': ['last'], 'outlier_z': 2})
    out = model_output([rule], [rec(v=1, t=ts), rec(v=3, t=ts), rec(v=10, t=ts + 1)])
    assert out[0] == {'event': 'outlier', 'rule': 'o', 'key': '*', 'value': 10, 'avg': 2.0, 'stddev': 1.0, 'time': fmt_time(T0 + US)}, out
    assert out[1] == {'event': 'window', 'rule': 'o', 'key': '*', 'count': 3, 'total': 3, 'time': fmt_time(T0 + US), 'last': 10}

    # zscore(count) over baseline 2 on tumbling 1s
    rule = Rule({'name': 'z', 'time': 't', 'window': ('tumbling', US), 'aggs': ['count'],
                 'alert': ('zscore', 'count', '>', '1'), 'baseline': 2})
    recs = [rec(t=ts)] + [rec(t=ts + 1)] * 3 + [rec(t=ts + 2)] * 9 + [rec(t=ts + 3)]
    out = model_output([rule], recs)
    # counts 1, 3, 9: zscore of 9 against (1, 3): (9-2)/1 = 7 -> firing
    assert out[2]['count'] == 9 and out[3] == {'event': 'alert', 'rule': 'z', 'state': 'firing', 'key': '*',
                                               'start': fmt_time(T0 + 2 * US), 'end': fmt_time(T0 + 3 * US),
                                               'count': 9, 'zscore(count)': 7.0}, out

    # distinct with max_distinct 2 on total; numbers by value
    rule = Rule({'name': 'd', 'time': 't', 'window': ('total',), 'aggs': ['distinct(u)'], 'max_distinct': 2})
    out = model_output([rule], [rec(u=1, t=ts + 2), rec(u=1.0, t=ts), rec(u='1', t=ts + 1), rec(u='z', t=ts + 1)])
    assert out == [{'event': 'result', 'rule': 'd', 'key': '*', 'start': fmt_time(T0), 'end': fmt_time(T0 + 2 * US),
                    'distinct(u)': 2, 'exact': False, 'open': True}], out

    # key of two fields, one numeric; bad key skipped; key text of a number
    rule = Rule({'name': 'k', 'key': ['a', 'b'], 'time': 't', 'window': ('count', 5), 'aggs': ['count']})
    out = model_output([rule], [rec(a='x', b=7, t=ts), rec(a='x', t=ts), rec(a='x', b=None, t=ts), rec(a='x', b=7, t='bad')])
    assert out == [{'event': 'window', 'rule': 'k', 'key': 'x/7', 'count': 1, 'total': 1, 'time': fmt_time(T0)}], out

    # a generated case runs through the model without error
    for s in range(20):
        rules, cfg, lines = gen_case(s, set())
        model_output(rules, lines)
    print('selftest: ok')

# ----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--sensorgate', help='path to the sensorgate binary')
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--cases', type=int, default=200)
    ap.add_argument('--exclude', default='', help='comma list of features not to generate: ' + ','.join(ALL_FEATURES))
    ap.add_argument('--quirk', default='', help='comma list of known program deviations the model mimics: ' +
                    '; '.join('%s: %s' % kv for kv in QUIRKS.items()))
    ap.add_argument('--shrink', action='store_true', help='on a mismatch, shrink the case before printing it')
    ap.add_argument('--keep-going', action='store_true', help='run all cases, report every failing seed')
    ap.add_argument('--selftest', action='store_true')
    args = ap.parse_args()
    if args.selftest:
        selftest()
        return 0
    if not args.sensorgate or not os.access(args.sensorgate, os.X_OK):
        print('SKIP: sensorgate binary not found or not executable: %r' % args.sensorgate)
        return 77
    ex = {x.strip() for x in args.exclude.split(',') if x.strip()}
    unknown = ex - set(ALL_FEATURES)
    if unknown:
        print('unknown features in --exclude: %s' % ', '.join(sorted(unknown)))
        return 64
    ACTIVE_QUIRKS.update(x.strip() for x in args.quirk.split(',') if x.strip())
    if ACTIVE_QUIRKS - set(QUIRKS):
        print('unknown quirks: %s' % ', '.join(sorted(ACTIVE_QUIRKS - set(QUIRKS))))
        return 64
    failed = []
    for i in range(args.cases):
        seed = args.seed + i
        rules, cfg, lines = gen_case(seed, ex)
        workdir = tempfile.mkdtemp(prefix='rules_model_%d_' % seed)
        res = check_case(args.sensorgate, rules, cfg, lines, workdir)
        if res is None:
            shutil.rmtree(workdir)
            continue
        failed.append(seed)
        if args.shrink:
            rules, lines = shrink(args.sensorgate, rules, lines, workdir)
            cfg = '\n'.join(r.ini() for r in rules)
            res = check_case(args.sensorgate, rules, cfg, lines, workdir)
        with open(os.path.join(workdir, 'model.jsonl'), 'w') as f:
            for o in model_output(rules, lines):
                f.write(json.dumps(o) + '\n')
        print('FAIL seed %d (exclude=%s, quirk=%s): case files kept in %s '
              '(rules.ini, records.jsonl, model.jsonl, program.jsonl, program.stderr)' % (
            seed, ','.join(sorted(ex)) or '-', ','.join(sorted(ACTIVE_QUIRKS)) or '-', workdir))
        print('--- config ---\n' + cfg + '--- %d records ---' % len(lines))
        if res[0] == 'exit':
            print(res[1])
        else:
            line, m, p, why = res[1]
            print('first difference at output line %d: %s\n  model:   %s\n  program: %s' % (line + 1, why, m, p))
        if not args.keep_going:
            return 1
    if failed:
        print('FAILED seeds: %s' % ' '.join(map(str, failed)))
        return 1
    print('all %d cases equal (seeds %d..%d, exclude=%s, quirk=%s)' % (
        args.cases, args.seed, args.seed + args.cases - 1, ','.join(sorted(ex)) or '-',
        ','.join(sorted(ACTIVE_QUIRKS)) or '-'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
