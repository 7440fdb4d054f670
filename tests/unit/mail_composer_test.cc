// The alert mail: headers, encodings, and keys that try to reach a header.
#include "alerts/mail_composer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

namespace sensorgate {
namespace {

MailHeaderInfo Info(const std::string& gateway = "line-2") {
  MailHeaderInfo h;
  h.gateway = gateway;
  h.from = "sensorgate@plant.example";
  h.to = {"ops@plant.example", "maint@plant.example"};
  h.dashboard_url = "http://127.0.0.1:9108/";
  h.message_id = MakeMessageId(gateway, 1700000000000000, 7, 0x1234);
  h.date_us = 1700000000000000;
  return h;
}

MailNotification One(const std::string& key, MailLine line = MailLine::kFiring) {
  MailNotification n;
  MailAlert a;
  a.rule = "hot";
  a.key = key;
  a.firing = line == MailLine::kFiring;
  a.avg = 75.21;
  a.threshold = 75;
  a.count = 60;
  a.time_us = 1678882537166944;
  a.recent = {70, 71, 72, 73, 74, 75, 76, 77};
  n.entries.push_back(MailEntry{line, a});
  (line == MailLine::kFiring ? n.firing : n.resolved) = 1;
  return n;
}

// Splits a message into its header fields (unfolded) and body; false if a
// header line is malformed (no colon, bare CR or LF, not ASCII).
bool ParseHeaders(const std::string& m, std::vector<std::pair<std::string, std::string>>* fields,
                  std::string* body) {
  const size_t end = m.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  *body = m.substr(end + 4);
  const std::string head = m.substr(0, end + 2);
  size_t pos = 0;
  while (pos < head.size()) {
    const size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) return false;
    const std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    for (unsigned char c : line) {
      if (c == '\r' || c == '\n' || c > 0x7e || (c < 0x20 && c != '\t')) return false;
    }
    if (line.empty()) return false;
    if (line[0] == ' ' || line[0] == '\t') {
      if (fields->empty()) return false;
      fields->back().second += line;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) return false;
    fields->emplace_back(line.substr(0, colon), line.substr(colon + 1));
  }
  return true;
}

std::vector<std::string> Names(const std::vector<std::pair<std::string, std::string>>& f) {
  std::vector<std::string> out;
  for (const auto& [name, value] : f) out.push_back(name);
  return out;
}

const std::vector<std::string> kHeaderNames = {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                               "Content-Type", "Content-Transfer-Encoding"};

TEST(MailComposer, WritesTheHeadersOfDesignSection8) {
  const std::string m = ComposeMail(Info(), One("sensor16"));
  std::vector<std::pair<std::string, std::string>> f;
  std::string body;
  ASSERT_TRUE(ParseHeaders(m, &f, &body)) << m;
  EXPECT_EQ(Names(f), kHeaderNames);
  std::map<std::string, std::string> h(f.begin(), f.end());
  EXPECT_EQ(h["From"], " sensorgate@plant.example");
  EXPECT_EQ(h["To"], " ops@plant.example, maint@plant.example");
  EXPECT_EQ(h["Subject"], " [sensorgate line-2] 1 firing");
  EXPECT_EQ(h["Date"], " Tue, 14 Nov 2023 22:13:20 +0000");
  EXPECT_EQ(h["Message-ID"], " <1700000000000000.7.0000000000001234@sensorgate.line-2>");
  EXPECT_EQ(h["Content-Type"], " text/plain; charset=utf-8");
  EXPECT_EQ(h["Content-Transfer-Encoding"], " quoted-printable");
  // Every body line is short and ASCII (quoted-printable).
  size_t pos = 0;
  while (pos < body.size()) {
    const size_t eol = body.find("\r\n", pos);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - pos, 76u);
    for (size_t i = pos; i < eol; ++i) EXPECT_LT(static_cast<unsigned char>(body[i]), 0x80);
    pos = eol + 2;
  }
}

TEST(MailComposer, BodyListsKeyRuleStateThresholdCountTimeAndSparkline) {
  const std::string b = MailBodyText(Info(), One("sensor16"));
  EXPECT_NE(b.find("* sensor16  rule hot  FIRING  avg 75.21 > 75  count 60  at 2023-03-15T12:15:37.166944Z  "
                   "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"),
            std::string::npos)
      << b;
  EXPECT_NE(b.find("sensorgate line-2\n"), std::string::npos);
  EXPECT_NE(b.find("Dashboard: http://127.0.0.1:9108/\n"), std::string::npos);
  EXPECT_NE(MailBodyText(Info(), One("s", MailLine::kFiredAndResolved)).find("fired and resolved"),
            std::string::npos);
}

