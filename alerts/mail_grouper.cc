#include "alerts/mail_grouper.h"

#include <algorithm>
#include <cstring>

#include "gateway/base/crc32c.h"

namespace sensorgate {
namespace {
constexpr int64_t kHourUs = 3600LL * 1'000'000;
constexpr uint32_t kStateMagic = 0x474d4753;  // "SGMG" little-endian
// 2 added MailAlert::aggregate and op; version 1 files are still read.
constexpr uint32_t kStateVersion = 2;

// Little-endian fixed-width fields, strings as u32 length + bytes.
class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void U64(uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void F64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    U64(bits);
  }
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    out_ += s;
  }
  std::string Finish() {
    U32(Crc32c(0, out_));
    return std::move(out_);
  }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool U8(uint8_t* v) {
    if (in_.size() < 1) return false;
    *v = static_cast<uint8_t>(in_[0]);
    in_.remove_prefix(1);
    return true;
  }
  bool U32(uint32_t* v) {
    uint64_t w;
    if (!Fixed(4, &w)) return false;
    *v = static_cast<uint32_t>(w);
    return true;
  }
  bool U64(uint64_t* v) { return Fixed(8, v); }
  bool I64(int64_t* v) {
    uint64_t w;
    if (!Fixed(8, &w)) return false;
    *v = static_cast<int64_t>(w);
    return true;
  }
  bool F64(double* v) {
    uint64_t bits;
    if (!Fixed(8, &bits)) return false;
    std::memcpy(v, &bits, sizeof bits);
    return true;
  }
  bool Bool(bool* v) {
    uint8_t b;
    if (!U8(&b) || b > 1) return false;
    *v = b == 1;
    return true;
  }
  bool Str(std::string* s) {
    uint32_t n;
    if (!U32(&n) || in_.size() < n) return false;
    s->assign(in_.data(), n);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }
  size_t left() const { return in_.size(); }

 private:
  bool Fixed(int bytes, uint64_t* v) {
    if (in_.size() < static_cast<size_t>(bytes)) return false;
    *v = 0;
    for (int i = 0; i < bytes; ++i) *v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[i])) << (8 * i);
    in_.remove_prefix(static_cast<size_t>(bytes));
    return true;
  }
  std::string_view in_;
};

}  // namespace

void MailGrouper::Add(MailAlert alert) {
  const int64_t now = clock_->MonotonicUs();
  auto id = std::make_pair(alert.rule, alert.key);
  auto it = alerts_.find(id);
  const bool known = it != alerts_.end();
  if (!known) {
    // A resolution of an alert this grouper never saw fire (it fired before
    // a restart, whose mail left then): a plain resolved notice.
    if (!alert.firing && !opt_.send_resolved) return;
    if (!open_ || alerts_.empty()) {
      open_ = true;
      opened_us_ = now;
      sent_ = false;
    }
    Tracked t;
    t.notified_firing = !alert.firing;
    it = alerts_.emplace(std::move(id), std::move(t)).first;
  }
  Tracked& t = it->second;
  const bool firing = alert.firing;
  // Firing again without a resolution in between: the same event read again
  // (records after a checkpoint, after a crash). Nothing changed to tell.
  const bool repeated = known && firing && t.latest.firing;
  t.latest = std::move(alert);
  if (!repeated) t.changed = true;
  if (!firing && t.notified_firing && !opt_.send_resolved) alerts_.erase(it);  // its end is not mailed
}

int64_t MailGrouper::DueIgnoringRate() const {
  if (!open_ || alerts_.empty()) return kNever;
  bool changed = false, firing = false;
  for (const auto& [id, t] : alerts_) {
    changed = changed || t.changed;
    firing = firing || t.latest.firing;
  }
  if (changed) return sent_ ? last_sent_us_ + opt_.group_interval_us : opened_us_ + opt_.group_wait_us;
  if (firing && sent_) return last_sent_us_ + opt_.repeat_us;
  return kNever;
}

int64_t MailGrouper::next_due_us() const {
  int64_t due = DueIgnoringRate();
  if (due != kNever && sends_.size() >= opt_.max_per_hour) due = std::max(due, sends_.front() + kHourUs);
  return due;
}

void MailGrouper::ExpireSends(int64_t now) {
  while (!sends_.empty() && sends_.front() + kHourUs <= now) sends_.pop_front();
}

bool MailGrouper::Poll(MailNotification* out) {
  const int64_t now = clock_->MonotonicUs();
  ExpireSends(now);
  const int64_t due = DueIgnoringRate();
  if (due == kNever || due > now) return false;
  if (sends_.size() >= opt_.max_per_hour) {
    if (!limited_now_) ++rate_limited_;
    limited_now_ = true;
    return false;
  }
  bool changed = false;
  for (const auto& [id, t] : alerts_) changed = changed || t.changed;
  Build(out, !changed);
  sends_.push_back(now);
  last_sent_us_ = now;
  sent_ = true;
  limited_now_ = false;
  return true;
}

bool MailGrouper::TakePending(MailNotification* out) {
  bool changed = false;
  for (const auto& [id, t] : alerts_) changed = changed || t.changed;
  if (!changed) return false;
  Build(out, false);
  last_sent_us_ = clock_->MonotonicUs();
  sent_ = true;
  return true;
}

