// Tests of the memory plan (gateway/config/config.h PlanMemory, DESIGN.md
// section 3): its figures against hand computation, its constants against the
// types it counts, and the loader refusing a configuration above memory_max.
#include <gtest/gtest.h>

#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "gateway/config/config.h"
#include "gateway/pipeline/pipeline.h"
#include "gateway/rules/aggregate.h"
#include "gateway/rules/named_rule.h"
#include "gateway/rules/window.h"

namespace sensorgate {
namespace {

using Errors = std::vector<std::string>;

ConfigResult Load(const std::string& text) { return LoadConfigText(text, "sensorgate.ini", ConfigMode::kReplay); }

TEST(MemoryPlan, ConstantsAreTheSizesOfWhatTheTablesHold) {
  EXPECT_EQ(WindowTable::slot_bytes(), kPlanSlotBytes);
  EXPECT_EQ(WindowTable::kKeyBytesReserved, kPlanKeyTextBytes);
  EXPECT_EQ(sizeof(KeyState), kPlanKeyStateBytes);
  EXPECT_EQ(kPlanKeyIndexBytes, 2 * sizeof(uint32_t));  // key offset + hash
  EXPECT_EQ(kPlanChangedBytes, sizeof(uint32_t) + sizeof(uint8_t));
  EXPECT_EQ(kPlanPaneCacheBytes, sizeof(Accumulator));  // a sliding window's block cache, per pane
  EXPECT_EQ(kPlanPerKeyBytes, 213u);
}

TEST(MemoryPlan, IndexIsWhatTheWindowTableAllocates) {
  EXPECT_EQ(WindowTable::IndexEntriesFor(1), 16u);
  EXPECT_EQ(WindowTable::IndexEntriesFor(8), 16u);
  EXPECT_EQ(WindowTable::IndexEntriesFor(9), 32u);
  EXPECT_EQ(WindowTable::IndexEntriesFor(10000), 32768u);
  EXPECT_EQ(WindowTable::IndexEntriesFor(1000000), 2097152u);
  // max_keys 1: 100 values + 213 bytes + 4 (the extra key offset) + 16 index entries.
  const MemoryPlan p = PlanMemory(Load("[window]\nsize = 100\nmax_keys = 1\n").config);
  EXPECT_EQ(p.total, 800u + 213 + 4 + 16 * 4);
}

TEST(MemoryPlan, DefaultsPlanTheHotRuleOnly) {
  const MemoryPlan p = PlanMemory(DefaultConfig());
  ASSERT_EQ(p.items.size(), 1u);
  EXPECT_EQ(p.items[0].rule, "hot");
  // 60 × 10000 × 8 ring + 10000 × 213 per key + 4 + 32768 × 4 index.
  EXPECT_EQ(p.items[0].bytes, 4800000u + 2130000 + 4 + 131072);
  EXPECT_EQ(p.total, 7061076u);
  EXPECT_EQ(p.items[0].detail, "size 60 × max_keys 10000 × 8 bytes + 10000 keys × 213 bytes + key index 128 KiB");
}

TEST(MemoryPlan, LargestWindowIsCountedIn64Bits) {
  const ConfigResult r = Load("[gateway]\nmemory_max = 64GiB\n[window]\nsize = 100000\nmax_keys = 1000000\n");
  const MemoryPlan p = PlanMemory(r.config);
  // 100000 × 1000000 × 8 + 1000000 × 213 + 4 + 2^21 × 4.
  EXPECT_EQ(p.total, 800000000000ull + 213000000ull + 4 + 8388608ull);
}

// 65536 × 65536 is 2^32: a 32-bit product would be 0 and pass any ceiling.
TEST(MemoryPlan, ProductThatWraps32BitsIsRefused) {
  const std::string text = "[window]\nsize = 65536\nmax_keys = 65536\n";
  const ConfigResult r = Load(text);
  const MemoryPlan p = PlanMemory(r.config);
  EXPECT_EQ(p.total, (uint64_t{1} << 35) + 65536ull * 213 + 4 + 131072ull * 4);
  EXPECT_EQ(r.errors, Errors{"sensorgate.ini:3: [window] max_keys = 65536: the windows need 32 GiB (rule hot: size "
                             "65536 × max_keys 65536 × 8 bytes + 65536 keys × 213 bytes + key index 512 KiB), over "
                             "[gateway] memory_max = 64MiB"});
  // Under a ceiling that holds it, the same windows load where pointers have
  // 64 bits; a 32-bit process could not hold them (see below).
  if (sizeof(void*) >= 8) {
    EXPECT_EQ(Load("[gateway]\nmemory_max = 64GiB\n" + text).errors, Errors{});
  } else {
    EXPECT_EQ(Load("[gateway]\nmemory_max = 64GiB\n" + text).errors,
              Errors{"sensorgate.ini:5: [window] max_keys = 65536: the windows need 32 GiB (rule hot: size 65536 × "
                     "max_keys 65536 × 8 bytes + 65536 keys × 213 bytes + key index 512 KiB), more than a 32-bit "
                     "process can hold: at most 2 GiB of windows where pointers have 32 bits (armhf); lower "
                     "max_keys or the window, or run the 64-bit build (arm64)"});
  }
}

// Within memory_max but past what a 32-bit process can address (armhf): refused
// there at the key, with exit 78 from --check and start-up, instead of failing
// to allocate (or allocating a wrapped, small arena) at start-up; loaded where
// pointers have 64 bits. cross/check.sh runs the same files under qemu-arm.
TEST(MemoryPlan, PlansPastA32BitAddressSpaceAreRefusedWherePointersHave32Bits) {
  struct Case {
    const char* max_keys_and_size;
    const char* message;  // where pointers have 32 bits
  };
  const std::string tail =
      "more than a 32-bit process can hold: at most 2 GiB of windows where pointers have 32 bits (armhf); "
      "lower max_keys or the window, or run the 64-bit build (arm64)";
  const Case cases[] = {
      // 3.28e9 bytes: fits a 32-bit size_t, not a 32-bit address space.
      {"size = 100000\nmax_keys = 4100\n",
       "sensorgate.ini:5: [window] max_keys = 4100: the windows need 3.1 GiB (rule hot: size 100000 × max_keys "
       "4100 × 8 bytes + 4100 keys × 213 bytes + key index 64 KiB), "},
      // 4.8e9 bytes: past a 32-bit size_t (wraps to 505 MB there).
      {"size = 100000\nmax_keys = 6000\n",
       "sensorgate.ini:5: [window] max_keys = 6000: the windows need 4.5 GiB (rule hot: size 100000 × max_keys "
       "6000 × 8 bytes + 6000 keys × 213 bytes + key index 64 KiB), "},
      // 65536 × 8193 × 8 = 2^32 + 2^19: a 32-bit product would be 512 KiB.
      {"size = 65536\nmax_keys = 8193\n",
       "sensorgate.ini:5: [window] max_keys = 8193: the windows need 4 GiB (rule hot: size 65536 × max_keys "
       "8193 × 8 bytes + 8193 keys × 213 bytes + key index 128 KiB), "},
  };
  for (const Case& c : cases) {
    const std::string text = std::string("[gateway]\nmemory_max = 16GiB\n[window]\n") + c.max_keys_and_size;
    const ConfigResult r = Load(text);
    if (sizeof(void*) >= 8) {
      EXPECT_EQ(r.errors, Errors{}) << c.max_keys_and_size;
    } else {
      EXPECT_EQ(r.errors, Errors{c.message + tail}) << c.max_keys_and_size;
    }
  }
  // 1.9 GiB: within what 32 bits allow, loaded everywhere.
  EXPECT_EQ(Load("[gateway]\nmemory_max = 16GiB\n[window]\nsize = 100000\nmax_keys = 2600\n").errors, Errors{});
  // A named rule is held to the same bound, at its max_keys.
  const ConfigResult named = Load("[gateway]\nmemory_max = 16GiB\n[rule.big]\nwindow = count 100000\nmax_keys = 4100\n");
  if (sizeof(void*) >= 8) {
    EXPECT_EQ(named.errors, Errors{});
  } else {
    EXPECT_EQ(named.errors,
              Errors{"sensorgate.ini:5: [rule.big] max_keys = 4100: the windows need 3.1 GiB (rule big: count 100000 "
                     "× max_keys 4100 × 8 bytes + 4100 keys × 213 bytes + key index 64 KiB), " + tail});
  }
}

// Beyond what the loader accepts, the plan saturates instead of wrapping.
TEST(MemoryPlan, SaturatesInsteadOfWrapping) {
  Config c = DefaultConfig();
  c.window.size = UINT32_MAX;
  c.window.max_keys = UINT32_MAX;
  const MemoryPlan p = PlanMemory(c);
  EXPECT_EQ(p.items.at(0).bytes, UINT64_MAX);
  EXPECT_EQ(p.total, UINT64_MAX);
  EXPECT_EQ(FormatMemoryPlan(p, c.gateway.memory_max_bytes).substr(0, 45),
            "memory plan: rule hot more than 16 EiB (size ");
}

TEST(MemoryPlan, RefusesWindowsAboveMemoryMaxAtMaxKeys) {
  EXPECT_EQ(Load("[gateway]\nname = a\n[window]\nsize = 100000\nmax_keys = 1000000\n").errors,
            Errors{"sensorgate.ini:5: [window] max_keys = 1000000: the windows need 745.3 GiB (rule hot: size "
                   "100000 × max_keys 1000000 × 8 bytes + 1000000 keys × 213 bytes + key index 8 MiB), over "
                   "[gateway] memory_max = 64MiB"});
}

// Start-up, --replay and a SIGHUP reload all load the file with
// LoadConfigFile: the refusal names the file and the line.
TEST(MemoryPlan, LoadingTheFileRefusesItNamingFileAndLine) {
  const std::string path = ::testing::TempDir() + "memory_plan_test." + std::to_string(getpid()) + ".ini";
  std::ofstream(path) << "[gateway]\nstate_dir = /tmp\n[file]\npath = /tmp/*.log\n"
                         "[window]\nsize = 100000\nmax_keys = 1000000\n";
  for (ConfigMode mode : {ConfigMode::kDaemon, ConfigMode::kReplay}) {
    const ConfigResult r = LoadConfigFile(path, mode);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].rfind(path + ":7: [window] max_keys = 1000000: the windows need 745.3 GiB (", 0), 0u)
        << r.errors[0];
  }
  std::remove(path.c_str());
}

