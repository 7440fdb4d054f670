// The [email] sink end to end: the real daemon following a file, a real SMTP
// server (Debian's aiosmtpd, STARTTLS and AUTH with a test CA's certificate)
// on 127.0.0.1, and the received mails read back with Python's email package
// (issue 11's acceptance).
#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/daemon_process.h"
#include "tests/integration/run_command.h"
#include "tests/integration/smtp_server.h"

namespace sensorgate {
namespace {

using testing_util::AwaitHttp;
using testing_util::AwaitMails;
using testing_util::DaemonProcess;
using testing_util::HttpGet;
using testing_util::MailFiles;
using testing_util::NowMs;
using testing_util::ParsedMail;
using testing_util::ReadFile;
using testing_util::RunCommand;
using testing_util::SmtpServer;
using testing_util::TempDir;
using testing_util::TestCertificates;

const std::vector<std::string> kHeaderNames = {"From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                               "Content-Type", "Content-Transfer-Encoding"};

std::string Record(const std::string& key_json, double value) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"sensor\":%s,\"data_evento\":\"2023-03-15T12:00:00.000000Z\","
                "\"padrao\":{\"leitura\":{\"temperatura\":%g}}}\n",
                key_json.c_str(), value);
  return buf;
}
std::string Rec(const std::string& key, double value) { return Record("\"" + key + "\"", value); }

void Append(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::app | std::ios::binary) << text;
}

ParsedMail Parse(const std::string& path) {
  ParsedMail m;
  const auto r = RunCommand({testing_util::kPython, testing_util::SmtpScript(), "--parse", path});
  m.json = r.out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (r.exit_code != 0 || parser.parse(r.out).get(doc)) return m;
  simdjson::dom::array headers, names;
  std::string_view body;
  if (doc["headers"].get(headers) || doc["raw_header_names"].get(names) || doc["body"].get(body)) return m;
  for (simdjson::dom::element h : headers) {
    simdjson::dom::array pair;
    std::string_view k, v;
    if (h.get(pair) || pair.at(0).get(k) || pair.at(1).get(v)) return m;
    m.headers[std::string(k)] = std::string(v);
  }
  for (simdjson::dom::element n : names) {
    std::string_view s;
    if (n.get(s)) return m;
    m.raw_header_names.emplace_back(s);
  }
  m.body = std::string(body);
  m.ok = true;
  return m;
}

// A metric's value from /metrics text, -1 when absent.
double Metric(const std::string& text, const std::string& sample) {
  const size_t at = text.find("\n" + sample + " ");
  if (at == std::string::npos) return -1;
  return std::atof(text.c_str() + at + sample.size() + 2);
}

struct MailSetup {
  TempDir dir;
  TestCertificates certs;
  std::string log, server_dir, password_file;
  int port = 0;
  MailSetup() {
    certs = testing_util::MakeCertificates(dir.path());
    log = dir.path() + "/in.log";
    server_dir = dir.path() + "/received";
    password_file = dir.path() + "/smtp.password";
    std::ofstream(password_file) << "s3cret\n";
    chmod(password_file.c_str(), 0600);
    Append(log, "");
    port = testing_util::PickPort();
  }
  // The server's usual options: STARTTLS required, AUTH u/s3cret.
  std::vector<std::string> ServerArgs() const {
    return {"--tls", certs.cert, certs.key, "--auth", "sensorgate:s3cret"};
  }
  std::string Ini(const std::string& email_extra = "", const std::string& ca = "") const {
    return "[gateway]\nname = line-2\nstate_dir = " + dir.path() + "/state\ncheckpoint_interval = 1s\n\n"
           "[file]\npath = " + log + "\nfrom = beginning\n\n"
           "[window]\nsize = 1\n\n[alert]\nabove = 75\nclear_below = 73\n\n"
           "[http]\nlisten = 127.0.0.1:0\n\n"
           "[email]\nurl = smtp://127.0.0.1:" + std::to_string(port) +
           "\nstarttls = required\nusername = sensorgate\npassword_file = " + password_file +
           "\nfrom = sensorgate@plant.example\nto = ops@plant.example, maint@plant.example\n"
           "ca_file = " + (ca.empty() ? certs.ca : ca) + "\n" +
           (email_extra.find("timeout") == std::string::npos ? "timeout = 5s\n" : "") + email_extra;
  }
  std::string WriteIni(const std::string& email_extra = "", const std::string& ca = "") const {
    return dir.Write("g.ini", Ini(email_extra, ca));
  }
  std::string Outbox() const { return dir.path() + "/state/outbox"; }
};

