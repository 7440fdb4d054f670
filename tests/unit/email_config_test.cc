// [email] in the configuration: RFC 5322 addr-specs, the URL, the keys added
// for the sink (group_interval, max_age), and `credential:NAME` secrets.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gateway/base/file_util.h"
#include "gateway/config/config.h"
#include "tests/unit/temp_dir.h"

namespace sensorgate {
namespace {

std::string Email(const std::string& url, const std::string& from, const std::string& to,
                  const std::string& extra = "") {
  return "[email]\nurl = " + url + "\nfrom = " + from + "\nto = " + to + "\n" + extra;
}

bool Valid(const std::string& text) { return LoadConfigText(text, "x.ini", ConfigMode::kReplay).ok(); }

TEST(EmailConfig, AcceptsRfc5322AddrSpecs) {
  for (const char* a : {"ops@plant.example", "first.last+tag@sub.plant.example", "!#$%&'*+-/=?^_`{|}~@x.y",
                        "\"quoted local\"@plant.example", "\"a\\\"b\"@plant.example", "ops@[192.0.2.1]",
                        "ops@localhost"}) {
    EXPECT_TRUE(Valid(Email("smtp://mail:25", a, "x@y.z"))) << a;
    EXPECT_TRUE(Valid(Email("smtp://mail:25", "x@y.z", std::string("a@b.c, ") + a))) << a;
  }
}

TEST(EmailConfig, RefusesWhatIsNotAnAddrSpec) {
  for (const char* a : {"ops", "@plant.example", "ops@", "ops@@plant.example", ".ops@plant.example",
                        "ops.@plant.example", "o..ps@plant.example", "ops@plant..example", "ops@.plant",
                        "o ps@plant.example", "<ops@plant.example>", "Ops <ops@plant.example>",
                        "ops@plant.example\r\nBcc: x@y", "\"unterminated@plant.example", "ops@[1.2.3.4",
                        "ops(comment)@plant.example", "caf\xc3\xa9@plant.example"}) {
    EXPECT_FALSE(Valid(Email("smtp://mail:25", a, "x@y.z"))) << a;
    EXPECT_FALSE(Valid(Email("smtp://mail:25", "x@y.z", a))) << a;
  }
  EXPECT_FALSE(Valid(Email("smtp://mail:25", "x@y.z", std::string(65, 'l') + "@plant.example")));
}

TEST(EmailConfig, ChecksTheUrl) {
  for (const char* u : {"smtp://mail.example", "smtp://mail.example:587", "smtps://mail.example:465/",
                        "smtp://127.0.0.1:2525", "smtp://[::1]:25", "smtp://[::1]"}) {
    EXPECT_TRUE(Valid(Email(u, "a@b.c", "x@y.z"))) << u;
  }
  for (const char* u : {"http://mail.example", "smtp://", "smtp://mail.example:0", "smtp://mail.example:70000",
                        "smtp://mail.example:x", "smtp://user:pw@mail.example", "smtp://mail.example/path",
                        "smtp://mail example", "smtp://mail.example:25?x=1", "smtps://[::1", "smtp://:25"}) {
    EXPECT_FALSE(Valid(Email(u, "a@b.c", "x@y.z"))) << u;
  }
}

TEST(EmailConfig, GroupIntervalAndMaxAgeHaveTheirDefaults) {
  ConfigResult r = LoadConfigText(Email("smtp://m:25", "a@b.c", "x@y.z"), "x.ini", ConfigMode::kReplay);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.email.group_interval_us, 300LL * 1000000);
  EXPECT_EQ(r.config.email.max_age_us, 86400LL * 1000000);
  r = LoadConfigText(Email("smtp://m:25", "a@b.c", "x@y.z", "group_interval = 30s\nmax_age = 2h\n"), "x.ini",
                     ConfigMode::kReplay);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config.email.group_interval_us, 30LL * 1000000);
  EXPECT_EQ(r.config.email.max_age_us, 7200LL * 1000000);
  EXPECT_FALSE(Valid(Email("smtp://m:25", "a@b.c", "x@y.z", "max_age = 0s\n")));
}

TEST(EmailConfig, PasswordFileMayBeASystemdCredential) {
  testing_util::TempDir dir;
  {
    std::ofstream(dir / "smtp") << "s3cret\r\nsecond line\n";
  }
  chmod((dir / "smtp").c_str(), 0600);
  unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_EQ(SecretFilePath("credential:smtp"), "");
  EXPECT_FALSE(Valid(Email("smtp://m:25", "a@b.c", "x@y.z", "password_file = credential:smtp\n")));
  setenv("CREDENTIALS_DIRECTORY", dir.path().c_str(), 1);
  EXPECT_EQ(SecretFilePath("credential:smtp"), dir / "smtp");
  EXPECT_EQ(SecretFilePath("credential:../etc/shadow"), "");
  EXPECT_EQ(SecretFilePath("/etc/x"), "/etc/x");
  EXPECT_TRUE(Valid(Email("smtp://m:25", "a@b.c", "x@y.z", "password_file = credential:smtp\n")));
  EXPECT_FALSE(Valid(Email("smtp://m:25", "a@b.c", "x@y.z", "password_file = credential:absent\n")));
  std::string pw;
  ASSERT_TRUE(ReadSecretLine("credential:smtp", &pw));
  EXPECT_EQ(pw, "s3cret");
  unsetenv("CREDENTIALS_DIRECTORY");
}

}  // namespace
}  // namespace sensorgate
