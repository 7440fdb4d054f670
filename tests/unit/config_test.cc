// Tests of the configuration loader (gateway/config.h): every class of error
// with its exact message, the defaults of the table, the value types, the
// rules between keys, and the agreement of systemd/sensorgate.ini.example with
// the table.
#include "gateway/config/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#ifndef SENSORGATE_SOURCE_DIR
#error "SENSORGATE_SOURCE_DIR must name the source tree (see tests/CMakeLists.txt)"
#endif

namespace sensorgate {
namespace {

using Errors = std::vector<std::string>;

ConfigResult Load(std::string_view text, ConfigMode mode = ConfigMode::kReplay) {
  return LoadConfigText(text, "sensorgate.ini", mode);
}

Errors ErrorsOf(std::string_view text, ConfigMode mode = ConfigMode::kReplay) {
  return Load(text, mode).errors;
}

// A valid [mqtt] section of three lines, for tests that need one.
const std::string kMqtt = "[mqtt]\nuri = tcp://broker:1883\ntopics = plant/+/temperature\n";
// A valid [kafka] section of three lines.
const std::string kKafka = "[kafka]\nbrokers = kafka-1:9092\ntopic = sensor-aggregates\n";
// A valid [email] section of four lines.
const std::string kEmail =
    "[email]\nurl = smtp://mail:25\nfrom = gw@plant.example\nto = ops@plant.example\n";

// A folder of its own under the test temp dir, removed at the end.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "config_test.XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : std::string();
  }
  ~TempDir() {
    for (const std::string& f : files_) unlink(f.c_str());
    if (!path_.empty()) rmdir(path_.c_str());
  }
  // Writes a file with the given mode (not subject to the umask); returns its path.
  std::string File(const std::string& name, mode_t mode) {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << "secret\n";
    chmod(p.c_str(), mode);
    files_.push_back(p);
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

// --- the shape of the file ---

TEST(Config, RejectsUnknownSectionListingTheSections) {
  EXPECT_EQ(ErrorsOf("[gatway]\nname = a\n"),
            Errors{"sensorgate.ini:1: [gatway]: unknown section; sections are: gateway, file, "
                   "mqtt, reading, window, alert, email, kafka, http, rule.NAME"});
}

TEST(Config, RejectsUnknownKeyNamingTheSectionsKeys) {
  EXPECT_EQ(ErrorsOf("[window]\nsizee = 5\n"),
            Errors{"sensorgate.ini:2: [window] sizee = 5: unknown key; [window] takes: size, max_keys"});
}

TEST(Config, KeysAreCaseSensitive) {
  EXPECT_EQ(ErrorsOf("[window]\nSize = 5\n"),
            Errors{"sensorgate.ini:2: [window] Size = 5: unknown key; [window] takes: size, max_keys"});
}

TEST(Config, RejectsKeyBeforeAnySection) {
  EXPECT_EQ(ErrorsOf("; comment\nsize = 5\n[window]\n"),
            Errors{"sensorgate.ini:2: size = 5: a key before any [section]"});
}

TEST(Config, RejectsLineThatIsNeitherKeyValueNorHeader) {
  EXPECT_EQ(ErrorsOf("[window]\nsize 60\n"),
            Errors{"sensorgate.ini:2: \"size 60\": not a \"key = value\" line or a [section] header"});
}

TEST(Config, RejectsMalformedSectionHeader) {
  EXPECT_EQ(ErrorsOf("[window\nsize = 5\n"),
            (Errors{"sensorgate.ini:1: \"[window\": a section header is [name], alone on its line",
                    "sensorgate.ini:2: size = 5: a key before any [section]"}));
  EXPECT_EQ(ErrorsOf("[window] size = 5\n"),
            Errors{"sensorgate.ini:1: \"[window] size = 5\": a section header is [name], alone on "
                   "its line"});
}

TEST(Config, RejectsLineLongerThan198Characters) {
  const std::string fits = "; " + std::string(196, 'x') + "\n";  // 198 characters
  const std::string too_long = "; " + std::string(197, 'x') + "\n";
  EXPECT_TRUE(Load("[window]\n" + fits + "size = 5\n").ok());
  EXPECT_EQ(ErrorsOf("[window]\n" + too_long + "size = 5\n"),
            Errors{"sensorgate.ini:2: line is longer than 198 characters"});
  // The line after a long one is still read, with its own number.
  EXPECT_EQ(ErrorsOf("[window]\n" + too_long + "size = 0\n"),
            (Errors{"sensorgate.ini:2: line is longer than 198 characters",
                    "sensorgate.ini:3: [window] size = 0: must be an integer from 1 to 100000"}));
}

TEST(Config, RejectsDuplicateKeyKeepingTheFirst) {
  const ConfigResult r = Load("[window]\nsize = 10\n\n[window]\nsize = 20\n");
  EXPECT_EQ(r.errors, Errors{"sensorgate.ini:5: [window] size = 20: given twice (first at line 2)"});
  EXPECT_EQ(r.config.window.size, 10u);
}

TEST(Config, RejectsNulByte) {
  EXPECT_EQ(ErrorsOf(std::string_view("[window]\nsize = 5\0\n", 19)),
            Errors{"sensorgate.ini: holds a NUL byte: not a text file"});
}

TEST(Config, ReportsAFileThatCannotBeOpened) {
  TempDir dir;
  const std::string path = dir.path() + "/absent.ini";
  EXPECT_EQ(LoadConfigFile(path, ConfigMode::kReplay).errors,
            Errors{path + ": cannot open: No such file or directory"});
}

// --- value types ---

TEST(Config, RejectsIntegerOutOfRangeOrNotAnInteger) {
  const std::string allowed = ": must be an integer from 1 to 100000";
  for (const std::string v : {"0", "100001", "-1", "1.5", "1e3", "sixty", "60 readings", "+5"}) {
    EXPECT_EQ(ErrorsOf("[window]\nsize = " + v + "\n"),
              Errors{"sensorgate.ini:2: [window] size = " + v + allowed})
        << v;
  }
  EXPECT_EQ(ErrorsOf("[window]\nsize = 0\n"),
            Errors{"sensorgate.ini:2: [window] size = 0: must be an integer from 1 to 100000"});
  EXPECT_EQ(ErrorsOf("[window]\nmax_keys = 1000001\n"),
            Errors{"sensorgate.ini:2: [window] max_keys = 1000001: must be an integer from 1 to 1000000"});
  EXPECT_EQ(ErrorsOf(kMqtt + "qos = 2\n"),
            Errors{"sensorgate.ini:4: [mqtt] qos = 2: must be an integer from 0 to 1"});
}

TEST(Config, AcceptsIntegersAtTheEndsOfTheirRange) {
  EXPECT_EQ(Load("[window]\nsize = 1\n").config.window.size, 1u);
  EXPECT_EQ(Load("[window]\nsize = 100000\n").config.window.size, 100000u);
}

TEST(Config, RejectsNumberOutOfRangeOrNotANumber) {
  for (const std::string v : {"hot", "2000000", "-1000001", "75C", "inf", "nan", "0x4B"}) {
    EXPECT_EQ(ErrorsOf("[alert]\nabove = " + v + "\n"),
              Errors{"sensorgate.ini:2: [alert] above = " + v +
                     ": must be a number from -1000000 to 1000000"})
        << v;
  }
  EXPECT_EQ(ErrorsOf("[reading]\nmin = -inf\n"),
            Errors{"sensorgate.ini:2: [reading] min = -inf: must be a finite number"});
  EXPECT_EQ(ErrorsOf("[reading]\nmax = 1e400\n"),
            Errors{"sensorgate.ini:2: [reading] max = 1e400: must be a finite number"});
}

TEST(Config, AcceptsNumbersWithFractionsAndExponents) {
  const Config c = Load("[reading]\nmin = -40.5\nmax = 1.25e3\n[alert]\nabove = 75.5\n").config;
  EXPECT_EQ(c.reading.min, -40.5);
  EXPECT_EQ(c.reading.max, 1250.0);
  EXPECT_EQ(c.alert.above, 75.5);
}

TEST(Config, RejectsDurationWithoutUnit) {
  EXPECT_EQ(ErrorsOf("[gateway]\ncheckpoint_interval = 10\n"),
            Errors{"sensorgate.ini:2: [gateway] checkpoint_interval = 10: must be a duration with a "
                   "unit (ms, s, m, h, d) from 1s to 1h"});
}

TEST(Config, RejectsDurationWithUnknownUnit) {
  for (const std::string v : {"10sec", "10 s", "1w", "s", "1.5s", "-5s"}) {
    EXPECT_EQ(ErrorsOf("[gateway]\ncheckpoint_interval = " + v + "\n"),
              Errors{"sensorgate.ini:2: [gateway] checkpoint_interval = " + v +
                     ": must be a duration with a unit (ms, s, m, h, d) from 1s to 1h"})
        << v;
  }
}

TEST(Config, RejectsDurationOutOfRange) {
  EXPECT_EQ(ErrorsOf("[gateway]\ncheckpoint_interval = 500ms\n"),
            Errors{"sensorgate.ini:2: [gateway] checkpoint_interval = 500ms: must be a duration with "
                   "a unit (ms, s, m, h, d) from 1s to 1h"});
  EXPECT_EQ(ErrorsOf("[alert]\nabove = 75\nfor = 8d\n"),
            Errors{"sensorgate.ini:3: [alert] for = 8d: must be a duration with a unit (ms, s, m, h, "
                   "d) from 0s to 7d"});
  EXPECT_EQ(ErrorsOf(kKafka + "interval = 50ms\n"),
            Errors{"sensorgate.ini:4: [kafka] interval = 50ms: must be a duration with a unit (ms, s, "
                   "m, h, d) from 100ms to 1h"});
  EXPECT_EQ(ErrorsOf("[alert]\nabove = 75\nstale_after = 0s\n"),
            Errors{"sensorgate.ini:3: [alert] stale_after = 0s: must be a duration with a unit (ms, "
                   "s, m, h, d) from 1s to 30d, or off"});
}

TEST(Config, AcceptsEveryDurationUnit) {
  const std::pair<const char*, int64_t> cases[] = {
      {"500ms", 500000},           {"30s", 30000000},           {"5m", 300000000},
      {"2h", 7200000000},          {"1d", 86400000000},         {"0s", 0},
  };
  for (const auto& [text, micros] : cases) {
    const ConfigResult r = Load(std::string("[alert]\nabove = 75\nfor = ") + text + "\n");
    EXPECT_TRUE(r.ok()) << text;
    EXPECT_EQ(r.config.alert.for_us, micros) << text;
  }
}

TEST(Config, RejectsSizeWithoutUnitOrWithUnknownUnit) {
  for (const std::string v : {"64", "64MB", "64 MiB", "64mib", "MiB", "-1MiB"}) {
    EXPECT_EQ(ErrorsOf(kKafka + "spool_max = " + v + "\n"),
              Errors{"sensorgate.ini:4: [kafka] spool_max = " + v +
                     ": must be a size with a unit (KiB, MiB, GiB) from 1MiB to 1024GiB"})
        << v;
  }
}

TEST(Config, RejectsSizeOutOfRange) {
  for (const std::string v : {"512KiB", "1025GiB", "99999999999GiB"}) {
    EXPECT_EQ(ErrorsOf(kKafka + "spool_max = " + v + "\n"),
              Errors{"sensorgate.ini:4: [kafka] spool_max = " + v +
                     ": must be a size with a unit (KiB, MiB, GiB) from 1MiB to 1024GiB"})
        << v;
  }
}

TEST(Config, AcceptsEverySizeUnit) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"1024KiB", 1ULL << 20}, {"64MiB", 64ULL << 20}, {"2GiB", 2ULL << 30}, {"1024GiB", 1ULL << 40}};
  for (const auto& [text, bytes] : cases) {
    const ConfigResult r = Load(kKafka + "spool_max = " + text + "\n");
    EXPECT_TRUE(r.ok()) << text;
    EXPECT_EQ(r.config.kafka.spool_max_bytes, bytes) << text;
  }
}

