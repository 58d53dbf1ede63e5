#include "estate/config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>

#include "estate/app.h"
#include "estate/log.h"
#include "estate/testing/e2e.h"
#include "estate/web_config.h"

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

// Reads every kind of value the reader offers from whatever the text holds, as a loader would.
std::string ReadEverything(const std::string& yaml) {
  auto node = ParseYaml(yaml, "odd.yml");
  if (!node) return node.error();
  ConfigErrors errors("odd.yml");
  MapReader root(*node, "", errors);
  std::string s;
  std::vector<std::string> list;
  std::map<std::string, std::string> map;
  double d = 0;
  int i = 0;
  bool b = false;
  root.Get("target", s);
  root.Get("retries", i);
  root.Get("insecure", b);
  root.GetDuration("interval", d);
  root.Get("tags", list);
  root.Get("labels", map);
  root.Map("defaults").Finish();
  for (auto& r : root.List("targets")) {
    r.Get("name", s);
    r.Get("labels", map);
    r.Finish();
  }
  for (auto& [name, r] : root.Entries("auths")) {
    GetSecret(r, "password", s, false);
    r.Finish();
  }
  root.Finish();
  return errors.Text();
}

TEST(Config, NonScalarKeysAreErrorsWithTheirLineNotExceptions) {
  // Each of these threw YAML::TypedBadConversion out of MapReader (Finish, Entries, Get of a map).
  std::string err;
  ASSERT_NO_THROW(err = ReadEverything("{[x]: 1}"));
  EXPECT_NE(err.find("odd.yml:1: (top level): keys must be strings"), std::string::npos) << err;
  ASSERT_NO_THROW(err = ReadEverything("defaults:\n  ? [a, b]\n  : 1\n"));
  EXPECT_NE(err.find("odd.yml:2: defaults: keys must be strings"), std::string::npos) << err;
  ASSERT_NO_THROW(err = ReadEverything("auths:\n  {a: 1}: {password: x}\n"));
  EXPECT_NE(err.find("odd.yml:2: auths: names must be strings"), std::string::npos) << err;
  ASSERT_NO_THROW(err = ReadEverything("labels: {[a]: b}\n"));
  EXPECT_NE(err.find("odd.yml:1: labels: keys must be strings"), std::string::npos) << err;
  ASSERT_NO_THROW(err = ReadEverything("targets:\n  - name: a\n    ~: 1\n"));
  EXPECT_NE(err.find("odd.yml:3: targets[0]: keys must be strings"), std::string::npos) << err;
  // The example reader of the tests above, too.
  std::string text;
  Result<Example> e = MakeError("");
  ASSERT_NO_THROW(e = Parse("target: {[x]: 1, address: a}\n"));
  EXPECT_FALSE(e);
}

TEST(Config, DuplicateKeysAreErrors) {
  // yaml-cpp keeps both and finds the first: a second "targets:" (two files pasted together) would be lost.
  auto e = Parse("target:\n  address: a\ntarget:\n  address: b\n");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("test.yml:3: target: duplicate key"), std::string::npos) << e.error();
}

