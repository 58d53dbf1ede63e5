#include "estate/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "estate/testing/e2e.h"

namespace estate::config {
namespace {

struct Example {
  std::string address;
  double interval = 60;
  int retries = 2;
  bool insecure = false;
  std::vector<std::string> tags;
  std::map<std::string, std::string> labels;
};

Result<Example> Parse(const std::string& yaml, std::string* errors_out = nullptr) {
  auto node = ParseYaml(yaml, "test.yml");
  if (!node) return MakeError(node.error());
  ConfigErrors errors("test.yml");
  MapReader root(*node, "", errors);
  Example e;
  MapReader target = root.Map("target");
  target.Require("address", e.address);
  target.GetDuration("interval", e.interval);
  target.Get("retries", e.retries);
  target.Get("insecure", e.insecure);
  target.Get("tags", e.tags);
  target.Get("labels", e.labels);
  target.Finish();
  root.Finish();
  if (errors_out) *errors_out = errors.Text();
  if (!errors.empty()) return MakeError(errors.Text());
  return e;
}

TEST(Config, MapsValuesAndKeepsDefaults) {
  auto e = Parse("target:\n  address: bmc1:443\n  tags: [a, b]\n  labels: {host: hv1}\n");
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->address, "bmc1:443");
  EXPECT_EQ(e->interval, 60);
  EXPECT_EQ(e->retries, 2);
  EXPECT_EQ(e->tags, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(e->labels.at("host"), "hv1");
}

TEST(Config, UnknownKeysAreErrorsWithPathAndLine) {
  auto e = Parse("target:\n  address: x\n  adress: y\nextra: 1\n");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("test.yml:3: target.adress: unknown key"), std::string::npos) << e.error();
  EXPECT_NE(e.error().find("test.yml:4: extra: unknown key"), std::string::npos) << e.error();
}

TEST(Config, ReportsEveryProblem) {
  auto e = Parse("target:\n  interval: soon\n  retries: many\n  insecure: perhaps\n");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("target.address: is required"), std::string::npos) << e.error();
  EXPECT_NE(e.error().find("test.yml:2: target.interval: must be a duration"), std::string::npos) << e.error();
  EXPECT_NE(e.error().find("test.yml:3: target.retries: must be an integer"), std::string::npos) << e.error();
  EXPECT_NE(e.error().find("test.yml:4: target.insecure: must be true or false"), std::string::npos) << e.error();
}

TEST(Config, SyntaxErrorsNameTheLine) {
  auto e = Parse("target:\n  address: [unclosed\n");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("test.yml:"), std::string::npos);
  EXPECT_NE(e.error().find("YAML syntax error"), std::string::npos) << e.error();
}

TEST(Config, ParsesDurations) {
  double s = 0;
  EXPECT_TRUE(ParseDuration("30s", &s));
  EXPECT_EQ(s, 30);
  EXPECT_TRUE(ParseDuration("1h30m", &s));
  EXPECT_EQ(s, 5400);
  EXPECT_TRUE(ParseDuration("250ms", &s));
  EXPECT_DOUBLE_EQ(s, 0.25);
  EXPECT_TRUE(ParseDuration("2d", &s));
  EXPECT_EQ(s, 172800);
  EXPECT_FALSE(ParseDuration("30", &s));
  EXPECT_FALSE(ParseDuration("5m1h", &s)) << "units out of order";
  EXPECT_FALSE(ParseDuration("-5s", &s));
  EXPECT_FALSE(ParseDuration("", &s));
  EXPECT_EQ(FormatDuration(5400), "1h30m");
}

TEST(Config, SecretsFromFileAndEnvironmentNeverInErrors) {
  estate::testing::TempDir dir;
  std::string file = dir.Write("pw", "s3cret-value\n");
  setenv("ESTATE_TEST_SECRET", "from-env", 1);
  auto read = [&](const std::string& yaml, std::string* out) {
    auto node = ParseYaml(yaml, "s.yml");
    ConfigErrors errors("s.yml");
    MapReader r(*node, "auth", errors);
    GetSecret(r, "password", *out, true);
    r.Finish();
    return errors.Text();
  };
  std::string v;
  EXPECT_EQ(read("password_file: " + file + "\n", &v), "");
  EXPECT_EQ(v, "s3cret-value");
  EXPECT_EQ(read("password_env: ESTATE_TEST_SECRET\n", &v), "");
  EXPECT_EQ(v, "from-env");
  std::string err = read("password: inline-s3cret\npassword_env: ESTATE_TEST_SECRET\n", &v);
  EXPECT_NE(err.find("set only one of"), std::string::npos);
  EXPECT_EQ(err.find("inline-s3cret"), std::string::npos) << "the value must never appear in errors";
  err = read("password_env: ESTATE_NOT_SET_ANYWHERE\n", &v);
  EXPECT_NE(err.find("ESTATE_NOT_SET_ANYWHERE is not set"), std::string::npos);
  err = read("{}\n", &v);
  EXPECT_NE(err.find("auth.password: is required"), std::string::npos) << err;
  err = read("password_file: /nonexistent/pw\n", &v);
  EXPECT_NE(err.find("cannot read /nonexistent/pw"), std::string::npos) << err;
}

}  // namespace
}  // namespace estate::config