TEST(Config, RejectsBoolOtherThanTrueOrFalse) {
  for (const std::string v : {"yes", "1", "True", "on"}) {
    EXPECT_EQ(ErrorsOf(kMqtt + "clean_session = " + v + "\n"),
              Errors{"sensorgate.ini:4: [mqtt] clean_session = " + v + ": must be true or false"})
        << v;
  }
  EXPECT_TRUE(Load(kMqtt + "clean_session = true\n").config.mqtt.clean_session);
}

TEST(Config, RejectsEnumValueNotAmongTheChoices) {
  EXPECT_EQ(ErrorsOf("[gateway]\nlog_level = verbose\n"),
            Errors{"sensorgate.ini:2: [gateway] log_level = verbose: must be one of: error, warning, "
                   "info, debug"});
  EXPECT_EQ(ErrorsOf(kEmail + "starttls = yes\n"),
            Errors{"sensorgate.ini:5: [email] starttls = yes: must be one of: required, try, off"});
  EXPECT_EQ(Load("[gateway]\nlog_level = debug\n").config.gateway.log_level, LogLevel::kDebug);
}

TEST(Config, RejectsListWithAnEmptyItem) {
  EXPECT_EQ(ErrorsOf("[email]\nurl = smtp://mail:25\nfrom = gw@plant.example\n"
                     "to = ops@plant.example,,maint@plant.example\n"),
            Errors{"sensorgate.ini:4: [email] to = ops@plant.example,,maint@plant.example: must be a "
                   "comma-separated list of 1 to 100 mail addresses"});
  EXPECT_EQ(ErrorsOf("[file]\npath = /var/log/a/*.log,\n"),
            Errors{"sensorgate.ini:2: [file] path = /var/log/a/*.log,: must be a comma-separated list "
                   "of 1 to 64 globs"});
  EXPECT_EQ(ErrorsOf("[file]\npath =\n"),
            Errors{"sensorgate.ini:2: [file] path = : must be a comma-separated list of 1 to 64 globs"});
}