#define REQUIRE_SMTP_TOOLS(setup)                                                            \
  if (!testing_util::HaveAiosmtpd()) GTEST_SKIP() << "needs /usr/bin/python3 with aiosmtpd"; \
  ASSERT_TRUE((setup).certs.ok) << "openssl could not make the test certificates"

std::vector<std::string> ReceivedIds(const std::string& server_dir) {
  std::vector<std::string> ids;
  for (const std::string& line : testing_util::Lines(ReadFile(server_dir + "/received.log"))) {
    const size_t sp = line.find(' ');
    if (sp != std::string::npos) ids.push_back(line.substr(sp + 1));
  }
  return ids;
}

// --- 1 and 2: a followed file with hot equipment; grouping end to end -------

TEST(MailDelivery, HotEquipmentMakesOneGroupedMailListingExactlyThoseKeysThenTheResolution) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  SmtpServer server(s.server_dir, s.port, s.ServerArgs());
  ASSERT_TRUE(server.ready());
  DaemonProcess d(SENSORGATE_BIN, s.WriteIni("group_wait = 2s\ngroup_interval = 1s\n"));
  const int http = d.HttpPort(10000);
  ASSERT_GT(http, 0) << d.log();
  // Two equipments run hot a moment apart, one stays cool: one mail for both.
  Append(s.log, Rec("boiler-1", 80) + Rec("pump-7", 60));
  ASSERT_NE(d.WaitForLog("\"key\":\"boiler-1\"", 10000), std::string::npos) << d.log();
  Append(s.log, Rec("oven-3", 90.5));
  std::vector<std::string> mails = AwaitMails(s.server_dir, 1, 20000);
  ASSERT_EQ(mails.size(), 1u) << d.log();
  ParsedMail m = Parse(mails[0]);
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_EQ(m.raw_header_names, kHeaderNames);
  EXPECT_EQ(m.headers["Subject"], "[sensorgate line-2] 2 firing");
  EXPECT_EQ(m.headers["From"], "sensorgate@plant.example");
  EXPECT_EQ(m.headers["To"], "ops@plant.example, maint@plant.example");
  EXPECT_NE(m.body.find("* boiler-1  rule hot  FIRING  avg 80 > 75  count 1"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("* oven-3  rule hot  FIRING  avg 90.5 > 75"), std::string::npos) << m.body;
  EXPECT_EQ(m.body.find("pump-7"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("sensorgate line-2"), std::string::npos);
  EXPECT_NE(m.body.find("Dashboard: http://127.0.0.1:0/"), std::string::npos) << m.body;
  // boiler-1 cools down: after group_interval, a mail with the resolution
  // and the alert still firing.
  Append(s.log, Rec("boiler-1", 70));
  mails = AwaitMails(s.server_dir, 2, 20000);
  ASSERT_EQ(mails.size(), 2u) << d.log();
  m = Parse(mails[1]);
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_EQ(m.headers["Subject"], "[sensorgate line-2] 1 firing, 1 resolved");
  EXPECT_NE(m.body.find("* boiler-1  rule hot  resolved  avg 70 < 73"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("* oven-3  rule hot  FIRING"), std::string::npos) << m.body;
  EXPECT_NE(Parse(mails[0]).headers["Message-ID"], m.headers["Message-ID"]);
  const std::string metrics =
      AwaitHttp(http, "/metrics", [](const std::string& b) { return Metric(b, "sensorgate_mail_sent_total") == 2; });
  EXPECT_EQ(Metric(metrics, "sensorgate_mail_sent_total"), 2) << metrics;
  EXPECT_EQ(Metric(metrics, "sensorgate_mail_queued"), 0);
  EXPECT_NE(HttpGet(http, "/api/links").body.find("\"email\""), std::string::npos);
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(15000), 0) << d.log();
  EXPECT_TRUE(MailFiles(s.Outbox()).empty());
}

// --- 3: the server is down; restarts; a silent server ------------------------

// Waits until a checkpoint newer than `than` (mtime) is in the state folder.
bool AwaitCheckpointAfter(const std::string& state, const std::string& than, int timeout_ms) {
  struct stat ref;
  if (stat(than.c_str(), &ref) != 0) return false;
  const int64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    for (const std::string& line :
         testing_util::Lines(RunCommand({"/usr/bin/find", state, "-maxdepth", "1", "-type", "f", "-newer", than}).out)) {
      // The current generation only: not a temporary file still being written.
      const std::string name = "/checkpoint.json";
      if (line.size() >= name.size() && line.compare(line.size() - name.size(), name.size(), name) == 0) return true;
    }
    usleep(50000);  // polls for the file
  }
  return false;
}

