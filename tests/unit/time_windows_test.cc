// TimeWindows: tumbling, sliding and total windows at their edges, and
// against a plain model (every record kept, every window computed from
// them) on random streams with disorder and late records.
#include "gateway/rules/time_windows.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

namespace sensorgate {
namespace {

constexpr int64_t kS = 1'000'000;

struct Got {
  std::string key;
  TimeMicros start, end;
  bool open;
  uint64_t count;
  double sum, min, max;
  std::vector<uint32_t> distinct;
  std::vector<bool> exact;
  bool operator==(const Got& o) const {
    return std::tie(key, start, end, open, count, sum, min, max, distinct, exact) ==
           std::tie(o.key, o.start, o.end, o.open, o.count, o.sum, o.min, o.max, o.distinct, o.exact);
  }
};

std::ostream& operator<<(std::ostream& os, const Got& g) {
  os << g.key << " [" << g.start << "," << g.end << ")" << (g.open ? " open" : "") << " n=" << g.count
     << " sum=" << g.sum << " min=" << g.min << " max=" << g.max;
  for (uint32_t d : g.distinct) os << " d=" << d;
  return os;
}

struct Collect : ResultReceiver {
  size_t distinct = 0;
  std::vector<Got> got;
  void OnResult(const WindowResult& r) override {
    Got g{std::string(r.key), r.start_us, r.end_us, r.open, r.values->count, r.values->Sum(), r.values->min,
          r.values->max, {}, {}};
    for (size_t d = 0; d < distinct; ++d) {
      g.distinct.push_back(r.distinct[d]);
      g.exact.push_back(r.distinct_exact[d]);
    }
    got.push_back(g);
  }
};

RuleConfig Rule(WindowKind kind, int64_t length, int64_t every, int64_t lateness, bool distinct = false) {
  RuleConfig r;
  r.name = "t";
  r.window = kind;
  r.length_us = length;
  r.every_us = every;
  r.lateness_us = lateness;
  r.aggregates = {{AggregateKind::kCount, "", "count"}, {AggregateKind::kSum, "", "sum"}};
  if (distinct) r.aggregates.push_back({AggregateKind::kDistinct, "host", "distinct(host)"});
  r.max_keys = 100;
  r.max_distinct = 1000;
  return r;
}

TEST(TimeWindows, TumblingClosesWhenTheWatermarkReachesEndPlusLateness) {
  auto w = TimeWindows::Create(Rule(WindowKind::kTumbling, 10 * kS, 10 * kS, 5 * kS));
  ASSERT_TRUE(w);
  Collect c;
  using O = TimeWindows::Outcome;
  EXPECT_EQ(w->Add("a", 1, 0, nullptr, &c), O::kAccepted);
  EXPECT_EQ(w->Add("a", 2, 9 * kS, nullptr, &c), O::kAccepted);
  EXPECT_EQ(w->Add("a", 4, 10 * kS, nullptr, &c), O::kAccepted);  // exactly at end: the next window
  EXPECT_EQ(w->Add("a", 8, 15 * kS - 1, nullptr, &c), O::kAccepted);
  EXPECT_TRUE(c.got.empty());
  // Late but within lateness: still joins [0, 10).
  EXPECT_EQ(w->Add("a", 16, 3 * kS, nullptr, &c), O::kAccepted);
  EXPECT_TRUE(c.got.empty());
  // The watermark reaches end + lateness = 15 s: [0, 10) closes.
  EXPECT_EQ(w->Add("b", 32, 15 * kS, nullptr, &c), O::kAccepted);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0], (Got{"a", 0, 10 * kS, false, 3, 19, 1, 16, {}, {}}));
  // A record for the closed window is late now, whatever its key.
  EXPECT_EQ(w->Add("a", 64, 10 * kS - 1, nullptr, &c), O::kLate);
  EXPECT_EQ(w->Add("c", 64, 0, nullptr, &c), O::kLate);
  c.got.clear();
  w->EmitOpen(&c);
  ASSERT_EQ(c.got.size(), 2u);
  EXPECT_EQ(c.got[0], (Got{"a", 10 * kS, 20 * kS, true, 2, 12, 4, 8, {}, {}}));
  EXPECT_EQ(c.got[1], (Got{"b", 10 * kS, 20 * kS, true, 1, 32, 32, 32, {}, {}}));
}