TEST(MemoryPlan, RefusesAtSizeWhenMaxKeysIsNotGiven) {
  EXPECT_EQ(Load("[window]\nsize = 10000\n").errors,
            Errors{"sensorgate.ini:2: [window] size = 10000: the windows need 765.1 MiB (rule hot: size 10000 × "
                   "max_keys 10000 × 8 bytes + 10000 keys × 213 bytes + key index 128 KiB), over [gateway] "
                   "memory_max = 64MiB"});
}

TEST(MemoryPlan, RefusesASmallMemoryMaxAtItsLine) {
  EXPECT_EQ(Load("[gateway]\nmemory_max = 1MiB\n").errors,
            Errors{"sensorgate.ini:2: [gateway] memory_max = 1MiB: the windows need 6.7 MiB (rule hot: size 60 × "
                   "max_keys 10000 × 8 bytes + 10000 keys × 213 bytes + key index 128 KiB), over [gateway] "
                   "memory_max = 1MiB"});
  EXPECT_EQ(Load("[gateway]\nmemory_max = 7MiB\n").errors, Errors{});
}

TEST(MemoryPlan, RejectsMemoryMaxOutOfRange) {
  EXPECT_EQ(Load("[gateway]\nmemory_max = 65GiB\n").errors,
            Errors{"sensorgate.ini:2: [gateway] memory_max = 65GiB: must be a size with a unit (KiB, MiB, GiB) "
                   "from 1MiB to 64GiB"});
}

