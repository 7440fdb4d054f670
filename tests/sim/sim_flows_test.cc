// --profile flows: network flows in the LANL release's fields and types, the
// web servers of the truth file, and --split.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "tests/sim/sim_profile_util.h"
#include "tests/sim/sim_test_util.h"

namespace sensorgate {
namespace simtest {
namespace {

struct Flow {
  int64_t time = 0;
  std::string src;
  std::string dst;
  int64_t protocol = 0;
  std::string src_port;
  std::string dst_port;
};

bool IsDevice(const std::string& name) {
  if (name.size() == 10 && MatchesShape(name, "Comp######")) return true;
  for (const char* named :
       {"EnterpriseAppServer", "ActiveDirectory", "Mail", "VPN", "FileServer", "PrintServer"}) {
    if (name == named) return true;
  }
  return false;
}

bool IsPort(const std::string& port) {
  if (port.size() == 9 && MatchesShape(port, "Port#####")) return true;
  return !port.empty() && port.size() <= 5 && MatchesShape(port, "*");
}

std::vector<Flow> ReadFlows(const std::string& out) {
  std::vector<Flow> flows;
  for (const std::string& line : Lines(out)) {
    std::vector<JsonField> f;
    EXPECT_TRUE(ParseFields(line, &f)) << line;
    EXPECT_EQ(FieldNames(f),
              (std::vector<std::string>{"Time", "Duration", "SrcDevice", "DstDevice", "Protocol",
                                        "SrcPort", "DstPort", "SrcPackets", "DstPackets",
                                        "SrcBytes", "DstBytes"}))
        << line;
    Flow flow;
    int64_t n = 0;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "Time"), &flow.time)) << line;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "Duration"), &n)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "SrcDevice"), &flow.src)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "DstDevice"), &flow.dst)) << line;
    EXPECT_TRUE(JsonInteger(FieldRaw(f, "Protocol"), &flow.protocol)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "SrcPort"), &flow.src_port)) << line;
    EXPECT_TRUE(JsonString(FieldRaw(f, "DstPort"), &flow.dst_port)) << line;
    for (const char* name : {"SrcPackets", "DstPackets", "SrcBytes", "DstBytes"}) {
      EXPECT_TRUE(JsonInteger(FieldRaw(f, name), &n)) << line;
      EXPECT_GE(n, 0) << line;
    }
    EXPECT_TRUE(IsDevice(flow.src)) << line;
    EXPECT_TRUE(IsDevice(flow.dst)) << line;
    EXPECT_TRUE(IsPort(flow.src_port)) << line;
    EXPECT_TRUE(IsPort(flow.dst_port)) << line;
    EXPECT_TRUE(flow.protocol == 6 || flow.protocol == 17 || flow.protocol == 1) << line;
    flows.push_back(flow);
  }
  return flows;
}

struct WebTruth {
  std::vector<std::string> servers;
  int64_t count = -1;
};

WebTruth ReadWebTruth(const std::string& path) {
  WebTruth t;
  const std::vector<std::string> lines = Lines(ReadFile(path));
  EXPECT_EQ(lines.size(), 1u);
  if (lines.empty()) return t;
  std::vector<JsonField> f;
  EXPECT_TRUE(ParseFields(lines[0], &f)) << lines[0];
  EXPECT_EQ(FieldNames(f), (std::vector<std::string>{"web_servers", "count"}));
  EXPECT_TRUE(JsonInteger(FieldRaw(f, "count"), &t.count));
  std::string list = FieldRaw(f, "web_servers");
  EXPECT_TRUE(list.size() >= 2 && list.front() == '[' && list.back() == ']') << list;
  list = list.substr(1, list.size() - 2);
  size_t pos = 0;
  while (pos < list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string name;
    EXPECT_TRUE(JsonString(list.substr(pos, comma - pos), &name)) << list;
    t.servers.push_back(name);
    pos = comma + 1;
  }
  return t;
}