TEST(MailOutage, MailsWaitInTheOutboxAcrossSigtermAndSigkillAndArriveExactlyOnce) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  const std::string ini = s.WriteIni("group_wait = 0s\ngroup_interval = 0s\n");
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    ASSERT_GT(d.HttpPort(10000), 0) << d.log();
    Append(s.log, Rec("a", 80));
    ASSERT_NE(d.WaitForLog("(connect)", 15000), std::string::npos) << d.log();
    EXPECT_EQ(MailFiles(s.Outbox()).size(), 1u);
    d.Signal(SIGTERM);
    EXPECT_EQ(d.Wait(15000), 0) << d.log();
    EXPECT_NE(d.log().find("mails left in"), std::string::npos) << d.log();
  }
  ASSERT_EQ(MailFiles(s.Outbox()).size(), 1u);
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    ASSERT_GT(d.HttpPort(10000), 0) << d.log();
    ASSERT_NE(d.WaitForLog("1 mails left in", 10000), std::string::npos) << d.log();
    Append(s.log, Rec("b", 81));
    const int64_t deadline = NowMs() + 10000;
    while (MailFiles(s.Outbox()).size() < 2 && NowMs() < deadline) usleep(20000);  // polls for the file
    const std::vector<std::string> files = MailFiles(s.Outbox());
    ASSERT_EQ(files.size(), 2u) << d.log();
    // The alert state is checkpointed after the mail was queued, so the
    // SIGKILL below does not make b fire (and mail) again.
    ASSERT_TRUE(AwaitCheckpointAfter(s.dir.path() + "/state", files.back(), 10000));
    d.Kill9();
  }
  ASSERT_EQ(MailFiles(s.Outbox()).size(), 2u);
  SmtpServer server(s.server_dir, s.port, s.ServerArgs());
  ASSERT_TRUE(server.ready());
  DaemonProcess d(SENSORGATE_BIN, ini);
  const int http = d.HttpPort(10000);
  ASSERT_GT(http, 0);
  ASSERT_EQ(AwaitMails(s.server_dir, 2, 30000).size(), 2u) << d.log();
  AwaitHttp(http, "/metrics", [](const std::string& b) { return Metric(b, "sensorgate_mail_queued") == 0; });
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(15000), 0) << d.log();
  const std::vector<std::string> ids = ReceivedIds(s.server_dir);
  EXPECT_EQ(ids.size(), 2u) << [&] {
    std::string all;
    for (const std::string& f : MailFiles(s.server_dir)) all += Parse(f).body + "\n----\n";
    return all + d.log();
  }();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 2u);
  EXPECT_TRUE(MailFiles(s.Outbox()).empty());
  std::set<std::string> keys;
  for (const std::string& f : MailFiles(s.server_dir)) {
    const ParsedMail m = Parse(f);
    if (m.body.find("* a ") != std::string::npos) keys.insert("a");
    if (m.body.find("* b ") != std::string::npos) keys.insert("b");
  }
  EXPECT_EQ(keys, (std::set<std::string>{"a", "b"}));
}