TEST(Config, OddYamlNeverThrows) {
  std::string deep_flow(100000, '[');
  std::string deep_block;
  for (int i = 0; i < 1000; ++i) deep_block += std::string(static_cast<std::size_t>(i), ' ') + "a:\n";
  std::string long_list = "tags: [";
  for (int i = 0; i < 50000; ++i) long_list += "x" + std::to_string(i) + ",";
  long_list += "]\n";
  std::string many_keys;
  for (int i = 0; i < 5000; ++i) many_keys += "k" + std::to_string(i) + ": 1\n";
  const std::vector<std::string> inputs = {
      "",
      "\n\n# only a comment\n",
      "~",
      "null",
      "[]",
      "- a\n- b\n",
      "just a string",
      "42",
      "&a [*a]",                                   // an alias inside its own anchor
      "&a {targets: [*a], labels: *a}",            // a map that contains itself
      "x: &x {a: 1}\ndefaults: *x\nlabels: *x\n",  // aliases where maps and scalars are expected
      "targets: *nope\n",                          // undefined alias
      "target: !!binary aGVsbG8=\nretries: !!str 3\ninsecure: !custom yes\n",
      "labels: !!set {a, b}\n",
      "targets: {name: a}\n",  // a map where a list is expected
      "targets: [[1, 2], 3, ~]\n",
      "defaults: [1, 2]\n",
      "auths: [a, b]\n",
      "auths: {a: [1], b: ~, c: 3}\n",
      "tags: {a: 1}\nlabels: [a]\n",
      "tags: [[a], {b: c}]\nlabels: {a: [1], b: {c: d}}\n",
      "retries: 99999999999999999999999999\ninterval: 99999999999999999999999999999999y\n",
      "retries: 1e400\ninsecure: 1e400\ninterval: .inf\n",
      "retries: -0x8000000000000000\ninterval: 1e3s\n",
      "<<: {target: a}\n",
      "--- {target: a}\n--- {target: b}\n",
      "\xEF\xBB\xBFtarget: a\n",                      // UTF-8 BOM
      std::string("\xFF\xFEt\0a\0r\0:\0 \0x\0", 14),  // UTF-16 LE
      std::string("target: a\0b\n", 12),              // NUL
      "target: \"\\xff\\u0000\"\n",
      "target: \x80\xFE\xFF\n",  // not UTF-8
      "target: [unclosed\n",
      "{{{{",
      "? |\n  block key\n: 1\n",
      "%YAML 1.2\n%TAG ! tag:x,2000:\n---\ntarget: !a b\n",
      deep_flow,
      deep_block,
      long_list,
      many_keys,
  };
  for (const auto& in : inputs) {
    SCOPED_TRACE(in.substr(0, 60));
    std::string err;
    EXPECT_NO_THROW(err = ReadEverything(in));
    EXPECT_LT(err.size(), 100000u) << "errors are bounded";
  }
}

TEST(Config, HugeDurationsAreRefused) {
  double s = 0;
  EXPECT_FALSE(ParseDuration("99999999999999999999999999y", &s));
  EXPECT_FALSE(ParseDuration("11y", &s));
  EXPECT_TRUE(ParseDuration("10y", &s));
  EXPECT_TRUE(ParseDuration("3650d", &s));
  auto e = Parse("target:\n  address: a\n  interval: 100000000000000000000000h\n");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().find("test.yml:3: target.interval: must be a duration"), std::string::npos)
      << e.error();
}

TEST(Config, ManyProblemsAreCappedInTheText) {
  std::string yaml;
  for (int i = 0; i < 500; ++i) yaml += "k" + std::to_string(i) + ": 1\n";
  auto e = Parse(yaml);
  ASSERT_FALSE(e);
  EXPECT_EQ(std::count(e.error().begin(), e.error().end(), '\n'), static_cast<long>(ConfigErrors::kMaxLines));
  // 500 unknown keys and the missing target.address.
  EXPECT_NE(e.error().find("and 451 more problems"), std::string::npos)
      << e.error().substr(e.error().size() - 200);
}

// ----- reading files
// -----------------------------------------------------------------------------------------

TEST(ReadFile, EmptyAndTruncatedFilesReadAsTheyAre) {
  estate::testing::TempDir dir;
  auto empty = ReadFile(dir.Write("empty.yml", ""));
  ASSERT_TRUE(empty) << empty.error();
  EXPECT_EQ(*empty, "");
  auto text = ReadFile(dir.Write("t.yml", "target:\n  address: a"));
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, "target:\n  address: a");
}

TEST(ReadFile, AFileRewrittenWhileReadIsReadAgain) {
  estate::testing::TempDir dir;
  const std::string path = dir.Write("c.yml", "");  // an editor truncated it and is about to write it
  int calls = 0;
  ReadOptions options;
  options.after_first_read = [&] {
    if (++calls == 1) {
      std::ofstream(path, std::ios::trunc) << "target:\n  address: a\n";  // in place, same inode
    }
  };
  auto text = ReadFile(path, options);
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, "target:\n  address: a\n") << "the half-written read is not used";
  EXPECT_EQ(calls, 2) << "read again after the change, then stable";
}

TEST(ReadFile, AFileThatKeepsChangingIsAnError) {
  estate::testing::TempDir dir;
  const std::string path = dir.Write("c.yml", "a: 0\n");
  int n = 0;
  ReadOptions options;
  options.attempts = 3;
  options.after_first_read = [&] { std::ofstream(path, std::ios::trunc) << "a: " << ++n << "\n"; };
  auto text = ReadFile(path, options);
  ASSERT_FALSE(text);
  EXPECT_NE(text.error().find("changed while it was being read"), std::string::npos) << text.error();
  EXPECT_NE(text.error().find(path), std::string::npos) << text.error();
  EXPECT_EQ(n, 3);
}