TEST(MailComposer, HostileKeysChangeNoHeader) {
  const std::string reference = ComposeMail(Info(), One("sensor16"));
  std::vector<std::pair<std::string, std::string>> ref_fields;
  std::string ref_body;
  ASSERT_TRUE(ParseHeaders(reference, &ref_fields, &ref_body));
  const std::vector<std::string> keys = {
      "a\r\nBcc: x@y",  "a\nBcc: x@y",     "Bcc: x@y",        "\r\n\r\nbody",       "=?utf-8?B?QmNjOiB4QHk=?=",
      "caldeira-\xc3\xa7\xc3\xa3o", "\xff\xfe\x80 bad utf-8", std::string(128, 'k'), "nul\0x" + std::string("y"),
      "sep\xe2\x80\xa8line", ".\r\n.\r\nQUIT",
  };
  for (const std::string& key : keys) {
    const std::string m = ComposeMail(Info(), One(key));
    std::vector<std::pair<std::string, std::string>> f;
    std::string body;
    ASSERT_TRUE(ParseHeaders(m, &f, &body)) << key;
    EXPECT_EQ(f, ref_fields) << key;
    const std::string text = MailBodyText(Info(), One(key));
    // One line per alert: the key cannot break it.
    size_t lines = 0;
    for (char c : text) lines += c == '\n';
    const std::string plain = MailBodyText(Info(), One("k"));
    EXPECT_EQ(lines, static_cast<size_t>(std::count(plain.begin(), plain.end(), '\n'))) << key;
    for (unsigned char c : text) EXPECT_TRUE(c >= 0x20 || c == '\n') << key;
  }
}

TEST(MailComposer, NonAsciiGatewayNameIsEncodedInTheSubject) {
  const std::string m = ComposeMail(Info("linha-2-fundi\xc3\xa7\xc3\xa3o"), One("sensor16"));
  std::vector<std::pair<std::string, std::string>> f;
  std::string body;
  ASSERT_TRUE(ParseHeaders(m, &f, &body)) << m;
  std::map<std::string, std::string> h(f.begin(), f.end());
  EXPECT_EQ(h["Subject"].rfind(" =?utf-8?B?", 0), 0u) << h["Subject"];
  // Message-ID keeps to ASCII.
  EXPECT_EQ(h["Message-ID"], " <1700000000000000.7.0000000000001234@sensorgate.linha-2-fundio>");
  // An encoded-word lookalike in an ASCII name is encoded too, never passed through.
  EXPECT_EQ(EncodeHeaderText("=?utf-8?B?QQ==?=").rfind("=?utf-8?B?", 0), 0u);
  EXPECT_NE(EncodeHeaderText("=?utf-8?B?QQ==?="), "=?utf-8?B?QQ==?=");
}

TEST(MailComposer, EncodedWordsSplitAtCharacterBoundaries) {
  const std::string text(100, 'a');
  const std::string long_name = "\xc3\xa7" + text;
  const std::string e = EncodeHeaderText(long_name);
  size_t pos = 0;
  while (pos < e.size()) {
    size_t eol = e.find("\r\n ", pos);
    if (eol == std::string::npos) eol = e.size();
    EXPECT_LE(eol - pos, 75u);
    pos = eol + 3;
  }
}

TEST(MailComposer, QuotedPrintableEncodesWhatMustBe) {
  EXPECT_EQ(QuotedPrintable("a=b\n"), "a=3Db\r\n");
  EXPECT_EQ(QuotedPrintable("trailing \n"), "trailing=20\r\n");
  EXPECT_EQ(QuotedPrintable("\xe2\x96\x81\n"), "=E2=96=81\r\n");
  const std::string qp = QuotedPrintable(std::string(200, 'x') + "\n");
  EXPECT_NE(qp.find("=\r\n"), std::string::npos);
}

TEST(MailComposer, SparklineScalesFromMinToMax) {
  EXPECT_EQ(Sparkline({}), "");
  EXPECT_EQ(Sparkline({5, 5}), "\u2584\u2584");
  EXPECT_EQ(Sparkline({0, 10}), "\u2581\u2588");
  std::vector<double> many(40, 1.0);
  // At most 16 blocks (3 bytes each).
  EXPECT_EQ(Sparkline(many).size(), 16u * 3);
}

TEST(MailComposer, SafeLineTextShowsControlsAndBadUtf8) {
  EXPECT_EQ(SafeLineText("a\r\nb"), "a\\x0D\\x0Ab");
  EXPECT_EQ(SafeLineText("\xff"), "\uFFFD");
  EXPECT_EQ(SafeLineText("\xc3\xa7"), "\xc3\xa7");
}

}  // namespace
}  // namespace sensorgate