TEST(SimFlows, WebServersOfTheTruthAreExactlyTheDevicesServing443Or8000) {
  TempDir dir;
  const ProcessResult r =
      RunSim({"--profile", "flows", "--equipment", "200", "--count", "20000", "--hot", "7",
              "--seed", "4", "--start-time", kStart, "--truth", dir.File("truth")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::vector<Flow> flows = ReadFlows(r.out);
  ASSERT_EQ(flows.size(), 20000u);
  const WebTruth truth = ReadWebTruth(dir.File("truth"));
  EXPECT_EQ(truth.count, 7);
  ASSERT_EQ(truth.servers.size(), 7u);
  EXPECT_TRUE(std::is_sorted(truth.servers.begin(), truth.servers.end()));

  std::set<std::string> web;
  std::set<std::string> devices;
  std::map<std::string, std::set<std::string>> other_ports;  // port -> its servers
  std::set<int64_t> protocols;
  int64_t previous = 0;
  for (const Flow& f : flows) {
    EXPECT_GE(f.time, previous);
    previous = f.time;
    devices.insert(f.src);
    devices.insert(f.dst);
    protocols.insert(f.protocol);
    if (f.dst_port == "443" || f.dst_port == "8000") {
      web.insert(f.dst);
      EXPECT_EQ(f.protocol, 6);
    } else {
      other_ports[f.dst_port].insert(f.dst);
    }
  }
  EXPECT_EQ(web, std::set<std::string>(truth.servers.begin(), truth.servers.end()));
  EXPECT_EQ(previous - flows.front().time + 1 >= 20000 / 40, true) << "several flows a second";
  EXPECT_EQ(protocols, (std::set<int64_t>{1, 6, 17}));
  EXPECT_GT(devices.size(), 150u);
  EXPECT_GT(devices.count("EnterpriseAppServer") + devices.count("ActiveDirectory"), 0u);
  for (const char* port : {"80", "22", "53", "445", "3389"}) {
    EXPECT_GT(other_ports[port].size(), 5u) << port;
  }
  size_t anonymous = 0;
  for (const auto& [port, servers] : other_ports) anonymous += port.rfind("Port", 0) == 0;
  EXPECT_GT(anonymous, 100u);
  // The web servers serve other ports too.
  size_t web_on_other_ports = 0;
  for (const std::string& w : truth.servers) {
    for (const auto& [port, servers] : other_ports) web_on_other_ports += servers.count(w);
  }
  EXPECT_GT(web_on_other_ports, 0u);
}

TEST(SimFlows, SplitFilesConcatenateToTheSingleFile) {
  TempDir dir;
  const std::vector<std::string> args = {"--profile",    "flows", "--equipment", "50",
                                         "--count",      "10001", "--seed",      "6",
                                         "--start-time", kStart,  "--bad",       "0.01"};
  std::vector<std::string> single = args;
  single.insert(single.end(), {"-o", dir.File("flows.log")});
  ASSERT_EQ(RunSim(single).exit_code, 0);
  std::vector<std::string> split = args;
  split.insert(split.end(), {"-o", dir.File("flows.log"), "--split", "10"});
  ASSERT_EQ(RunSim(split).exit_code, 0);
  std::string joined;
  size_t previous_good = 0;
  for (int i = 1; i <= 10; ++i) {
    const std::string name =
        dir.File(std::string("flows-") + (i < 10 ? "0" : "") + std::to_string(i) + ".log");
    ASSERT_TRUE(FileExists(name)) << name;
    const std::string part = ReadFile(name);
    size_t good = 0;
    for (const std::string& line : Lines(part)) {
      std::vector<JsonField> f;
      good += ParseFields(line, &f) && f.size() == 11;
    }
    // 10001 flows in 10 parts: 1001, then 1000 each.
    EXPECT_EQ(good, i == 1 ? 1001u : 1000u) << name;
    if (i > 1) {
      EXPECT_LE(good, previous_good);
    }
    previous_good = good;
    joined += part;
  }
  EXPECT_FALSE(FileExists(dir.File("flows-11.log")));
  EXPECT_EQ(joined, ReadFile(dir.File("flows.log")));

  // Without an extension, the number goes at the end.
  std::vector<std::string> bare = args;
  bare.insert(bare.end(), {"-o", dir.File("capture"), "--split", "2"});
  ASSERT_EQ(RunSim(bare).exit_code, 0);
  EXPECT_TRUE(FileExists(dir.File("capture-1")));
  EXPECT_TRUE(FileExists(dir.File("capture-2")));
}

TEST(SimFlows, SameSeedSameBytesOtherSeedOtherBytes) {
  const std::vector<std::string> args = {"--profile",    "flows", "--equipment", "30",
                                         "--count",      "3000",  "--seed",      "1",
                                         "--start-time", kStart};
  const ProcessResult a = RunSim(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(RunSim(args).out, a.out);
  std::vector<std::string> other = args;
  other[7] = "2";
  EXPECT_NE(RunSim(other).out, a.out);
  // The default --hot is 10 web servers.
  std::set<std::string> web;
  for (const Flow& f : ReadFlows(a.out)) {
    if (f.dst_port == "443" || f.dst_port == "8000") web.insert(f.dst);
  }
  EXPECT_EQ(web.size(), 10u);
}

}  // namespace
}  // namespace simtest
}  // namespace sensorgate