TEST(ReadFile, ARenamedReplacementIsSeen) {
  estate::testing::TempDir dir;
  const std::string path = dir.Write("c.yml", "a: 1\n");
  const std::string next = dir.Write("c.yml.new", "a: 2\n");
  bool renamed = false;
  ReadOptions options;
  options.after_first_read = [&] {
    if (!renamed) renamed = std::rename(next.c_str(), path.c_str()) == 0;
  };
  auto text = ReadFile(path, options);
  ASSERT_TRUE(text) << text.error();
  EXPECT_EQ(*text, "a: 2\n");
}

TEST(ReadFile, RefusesWhatIsNotARegularFileAndBoundsTheSize) {
  estate::testing::TempDir dir;
  auto d = ReadFile(dir.path());
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().find("not a regular file"), std::string::npos) << d.error();
  auto dev = ReadFile("/dev/zero");  // would never end
  ASSERT_FALSE(dev);
  EXPECT_NE(dev.error().find("not a regular file"), std::string::npos) << dev.error();
  ReadOptions small;
  small.max_bytes = 4;
  auto big = ReadFile(dir.Write("big", "12345"), small);
  ASSERT_FALSE(big);
  EXPECT_NE(big.error().find("larger than 4 bytes"), std::string::npos) << big.error();
  auto missing = ReadFile(dir.path() + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("No such file"), std::string::npos) << missing.error();
}

// ----- warnings --------------------------------------------------------------------------------------------

struct SecretRead {
  std::string value, errors;
  std::vector<std::string> warnings;
  bool inline_secrets = false;
};

SecretRead ReadSecret(const std::string& yaml, ParseOptions options = {}) {
  auto node = ParseYaml(yaml, "s.yml");
  ConfigErrors errors("s.yml", options);
  MapReader r(*node, "auth", errors);
  SecretRead out;
  GetSecret(r, "password", out.value, true);
  r.Finish();
  out.errors = errors.Text();
  out.warnings = errors.warnings();
  out.inline_secrets = errors.inline_secrets();
  return out;
}

TEST(ConfigWarnings, InlineSecretIsAWarningWithItsLineButNotItsValue) {
  auto r = ReadSecret("user: x\npassword: inline-s3cret\n");
  EXPECT_EQ(r.value, "inline-s3cret");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("s.yml:2: auth.password: secret written in the config file"),
            std::string::npos)
      << r.warnings[0];
  EXPECT_EQ(r.warnings[0].find("inline-s3cret"), std::string::npos);
  EXPECT_TRUE(r.inline_secrets);
}

TEST(ConfigWarnings, PasswordFileReadableByOthersIsAWarning) {
  estate::testing::TempDir dir;
  const std::string file = dir.Write("pw", "s3cret\n");
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  auto r = ReadSecret("password_file: " + file + "\n");
  EXPECT_EQ(r.value, "s3cret");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("s.yml:1: auth.password_file: " + file + " is world-readable"),
            std::string::npos)
      << r.warnings[0];
  EXPECT_FALSE(r.inline_secrets);
  ASSERT_EQ(chmod(file.c_str(), 0602), 0);
  r = ReadSecret("password_file: " + file + "\n");
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].find("is world-writable"), std::string::npos) << r.warnings[0];
  ASSERT_EQ(chmod(file.c_str(), 0640), 0);
  r = ReadSecret("password_file: " + file + "\n");
  EXPECT_TRUE(r.warnings.empty()) << r.warnings[0];
  EXPECT_TRUE(ReadSecret("password_env: HOME\n").warnings.empty());
}

TEST(ConfigWarnings, ConfigFileModes) {
  estate::testing::TempDir dir;
  const std::string file = dir.Write("c.yml", "a: 1\n");
  std::vector<std::string> w;
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  CheckConfigFileMode(file, /*holds_secrets=*/false, w);
  EXPECT_TRUE(w.empty()) << "a config without secrets may be readable";
  CheckConfigFileMode(file, /*holds_secrets=*/true, w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("config file holds secrets and " + file + " is world-readable"), std::string::npos)
      << w[0];
  w.clear();
  ASSERT_EQ(chmod(file.c_str(), 0666), 0);
  CheckConfigFileMode(file, false, w);
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("is world-writable"), std::string::npos) << w[0];
}