TEST(TimeWindows, SlidingWindowsShareTheirPanes) {
  // 30 s every 10 s: a record at 25 s is in the windows starting at 0, 10, 20.
  auto w = TimeWindows::Create(Rule(WindowKind::kSliding, 30 * kS, 10 * kS, 0));
  ASSERT_TRUE(w);
  Collect c;
  w->Add("k", 1, 25 * kS, nullptr, &c);
  w->Add("k", 2, 35 * kS, nullptr, &c);  // closes [0, 30)
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0], (Got{"k", 0, 30 * kS, false, 1, 1, 1, 1, {}, {}}));
  w->Add("k", 4, 60 * kS, nullptr, &c);  // closes [10, 40) and [20, 50); [30, 60) too
  ASSERT_EQ(c.got.size(), 4u);
  EXPECT_EQ(c.got[1], (Got{"k", 10 * kS, 40 * kS, false, 2, 3, 1, 2, {}, {}}));
  EXPECT_EQ(c.got[2], (Got{"k", 20 * kS, 50 * kS, false, 2, 3, 1, 2, {}, {}}));
  EXPECT_EQ(c.got[3], (Got{"k", 30 * kS, 60 * kS, false, 1, 2, 2, 2, {}, {}}));
}

TEST(TimeWindows, TotalNeverClosesAndSpansWhatItAccepted) {
  auto w = TimeWindows::Create(Rule(WindowKind::kTotal, 0, 0, 0, true));
  ASSERT_TRUE(w);
  Collect c;
  c.distinct = 1;
  const uint64_t h1 = DistinctHash(std::string_view("h1")), h2 = DistinctHash(std::string_view("h2"));
  EXPECT_EQ(w->Add("k", 1, 500 * kS, &h1, &c), TimeWindows::Outcome::kAccepted);
  EXPECT_EQ(w->Add("k", 2, 100 * kS, &h2, &c), TimeWindows::Outcome::kAccepted);
  EXPECT_EQ(w->Add("k", 3, 900 * kS, &h1, &c), TimeWindows::Outcome::kAccepted);
  EXPECT_TRUE(c.got.empty());
  w->EmitOpen(&c);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0], (Got{"k", 100 * kS, 900 * kS, true, 3, 6, 1, 3, {2}, {true}}));
}

TEST(TimeWindows, DistinctBeyondMaxDistinctIsMarkedInexact) {
  RuleConfig r = Rule(WindowKind::kTumbling, 10 * kS, 10 * kS, 0, true);
  r.max_distinct = 3;
  auto w = TimeWindows::Create(r);
  Collect c;
  c.distinct = 1;
  for (int i = 0; i < 5; ++i) {
    const uint64_t h = DistinctHash(static_cast<double>(i));
    w->Add("k", 1, i * kS, &h, &c);
  }
  EXPECT_EQ(w->distinct_overflow(), 2u);
  w->AdvanceTo(10 * kS, &c);
  ASSERT_EQ(c.got.size(), 1u);
  EXPECT_EQ(c.got[0].distinct, std::vector<uint32_t>{3});
  EXPECT_EQ(c.got[0].exact, std::vector<bool>{false});
  // The closed window's values went back to the pool: the next one is exact.
  for (int i = 0; i < 3; ++i) {
    const uint64_t h = DistinctHash(static_cast<double>(i));
    w->Add("k", 1, 10 * kS + i * kS, &h, &c);
  }
  w->AdvanceTo(30 * kS, &c);
  ASSERT_EQ(c.got.size(), 2u);
  EXPECT_EQ(c.got[1].distinct, std::vector<uint32_t>{3});
  EXPECT_EQ(c.got[1].exact, std::vector<bool>{true});
}