TEST(MailOutage, AnAlertWaitingForGroupWaitSurvivesASigkillAfterTheCheckpoint) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  SmtpServer server(s.server_dir, s.port, s.ServerArgs());
  ASSERT_TRUE(server.ready());
  const std::string ini = s.WriteIni("group_wait = 8s\n");
  {
    DaemonProcess d(SENSORGATE_BIN, ini);
    ASSERT_GT(d.HttpPort(10000), 0) << d.log();
    Append(s.log, Rec("a", 80));
    ASSERT_NE(d.WaitForLog("\"key\":\"a\"", 10000), std::string::npos) << d.log();
    // The checkpoint now says a is firing: its records are not read again.
    // (Not just any checkpoint newer than the record: the one written at
    // start can be, and it holds no key yet.)
    const std::string checkpoint = s.dir.path() + "/state/checkpoint.json";
    const int64_t deadline = NowMs() + 10000;
    while (ReadFile(checkpoint).find("{\"key\":\"a\"") == std::string::npos && NowMs() < deadline) {
      usleep(20000);  // polls for the file
    }
    ASSERT_NE(ReadFile(checkpoint).find("{\"key\":\"a\""), std::string::npos) << d.log();
    d.Kill9();
  }
  ASSERT_TRUE(MailFiles(s.server_dir).empty()) << "the mail left before the kill: group_wait too short here";
  DaemonProcess d(SENSORGATE_BIN, ini);
  ASSERT_GT(d.HttpPort(10000), 0) << d.log();
  ASSERT_NE(d.WaitForLog("1 alerts of an earlier run carried on", 10000), std::string::npos) << d.log();
  std::vector<std::string> mails = AwaitMails(s.server_dir, 1, 20000);
  ASSERT_EQ(mails.size(), 1u) << d.log();
  ParsedMail m = Parse(mails[0]);
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_EQ(m.headers["Subject"], "[sensorgate line-2] 1 firing");
  EXPECT_NE(m.body.find("* a  rule hot  FIRING  avg 80 > 75"), std::string::npos) << m.body;
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(15000), 0) << d.log();
  EXPECT_EQ(ReceivedIds(s.server_dir).size(), 1u);
}

TEST(MailOutage, AServerThatNeverAnswersDoesNotStallThePipeline) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  SmtpServer server(s.server_dir, s.port, {"--silent"});
  ASSERT_TRUE(server.ready());
  DaemonProcess d(SENSORGATE_BIN, s.WriteIni("group_wait = 0s\ntimeout = 3s\n"));
  const int http = d.HttpPort(10000);
  ASSERT_GT(http, 0) << d.log();
  Append(s.log, Rec("hot", 80));
  // While the attempt hangs, records keep being read and counted.
  const int64_t start = NowMs();
  for (int batch = 1; batch <= 5; ++batch) {
    std::string text;
    for (int i = 0; i < 200; ++i) text += Rec("k" + std::to_string(i), 20);
    Append(s.log, text);
    const double want = 1 + batch * 200;
    const std::string m = AwaitHttp(
        http, "/metrics", [&](const std::string& b) { return Metric(b, "sensorgate_records_read_total") >= want; },
        2000);
    EXPECT_GE(Metric(m, "sensorgate_records_read_total"), want);
  }
  EXPECT_LT(NowMs() - start, 2500) << "the pipeline waited for the mail server";
  ASSERT_NE(d.WaitForLog("(timeout)", 15000), std::string::npos) << d.log();
  EXPECT_EQ(MailFiles(s.Outbox()).size(), 1u);
  const std::string m = HttpGet(http, "/metrics").body;
  EXPECT_GE(Metric(m, "sensorgate_mail_failed_total{reason=\"timeout\"}"), 1) << m;
}

// --- 4: refusals ---------------------------------------------------------------