namespace {
// What an exporter's config looks like to LoadConfigFile: with inline_secrets (hardware) and without
// (compliance).
struct SecretConfig {
  std::string text;
  bool inline_secrets = false;
  std::vector<std::string> warnings;
};
struct PlainConfig {
  std::string text;
  std::vector<std::string> warnings;
};
}  // namespace

TEST(ConfigWarnings, LoadConfigFileAddsTheFileModeWarningsToTheParsersOwn) {
  estate::log::Configure(estate::log::Level::kError, estate::log::Format::kLogfmt);
  estate::testing::TempDir dir;
  const std::string file = dir.Write("c.yml", "secret: yes\n");
  ASSERT_EQ(chmod(file.c_str(), 0644), 0);
  auto secret =
      LoadConfigFile(file, [](const std::string& text, const std::string& name) -> Result<SecretConfig> {
        return SecretConfig{
            text, text.find("secret") != std::string::npos, {name + ":1: parser's own warning"}};
      });
  ASSERT_TRUE(secret) << secret.error();
  EXPECT_EQ(secret->text, "secret: yes\n");
  ASSERT_EQ(secret->warnings.size(), 2u);
  EXPECT_EQ(secret->warnings[0], file + ":1: parser's own warning");
  EXPECT_NE(secret->warnings[1].find("holds secrets and " + file + " is world-readable"), std::string::npos);

  auto plain = LoadConfigFile(file, [](const std::string& text, const std::string&) -> Result<PlainConfig> {
    return PlainConfig{text, {}};
  });
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_TRUE(plain->warnings.empty()) << "a config that cannot hold secrets may be readable";

  auto refused = LoadConfigFile(file, [](const std::string&, const std::string& name) -> Result<PlainConfig> {
    return MakeError(name + ":1: bad");
  });
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), file + ":1: bad");
  auto missing = LoadConfigFile(dir.path() + "/none.yml", [](const std::string&, const std::string&) {
    ADD_FAILURE() << "parsed a file that does not exist";
    return Result<PlainConfig>(PlainConfig{});
  });
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("none.yml"), std::string::npos) << missing.error();
}

TEST(ConfigWarnings, LoggedOnceEach) {
  estate::log::Configure(estate::log::Level::kInfo, estate::log::Format::kLogfmt);
  ::testing::internal::CaptureStderr();
  LogWarnings({"c.yml:3: auths.a.password: secret written in the config file", "c.yml: config file x"});
  std::string out = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2) << out;
  EXPECT_NE(
      out.find(
          "level=warn msg=\"configuration warning\" warning=\"c.yml:3: auths.a.password: secret written"),
      std::string::npos)
      << out;
}

TEST(ConfigWarnings, ParseOnlyTouchesNoFile) {
  auto r = ReadSecret("password_file: /nonexistent/pw\n", ParseOptions{false});
  EXPECT_EQ(r.errors, "");
  EXPECT_EQ(r.value, "");
}

// ----- web-config warnings
// -----------------------------------------------------------------------------------

TEST(WebConfigWarnings, TlsBelowOneTwoIsWarnedAbout) {
  ParseOptions parse_only{false};  // the files named need not exist
  for (const char* version : {"TLS10", "TLS11"}) {
    auto cfg = estate::web::ParseWebConfig(
        std::string("tls_server_config:\n  cert_file: /x.crt\n  key_file: /x.key\n"
                    "  min_version: ") +
            version + "\n",
        "web.yml", parse_only);
    ASSERT_TRUE(cfg) << cfg.error();
    ASSERT_EQ(cfg->warnings.size(), 1u);
    EXPECT_NE(cfg->warnings[0].find(std::string("web.yml:4: tls_server_config.min_version: ") + version +
                                    " is deprecated"),
              std::string::npos)
        << cfg->warnings[0];
  }
  auto cfg = estate::web::ParseWebConfig(
      "tls_server_config:\n  cert_file: /x.crt\n  key_file: /x.key\n  min_version: TLS12\n", "web.yml",
      parse_only);
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_TRUE(cfg->warnings.empty());
}