TEST(MemoryPlan, CountsEveryNamedRule) {
  const ConfigResult r = Load(
      "[rule.a]\nwindow = count 100\nmax_keys = 1000\nvalue = v\naggregates = count, avg\n"
      "[rule.b]\ntime = t\nwindow = sliding 1m every 10s\nlateness = 15s\naggregates = count, sum, distinct(x)\n"
      "value = v\nalert = zscore(sum) > 3\nmax_keys = 100\nmax_distinct = 1000\n");
  ASSERT_EQ(r.errors, Errors{});
  EXPECT_FALSE(r.config.hot_rule);
  const MemoryPlan p = PlanMemory(r.config);
  ASSERT_EQ(p.items.size(), 2u);
  EXPECT_EQ(p.items[0].rule, "a");
  // Ring 100 × 1000 × 8, key states 1000 × 128, keys 1000 × 152, 4 + 2048 × 4
  // of key index, 64 KiB.
  EXPECT_EQ(p.items[0].bytes, 800000u + 128000 + 152000 + 4 + 8192 + 65536);
  EXPECT_EQ(p.items[1].rule, "b");
  // panes 6 + ceil(15s / 10s) = 8 of 128 bytes + 1 (distinct) + 96 (block
  // cache, as D/S = 6 > 1): 8 × 100 × 225; block bounds 100 × 32; keys 100 ×
  // 152 + 4 + 256 × 4; zscore 30 × 100 × 8 + 100 × 8; pool: 1000 entries ×
  // 24, 2048 buckets × 16, 800 sets × 8; the window sets: another pool
  // (1000 × 24 + 2048 × 16), 100 keys × 1 distinct() × 12, 100 keys × 16;
  // 64 KiB.
  EXPECT_EQ(p.items[1].bytes, 180000u + 3200 + 15200 + 4 + 1024 + 24000 + 800 + 24000 + 32768 + 6400 + 24000 +
                                  32768 + 1200 + 1600 + 65536);
  EXPECT_EQ(p.items[1].detail,
            "panes 8 × max_keys 100 × 225 bytes + 100 block caches × 32 bytes + 100 keys × 152 bytes + key "
            "index 1 KiB + zscore baseline "
            "30 × max_keys 100 × 8 bytes + distinct pool 61.7 KiB (max_distinct 1000) + window sets 58.2 KiB + 64 KiB "
            "for the rule");
  EXPECT_EQ(p.total, p.items[0].bytes + p.items[1].bytes);
}

