// The optional libraries as a running gateway maps them: libcurl, librdkafka
// and OpenSSL are loaded with dlopen() only for a configuration that needs
// them ([email], [kafka], [mqtt] over ssl://), read from the daemon's own
// /proc/PID/maps once its HTTP server listens (everything is loaded before
// that). A library that is there but lacks a function (a stand-in
// librdkafka.so.1 found first through LD_LIBRARY_PATH) stops the start and
// --check with exit 1 and one line naming the library and its package.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/daemon_process.h"
#include "tests/integration/run_command.h"

namespace sensorgate {
namespace {

using testing_util::DaemonProcess;
using testing_util::RunCommand;
using testing_util::TempDir;

const char* const kOptional[] = {"libcurl.so", "librdkafka.so", "libssl.so", "libcrypto.so"};

std::string Ini(const TempDir& dir, const std::string& extra) {
  return "[gateway]\nname = test\nstate_dir = " + dir.path() + "/state\n\n[file]\npath = " + dir.path() +
         "/in.log\n\n[http]\nlisten = 127.0.0.1:0\n\n" + extra;
}

// The file names of the objects mapped by `pid`.
std::string Maps(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream all;
  all << in.rdbuf();
  return all.str();
}

bool Mapped(const std::string& maps, const std::string& library) {
  return maps.find("/" + library) != std::string::npos;
}

// Starts the gateway on `extra`, waits for its HTTP server (every library
// is loaded by then), and returns its maps; stops it with SIGTERM.
std::string MapsOfRunningGateway(const std::string& extra) {
  TempDir dir;
  const std::string ini = dir.Write("g.ini", Ini(dir, extra));
  DaemonProcess d(SENSORGATE_BIN, ini);
  EXPECT_GT(d.HttpPort(20000), 0) << d.log();
  const std::string maps = Maps(d.pid());
  d.Signal(SIGTERM);
  EXPECT_EQ(d.Wait(30000), 0) << d.log();
  return maps;
}

TEST(OptionalLibraries, NoneIsMappedWithoutEmailKafkaOrTls) {
  // [mqtt] over plain TCP (to a closed port: the source is retried) needs
  // no OpenSSL either.
  const std::string maps =
      MapsOfRunningGateway("[mqtt]\nuri = tcp://127.0.0.1:1\ntopics = t/#\nclient_id = sg-test-libs\n");
  ASSERT_TRUE(Mapped(maps, "libc.so.6")) << maps;
  for (const char* library : kOptional) EXPECT_FALSE(Mapped(maps, library)) << library << "\n" << maps;
}

#if SENSORGATE_WITH_KAFKA
TEST(OptionalLibraries, KafkaMapsLibrdkafka) {
  // A closed loopback port: the spool keeps the records, the start goes on.
  const std::string maps = MapsOfRunningGateway("[kafka]\nbrokers = 127.0.0.1:1\ntopic = agg\n");
  EXPECT_TRUE(Mapped(maps, "librdkafka.so.1")) << maps;
  EXPECT_FALSE(Mapped(maps, "libcurl.so")) << maps;
}

TEST(OptionalLibraries, AnIncompleteLibrdkafkaStopsStartAndCheckWithExit1) {
  TempDir dir;
  const std::string ini = dir.Write("g.ini", Ini(dir, "[kafka]\nbrokers = 127.0.0.1:1\ntopic = agg\n"));
  const std::string env = std::string("LD_LIBRARY_PATH=") + SENSORGATE_FAKE_LIB_DIR;
  const std::string expected =
      "[kafka]: cannot load librdkafka.so.1 (Debian package librdkafka1): " SENSORGATE_FAKE_LIB_DIR
      "/librdkafka.so.1: undefined symbol: rd_kafka_conf_new";

  DaemonProcess d(SENSORGATE_BIN, ini, {env});
  EXPECT_EQ(d.Wait(30000), 1) << d.log();
  EXPECT_NE(d.log().find(expected), std::string::npos) << d.log();
  EXPECT_EQ(d.log().find("http: listening"), std::string::npos) << "nothing started: " << d.log();

  const auto check = RunCommand({"/usr/bin/env", env, SENSORGATE_BIN, "--config", ini, "--check"});
  EXPECT_EQ(check.exit_code, 1) << check.err;
  EXPECT_EQ(check.err, expected + "\n");
  EXPECT_EQ(check.out, "");
}
#endif

#if SENSORGATE_WITH_SMTP
TEST(OptionalLibraries, EmailMapsLibcurl) {
  const std::string maps = MapsOfRunningGateway(
      "[email]\nurl = smtp://127.0.0.1:1\nstarttls = off\nfrom = gw@example.org\nto = ops@example.org\n");
  EXPECT_TRUE(Mapped(maps, "libcurl.so.4")) << maps;
  EXPECT_FALSE(Mapped(maps, "librdkafka.so")) << maps;
}
#endif

#if SENSORGATE_WITH_MQTT
TEST(OptionalLibraries, MqttOverTlsMapsOpenSsl) {
  const std::string maps =
      MapsOfRunningGateway("[mqtt]\nuri = ssl://127.0.0.1:1\ntopics = t/#\nclient_id = sg-test-libs\n");
  EXPECT_TRUE(Mapped(maps, "libssl.so.3")) << maps;
  EXPECT_TRUE(Mapped(maps, "libcrypto.so.3")) << maps;
  EXPECT_FALSE(Mapped(maps, "libcurl.so")) << maps;
}
#endif

}  // namespace
}  // namespace sensorgate
