#include "gateway/daemon/checkpoint.h"

#include <fcntl.h>
#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "gateway/base/crc32c.h"
#include "gateway/base/file_util.h"
#include "gateway/base/json_format.h"
#include "gateway/base/log.h"

namespace sensorgate {
namespace {

constexpr int kVersion = 1;

Status Errno(const std::string& what, const std::string& path) {
  return Status::Error(path + ": " + what + ": " + std::strerror(errno));
}

const char* PhaseName(AlertPhase p) { return AlertPhaseName(p); }

bool PhaseFrom(std::string_view s, AlertPhase* p) {
  if (s == "ok") *p = AlertPhase::kOk;
  else if (s == "pending") *p = AlertPhase::kPending;
  else if (s == "firing") *p = AlertPhase::kFiring;
  else return false;
  return true;
}

// Why a key line cannot be restored, or nullptr: the rules of a reading
// (DESIGN.md section 4) and the ranges the outputs can print.
const char* RestoreProblem(std::string_view key, const std::vector<double>& values, uint64_t total, int64_t time,
                           int64_t since, int64_t seen, const ReadingConfig& reading) {
  if (key.empty() || key.size() > 128) return "a key is 1 to 128 bytes";
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return "a key holds no control character";
  }
  for (double v : values) {
    if (!std::isfinite(v) || v < reading.min || v > reading.max) return "a value outside [reading] min and max";
  }
  if (total < values.size() || total > static_cast<uint64_t>(INT64_MAX)) return "total out of range";
  if (time < 0 || time > kMaxTimeMicros) return "time out of range";
  if (since < 0 || since > kMaxTimeMicros) return "since out of range";
  if (seen < 0 || seen > kMaxTimeMicros) return "seen out of range";
  return nullptr;
}

constexpr char kBase64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

void AppendBase64(std::string* out, std::string_view in) {
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16 |
                       static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8 | static_cast<uint8_t>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out->push_back(kBase64[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = static_cast<uint32_t>(static_cast<uint8_t>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<uint32_t>(static_cast<uint8_t>(in[i + 1])) << 8;
    out->push_back(kBase64[(v >> 18) & 63]);
    out->push_back(kBase64[(v >> 12) & 63]);
    out->push_back(i + 1 < in.size() ? kBase64[(v >> 6) & 63] : '=');
    out->push_back('=');
  }
}

bool DecodeBase64(std::string_view in, std::string* out) {
  if (in.size() % 4 != 0) return false;
  out->clear();
  out->reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = in[i + j];
      uint32_t d;
      if (c >= 'A' && c <= 'Z') d = static_cast<uint32_t>(c - 'A');
      else if (c >= 'a' && c <= 'z') d = static_cast<uint32_t>(c - 'a' + 26);
      else if (c >= '0' && c <= '9') d = static_cast<uint32_t>(c - '0' + 52);
      else if (c == '+') d = 62;
      else if (c == '/') d = 63;
      else if (c == '=' && i + 4 == in.size() && j >= 2) { d = 0; ++pad; }
      else return false;
      if (pad > 0 && c != '=') return false;
      v = v << 6 | d;
    }
    out->push_back(static_cast<char>(v >> 16));
    if (pad < 2) out->push_back(static_cast<char>(v >> 8 & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(v & 0xff));
  }
  return true;
}

}  // namespace

Status WriteCheckpoint(const std::string& path, const Pipeline& pipeline,
                       const std::vector<FilePosition>& files, const CheckpointMeta& meta) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("cannot create", tmp);
  // Written in chunks: memory stays flat however many keys there are.
  constexpr size_t kChunk = 64 * 1024;
  std::string out;
  out.reserve(kChunk + 4096);
  Status s;
  uint32_t crc = 0;  // of every byte before the end line
  auto flush = [&](bool force) {
    if (s.ok() && (force || out.size() >= kChunk)) {
      crc = Crc32c(crc, out);
      if (!WriteAll(fd, out)) s = Errno("cannot write", tmp);
      out.clear();
    }
  };
  const WindowTable& w = pipeline.windows();
  out += "{\"sensorgate_checkpoint\":" + std::to_string(kVersion) + ",\"seq\":" + std::to_string(meta.seq) +
         ",\"mqtt_generation\":" + std::to_string(meta.mqtt_generation) +
         ",\"mqtt_offset\":" + std::to_string(meta.mqtt_offset) + ",\"written\":";
  AppendJsonTime(&out, WallClockMicros());
  out += "}\n";
  for (const FilePosition& f : files) {
    out += "{\"file\":";
    AppendJsonString(&out, f.path);
    out += ",\"dev\":" + std::to_string(f.device) + ",\"ino\":" + std::to_string(f.inode) +
           ",\"offset\":" + std::to_string(f.offset) + ",\"fingerprint\":" + std::to_string(f.fingerprint) +
           "}\n";
    flush(false);
  }
  for (uint32_t slot = 0; slot < w.key_count(); ++slot) {
    const KeyState& k = pipeline.key_state(slot);
    out += "{\"key\":";
    AppendJsonString(&out, w.key(slot));
    out += ",\"values\":[";
    bool first = true;
    for (double v : w.Values(slot)) {
      if (!first) out += ',';
      first = false;
      AppendJsonNumber(&out, v);
    }
    out += "],\"total\":" + std::to_string(w.total(slot)) + ",\"time\":" + std::to_string(w.last_time(slot)) +
           ",\"hot\":\"" + PhaseName(k.hot.phase) + "\",\"since\":" + std::to_string(k.hot.since_us) +
           ",\"stale\":" + (k.stale ? "true" : "false") + ",\"seen\":" + std::to_string(k.last_seen_us) + "}\n";
    flush(false);
  }
  // Each [rule.NAME]'s windows, alert states and histories: its binary
  // state (gateway/rules/), base64 in a JSON line.
  std::string state;
  for (const auto& rule : pipeline.rules()) {
    state.clear();
    rule->SaveState(&state);
    out += "{\"rule\":";
    AppendJsonString(&out, rule->config().name);
    out += ",\"state\":\"";
    AppendBase64(&out, state);
    out += "\"}\n";
    flush(false);
  }
  flush(true);
  out += "{\"end\":true,\"files\":" + std::to_string(files.size()) + ",\"keys\":" + std::to_string(w.key_count()) +
         ",\"crc32c\":" + std::to_string(crc) + "}\n";
  flush(true);
  if (s.ok() && ::fsync(fd) != 0) s = Errno("cannot fsync", tmp);
  if (::close(fd) != 0 && s.ok()) s = Errno("cannot close", tmp);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  // The newest becomes the previous generation: if the new one is damaged
  // later (an SD card), the gateway starts from the previous one.
  if (::rename(path.c_str(), PreviousCheckpointPath(path).c_str()) != 0 && errno != ENOENT) {
    const Status e = Errno("cannot keep the previous generation", path);
    ::unlink(tmp.c_str());
    return e;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return Errno("cannot rename over", path);
  SyncDir(DirName(path));
  return Status::Ok();
}

std::string PreviousCheckpointPath(const std::string& path) { return path + ".1"; }

Status ReadCheckpoint(const std::string& path, const ReadingConfig& reading, Pipeline* pipeline,
                      std::vector<FilePosition>* files, CheckpointMeta* meta, bool* found) {
  *found = false;
  if (::access(path.c_str(), F_OK) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return Errno("cannot read", path);
  }
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text)) return Errno("cannot read", path);
  // The end line carries the CRC-32C of every byte before it.
  const std::string_view all(text.data(), text.size());
  if (all.empty()) return Status::Error(path + ": empty");
  if (all.back() != '\n') return Status::Error(path + ": incomplete checkpoint (no end line)");
  const size_t last = all.rfind('\n', all.size() - 2);
  const size_t end_line_at = last == std::string_view::npos ? 0 : last + 1;
  const uint32_t crc = Crc32c(0, all.substr(0, end_line_at));
  simdjson::dom::parser parser;
  simdjson::dom::document_stream stream;
  // A rule's state is one line, as large as its windows: the batch holds
  // the whole file.
  if (parser.parse_many(text, std::max<size_t>(simdjson::dom::DEFAULT_BATCH_SIZE, text.size() + 64)).get(stream)) {
    return Status::Error(path + ": not a checkpoint");
  }
  uint64_t line = 0, keys = 0;
  bool header = false, end = false;
  for (auto result : stream) {
    ++line;
    auto bad = [&](const char* what) {
      return Status::Error(path + ":" + std::to_string(line) + ": " + what +
                           "; move the file away to start without it");
    };
    simdjson::dom::element e;
    if (result.get(e)) return bad("not JSON");
    if (end) return bad("data after the end line");
    if (!header) {
      int64_t version;
      if (e["sensorgate_checkpoint"].get(version) || version != kVersion) return bad("not a version 1 checkpoint");
      if (e["seq"].get(meta->seq)) return bad("no seq");
      // Absent in checkpoints written before the MQTT source existed.
      if (e["mqtt_generation"].get(meta->mqtt_generation)) meta->mqtt_generation = 0;
      if (e["mqtt_offset"].get(meta->mqtt_offset)) meta->mqtt_offset = 0;
      header = true;
      continue;
    }
    std::string_view file;
    if (!e["file"].get(file)) {
      FilePosition f;
      f.path = std::string(file);
      if (e["dev"].get(f.device) || e["ino"].get(f.inode) || e["offset"].get(f.offset) ||
          e["fingerprint"].get(f.fingerprint)) {
        return bad("a file line needs dev, ino, offset and fingerprint");
      }
      files->push_back(f);
      continue;
    }
    std::string_view key;
    if (!e["key"].get(key)) {
      simdjson::dom::array values;
      uint64_t total;
      int64_t time, since, seen;
      std::string_view hot;
      bool stale;
      if (e["values"].get(values) || e["total"].get(total) || e["time"].get(time) || e["hot"].get(hot) ||
          e["since"].get(since) || e["stale"].get(stale) || e["seen"].get(seen)) {
        return bad("a key line needs values, total, time, hot, since, stale and seen");
      }
      std::vector<double> v;
      for (auto x : values) {
        double d;
        if (x.get(d)) return bad("a window value is not a number");
        v.push_back(d);
      }
      KeyState k;
      if (!PhaseFrom(hot, &k.hot.phase)) return bad("hot must be ok, pending or firing");
      k.hot.since_us = since;
      k.stale = stale;
      k.last_seen_us = seen;
      if (v.empty()) return bad("a key without values");
      // What a reading could not have brought is not restored: the line is
      // skipped and counted (its key starts again from its next reading).
      const char* why = RestoreProblem(key, v, total, time, since, seen, reading);
      if (why != nullptr) {
        ++meta->skipped_keys;
        if (meta->skipped_keys <= 10) {
          Log(LogLevel::kWarning, "%s:%llu: key line skipped: %s", path.c_str(),
              static_cast<unsigned long long>(line), why);
        }
        ++keys;
        continue;
      }
      if (!pipeline->RestoreKey(key, v, total, time, k)) {
        Log(LogLevel::kWarning, "%s: key %.*s dropped: [window] max_keys reached", path.c_str(),
            static_cast<int>(key.size()), key.data());
      }
      ++keys;
      continue;
    }
    std::string_view rule_name, rule_state;
    if (!e["rule"].get(rule_name)) {
      if (e["state"].get(rule_state)) return bad("a rule line needs a state");
      std::string bytes;
      if (!DecodeBase64(rule_state, &bytes)) return bad("a rule's state is not base64");
      const Status s = pipeline->RestoreRule(rule_name, bytes);
      if (!s.ok()) Log(LogLevel::kWarning, "%s:%llu: %s", path.c_str(), static_cast<unsigned long long>(line), s.message().c_str());
      continue;
    }
    bool end_flag;
    uint64_t nfiles, nkeys, want_crc;
    if (!e["end"].get(end_flag)) {
      if (e["files"].get(nfiles) || e["keys"].get(nkeys) || nfiles != files->size() || nkeys != keys) {
        return bad("the end line does not match the lines before it");
      }
      // Checkpoints written before the CRC existed have none.
      if (!e["crc32c"].get(want_crc) && want_crc != crc) return bad("CRC-32C mismatch: the file is damaged");
      end = true;
      continue;
    }
    return bad("unknown line");
  }
  if (!header || !end) return Status::Error(path + ": incomplete checkpoint (no end line); move the file away to start without it");
  *found = true;
  return Status::Ok();
}

}  // namespace sensorgate