TEST(MemoryPlan, CountWindowsHoldTimesForSlopeAndHashesForDistinct) {
  const ConfigResult r =
      Load("[rule.s]\nwindow = count 10\nvalue = v\naggregates = slope, distinct(k)\nmax_keys = 1\n");
  ASSERT_EQ(r.errors, Errors{});
  const MemoryPlan p = PlanMemory(r.config);
  ASSERT_EQ(p.items.size(), 1u);
  // Ring 10 × 3 values × 8, key state 128 + 4, key 152 + 4 + 16 × 4; pool:
  // 100000 entries × 24, 262144 buckets × 16, 1 set × 8; 64 KiB.
  EXPECT_EQ(p.items[0].bytes, 10u * 3 * 8 + 132 + 152 + 4 + 64 + 2400000 + 4194304 + 8 + 65536);
}

TEST(MemoryPlan, RefusesANamedRuleAboveMemoryMaxAtItsMaxKeys) {
  EXPECT_EQ(Load("[rule.big]\nwindow = count 100000\nmax_keys = 1000000\n").errors,
            Errors{"sensorgate.ini:3: [rule.big] max_keys = 1000000: the windows need 745.3 GiB (rule big: count "
                   "100000 × max_keys 1000000 × 8 bytes + 1000000 key states × 128 bytes + 1000000 keys × 152 "
                   "bytes + key index 8 MiB + 64 KiB for the rule), over "
                   "[gateway] memory_max = 64MiB"});
}