struct Refusal {
  const char* name;
  std::vector<std::string> server_args;  // beside --tls and the port
  bool wrong_password = false;
  bool unknown_ca = false;
  const char* reason;
};

void ExpectRefused(const Refusal& c, const std::string& extra = "") {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  std::vector<std::string> args = {"--tls", s.certs.cert, s.certs.key};
  args.insert(args.end(), c.server_args.begin(), c.server_args.end());
  SmtpServer server(s.server_dir, s.port, args);
  ASSERT_TRUE(server.ready());
  if (c.wrong_password) std::ofstream(s.password_file) << "wrong\n";
  DaemonProcess d(SENSORGATE_BIN, s.WriteIni("group_wait = 0s\n" + extra, c.unknown_ca ? s.certs.other_ca : ""));
  const int http = d.HttpPort(10000);
  ASSERT_GT(http, 0);
  Append(s.log, Rec("hot", 80));
  const std::string sample = "sensorgate_mail_failed_total{reason=\"" + std::string(c.reason) + "\"}";
  // Two failed attempts (the first retry after 2.5 to 5 s of backoff) ...
  const std::string m =
      AwaitHttp(http, "/metrics", [&](const std::string& b) { return Metric(b, sample) >= 2; }, 20000);
  EXPECT_GE(Metric(m, sample), 2) << c.name << "\n" << m << d.log();
  EXPECT_GE(Metric(m, "sensorgate_mail_retries_total"), 1) << c.name;
  // ... logged once, with the reason.
  const std::string log = d.log();
  const std::string needle = "(" + std::string(c.reason) + ")";
  size_t count = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++count;
  EXPECT_EQ(count, 1u) << c.name << "\n" << log;
  EXPECT_TRUE(MailFiles(s.server_dir).empty()) << c.name;
  // Not lost: still in the outbox.
  EXPECT_EQ(MailFiles(s.Outbox()).size(), 1u) << c.name;
  EXPECT_NE(HttpGet(http, "/api/links").body.find(c.reason), std::string::npos) << c.name;
}

TEST(MailRefusal, WrongPasswordIsLoggedOnceCountedAndKept) {
  ExpectRefused({"wrong password", {"--auth", "sensorgate:s3cret"}, true, false, "auth"});
}
TEST(MailRefusal, UnknownCertificateAuthorityIsLoggedOnceCountedAndKept) {
  ExpectRefused({"unknown CA", {"--auth", "sensorgate:s3cret"}, false, true, "tls"});
}
TEST(MailRefusal, StartTlsRequiredButNotOfferedIsLoggedOnceCountedAndKept) {
  ExpectRefused({"no STARTTLS", {"--no-starttls"}, false, false, "starttls"});
}
TEST(MailRefusal, RejectedRecipientIsLoggedOnceCountedAndKept) {
  ExpectRefused({"rejected recipient", {"--auth", "sensorgate:s3cret", "--reject-rcpt", "maint@plant.example"},
                 false, false, "recipient"});
}

TEST(MailRefusal, AnUndeliverableMailMovesToDeadAfterMaxAge) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  std::vector<std::string> args = s.ServerArgs();
  args.insert(args.end(), {"--reject-rcpt", "ops@plant.example"});
  SmtpServer server(s.server_dir, s.port, args);
  ASSERT_TRUE(server.ready());
  DaemonProcess d(SENSORGATE_BIN, s.WriteIni("group_wait = 0s\nmax_age = 2s\n"));
  const int http = d.HttpPort(10000);
  ASSERT_GT(http, 0);
  Append(s.log, Rec("hot", 80));
  const std::string m = AwaitHttp(
      http, "/metrics", [](const std::string& b) { return Metric(b, "sensorgate_mail_dead_total") == 1; }, 15000);
  EXPECT_EQ(Metric(m, "sensorgate_mail_dead_total"), 1) << m;
  EXPECT_EQ(Metric(m, "sensorgate_mail_queued"), 0);
  EXPECT_EQ(MailFiles(s.Outbox() + "/dead").size(), 1u);
  EXPECT_TRUE(MailFiles(s.Outbox()).empty());
  EXPECT_NE(d.log().find("undelivered after max_age"), std::string::npos) << d.log();
}

