#include "simulator/flows_profile.h"

#include <algorithm>
#include <numeric>

#include "gateway/base/time_util.h"

namespace sensorgate {
namespace {

// Named devices of the LANL release; from 10 devices on, one per 10 of them
// (at most all of these) replaces a "Comp" device.
const char* const kNamedDevices[] = {
    "EnterpriseAppServer", "ActiveDirectory", "Mail", "VPN", "FileServer", "PrintServer",
};

struct Service {
  const char* port;
  int protocol;
};
// Ports served by any device (never 443 or 8000: those are the web servers').
constexpr Service kServices[] = {
    {"80", 6},  {"22", 6}, {"53", 17}, {"445", 6}, {"3389", 6}, {"139", 6},
    {"135", 6}, {"25", 6}, {"389", 6}, {"88", 6},  {"123", 17}, {"137", 17},
};

}  // namespace

FlowsProfile::FlowsProfile(const SimOptions& options, StreamHooks* hooks)
    : LineProfile(options, hooks),
      devices_(static_cast<uint32_t>(options.equipment)),
      value_rng_(options.seed, kProfileValueStream),
      count_rng_(options.seed, kProfileOrderStream) {
  Rng setup_rng(options.seed, kProfileSetupStream);
  const uint32_t named =
      std::min<uint32_t>(devices_ / 10, sizeof kNamedDevices / sizeof kNamedDevices[0]);
  std::vector<bool> used(1000000, false);
  for (uint32_t i = 0; i < devices_; ++i) {
    if (i < named) {
      keys_.emplace_back(kNamedDevices[i]);
      continue;
    }
    uint64_t n;
    do {
      n = setup_rng.Below(1000000);
    } while (used[n]);
    used[n] = true;
    std::string digits = std::to_string(n);
    keys_.push_back("Comp" + std::string(6 - digits.size(), '0') + digits);
  }
  std::vector<uint32_t> ids(devices_);
  std::iota(ids.begin(), ids.end(), 0u);
  const auto hot = static_cast<uint32_t>(options.hot);
  for (uint32_t i = 0; i < hot; ++i) std::swap(ids[i], ids[i + setup_rng.Below(devices_ - i)]);
  web_servers_.assign(ids.begin(), ids.begin() + hot);
  is_web_server_.assign(devices_, false);
  for (uint32_t w : web_servers_) is_web_server_[w] = true;
  flows_per_cycle_ = std::clamp<int64_t>(devices_ / 10, 3, 50);
}

std::string FlowsProfile::AnonymousPort() {
  std::string digits = std::to_string(value_rng_.Below(100000));
  return "Port" + std::string(5 - digits.size(), '0') + digits;
}

bool FlowsProfile::NextGood(std::string* text, uint32_t* key) {
  for (;;) {
    if (stopping_ || (options_.count != 0 && generated_ == options_.count)) return false;
    if (remaining_ == 0) {
      if (started_) ++cycle_;
      started_ = true;
      if (!BeforeCycle(cycle_)) {
        stopping_ = true;
        continue;
      }
      remaining_ = count_rng_.Between(1, 2 * flows_per_cycle_ - 1);
      if (options_.has_start_time) {
        time_seconds_ =
            (options_.start_time + static_cast<TimeMicros>(cycle_) * options_.step_micros) /
            kMicrosPerSecond;
      }
    }
    if (!BeforeRecord(generated_)) {
      stopping_ = true;
      continue;
    }
    break;
  }
  if (!options_.has_start_time) {
    time_seconds_ = std::max(time_seconds_, WallClockMicros() / kMicrosPerSecond);
  }
  --remaining_;

  uint32_t dst;
  std::string src_port;
  std::string dst_port;
  int protocol = 6;
  const uint64_t kind = value_rng_.Below(100);
  if (generated_ < web_servers_.size() || kind < 35) {
    dst = generated_ < web_servers_.size() ? web_servers_[generated_]
                                           : web_servers_[value_rng_.Below(web_servers_.size())];
    dst_port = value_rng_.Below(4) == 0 ? "8000" : "443";
    src_port = AnonymousPort();
  } else if (kind < 42) {
    dst = static_cast<uint32_t>(value_rng_.Below(devices_));
    protocol = 1;
    src_port = dst_port = "0";
  } else {
    dst = static_cast<uint32_t>(value_rng_.Below(devices_));
    if (value_rng_.Below(10) < 3) {
      dst_port = AnonymousPort();
      protocol = value_rng_.Below(2) == 0 ? 6 : 17;
    } else {
      const Service& s = kServices[value_rng_.Below(sizeof kServices / sizeof kServices[0])];
      dst_port = s.port;
      protocol = s.protocol;
    }
    src_port = AnonymousPort();
  }
  ++generated_;
  uint32_t src = static_cast<uint32_t>(value_rng_.Below(devices_));
  if (src == dst && devices_ > 1) src = (src + 1) % devices_;
  const int64_t src_packets = value_rng_.Between(1, 200);
  const int64_t dst_packets = value_rng_.Between(0, 200);
  const int64_t src_bytes = src_packets * value_rng_.Between(40, 1500);
  const int64_t dst_bytes = dst_packets * value_rng_.Between(40, 1500);

  text->assign("{\"Time\":");
  *text += std::to_string(time_seconds_);
  *text += ",\"Duration\":";
  *text += std::to_string(value_rng_.Between(0, 60));
  *text += ",\"SrcDevice\":\"";
  *text += keys_[src];
  *text += "\",\"DstDevice\":\"";
  *text += keys_[dst];
  *text += "\",\"Protocol\":";
  *text += std::to_string(protocol);
  *text += ",\"SrcPort\":\"";
  *text += src_port;
  *text += "\",\"DstPort\":\"";
  *text += dst_port;
  *text += "\",\"SrcPackets\":";
  *text += std::to_string(src_packets);
  *text += ",\"DstPackets\":";
  *text += std::to_string(dst_packets);
  *text += ",\"SrcBytes\":";
  *text += std::to_string(src_bytes);
  *text += ",\"DstBytes\":";
  *text += std::to_string(dst_bytes);
  *text += "}";
  *key = src;
  return true;
}

std::string FlowsProfile::TruthText() const {
  std::vector<std::string> names;
  for (uint32_t w : web_servers_) names.push_back(keys_[w]);
  std::sort(names.begin(), names.end());
  std::string text = "{\"web_servers\":[";
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) text += ",";
    text += "\"" + names[i] + "\"";
  }
  text += "],\"count\":" + std::to_string(names.size()) + "}\n";
  return text;
}

}  // namespace sensorgate