// The plain model: every accepted record kept; at each watermark move, the
// windows whose end + lateness it reached, computed from the records.
struct Model {
  int64_t d, s, l;
  struct Rec {
    std::string key;
    TimeMicros t;
    double v;
    uint64_t h;
    int64_t first_k = 0;  // the windows it joined: first_k .. its pane
  };
  std::vector<Rec> recs;
  TimeMicros wm = INT64_MIN;
  std::set<std::pair<int64_t, std::string>> closed;  // (window start index, key)
  static int64_t Floor(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
  Got Window(const std::string& key, int64_t k, bool open) const {
    Got g{key, k * s, k * s + d, open, 0, 0, 0, 0, {0}, {true}};
    std::set<uint64_t> hs;
    for (const Rec& r : recs) {
      if (r.key != key || r.t < k * s || r.t >= k * s + d || k < r.first_k) continue;
      g.min = g.count == 0 ? r.v : std::min(g.min, r.v);
      g.max = g.count == 0 ? r.v : std::max(g.max, r.v);
      ++g.count;
      g.sum += r.v;
      hs.insert(r.h);
    }
    g.distinct[0] = static_cast<uint32_t>(hs.size());
    return g;
  }
  TimeMicros last_to = INT64_MIN;
  std::vector<Got> CloseUpTo(TimeMicros to) {
    std::vector<Got> out;
    std::set<std::pair<int64_t, std::string>> due;  // (start index, key), sorted as results go out
    for (const Rec& r : recs) {
      // Every window of r was due at the last call already (r was there, or
      // it was late): no need to look again.
      if (last_to != INT64_MIN && r.t + d + l <= last_to) continue;
      for (int64_t k = r.first_k; k <= Floor(r.t, s); ++k) {
        if (k * s + d + l <= to && !closed.count({k, r.key})) due.insert({k, r.key});
      }
    }
    for (const auto& [k, key] : due) {
      closed.insert({k, key});
      out.push_back(Window(key, k, false));
    }
    last_to = to;
    return out;
  }
  // Returns false for a late record.
  bool Add(Rec r, std::vector<Got>* out) {
    const int64_t p = Floor(r.t, s);
    if (wm != INT64_MIN && wm >= p * s + d + l) return false;
    if (wm == INT64_MIN || r.t > wm) {
      wm = r.t;
      for (const Got& g : CloseUpTo(wm)) out->push_back(g);
    }
    // It joins the windows holding it that are still open: end + l > wm.
    r.first_k = p - d / s + 1;
    while (r.first_k * s + d + l <= wm) ++r.first_k;
    recs.push_back(r);
    return true;
  }
  std::vector<Got> Open() const {
    std::set<std::pair<int64_t, std::string>> open;
    for (const Rec& r : recs) {
      for (int64_t k = r.first_k; k <= Floor(r.t, s); ++k) {
        if (!closed.count({k, r.key})) open.insert({k, r.key});
      }
    }
    std::vector<Got> out;
    for (const auto& [k, key] : open) out.push_back(Window(key, k, true));
    return out;
  }
};

TEST(TimeWindows, EqualAPlainModelOnRandomStreamsWithLateRecords) {
  std::mt19937_64 rng(13);
  for (int round = 0; round < 60; ++round) {
    const int64_t s = (1 + static_cast<int64_t>(rng() % 4)) * kS;
    const int64_t d = s * (1 + static_cast<int64_t>(rng() % 4));
    const int64_t l = static_cast<int64_t>(rng() % 3) * s / 2;
    RuleConfig rule = Rule(d == s ? WindowKind::kTumbling : WindowKind::kSliding, d, s, l, true);
    auto w = TimeWindows::Create(rule);
    ASSERT_TRUE(w);
    Model m{d, s, l, {}, INT64_MIN, {}, INT64_MIN};
    Collect c;
    c.distinct = 1;
    std::vector<Got> want;
    TimeMicros t = 1'700'000'000 * kS;
    for (int i = 0; i < 400; ++i) {
      t += static_cast<int64_t>(rng() % (2 * kS));
      // Some records arrive out of order, some far too late.
      TimeMicros rt = t;
      if (rng() % 4 == 0) rt -= static_cast<int64_t>(rng() % (d + l + 2 * s));
      const Model::Rec r{"k" + std::to_string(rng() % 4), rt, static_cast<double>(rng() % 64) / 8,
                         DistinctHash(static_cast<double>(rng() % 6)), 0};
      const bool accepted = m.Add(r, &want);
      const auto outcome = w->Add(r.key, r.v, r.t, &r.h, &c);
      ASSERT_EQ(outcome == TimeWindows::Outcome::kAccepted, accepted) << "round " << round << " record " << i;
    }
    for (const Got& g : m.Open()) want.push_back(g);
    w->EmitOpen(&c);
    ASSERT_EQ(c.got.size(), want.size()) << "round " << round << " d=" << d << " s=" << s << " l=" << l;
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(c.got[i], want[i]) << "round " << round << " result " << i;
  }
}

// Long sliding windows (D/S of 7 to 90) merge a block's cached suffix with
// the next block's prefix: records out of order by up to D + lateness mark
// those caches stale, and every result must still equal the model.
TEST(TimeWindows, LongSlidingWindowsFromBlockCachesEqualTheModel) {
  std::mt19937_64 rng(31);
  for (int round = 0; round < 16; ++round) {
    const int64_t s = (1 + static_cast<int64_t>(rng() % 2)) * kS;
    const int64_t per = std::vector<int64_t>{7, 12, 30, 90}[rng() % 4];
    const int64_t d = s * per;
    const int64_t l = static_cast<int64_t>(rng() % 3) * s * 3 / 2;
    auto w = TimeWindows::Create(Rule(WindowKind::kSliding, d, s, l, true));
    ASSERT_TRUE(w);
    Model m{d, s, l, {}, INT64_MIN, {}, INT64_MIN};
    Collect c;
    c.distinct = 1;
    std::vector<Got> want;
    TimeMicros t = 1'700'000'000 * kS + static_cast<int64_t>(rng() % (3 * d));
    for (int i = 0; i < 1000; ++i) {
      t += static_cast<int64_t>(rng() % (s + s / 2));
      TimeMicros rt = t;
      const uint64_t late = rng() % 8;
      if (late == 0) rt -= static_cast<int64_t>(rng() % (d + l + 2 * s));  // anywhere in the open windows
      if (late == 1) rt -= static_cast<int64_t>(rng() % (l + s));           // within lateness
      const Model::Rec r{"k" + std::to_string(rng() % 3), rt, static_cast<double>(rng() % 64) / 8,
                         DistinctHash(static_cast<double>(rng() % 400)), 0};
      const bool accepted = m.Add(r, &want);
      ASSERT_EQ(w->Add(r.key, r.v, r.t, &r.h, &c) == TimeWindows::Outcome::kAccepted, accepted)
          << "round " << round << " record " << i;
    }
    for (const Got& g : m.Open()) want.push_back(g);
    w->EmitOpen(&c);
    ASSERT_EQ(c.got.size(), want.size()) << "round " << round << " d/s=" << per << " l=" << l;
    for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(c.got[i], want[i]) << "round " << round << " result " << i;
  }
}

// The checkpoint: SaveState() at a random point, LoadState() into a fresh
// object, then both fed the rest must deliver the same results bit for bit.

// Everything a result carries, the accumulator as its bits.
struct Delivered {
  uint32_t slot;
  std::string key;
  TimeMicros start, end;
  bool open;
  std::string values;
  std::vector<uint32_t> distinct;
  std::vector<bool> exact;
  bool operator==(const Delivered& o) const {
    return std::tie(slot, key, start, end, open, values, distinct, exact) ==
           std::tie(o.slot, o.key, o.start, o.end, o.open, o.values, o.distinct, o.exact);
  }
};

std::ostream& operator<<(std::ostream& os, const Delivered& d) {
  os << d.key << "@" << d.slot << " [" << d.start << "," << d.end << ")" << (d.open ? " open" : "");
  for (uint32_t x : d.distinct) os << " d=" << x;
  return os;
}

struct Deliveries : ResultReceiver {
  size_t distinct = 0;
  std::vector<Delivered> got;
  void OnResult(const WindowResult& r) override {
    Delivered d{r.slot, std::string(r.key), r.start_us, r.end_us, r.open, {}, {}, {}};
    r.values->SaveState(&d.values);
    for (size_t i = 0; i < distinct; ++i) {
      d.distinct.push_back(r.distinct[i]);
      d.exact.push_back(r.distinct_exact[i]);
    }
    got.push_back(std::move(d));
  }
};

RuleConfig StateRule(std::mt19937_64& rng) {
  const int64_t s = (1 + static_cast<int64_t>(rng() % 4)) * kS;
  const int64_t d = s * (1 + static_cast<int64_t>(rng() % 4));
  const int64_t l = static_cast<int64_t>(rng() % 3) * s / 2;
  const uint64_t kind = rng() % 5;
  RuleConfig r = Rule(kind == 0 ? WindowKind::kTotal : d == s ? WindowKind::kTumbling : WindowKind::kSliding,
                      kind == 0 ? 0 : d, kind == 0 ? 0 : s, kind == 0 ? 0 : l);
  r.aggregates.push_back({AggregateKind::kSlope, "", "slope"});
  const size_t distinct = rng() % 3;
  for (size_t i = 0; i < distinct; ++i) r.aggregates.push_back({AggregateKind::kDistinct, "f", "distinct(f)"});
  r.max_keys = 1 + static_cast<uint32_t>(rng() % 6);  // sometimes fewer than the keys sent
  r.max_distinct = static_cast<uint32_t>(rng() % 60);  // often full
  return r;
}

size_t DistinctOf(const RuleConfig& r) {
  size_t n = 0;
  for (const Aggregate& a : r.aggregates) n += a.kind == AggregateKind::kDistinct;
  return n;
}

TEST(TimeWindowsState, ARestoredCopyGoesOnExactlyAsTheOriginal) {
  std::mt19937_64 rng(29);
  for (int round = 0; round < 400; ++round) {
    const RuleConfig rule = StateRule(rng);
    const std::string where = "round " + std::to_string(round);
    auto a = TimeWindows::Create(rule);
    ASSERT_TRUE(a);
    std::unique_ptr<TimeWindows> b;
    Deliveries ca, cb;
    ca.distinct = cb.distinct = DistinctOf(rule);
    const int records = static_cast<int>(rng() % 300);
    const int midpoint = static_cast<int>(rng() % (records + 1));
    TimeMicros t = 1'700'000'000 * kS;
    for (int i = 0; i <= records; ++i) {
      if (i == midpoint) {
        std::string saved;
        a->SaveState(&saved);
        saved += "tail";  // what follows is left alone
        b = TimeWindows::Create(rule);
        ASSERT_TRUE(b);
        std::string_view in = saved;
        std::string error;
        ASSERT_TRUE(b->LoadState(&in, &error)) << where << ": " << error;
        ASSERT_EQ(in, "tail") << where;
        // Saved again, the copy is the same bytes.
        std::string again;
        b->SaveState(&again);
        ASSERT_EQ(again + "tail", saved) << where;
        ASSERT_EQ(a->watermark(), b->watermark()) << where;
        Deliveries oa, ob;
        oa.distinct = ob.distinct = ca.distinct;
        a->EmitOpen(&oa);
        b->EmitOpen(&ob);
        ASSERT_EQ(oa.got, ob.got) << where << " at load";
        ca.got.clear();
      }
      if (i == records) break;
      t += static_cast<int64_t>(rng() % (2 * kS));
      if (rng() % 16 == 0) {
        // The clock moves on (processing time), sometimes far.
        const TimeMicros to = t + static_cast<int64_t>(rng() % (rng() % 8 == 0 ? 100 * kS : 3 * kS));
        a->AdvanceTo(to, &ca);
        if (b) b->AdvanceTo(to, &cb);
      } else {
        // Some records arrive out of order, some far too late.
        TimeMicros rt = t;
        if (rng() % 4 == 0) rt -= static_cast<int64_t>(rng() % (10 * kS));
        const std::string key = "k" + std::to_string(rng() % 8);
        const double v = static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 7;
        uint64_t h[2];
        for (uint64_t& x : h) x = DistinctHash(static_cast<double>(rng() % 12));
        const TimeWindows::Outcome x = a->Add(key, v, rt, h, &ca);
        if (b) {
          const TimeWindows::Outcome y = b->Add(key, v, rt, h, &cb);
          ASSERT_EQ(x, y) << where << " record " << i;
        }
      }
      if (b) {
        ASSERT_EQ(ca.got, cb.got) << where << " record " << i;
        ASSERT_EQ(a->watermark(), b->watermark()) << where << " record " << i;
        ASSERT_EQ(a->distinct_overflow(), b->distinct_overflow()) << where << " record " << i;
      }
    }
    Deliveries oa, ob;
    oa.distinct = ob.distinct = ca.distinct;
    a->EmitOpen(&oa);
    b->EmitOpen(&ob);
    ASSERT_EQ(oa.got, ob.got) << where << " open at the end";
  }
}

// A result is a pure function of its panes: listing the open windows at
// any moment (EmitOpen() merges afresh, as /api/rules does) changes nothing
// of what closes later, and an open window's doubles are the ones it has
// when it closes, bit for bit.
TEST(TimeWindowsState, ResultsDoNotDependOnTheCachesOrWhenTheyAreAskedFor) {
  std::mt19937_64 rng(37);
  for (int round = 0; round < 40; ++round) {
    const int64_t s = kS, per = 2 + static_cast<int64_t>(rng() % 40), l = static_cast<int64_t>(rng() % 4) * kS;
    RuleConfig rule = Rule(WindowKind::kSliding, per * s, s, l);
    rule.aggregates.push_back({AggregateKind::kSlope, "", "slope"});
    auto a = TimeWindows::Create(rule), b = TimeWindows::Create(rule);
    ASSERT_TRUE(a && b);
    Deliveries ca, cb, open;
    TimeMicros t = 1'700'000'000 * kS;
    for (int i = 0; i < 800; ++i) {
      t += static_cast<int64_t>(rng() % (2 * kS));
      TimeMicros rt = t;
      if (rng() % 5 == 0) rt -= static_cast<int64_t>(rng() % (per * s + l));
      const std::string key = "k" + std::to_string(rng() % 3);
      const double v = static_cast<double>(static_cast<int64_t>(rng() % 2001) - 1000) / 7;
      ASSERT_EQ(a->Add(key, v, rt, nullptr, &ca), b->Add(key, v, rt, nullptr, &cb));
      if (rng() % 10 == 0) b->EmitOpen(&open);
      ASSERT_EQ(ca.got, cb.got) << "round " << round << " record " << i;
    }
    open.got.clear();
    a->EmitOpen(&open);
    ca.got.clear();
    a->AdvanceTo(t + 10 * per * s + l, &ca);
    ASSERT_EQ(open.got.size(), ca.got.size()) << "round " << round;
    for (size_t i = 0; i < ca.got.size(); ++i) {
      open.got[i].open = false;
      ASSERT_EQ(open.got[i], ca.got[i]) << "round " << round << " window " << i;
    }
  }
}

TEST(TimeWindowsState, SizeFollowsThePanesInUseNotMaxKeys) {
  RuleConfig r = Rule(WindowKind::kSliding, 60 * kS, 10 * kS, 0, true);
  r.max_keys = 10000;
  r.max_distinct = 100000;
  auto w = TimeWindows::Create(r);
  ASSERT_TRUE(w);
  Collect c;
  const uint64_t h = DistinctHash(std::string_view("h"));
  for (int i = 0; i < 3; ++i) w->Add("key" + std::to_string(i), i, i * kS, &h, &c);
  std::string saved;
  w->SaveState(&saved);
  // Header, then 3 keys of one pane: key, pane (4 × 8 + 96), flag, one value.
  EXPECT_EQ(saved.size(), 4 + 1 + 3 * 8 + 4 * 4 + 2 * 8 + 2 * 8 + 4 + 3 * (4 + 4 + 4 + 32 + 96 + 1 + 4 + 12u));
  EXPECT_LT(saved.size(), 600u);
}

TEST(TimeWindowsState, TruncatedCorruptOrForeignStatesAreRefused) {
  const RuleConfig rule = Rule(WindowKind::kSliding, 20 * kS, 10 * kS, 5 * kS, true);
  auto w = TimeWindows::Create(rule);
  Collect c;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 60; ++i) {
    const uint64_t h = DistinctHash(static_cast<double>(rng() % 9));
    const TimeMicros t = i * kS - static_cast<int64_t>(rng() % 3) * kS;
    w->Add("k" + std::to_string(rng() % 4), static_cast<double>(rng() % 100), t, &h, &c);
  }
  std::string saved;
  w->SaveState(&saved);
  for (size_t n = 0; n < saved.size(); ++n) {
    auto b = TimeWindows::Create(rule);
    const std::string cut = saved.substr(0, n);
    std::string_view in = cut;
    std::string error;
    ASSERT_FALSE(b->LoadState(&in, &error)) << n;
    ASSERT_FALSE(error.empty()) << n;
  }
  std::vector<RuleConfig> others(7, rule);
  others[0].length_us = 30 * kS;
  others[1].every_us = 5 * kS;
  others[2].lateness_us = 0;
  others[3].max_keys = 101;
  others[4].max_distinct = 999;
  others[5].aggregates.pop_back();  // no distinct()
  others[6] = Rule(WindowKind::kTotal, 0, 0, 0, true);
  for (const RuleConfig& other : others) {
    auto b = TimeWindows::Create(other);
    std::string_view in = saved;
    std::string error;
    EXPECT_FALSE(b->LoadState(&in, &error));
    EXPECT_NE(error, "");
  }
  std::string_view in = "SGC1 and more";
  std::string error;
  EXPECT_FALSE(TimeWindows::Create(rule)->LoadState(&in, &error));
  // Bytes changed at random: refused or not, never read or written out of
  // bounds (run under the sanitizers).
  for (int i = 0; i < 3000; ++i) {
    std::string bad = saved;
    for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    auto b = TimeWindows::Create(rule);
    std::string_view bin = bad;
    if (b->LoadState(&bin, &error)) {
      const uint64_t h = DistinctHash(1.0);
      for (int j = 0; j < 20; ++j) b->Add("k" + std::to_string(j % 5), j, 60 * kS + j * kS, &h, &c);
      b->EmitOpen(&c);
    }
  }
}

}  // namespace
}  // namespace sensorgate