std::string MailGrouper::Save() const {
  const int64_t mono = clock_->MonotonicUs();
  Writer w;
  w.U32(kStateMagic);
  w.U32(kStateVersion);
  w.I64(clock_->WallUs());
  w.U8(open_ ? 1 : 0);
  w.U8(sent_ ? 1 : 0);
  w.U8(limited_now_ ? 1 : 0);
  w.I64(opened_us_ - mono);
  w.I64(last_sent_us_ - mono);
  w.U64(rate_limited_);
  w.U32(static_cast<uint32_t>(sends_.size()));
  for (int64_t t : sends_) w.I64(t - mono);
  w.U32(static_cast<uint32_t>(alerts_.size()));
  for (const auto& [id, t] : alerts_) {
    const MailAlert& a = t.latest;
    w.Str(a.rule);
    w.Str(a.key);
    w.U8(a.firing ? 1 : 0);
    w.F64(a.avg);
    w.F64(a.threshold);
    w.U32(a.count);
    w.I64(a.time_us);
    w.U32(static_cast<uint32_t>(a.recent.size()));
    for (double v : a.recent) w.F64(v);
    w.Str(a.aggregate);
    w.Str(a.op);
    w.U8(t.notified_firing ? 1 : 0);
    w.U8(t.changed ? 1 : 0);
  }
  return w.Finish();
}

Status MailGrouper::Load(std::string_view data) {
  const MailGroupOptions options = opt_;
  Clock* clock = clock_;
  *this = MailGrouper(options, clock);
  if (data.size() < 4) return Status::Error("cut short");
  uint32_t crc = 0;
  for (int i = 0; i < 4; ++i) crc |= static_cast<uint32_t>(static_cast<uint8_t>(data[data.size() - 4 + i])) << (8 * i);
  data.remove_suffix(4);
  if (Crc32c(0, data) != crc) return Status::Error("CRC-32C does not match (damaged or cut short)");
  Reader r(data);
  uint32_t magic = 0, version = 0;
  if (!r.U32(&magic) || magic != kStateMagic) return Status::Error("not a mail group state");
  if (!r.U32(&version) || version < 1 || version > kStateVersion) {
    return Status::Error("version " + std::to_string(version) + ", this build reads " + std::to_string(kStateVersion));
  }
  const int64_t mono = clock_->MonotonicUs();
  int64_t saved_wall = 0;
  bool ok = r.I64(&saved_wall);
  // Deadlines saved relative to the saving moment come closer by the time
  // that passed since (never moved back when the wall clock stepped back).
  const int64_t base = mono - std::max<int64_t>(0, clock_->WallUs() - saved_wall);
  int64_t opened = 0, last_sent = 0;
  uint32_t sends = 0, alerts = 0;
  ok = ok && r.Bool(&open_) && r.Bool(&sent_) && r.Bool(&limited_now_) && r.I64(&opened) && r.I64(&last_sent) &&
       r.U64(&rate_limited_) && r.U32(&sends) && sends <= r.left() / 8;
  opened_us_ = base + opened;
  last_sent_us_ = base + last_sent;
  for (uint32_t i = 0; ok && i < sends; ++i) {
    int64_t t = 0;
    ok = r.I64(&t);
    sends_.push_back(base + t);
  }
  ok = ok && r.U32(&alerts);
  for (uint32_t i = 0; ok && i < alerts; ++i) {
    Tracked t;
    MailAlert& a = t.latest;
    uint32_t recent = 0;
    ok = r.Str(&a.rule) && r.Str(&a.key) && r.Bool(&a.firing) && r.F64(&a.avg) && r.F64(&a.threshold) &&
         r.U32(&a.count) && r.I64(&a.time_us) && r.U32(&recent) && recent <= r.left() / 8;
    for (uint32_t k = 0; ok && k < recent; ++k) {
      double v = 0;
      ok = r.F64(&v);
      a.recent.push_back(v);
    }
    if (version >= 2) ok = ok && r.Str(&a.aggregate) && r.Str(&a.op);
    ok = ok && r.Bool(&t.notified_firing) && r.Bool(&t.changed);
    if (ok) alerts_.emplace(std::make_pair(a.rule, a.key), std::move(t));
  }
  if (!ok || !r.empty()) {
    *this = MailGrouper(options, clock);
    return Status::Error("malformed");
  }
  return Status::Ok();
}

void MailGrouper::Build(MailNotification* out, bool reminder) {
  *out = MailNotification();
  out->reminder = reminder;
  for (auto it = alerts_.begin(); it != alerts_.end();) {
    Tracked& t = it->second;
    t.changed = false;
    if (t.latest.firing) {
      t.notified_firing = true;
      out->entries.push_back(MailEntry{MailLine::kFiring, t.latest});
      ++out->firing;
      ++it;
      continue;
    }
    out->entries.push_back(
        MailEntry{t.notified_firing ? MailLine::kResolved : MailLine::kFiredAndResolved, t.latest});
    ++out->resolved;
    it = alerts_.erase(it);
  }
}

}  // namespace sensorgate