TEST(Config, SplitsListsAtCommasTrimmingBlanks) {
  const ConfigResult r = Load("[file]\npath = /a/*.log ,/b/*.csv,  /c/x.log\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.file.paths, (std::vector<std::string>{"/a/*.log", "/b/*.csv", "/c/x.log"}));
}

TEST(Config, RejectsMqttUriWithoutSchemeHostOrPort) {
  for (const std::string v : {"mqtt://broker:1883", "tcp://broker", "broker:1883", "tcp://:1883",
                              "tcp://broker:0", "tcp://broker:65536", "ssl://bro ker:8883"}) {
    EXPECT_EQ(ErrorsOf("[mqtt]\nuri = " + v + "\ntopics = a/b\n"),
              Errors{"sensorgate.ini:2: [mqtt] uri = " + v +
                     ": must be tcp://HOST:PORT or ssl://HOST:PORT"})
        << v;
  }
  EXPECT_TRUE(Load("[mqtt]\nuri = ssl://[::1]:8883\ntopics = a/b\n").ok());
}

TEST(Config, RejectsTopicFilterWithMisplacedWildcard) {
  for (const std::string v : {"plant/#/temperature", "plant/a+/t", "plant/+/t,", "plant/x#"}) {
    EXPECT_EQ(ErrorsOf("[mqtt]\nuri = tcp://broker:1883\ntopics = " + v + "\n"),
              Errors{"sensorgate.ini:3: [mqtt] topics = " + v +
                     ": must be a comma-separated list of 1 to 64 MQTT topic filters ('+' and '#' "
                     "only as whole levels, '#' last)"})
        << v;
  }
  const ConfigResult r = Load("[mqtt]\nuri = tcp://broker:1883\ntopics = plant/+/temperature, #\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.mqtt.topics, (std::vector<std::string>{"plant/+/temperature", "#"}));
}

TEST(Config, RejectsBadMailAddress) {
  for (const std::string v : {"sensorgate", "@plant.example", "gw@", "a@b@c", "Gw <gw@plant.example>"}) {
    EXPECT_EQ(ErrorsOf("[email]\nurl = smtp://mail:25\nfrom = " + v + "\nto = ops@plant.example\n"),
              Errors{"sensorgate.ini:3: [email] from = " + v +
                     ": must be one mail address such as sensorgate@plant.example"})
        << v;
  }
  EXPECT_EQ(ErrorsOf("[email]\nurl = smtp://mail:25\nfrom = gw@plant.example\nto = ops, maint@plant.example\n"),
            Errors{"sensorgate.ini:4: [email] to = ops, maint@plant.example: must be a comma-separated "
                   "list of 1 to 100 mail addresses"});
}

TEST(Config, RejectsBadSmtpUrl) {
  EXPECT_EQ(ErrorsOf("[email]\nurl = https://mail\nfrom = gw@plant.example\nto = ops@plant.example\n"),
            Errors{"sensorgate.ini:2: [email] url = https://mail: must be smtp://HOST[:PORT] or "
                   "smtps://HOST[:PORT]"});
}

TEST(Config, RejectsBrokerWithoutPort) {
  EXPECT_EQ(ErrorsOf("[kafka]\nbrokers = kafka-1:9092, kafka-2\ntopic = t\n"),
            Errors{"sensorgate.ini:2: [kafka] brokers = kafka-1:9092, kafka-2: must be a "
                   "comma-separated list of 1 to 64 HOST:PORT addresses"});
}

TEST(Config, RejectsBadKafkaTopicName) {
  EXPECT_EQ(ErrorsOf("[kafka]\nbrokers = kafka-1:9092\ntopic = sensor aggregates\n"),
            Errors{"sensorgate.ini:3: [kafka] topic = sensor aggregates: must be a Kafka topic name: 1 "
                   "to 249 letters, digits, '.', '_' or '-'"});
  EXPECT_EQ(ErrorsOf(kKafka + "alerts_topic = ..\n"),
            Errors{"sensorgate.ini:4: [kafka] alerts_topic = ..: must be empty or a Kafka topic name: "
                   "1 to 249 letters, digits, '.', '_' or '-'"});
}

TEST(Config, RejectsListenAddressWithoutHostOrPort) {
  for (const std::string v : {"9108", ":9108", "localhost", "127.0.0.1:99999", "::1:9108"}) {
    EXPECT_EQ(ErrorsOf("[http]\nlisten = " + v + "\n"),
              Errors{"sensorgate.ini:2: [http] listen = " + v + ": must be HOST:PORT, e.g. 127.0.0.1:9108"})
        << v;
  }
  for (const std::string v : {"0.0.0.0:9108", "[::1]:9108", "localhost:0"}) {
    const ConfigResult r = Load("[http]\nlisten = " + v + "\n");
    EXPECT_TRUE(r.ok()) << v;
    EXPECT_EQ(r.config.http.listen, v);
  }
}

TEST(Config, RejectsGatewayNameWithBlanks) {
  EXPECT_EQ(ErrorsOf("[gateway]\nname = line 2\n"),
            Errors{"sensorgate.ini:2: [gateway] name = line 2: must be 1 to 64 letters, digits, '.', "
                   "'_' or '-'"});
}

TEST(Config, RejectsBadReadingKey) {
  EXPECT_EQ(ErrorsOf(kMqtt + "[reading]\nkey = @topic.64\n"),
            Errors{"sensorgate.ini:5: [reading] key = @topic.64: must be a dotted path (a.b.c), a CSV "
                   "column, or @topic.N with N from 0 to 63"});
  EXPECT_EQ(ErrorsOf("[reading]\nvalue = a..b\n"),
            Errors{"sensorgate.ini:2: [reading] value = a..b: must be a dotted path (a.b.c) or a CSV "
                   "column"});
}

TEST(Config, RejectsRdkafkaPrefixWithoutProperty) {
  EXPECT_EQ(ErrorsOf(kKafka + "rdkafka. = x\n"),
            Errors{"sensorgate.ini:4: [kafka] rdkafka. = x: name a librdkafka property after rdkafka."});
}

// --- required keys and rules between keys ---

TEST(Config, RejectsMissingRequiredKeyAtTheSectionHeader) {
  EXPECT_EQ(ErrorsOf("[window]\nsize = 60\n[mqtt]\ntopics = a/b\n"),
            Errors{"sensorgate.ini:3: [mqtt] uri: required when [mqtt] is present; it must be "
                   "tcp://HOST:PORT or ssl://HOST:PORT"});
  EXPECT_EQ(ErrorsOf("[alert]\nfor = 30s\n"),
            Errors{"sensorgate.ini:1: [alert] above: required when [alert] is present; it must be a "
                   "number from -1000000 to 1000000"});
  EXPECT_EQ(ErrorsOf("[kafka]\n"),
            (Errors{"sensorgate.ini:1: [kafka] brokers: required when [kafka] is present; it must be "
                    "a comma-separated list of 1 to 64 HOST:PORT addresses",
                    "sensorgate.ini:1: [kafka] topic: required when [kafka] is present; it must be a "
                    "Kafka topic name: 1 to 249 letters, digits, '.', '_' or '-'"}));
}

TEST(Config, RejectsClearBelowGreaterThanAbove) {
  EXPECT_EQ(ErrorsOf("[alert]\nabove = 75\nclear_below = 80\n"),
            Errors{"sensorgate.ini:3: [alert] clear_below = 80: must not be greater than above (75)"});
  EXPECT_EQ(ErrorsOf("[alert]\nclear_below = 80\nabove = 75.5\n"),
            Errors{"sensorgate.ini:2: [alert] clear_below = 80: must not be greater than above (75.5)"});
}

TEST(Config, ClearBelowDefaultsToAbove) {
  const ConfigResult r = Load("[alert]\nabove = 75\n");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.config.alert.enabled);
  EXPECT_EQ(r.config.alert.clear_below, 75.0);
  EXPECT_EQ(Load("[alert]\nabove = 75\nclear_below = 73\n").config.alert.clear_below, 73.0);
  EXPECT_EQ(Load("[alert]\nabove = 75\nclear_below = 75\n").errors, Errors{});
}

TEST(Config, RejectsMinSamplesGreaterThanWindowSize) {
  EXPECT_EQ(ErrorsOf("[window]\nsize = 5\n[alert]\nabove = 75\nmin_samples = 10\n"),
            Errors{"sensorgate.ini:5: [alert] min_samples = 10: must be at most [window] size (5)"});
  EXPECT_TRUE(Load("[window]\nsize = 10\n[alert]\nabove = 75\nmin_samples = 10\n").ok());
}

TEST(Config, RejectsMinNotBelowMax) {
  EXPECT_EQ(ErrorsOf("[reading]\nmin = 10\nmax = 10\n"),
            Errors{"sensorgate.ini:3: [reading] max = 10: must be greater than min (10)"});
  EXPECT_EQ(ErrorsOf("[reading]\nmax = -5\nmin = 0.5\n"),
            Errors{"sensorgate.ini:2: [reading] max = -5: must be greater than min (0.5)"});
}

TEST(Config, ReportsMinAboveDefaultMaxAtMin) {
  EXPECT_EQ(ErrorsOf("[reading]\nmin = 2000000\n"),
            Errors{"sensorgate.ini:2: [reading] min = 2000000: must be less than max (1000000)"});
}

TEST(Config, RejectsNumberPayloadWithoutTopicKey) {
  EXPECT_EQ(ErrorsOf(kMqtt + "payload = number\n"),
            Errors{"sensorgate.ini:4: [mqtt] payload = number: needs [reading] key = @topic.N (a bare "
                   "number carries no key)"});
  const ConfigResult r = Load(kMqtt + "payload = number\n[reading]\nkey = @topic.1\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.mqtt.payload, PayloadFormat::kNumber);
  EXPECT_EQ(r.config.reading.key, "@topic.1");
}

TEST(Config, RejectsTopicKeyWithoutMqtt) {
  EXPECT_EQ(ErrorsOf("[reading]\nkey = @topic.1\n"),
            Errors{"sensorgate.ini:2: [reading] key = @topic.1: @topic keys need an [mqtt] section"});
}

TEST(Config, RejectsCertFileWithoutKeyFileAndTheOtherWayRound) {
  TempDir dir;
  const std::string cert = dir.File("client.crt", 0644);
  const std::string key = dir.File("client.key", 0600);
  EXPECT_EQ(ErrorsOf(kMqtt + "cert_file = " + cert + "\n"),
            Errors{"sensorgate.ini:4: [mqtt] cert_file = " + cert +
                   ": needs key_file as well (mutual TLS takes both cert_file and key_file, or neither)"});
  EXPECT_EQ(ErrorsOf(kMqtt + "key_file = " + key + "\n"),
            Errors{"sensorgate.ini:4: [mqtt] key_file = " + key +
                   ": needs cert_file as well (mutual TLS takes both cert_file and key_file, or neither)"});
  const ConfigResult r = Load(kMqtt + "cert_file = " + cert + "\nkey_file = " + key + "\n");
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.config.mqtt.cert_file, cert);
  EXPECT_EQ(r.config.mqtt.key_file, key);
}

TEST(Config, NeedsASourceInDaemonModeButNotInReplayMode) {
  const std::string text = "[gateway]\nstate_dir = /var/lib/sensorgate\n";
  EXPECT_EQ(ErrorsOf(text, ConfigMode::kDaemon),
            Errors{"sensorgate.ini: at least one of [file] and [mqtt] is needed (except with --replay)"});
  EXPECT_EQ(ErrorsOf(text, ConfigMode::kReplay), Errors{});
  EXPECT_TRUE(Load(text + "[file]\npath = /var/log/sensors/*.log\n", ConfigMode::kDaemon).ok());
  EXPECT_TRUE(Load(text + kMqtt, ConfigMode::kDaemon).ok());
}

TEST(Config, NeedsStateDirInDaemonModeButNotInReplayMode) {
  const std::string source = "[file]\npath = /var/log/sensors/*.log\n";
  EXPECT_EQ(ErrorsOf(source, ConfigMode::kDaemon),
            Errors{"sensorgate.ini: [gateway] state_dir: required (offsets, checkpoint, spool and "
                   "outbox live there), except with --replay"});
  EXPECT_EQ(ErrorsOf("[gateway]\nname = gw\n" + source, ConfigMode::kDaemon),
            Errors{"sensorgate.ini:1: [gateway] state_dir: required (offsets, checkpoint, spool and "
                   "outbox live there), except with --replay"});
  EXPECT_EQ(ErrorsOf(source, ConfigMode::kReplay), Errors{});
}

// --- secret files ---

TEST(Config, RefusesSecretFileReadableByOthersNamingItsMode) {
  TempDir dir;
  const std::string pw = dir.File("mqtt.pw", 0644);
  EXPECT_EQ(ErrorsOf(kMqtt + "password_file = " + pw + "\n"),
            Errors{"sensorgate.ini:4: [mqtt] password_file = " + pw +
                   ": readable by others (mode 0644): must be a file readable by the gateway and by no "
                   "one else (chmod 600)"});
  const std::string writable = dir.File("smtp.pw", 0602);
  EXPECT_EQ(ErrorsOf(kEmail + "password_file = " + writable + "\n"),
            Errors{"sensorgate.ini:5: [email] password_file = " + writable +
                   ": writable by others (mode 0602): must be a file readable by the gateway and by no "
                   "one else (chmod 600)"});
}

TEST(Config, AcceptsSecretFileReadableByOwnerOrGroupOnly) {
  TempDir dir;
  const std::string pw = dir.File("mqtt.pw", 0600);
  const std::string group = dir.File("smtp.pw", 0640);
  const ConfigResult r =
      Load(kMqtt + "password_file = " + pw + "\n" + kEmail + "password_file = " + group + "\n");
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.config.mqtt.password_file, pw);
  EXPECT_EQ(r.config.email.password_file, group);
}

TEST(Config, RefusesMissingSecretFile) {
  TempDir dir;
  const std::string pw = dir.path() + "/absent.pw";
  EXPECT_EQ(ErrorsOf(kMqtt + "password_file = " + pw + "\n"),
            Errors{"sensorgate.ini:4: [mqtt] password_file = " + pw +
                   ": cannot read: No such file or directory"});
}

TEST(Config, RefusesMissingCaFileAndFolderAsCaFile) {
  TempDir dir;
  const std::string ca = dir.path() + "/absent.pem";
  EXPECT_EQ(ErrorsOf(kEmail + "ca_file = " + ca + "\n"),
            Errors{"sensorgate.ini:5: [email] ca_file = " + ca +
                   ": cannot read: No such file or directory"});
  EXPECT_EQ(ErrorsOf(kMqtt + "ca_file = " + dir.path() + "\n"),
            Errors{"sensorgate.ini:4: [mqtt] ca_file = " + dir.path() + ": not a regular file"});
}

// --- defaults and reading the file ---

TEST(Config, DefaultsAreTheTables) {
  const Config c = DefaultConfig();
  EXPECT_FALSE(c.gateway.name.empty());  // the host name
  EXPECT_EQ(c.gateway.state_dir, "");
  EXPECT_EQ(c.gateway.checkpoint_interval_us, 10000000);
  EXPECT_EQ(c.gateway.log_level, LogLevel::kInfo);
  EXPECT_FALSE(c.file.enabled);
  EXPECT_EQ(c.file.format, RecordFormat::kJson);
  EXPECT_FALSE(c.file.from_beginning);
  EXPECT_FALSE(c.mqtt.enabled);
  EXPECT_EQ(c.mqtt.qos, 1);
  EXPECT_EQ(c.mqtt.client_id, "sensorgate-" + c.gateway.name);
  EXPECT_FALSE(c.mqtt.clean_session);
  EXPECT_EQ(c.mqtt.payload, PayloadFormat::kJson);
  EXPECT_EQ(c.mqtt.password_file, "");
  EXPECT_EQ(c.reading.key, "sensor");
  EXPECT_EQ(c.reading.value, "padrao.leitura.temperatura");
  EXPECT_EQ(c.reading.time, "data_evento");
  EXPECT_EQ(c.reading.min, -1e6);
  EXPECT_EQ(c.reading.max, 1e6);
  EXPECT_EQ(c.window.size, 60u);
  EXPECT_EQ(c.window.max_keys, 10000u);
  EXPECT_FALSE(c.alert.enabled);
  EXPECT_EQ(c.alert.for_us, 0);
  EXPECT_EQ(c.alert.min_samples, 1u);
  EXPECT_EQ(c.alert.stale_after_us, 0);
  EXPECT_FALSE(c.email.enabled);
  EXPECT_EQ(c.email.starttls, StartTls::kRequired);
  EXPECT_EQ(c.email.group_wait_us, 10000000);
  EXPECT_EQ(c.email.repeat_us, 4 * 3600 * int64_t{1000000});
  EXPECT_TRUE(c.email.send_resolved);
  EXPECT_EQ(c.email.max_per_hour, 20u);
  EXPECT_EQ(c.email.timeout_us, 30000000);
  EXPECT_FALSE(c.kafka.enabled);
  EXPECT_EQ(c.kafka.alerts_topic, "");
  EXPECT_EQ(c.kafka.interval_us, 10000000);
  EXPECT_EQ(c.kafka.spool_max_bytes, 64u << 20);
  EXPECT_TRUE(c.kafka.rdkafka.empty());
  EXPECT_FALSE(c.http.enabled);
  EXPECT_EQ(c.http.listen, "127.0.0.1:9108");
  EXPECT_EQ(c.http.listen_addr.host, "127.0.0.1");
  EXPECT_EQ(c.http.listen_addr.port, 9108);
  EXPECT_EQ(c.gateway.memory_max_bytes, 64u << 20);
  EXPECT_TRUE(c.hot_rule);
  EXPECT_TRUE(c.rules.empty());
}

TEST(Config, ParsesListenIntoHostAndPort) {
  const Config c = Load("[http]\nlisten = [::1]:0\n").config;
  EXPECT_EQ(c.http.listen, "[::1]:0");
  EXPECT_EQ(c.http.listen_addr.host, "::1");
  EXPECT_EQ(c.http.listen_addr.port, 0);
  const Config d = Load("[http]\nlisten = localhost:65535\n").config;
  EXPECT_EQ(d.http.listen_addr.host, "localhost");
  EXPECT_EQ(d.http.listen_addr.port, 65535);
}

TEST(Config, EveryDefaultTextOfTheTableIsValid) {
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    if (k.default_text.empty() || k.key == "rdkafka.*") continue;
    std::string text = "[" + std::string(k.section) + "]\n";
    if (k.section == "rule.NAME") text = "[rule.x]\nwindow = count 10\n";
    if (k.section == "mqtt") text = kMqtt;
    if (k.section == "email") text = kEmail;
    if (k.section == "kafka") text = kKafka;
    if (k.section == "file") text += "path = /var/log/sensors/*.log\n";
    if (k.section == "alert" && k.key != "above") text += "above = 75\n";
    text += std::string(k.key) + " = " + std::string(k.default_text) + "\n";
    EXPECT_EQ(ErrorsOf(text), Errors{}) << text;
  }
}

TEST(Config, ClientIdDefaultsToSensorgateDashName) {
  EXPECT_EQ(Load(kMqtt + "[gateway]\nname = line-2\n").config.mqtt.client_id, "sensorgate-line-2");
  EXPECT_EQ(Load(kMqtt + "client_id = gw7\n").config.mqtt.client_id, "gw7");
}

TEST(Config, StaleAfterOffMeansNoStaleAlerts) {
  EXPECT_EQ(Load("[alert]\nabove = 75\nstale_after = off\n").config.alert.stale_after_us, 0);
  EXPECT_EQ(Load("[alert]\nabove = 75\nstale_after = 5m\n").config.alert.stale_after_us, 300000000);
}

TEST(Config, EmptyTimeMeansArrivalTime) {
  const ConfigResult r = Load("[reading]\ntime =\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.reading.time, "");
}

TEST(Config, PassesRdkafkaPropertiesThroughInOrderWithPrefixStripped) {
  const ConfigResult r = Load(kKafka +
                              "rdkafka.security.protocol = SASL_SSL\n"
                              "rdkafka.sasl.mechanisms = PLAIN\n"
                              "rdkafka.linger.ms = 5\n");
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.config.kafka.rdkafka,
            (std::vector<std::pair<std::string, std::string>>{
                {"security.protocol", "SASL_SSL"}, {"sasl.mechanisms", "PLAIN"}, {"linger.ms", "5"}}));
}

TEST(Config, RdkafkaPropertiesAreOnlyTakenInKafkaSection) {
  EXPECT_EQ(ErrorsOf("[http]\nrdkafka.linger.ms = 5\n"),
            Errors{"sensorgate.ini:2: [http] rdkafka.linger.ms = 5: unknown key; [http] takes: listen"});
}

TEST(Config, AcceptsIndentedLinesAndCrlfLineEndings) {
  const ConfigResult r =
      Load("[window]\r\n  size = 30\r\n\tmax_keys = 500\r\n  [alert]\r\n   above = 75\r\n");
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.config.window.size, 30u);
  EXPECT_EQ(r.config.window.max_keys, 500u);
  EXPECT_EQ(r.config.alert.above, 75.0);
  // Errors in such a file still name the right line, without the CR.
  EXPECT_EQ(ErrorsOf("[window]\r\n\r\n  size = 0\r\n"),
            Errors{"sensorgate.ini:3: [window] size = 0: must be an integer from 1 to 100000"});
}

TEST(Config, AcceptsUtf8ByteOrderMark) {
  const ConfigResult r = Load("\xEF\xBB\xBF[window]\nsize = 30\n");
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.config.window.size, 30u);
}

TEST(Config, StripsInlineCommentsAfterABlank) {
  const ConfigResult r = Load(
      "[window]   ; the ring buffers\n"
      "size = 30  ; readings per key\n"
      "# a comment\n"
      "; another\n"
      "max_keys = 500\t; keys\n");
  ASSERT_TRUE(r.ok()) << r.errors[0];
  EXPECT_EQ(r.config.window.size, 30u);
  EXPECT_EQ(r.config.window.max_keys, 500u);
  // A ';' right after the value is part of it.
  EXPECT_EQ(ErrorsOf("[window]\nsize = 30;x\n"),
            Errors{"sensorgate.ini:2: [window] size = 30;x: must be an integer from 1 to 100000"});
}

TEST(Config, ReportsEveryProblemOnceWithItsLine) {
  const std::string text =
      "[gateway]\n"                 // 1
      "state_dir = /var/lib/sg\n"   // 2
      "log_level = loud\n"          // 3
      "[window]\n"                  // 4
      "size = 0\n"                  // 5
      "colour = blue\n"             // 6
      "[mqt]\n"                     // 7
      "uri = tcp://x:1\n"           // 8 (in an unknown section: reported once, at 7)
      "[alert]\n"                   // 9
      "above = 75\n"                // 10
      "clear_below = 80\n";         // 11
  EXPECT_EQ(ErrorsOf(text, ConfigMode::kDaemon),
            (Errors{
                "sensorgate.ini:3: [gateway] log_level = loud: must be one of: error, warning, info, debug",
                "sensorgate.ini:5: [window] size = 0: must be an integer from 1 to 100000",
                "sensorgate.ini:6: [window] colour = blue: unknown key; [window] takes: size, max_keys",
                "sensorgate.ini:7: [mqt]: unknown section; sections are: gateway, file, mqtt, reading, "
                "window, alert, email, kafka, http, rule.NAME",
                "sensorgate.ini:11: [alert] clear_below = 80: must not be greater than above (75)",
                "sensorgate.ini: at least one of [file] and [mqtt] is needed (except with --replay)",
            }));
}

TEST(Config, DoesNotReportARefusedValueAgainThroughRulesBetweenKeys) {
  // above is refused: clear_below must not then be compared with a stand-in 0.
  EXPECT_EQ(ErrorsOf("[alert]\nabove = hot\nclear_below = 73\n"),
            Errors{"sensorgate.ini:2: [alert] above = hot: must be a number from -1000000 to 1000000"});
  // size is refused: min_samples must not be compared with the default 60.
  EXPECT_EQ(ErrorsOf("[window]\nsize = 0\n[alert]\nabove = 75\nmin_samples = 100\n"),
            Errors{"sensorgate.ini:2: [window] size = 0: must be an integer from 1 to 100000"});
  // max is refused: min must not be compared with the default max.
  EXPECT_EQ(ErrorsOf("[reading]\nmin = 2000000\nmax = huge\n"),
            Errors{"sensorgate.ini:3: [reading] max = huge: must be a finite number"});
  // key_file is missing: cert_file must not be reported as lacking a key.
  TempDir dir;
  const std::string cert = dir.File("client.crt", 0644);
  const std::string key = dir.path() + "/absent.key";
  EXPECT_EQ(ErrorsOf(kMqtt + "cert_file = " + cert + "\nkey_file = " + key + "\n"),
            Errors{"sensorgate.ini:5: [mqtt] key_file = " + key +
                   ": cannot read: No such file or directory"});
  // state_dir is refused: it must not also be reported as missing.
  EXPECT_EQ(ErrorsOf("[gateway]\nstate_dir = /var/lib/\x01sg\n" + kMqtt, ConfigMode::kDaemon),
            Errors{"sensorgate.ini:2: [gateway] state_dir = /var/lib/\x01sg: must be a directory path"});
}

// --- the example configuration ---

std::string ReadExample() {
  std::ifstream in(std::string(SENSORGATE_SOURCE_DIR) + "/systemd/sensorgate.ini.example",
                   std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Each key line of the example with the block of comment lines right above it.
struct ExampleKey {
  int line = 0;
  std::string comments;
};
struct Example {
  std::vector<std::string> sections;  // in order
  std::map<std::pair<std::string, std::string>, ExampleKey> keys;
  std::vector<std::pair<std::string, std::string>> order;  // keys in order
};

Example ParseExample(const std::string& text) {
  Example ex;
  std::istringstream in(text);
  std::string raw, section, comments;
  int n = 0;
  bool template_block = false;  // the commented [rule.NAME] template: one ';' less
  while (std::getline(in, raw)) {
    ++n;
    std::string_view ln = raw;
    while (!ln.empty() && (ln.front() == ' ' || ln.front() == '\t')) ln.remove_prefix(1);
    if (ln.rfind(";[rule.", 0) == 0) template_block = true;
    if (template_block && !ln.empty() && ln.front() == ';') ln.remove_prefix(1);
    if (!ln.empty() && ln.front() == '[') {
      section = std::string(ln.substr(1, ln.find(']') - 1));
      ex.sections.push_back(section);
      comments.clear();
    } else if (!ln.empty() && ln.front() == ';') {
      comments += std::string(ln) + "\n";
    } else if (ln.find('=') != std::string_view::npos) {
      std::string_view key = ln.substr(0, ln.find('='));
      while (!key.empty() && (key.back() == ' ' || key.back() == '\t')) key.remove_suffix(1);
      const auto id = std::make_pair(section, std::string(key));
      if (ex.keys.emplace(id, ExampleKey{n, comments}).second) ex.order.push_back(id);
      comments.clear();
    } else {
      comments.clear();
    }
  }
  return ex;
}

TEST(ConfigExample, LoadsWithoutErrorInDaemonMode) {
  const std::string path = std::string(SENSORGATE_SOURCE_DIR) + "/systemd/sensorgate.ini.example";
  const ConfigResult r = LoadConfigFile(path, ConfigMode::kDaemon);
  EXPECT_EQ(r.errors, Errors{});
  EXPECT_TRUE(r.config.file.enabled);
  EXPECT_TRUE(r.config.mqtt.enabled);
  EXPECT_TRUE(r.config.alert.enabled);
  EXPECT_TRUE(r.config.email.enabled);
  EXPECT_TRUE(r.config.kafka.enabled);
  EXPECT_TRUE(r.config.http.enabled);
  EXPECT_FALSE(r.config.kafka.rdkafka.empty());
  // Secret and certificate files are left for the operator to fill in.
  EXPECT_EQ(r.config.mqtt.password_file, "");
  EXPECT_EQ(r.config.mqtt.key_file, "");
  EXPECT_EQ(r.config.mqtt.cert_file, "");
  EXPECT_EQ(r.config.mqtt.ca_file, "");
  EXPECT_EQ(r.config.email.password_file, "");
  EXPECT_EQ(r.config.email.ca_file, "");
}

// The commented [rule.NAME] template, uncommented and named.
TEST(ConfigExample, RuleTemplateIsAValidRuleOnceUncommented) {
  const std::string text = ReadExample();
  const size_t at = text.find("\n;[rule.NAME]");
  ASSERT_NE(at, std::string::npos);
  std::string rule;
  std::istringstream in(text.substr(at + 1));
  for (std::string ln; std::getline(in, ln);) rule += ln.substr(1) + "\n";
  rule.replace(rule.find("[rule.NAME]"), 11, "[rule.web]");
  const ConfigResult r = LoadConfigText(kKafka + rule, "x.ini", ConfigMode::kReplay);
  EXPECT_EQ(r.errors, Errors{});
  ASSERT_EQ(r.config.rules.size(), 1u);
  EXPECT_EQ(r.config.rules[0].name, "web");
  EXPECT_EQ(r.config.rules[0].window, WindowKind::kTumbling);
  EXPECT_TRUE(r.config.rules[0].has_where);
}

TEST(ConfigExample, HasTheTablesSectionsInOrder) {
  std::vector<std::string> table;
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    if (table.empty() || table.back() != k.section) table.emplace_back(k.section);
  }
  EXPECT_EQ(ParseExample(ReadExample()).sections, table);
}

TEST(ConfigExample, DocumentsEveryKeyAsTheTableDoes) {
  const Example ex = ParseExample(ReadExample());
  for (const ConfigKeyInfo& k : ConfigKeys()) {
    const std::string section(k.section), key(k.key);
    const ExampleKey* found = nullptr;
    if (key == "rdkafka.*") {
      for (const auto& id : ex.order) {
        if (id.first == section && id.second.rfind("rdkafka.", 0) == 0) {
          found = &ex.keys.at(id);
          break;
        }
      }
    } else {
      auto it = ex.keys.find({section, key});
      if (it != ex.keys.end()) found = &it->second;
    }
    ASSERT_NE(found, nullptr) << "[" << section << "] " << key << " is not in the example";
    const std::string& c = found->comments;
    const std::string where = "[" + section + "] " + key + " at line " + std::to_string(found->line);
    EXPECT_NE(c.find(std::string(k.doc)), std::string::npos) << where << ": doc text missing";
    EXPECT_NE(c.find(std::string(k.allowed)), std::string::npos) << where << ": allowed text missing";
    if (k.required) {
      EXPECT_NE(c.find("required"), std::string::npos) << where << ": not marked required";
    } else if (!k.default_text.empty()) {
      EXPECT_NE(c.find("default: " + std::string(k.default_text)), std::string::npos)
          << where << ": default missing";
    } else {  // no default in the table: the example says what leaving it out means
      EXPECT_TRUE(c.find("default: ") != std::string::npos || c.find("required") != std::string::npos)
          << where << ": default missing";
    }
  }
}

TEST(ConfigExample, NamesOnlyKeysOfTheTable) {
  const Example ex = ParseExample(ReadExample());
  const std::vector<ConfigKeyInfo> table = ConfigKeys();
  for (const auto& [section, key] : ex.order) {
    bool known = false;
    for (const ConfigKeyInfo& k : table) {
      known = known || (k.section == section &&
                        (k.key == key || (k.key == "rdkafka.*" && key.rfind("rdkafka.", 0) == 0)));
    }
    EXPECT_TRUE(known) << "[" << section << "] " << key;
  }
}

TEST(ConfigExample, TellsOperatorsAboutMosquittosQueueLimit) {
  const std::string text = ReadExample();
  const size_t mqtt = text.find("\n[mqtt]");
  const size_t next = text.find("\n[", mqtt + 1);
  ASSERT_NE(mqtt, std::string::npos);
  const std::string section = text.substr(mqtt, next - mqtt);
  EXPECT_NE(section.find("max_queued_messages"), std::string::npos);
  EXPECT_NE(section.find("1000"), std::string::npos);
  EXPECT_NE(section.find("max_queued_messages 0"), std::string::npos);
}

}  // namespace
}  // namespace sensorgate

namespace sensorgate {
namespace {

// A file of garbage lists its first 100 errors and counts the rest, instead
// of printing one line per bad line.
TEST(Config, ListsAtMostAHundredErrorsAndCountsTheRest) {
  std::string text;
  for (int i = 0; i < 1000; ++i) text += "garbage line " + std::to_string(i) + "\n";
  const ConfigResult r = LoadConfigText(text, "g.ini", ConfigMode::kReplay);
  ASSERT_EQ(r.errors.size(), 101u);
  EXPECT_EQ(r.errors[0], "g.ini:1: \"garbage line 0\": not a \"key = value\" line or a [section] header");
  EXPECT_EQ(r.errors[99].rfind("g.ini:100: ", 0), 0u) << r.errors[99];
  EXPECT_EQ(r.errors[100], "g.ini: 900 more error(s) not listed");
}

}  // namespace
}  // namespace sensorgate