TEST(WebConfigWarnings, KeyAndFileModes) {
  estate::testing::TempDir dir;
  const std::string cert = dir.path() + "/s.crt", key = dir.path() + "/s.key";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "
                         "/CN=localhost -days 2 -keyout " +
                         key + " -out " + cert + " >" + dir.path() + "/openssl.log 2>&1")
                            .c_str()),
            0);
  const std::string users =
      "basic_auth_users:\n  prom: $2y$04$abcdefghijklmnopqrstuuJ7Nq2wOm.DXIpOY6Ka0K1ejQ4n.V6dS\n";
  const std::string web = dir.Write(
      "web.yml", "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n" + users);
  ASSERT_EQ(chmod(key.c_str(), 0644), 0);
  ASSERT_EQ(chmod(web.c_str(), 0644), 0);
  estate::log::Configure(estate::log::Level::kInfo, estate::log::Format::kLogfmt);
  ::testing::internal::CaptureStderr();
  auto cfg = estate::web::LoadWebConfig(web);
  std::string log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(cfg) << cfg.error();
  ASSERT_EQ(cfg->warnings.size(), 2u) << log;
  EXPECT_NE(
      cfg->warnings[0].find("tls_server_config.key_file: TLS private key " + key + " is world-readable"),
      std::string::npos)
      << cfg->warnings[0];
  EXPECT_NE(cfg->warnings[1].find("config file holds secrets and " + web + " is world-readable"),
            std::string::npos)
      << cfg->warnings[1];
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << "each logged once:\n" << log;
  EXPECT_NE(log.find("level=warn msg=\"configuration warning\""), std::string::npos) << log;

  ASSERT_EQ(chmod(key.c_str(), 0600), 0);
  ASSERT_EQ(chmod(web.c_str(), 0600), 0);
  ::testing::internal::CaptureStderr();
  cfg = estate::web::LoadWebConfig(web);
  log = ::testing::internal::GetCapturedStderr();
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_TRUE(cfg->warnings.empty()) << cfg->warnings[0];
  EXPECT_EQ(log, "");
  ASSERT_EQ(chmod(web.c_str(), 0602), 0);
  cfg = estate::web::LoadWebConfig(web);
  ASSERT_TRUE(cfg) << cfg.error();
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_NE(cfg->warnings[0].find("is world-writable"), std::string::npos) << cfg->warnings[0];
}

TEST(WebConfigWarnings, OddYamlIsAnError) {
  for (const char* text :
       {"{[x]: 1}", "&a [*a]", "tls_server_config: &a {cert_file: *a}\n", "basic_auth_users: [a]"}) {
    Result<estate::web::WebConfig> cfg = MakeError("");
    ASSERT_NO_THROW(cfg = estate::web::ParseWebConfig(text, "web.yml", ParseOptions{false})) << text;
    EXPECT_FALSE(cfg) << text;
  }
}

// ----- the load boundary of the app
// --------------------------------------------------------------------------

class FakeExporter : public estate::Exporter {
 public:
  std::function<Result<estate::Plan>()> load;
  Result<estate::Plan> Load(const std::string&, const estate::Services&) override { return load(); }
};

TEST(LoadPlan, AnExceptionFromALoaderIsAnError) {
  FakeExporter ex;
  ex.load = []() -> Result<estate::Plan> {
    (void)YAML::Load("[x]").as<std::string>();  // what MapReader::Finish did with {[x]: 1}
    return estate::Plan{};
  };
  Result<estate::Plan> plan = MakeError("");
  ASSERT_NO_THROW(plan = estate::LoadPlan(ex, "c.yml", estate::Services{}));
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("c.yml: loading failed unexpectedly"), std::string::npos) << plan.error();
  ex.load = []() -> Result<estate::Plan> { throw 42; };
  ASSERT_NO_THROW(plan = estate::LoadPlan(ex, "c.yml", estate::Services{}));
  EXPECT_FALSE(plan);
}

TEST(LoadPlan, APlanWithNothingToCollectIsRefusedUnlessAllowed) {
  FakeExporter ex;
  ex.load = []() -> Result<estate::Plan> { return estate::Plan{}; };
  auto plan = estate::LoadPlan(ex, "c.yml", estate::Services{});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().find("allow_empty: true"), std::string::npos) << plan.error();
  ex.load = []() -> Result<estate::Plan> {
    estate::Plan p;
    p.allow_empty = true;
    return p;
  };
  EXPECT_TRUE(estate::LoadPlan(ex, "c.yml", estate::Services{}));
}

}  // namespace
}  // namespace estate::config