// --- transports and reload --------------------------------------------------

// Delivers one alert mail through `server_args` with the [email] `url_scheme`
// and extra keys; returns the parsed mail.
ParsedMail DeliverOne(MailSetup& s, const std::vector<std::string>& server_args, const std::string& scheme,
                      const std::string& extra) {
  SmtpServer server(s.server_dir, s.port, server_args);
  EXPECT_TRUE(server.ready());
  std::string ini = s.Ini("group_wait = 0s\n" + extra);
  ini.replace(ini.find("smtp://"), 7, scheme);
  DaemonProcess d(SENSORGATE_BIN, s.dir.Write("g.ini", ini));
  EXPECT_GT(d.HttpPort(10000), 0) << d.log();
  Append(s.log, Rec("hot", 80));
  const std::vector<std::string> mails = AwaitMails(s.server_dir, 1, 20000);
  EXPECT_EQ(mails.size(), 1u) << d.log();
  return mails.empty() ? ParsedMail() : Parse(mails[0]);
}

TEST(MailTransport, SmtpsWithAuth) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  const ParsedMail m = DeliverOne(s, {"--tls", s.certs.cert, s.certs.key, "--smtps", "--auth", "sensorgate:s3cret"},
                                  "smtps://", "");
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_EQ(m.headers.at("Subject"), "[sensorgate line-2] 1 firing");
}

TEST(MailTransport, StartTlsOffToAPlainServerWithoutAuth) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  std::string ini_extra = "starttls = off\n";
  const std::vector<std::string> args = {};
  // No username: no AUTH; the base [email] has one, so drop it.
  SmtpServer server(s.server_dir, s.port, args);
  ASSERT_TRUE(server.ready());
  std::string ini = s.Ini("group_wait = 0s\n");
  ini.replace(ini.find("starttls = required\nusername = sensorgate\npassword_file = " + s.password_file + "\n"),
              std::string("starttls = required\nusername = sensorgate\npassword_file = " + s.password_file + "\n").size(),
              ini_extra);
  DaemonProcess d(SENSORGATE_BIN, s.dir.Write("g.ini", ini));
  ASSERT_GT(d.HttpPort(10000), 0) << d.log();
  Append(s.log, Rec("hot", 80));
  ASSERT_EQ(AwaitMails(s.server_dir, 1, 20000).size(), 1u) << d.log();
}

TEST(MailTransport, AFixedPasswordFileIsUsedAfterSighup) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  SmtpServer server(s.server_dir, s.port, s.ServerArgs());
  ASSERT_TRUE(server.ready());
  std::ofstream(s.password_file) << "wrong\n";
  DaemonProcess d(SENSORGATE_BIN, s.WriteIni("group_wait = 0s\n"));
  ASSERT_GT(d.HttpPort(10000), 0) << d.log();
  Append(s.log, Rec("hot", 80));
  ASSERT_NE(d.WaitForLog("(auth)", 15000), std::string::npos) << d.log();
  std::ofstream(s.password_file) << "s3cret\n";
  d.Signal(SIGHUP);
  // The sink is rebuilt with the new password and sends the queued mail.
  ASSERT_EQ(AwaitMails(s.server_dir, 1, 20000).size(), 1u) << d.log();
  EXPECT_EQ(ReceivedIds(s.server_dir).size(), 1u);
}

// --- 5: hostile keys ----------------------------------------------------------