TEST(MemoryPlan, HumanBytesRoundsToOneDecimal) {
  EXPECT_EQ(HumanBytes(0), "0 bytes");
  EXPECT_EQ(HumanBytes(1023), "1023 bytes");
  EXPECT_EQ(HumanBytes(1024), "1 KiB");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
  EXPECT_EQ(HumanBytes(64u << 20), "64 MiB");
  EXPECT_EQ(HumanBytes((1u << 20) - 1), "1 MiB");
  EXPECT_EQ(HumanBytes(UINT64_MAX), "more than 16 EiB");
}

TEST(MemoryPlan, CheckPrintsOneLinePerRuleAndTheTotal) {
  const Config c = DefaultConfig();
  EXPECT_EQ(FormatMemoryPlan(PlanMemory(c), c.gateway.memory_max_bytes),
            "memory plan: rule hot 6.7 MiB (size 60 × max_keys 10000 × 8 bytes + 10000 keys × 213 bytes + key "
            "index 128 KiB)\n"
            "memory plan: total 6.7 MiB of memory_max 64 MiB\n");
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// Bytes malloc has handed out (in its arenas and as mmap'd blocks).
uint64_t HeapInUse() {
  const struct mallinfo2 m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

// A [rule.NAME]'s plan against what building it allocates: never less, and
// not much more (what is reserved counts: it is what the process may touch).
TEST(MemoryPlan, ARulesPlanCoversWhatBuildingTheRuleAllocates) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's allocator does not report through mallinfo2()";
#endif
  const std::vector<std::string> rules = {
      "window = count 60\nvalue = v\naggregates = count, avg, slope, distinct(u)\nmax_keys = 5000",
      "window = count 10\nvalue = v\naggregates = avg\noutlier_z = 3\nmax_keys = 20000",
      "window = tumbling 1m\nvalue = v\naggregates = count, sum, max\nalert = zscore(sum) > 3\nbaseline = 30\n"
      "max_keys = 10000",
      "window = sliding 1h every 10s\nlateness = 30s\nvalue = v\naggregates = count, avg, distinct(u), distinct(w)\n"
      "max_keys = 300\nmax_distinct = 50000",
      "window = total\naggregates = count, distinct(u)\nmax_keys = 1\nmax_distinct = 100000",
  };
  for (const std::string& body : rules) {
    const ConfigResult r = Load("[rule.x]\nkey = k\ntime = t\n" + body + "\n");
    ASSERT_TRUE(r.ok()) << body << ": " << (r.errors.empty() ? "" : r.errors[0]);
    const RuleConfig& rc = r.config.rules.at(0);
    const MemoryPlan plan = PlanMemory(r.config);
    ASSERT_EQ(plan.items.size(), 1u);  // no rule hot
    RuleFieldMap fields;
    fields.key = {0};
    fields.value = rc.value.empty() ? -1 : 1;
    fields.time = 2;
    for (const Aggregate& a : rc.aggregates) {
      if (a.kind == AggregateKind::kDistinct) fields.distinct.push_back(3);
    }
    const uint64_t before = HeapInUse();
    std::string error;
    std::unique_ptr<NamedRule> rule = NamedRule::Create(rc, fields, &error);
    ASSERT_NE(rule, nullptr) << error;
    const uint64_t used = HeapInUse() - before;
    EXPECT_GE(plan.items[0].bytes, used) << body << "\nplan: " << plan.items[0].detail;
    EXPECT_LE(plan.items[0].bytes, used + used / 8 + 64 * 1024) << body << "\nplan: " << plan.items[0].detail;
  }
}

}  // namespace
}  // namespace sensorgate