TEST(MailHostileKeys, KeysFromReadingsChangeNoHeader) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  SmtpServer server(s.server_dir, s.port, s.ServerArgs());
  ASSERT_TRUE(server.ready());
  DaemonProcess d(SENSORGATE_BIN, s.WriteIni("group_wait = 1s\n"));
  ASSERT_GT(d.HttpPort(10000), 0);
  const std::string long_key(128, 'k');
  // CR/LF keys are refused as readings (DESIGN 4); the others reach the mail.
  Append(s.log, Record("\"evil\\r\\nBcc: thief@evil.example\"", 99) + Rec("Bcc: thief@evil.example", 99) +
                    Rec("=?utf-8?B?QmNjOiB0aGllZkBldmlsLmV4YW1wbGU=?=", 99) + Rec("caldeira-fus\xc3\xa3o", 99) +
                    Rec(long_key, 99) + Rec("Subject: pwned", 99));
  const std::vector<std::string> mails = AwaitMails(s.server_dir, 1, 20000);
  ASSERT_EQ(mails.size(), 1u) << d.log();
  const ParsedMail m = Parse(mails[0]);
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_EQ(m.raw_header_names, kHeaderNames);
  EXPECT_EQ(m.headers.size(), kHeaderNames.size());
  EXPECT_EQ(m.headers.at("To"), "ops@plant.example, maint@plant.example");
  EXPECT_EQ(m.headers.at("Subject"), "[sensorgate line-2] 5 firing");
  EXPECT_EQ(m.headers.count("Bcc"), 0u);
  for (const std::string& key : {std::string("Bcc: thief@evil.example"),
                                 std::string("=?utf-8?B?QmNjOiB0aGllZkBldmlsLmV4YW1wbGU=?="),
                                 std::string("caldeira-fus\xc3\xa3o"), long_key, std::string("Subject: pwned")}) {
    EXPECT_NE(m.body.find("* " + key + "  rule hot"), std::string::npos) << key << "\n" << m.body;
  }
  EXPECT_EQ(m.body.find("evil\r"), std::string::npos);
  // The server saw exactly the two configured recipients.
  EXPECT_EQ(ReceivedIds(s.server_dir).size(), 1u);
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// A [rule.NAME]'s alert is mailed like the rule hot's, its line naming the
// aggregate the condition is about and how it compares.
TEST(MailRules, ANamedRulesAlertIsMailedWithItsAggregateAndCondition) {
  MailSetup s;
  REQUIRE_SMTP_TOOLS(s);
  SmtpServer server(s.server_dir, s.port, s.ServerArgs());
  ASSERT_TRUE(server.ready());
  const std::string rule =
      "\n[rule.peak]\nkey = sensor\nvalue = padrao.leitura.temperatura\nwindow = count 2\n"
      "aggregates = count, max\nalert = max > 100\nclear = max < 95\n";
  DaemonProcess d(SENSORGATE_BIN, s.dir.Write("g.ini", s.Ini("group_wait = 1s\ngroup_interval = 1s\n") + rule));
  ASSERT_GT(d.HttpPort(10000), 0) << d.log();
  Append(s.log, Rec("press-1", 70) + Rec("press-1", 120.5));  // hot: avg 120.5 > 75 (window size 1)
  std::vector<std::string> mails = AwaitMails(s.server_dir, 1, 20000);
  ASSERT_EQ(mails.size(), 1u) << d.log();
  ParsedMail m = Parse(mails[0]);
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_EQ(m.headers["Subject"], "[sensorgate line-2] 2 firing");
  EXPECT_NE(m.body.find("* press-1  rule peak  FIRING  max 120.5 > 100  count 2"), std::string::npos) << m.body;
  EXPECT_NE(m.body.find("* press-1  rule hot  FIRING  avg 120.5 > 75"), std::string::npos) << m.body;
  // Two cool readings push 120.5 out of the count window: max 60 < 95.
  Append(s.log, Rec("press-1", 60) + Rec("press-1", 60));
  mails = AwaitMails(s.server_dir, 2, 20000);
  ASSERT_EQ(mails.size(), 2u) << d.log();
  m = Parse(mails[1]);
  ASSERT_TRUE(m.ok) << m.json;
  EXPECT_NE(m.body.find("* press-1  rule peak  resolved  max 60 < 95  count 2"), std::string::npos) << m.body;
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(15000), 0) << d.log();
}

}  // namespace
}  // namespace sensorgate
