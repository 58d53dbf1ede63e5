// web-config parsing/validation (exporter-toolkit format) and basic auth with bcrypt.
#include "estate/web_config.h"

#include <crypt.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace estate::web {
namespace {

namespace fs = std::filesystem;

// ----- fixtures -------------------------------------------------------------------------------------------

// A temporary directory with a self-signed certificate/key pair, a second key that does not match it, and a
// CA file (the certificate itself), made by the openssl CLI once per test binary.
struct Files {
  fs::path dir;
  std::string cert, key, other_key;
  ~Files() {  // runs at exit, after every test
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
};

const Files& TestFiles() {
  static Files files;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string templ = (fs::temp_directory_path() / "estate-webcfg-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    files.dir = templ;
    const std::string d = templ + "/";
    const std::string log = " >>" + d + "openssl.log 2>&1";
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost -days "
        "2"
        " -keyout " +
        d + "server.key -out " + d + "server.crt" + log +
        " && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out " + d + "other.key" +
        log;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl failed, see " << d << "openssl.log";
    files.cert = d + "server.crt";
    files.key = d + "server.key";
    files.other_key = d + "other.key";
  });
  return files;
}

// A fresh bcrypt hash made with libcrypt (prefix "$2b$" or "$2y$", the htpasswd flavour).
std::string MakeHash(const std::string& password, int cost = 5, const char* prefix = "$2b$") {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn(prefix, cost, nullptr, 0, salt, sizeof(salt)) == nullptr) return {};
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  return hash == nullptr ? std::string() : std::string(hash);
}

// Parses and expects failure; returns the message.
std::string ErrorOf(const std::string& yaml) {
  auto cfg = ParseWebConfig(yaml, "web.yml");
  EXPECT_FALSE(cfg.ok()) << "parsed although it should not:\n" << yaml;
  return cfg.ok() ? std::string() : cfg.error();
}

// ----- valid files ----------------------------------------------------------------------------------------

TEST(WebConfig, EmptyPathAndEmptyTextGiveTheDefault) {
  auto from_path = LoadWebConfig("");
  ASSERT_TRUE(from_path.ok()) << from_path.error();
  EXPECT_FALSE(from_path->tls.enabled());
  EXPECT_TRUE(from_path->basic_auth_users.empty());
  EXPECT_TRUE(from_path->headers.empty());

  for (const char* text : {"", "# only a comment\n", "---\n"}) {
    auto cfg = ParseWebConfig(text, "web.yml");
    ASSERT_TRUE(cfg.ok()) << cfg.error();
    EXPECT_FALSE(cfg->tls.enabled());
  }
}

TEST(WebConfig, FullFile) {
  const Files& f = TestFiles();
  const std::string hash = MakeHash("s3cret", 5, "$2y$");
  const std::string yaml =
      "tls_server_config:\n"
      "  cert_file: " +
      f.cert +
      "\n"
      "  key_file: " +
      f.key +
      "\n"
      "  client_auth_type: RequireAndVerifyClientCert\n"
      "  client_ca_file: " +
      f.cert +
      "\n"
      "  min_version: TLS13\n"
      "  max_version: TLS13\n"
      "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n"
      "  prefer_server_cipher_suites: true\n"
      "  curve_preferences: [X25519, CurveP256]\n"
      "http_server_config:\n"
      "  http2: false\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "    Strict-Transport-Security: max-age=31536000\n"
      "basic_auth_users:\n"
      "  prom: " +
      hash + "\n";
  auto cfg = ParseWebConfig(yaml, "web.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_TRUE(cfg->tls.enabled());
  EXPECT_EQ(cfg->tls.cert_file, f.cert);
  EXPECT_EQ(cfg->tls.key_file, f.key);
  EXPECT_EQ(cfg->tls.client_ca_file, f.cert);
  EXPECT_EQ(cfg->tls.client_auth_type, "RequireAndVerifyClientCert");
  EXPECT_EQ(cfg->tls.min_version, "TLS13");
  EXPECT_EQ(cfg->tls.max_version, "TLS13");
  EXPECT_EQ(cfg->tls.cipher_suites.size(), 2u);
  EXPECT_EQ(cfg->headers.at("X-Frame-Options"), "deny");
  EXPECT_EQ(cfg->headers.at("Strict-Transport-Security"), "max-age=31536000");
  EXPECT_EQ(cfg->basic_auth_users.at("prom"), hash);
}

TEST(WebConfig, NullSectionsAreEmpty) {
  auto cfg = ParseWebConfig("tls_server_config:\nhttp_server_config:\nbasic_auth_users:\n", "web.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_FALSE(cfg->tls.enabled());
}

TEST(WebConfig, OldRequireClientCertNameIsAccepted) {
  const Files& f = TestFiles();
  auto cfg = ParseWebConfig("tls_server_config:\n  cert_file: " + f.cert + "\n  key_file: " + f.key +
                                "\n  client_auth_type: RequireClientCert\n",
                            "web.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->tls.client_auth_type, "RequireAnyClientCert");
}

TEST(WebConfig, LoadResolvesRelativePathsAgainstTheConfigDirectory) {
  const Files& f = TestFiles();
  const fs::path path = f.dir / "web.yml";
  std::ofstream(path) << "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";
  auto cfg = LoadWebConfig(path.string());
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->tls.cert_file, f.cert);
  EXPECT_EQ(cfg->tls.key_file, f.key);
}

TEST(WebConfig, LoadOfAMissingFileSaysWhich) {
  auto cfg = LoadWebConfig("/nonexistent/web.yml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("/nonexistent/web.yml"), std::string::npos) << cfg.error();
}

// ----- invalid files: each names file, line and key -------------------------------------------------------

TEST(WebConfig, UnknownTopLevelKey) {
  EXPECT_EQ(ErrorOf("basic_auth_users:\ntls_config:\n  cert_file: x\n"),
            "web.yml:2: tls_config: unknown key");
}

TEST(WebConfig, UnknownNestedKeys) {
  EXPECT_EQ(ErrorOf("tls_server_config:\n  certfile: a.pem\n"),
            "web.yml:2: tls_server_config.certfile: unknown key");
  EXPECT_EQ(ErrorOf("http_server_config:\n  http2: true\n  gzip: true\n"),
            "web.yml:3: http_server_config.gzip: unknown key");
}

TEST(WebConfig, NewerToolkitKeysAreRejectedNotIgnored) {
  EXPECT_EQ(ErrorOf("tls_server_config:\n  client_allowed_sans: [a]\n"),
            "web.yml:2: tls_server_config.client_allowed_sans: not supported by this exporter");
  EXPECT_EQ(ErrorOf("rate_limit:\n  burst: 1\n"), "web.yml:1: rate_limit: not supported by this exporter");
}

TEST(WebConfig, HeaderNotAllowed) {
  const std::string e = ErrorOf("http_server_config:\n  headers:\n    Server: estate\n");
  EXPECT_EQ(e.rfind("web.yml:3: http_server_config.headers.Server: this header can not be configured", 0), 0u)
      << e;
}

TEST(WebConfig, HeaderValueOutsideTheToolkitsEnumeration) {
  EXPECT_EQ(
      ErrorOf("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
      "web.yml:3: http_server_config.headers.X-Frame-Options: invalid value \"allow\" (want \"deny\" or "
      "\"sameorigin\")");
  EXPECT_NE(ErrorOf("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n").find("nosniff"),
            std::string::npos);
}

TEST(WebConfig, UnknownClientAuthType) {
  const std::string e = ErrorOf("tls_server_config:\n  client_auth_type: Sometimes\n");
  EXPECT_NE(e.find("web.yml:2: tls_server_config.client_auth_type: unknown value \"Sometimes\""),
            std::string::npos)
      << e;
}

TEST(WebConfig, UnknownTlsVersion) {
  EXPECT_EQ(
      ErrorOf("tls_server_config:\n  min_version: TLS14\n"),
      "web.yml:2: tls_server_config.min_version: unknown TLS version \"TLS14\" (want TLS10, TLS11, TLS12 or "
      "TLS13)");
  EXPECT_NE(
      ErrorOf("tls_server_config:\n  max_version: tls1.3\n").find("web.yml:2: tls_server_config.max_version"),
      std::string::npos);
}

TEST(WebConfig, MaxBelowMin) {
  const Files& f = TestFiles();
  const std::string e = ErrorOf("tls_server_config:\n  cert_file: " + f.cert + "\n  key_file: " + f.key +
                                "\n  min_version: TLS13\n  max_version: TLS12\n");
  EXPECT_EQ(e, "web.yml:5: tls_server_config.max_version: TLS12 is below min_version TLS13");
}

TEST(WebConfig, CertNeedsKeyAndKeyNeedsCert) {
  const Files& f = TestFiles();
  EXPECT_EQ(
      ErrorOf("tls_server_config:\n  cert_file: " + f.cert + "\n"),
      "web.yml:1: tls_server_config.key_file: missing (required once any TLS file or client_auth_type is "
      "set)");
  EXPECT_EQ(
      ErrorOf("tls_server_config:\n  key_file: " + f.key + "\n"),
      "web.yml:1: tls_server_config.cert_file: missing (required once any TLS file or client_auth_type is "
      "set)");
}

TEST(WebConfig, VerifyingClientAuthNeedsClientCa) {
  const Files& f = TestFiles();
  for (const std::string type : {"RequireAndVerifyClientCert", "VerifyClientCertIfGiven"}) {
    const std::string e = ErrorOf("tls_server_config:\n  cert_file: " + f.cert + "\n  key_file: " + f.key +
                                  "\n  client_auth_type: " + type + "\n");
    EXPECT_EQ(e.rfind("web.yml:4: tls_server_config.client_ca_file: missing", 0), 0u) << e;
  }
}

TEST(WebConfig, ClientCaWithoutClientAuth) {
  const Files& f = TestFiles();
  const std::string e = ErrorOf("tls_server_config:\n  cert_file: " + f.cert + "\n  key_file: " + f.key +
                                "\n  client_ca_file: " + f.cert + "\n");
  EXPECT_EQ(
      e.rfind("web.yml:4: tls_server_config.client_ca_file: set but client_auth_type is NoClientCert", 0), 0u)
      << e;
}

TEST(WebConfig, MissingFilesAreNamed) {
  const Files& f = TestFiles();
  const std::string e =
      ErrorOf("tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: " + f.key +
              "\n  client_auth_type: RequireAndVerifyClientCert\n"
              "  client_ca_file: /nonexistent/ca.crt\n");
  EXPECT_NE(e.find("web.yml:2: tls_server_config.cert_file: file /nonexistent/server.crt does not exist"),
            std::string::npos)
      << e;
  EXPECT_NE(e.find("web.yml:5: tls_server_config.client_ca_file: file /nonexistent/ca.crt does not exist"),
            std::string::npos)
      << e;
}

TEST(WebConfig, KeyThatDoesNotMatchTheCertificate) {
  const Files& f = TestFiles();
  const std::string e =
      ErrorOf("tls_server_config:\n  cert_file: " + f.cert + "\n  key_file: " + f.other_key + "\n");
  EXPECT_NE(e.find("web.yml:1: tls_server_config: key_file " + f.other_key + " does not match"),
            std::string::npos)
      << e;
}

TEST(WebConfig, UnknownCipherSuiteAndCurve) {
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cipher_suites: [TLS_NOPE]\n"),
            "web.yml:2: tls_server_config.cipher_suites: unknown cipher suite \"TLS_NOPE\"");
  EXPECT_EQ(ErrorOf("tls_server_config:\n  curve_preferences: [CurveP999]\n"),
            "web.yml:2: tls_server_config.curve_preferences: unknown curve \"CurveP999\"");
}

TEST(WebConfig, WrongTypes) {
  EXPECT_EQ(ErrorOf("tls_server_config:\n  cert_file: [a, b]\n"),
            "web.yml:2: tls_server_config.cert_file: must be a string");
  EXPECT_EQ(ErrorOf("http_server_config:\n  http2: maybe\n"),
            "web.yml:2: http_server_config.http2: must be true or false");
  EXPECT_EQ(ErrorOf("basic_auth_users: [prom]\n"), "web.yml:1: basic_auth_users: must be a mapping");
  EXPECT_EQ(ErrorOf("- a\n- b\n"), "web.yml:1: the web config must be a mapping");
}

TEST(WebConfig, DuplicateKey) {
  const std::string hash = MakeHash("x");
  EXPECT_EQ(ErrorOf("basic_auth_users:\n  prom: " + hash + "\n  prom: " + hash + "\n"),
            "web.yml:3: basic_auth_users.prom: duplicate key");
}

TEST(WebConfig, SyntaxErrorHasALine) {
  const std::string e = ErrorOf("basic_auth_users:\n  prom: [unclosed\n");
  EXPECT_EQ(e.rfind("web.yml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(WebConfig, PlainTextPasswordIsRejectedWithoutEchoingIt) {
  const std::string e = ErrorOf("basic_auth_users:\n  prom: hunter2\n");
  EXPECT_EQ(e.rfind("web.yml:2: basic_auth_users.prom: not a bcrypt hash", 0), 0u) << e;
  EXPECT_EQ(e.find("hunter2"), std::string::npos) << e;
}

TEST(WebConfig, EveryProblemIsReported) {
  const std::string e = ErrorOf("foo: 1\ntls_server_config:\n  bar: 2\nhttp_server_config:\n  baz: 3\n");
  EXPECT_EQ(e,
            "web.yml:1: foo: unknown key\n"
            "web.yml:3: tls_server_config.bar: unknown key\n"
            "web.yml:5: http_server_config.baz: unknown key");
}

// ----- bcrypt and basic auth -------------------------------------------------------------------------------

TEST(Bcrypt, VerifiesHashesMadeByLibcrypt) {
  for (const char* prefix : {"$2b$", "$2y$"}) {
    const std::string hash = MakeHash("correct horse", 5, prefix);
    ASSERT_FALSE(hash.empty()) << prefix;
    EXPECT_TRUE(VerifyBcrypt("correct horse", hash)) << hash;
    EXPECT_FALSE(VerifyBcrypt("correct horse ", hash));
    EXPECT_FALSE(VerifyBcrypt("", hash));
  }
  EXPECT_FALSE(VerifyBcrypt("x", ""));
  EXPECT_FALSE(VerifyBcrypt("x", "not a hash"));
  EXPECT_FALSE(VerifyBcrypt(std::string("correct horse\0tail", 18), MakeHash("correct horse")));
}

std::string BasicHeader(const std::string& user_colon_password) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  const auto& in = user_colon_password;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) | static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned>(static_cast<unsigned char>(in[i])) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return "Basic " + out;
}

TEST(BasicAuth, HeaderParsing) {
  BasicAuthChecker auth({{"prom", MakeHash("s3cret")}});
  EXPECT_TRUE(auth.enabled());
  EXPECT_TRUE(auth.Check(BasicHeader("prom:s3cret")));
  EXPECT_TRUE(auth.Check("basic  " + BasicHeader("prom:s3cret").substr(6)));  // scheme is case-insensitive
  EXPECT_FALSE(auth.Check(BasicHeader("prom:wrong")));
  EXPECT_FALSE(auth.Check(BasicHeader("prom")));           // no colon
  EXPECT_FALSE(auth.Check(BasicHeader("nobody:s3cret")));  // unknown user
  EXPECT_FALSE(auth.Check(""));
  EXPECT_FALSE(auth.Check("Basic"));
  EXPECT_FALSE(auth.Check("Basic !!!!"));
  EXPECT_FALSE(auth.Check("Bearer cHJvbTpzM2NyZXQ="));
  EXPECT_FALSE(auth.Check("Basic cHJvbTpzM2NyZXQ"));  // missing padding
}

TEST(BasicAuth, PasswordsMayContainColons) {
  BasicAuthChecker auth({{"prom", MakeHash("a:b")}});
  EXPECT_TRUE(auth.Check(BasicHeader("prom:a:b")));
}

TEST(BasicAuth, NoUsersMeansNotEnabled) {
  BasicAuthChecker auth({});
  EXPECT_FALSE(auth.enabled());
  EXPECT_FALSE(auth.CheckUserPassword("prom", "x"));
}

using Clock = std::chrono::steady_clock;

double MillisecondsOf(const std::function<void()>& fn) {
  const auto start = Clock::now();
  fn();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

TEST(BasicAuth, SecondCheckComesFromTheCache) {
  // Cost 10, as htpasswd -B makes by default: tens of milliseconds per bcrypt.
  BasicAuthChecker auth({{"prom", MakeHash("s3cret", 10)}});
  bool first = false;
  bool second = false;
  const double first_ms = MillisecondsOf([&] { first = auth.CheckUserPassword("prom", "s3cret"); });
  const double second_ms = MillisecondsOf([&] { second = auth.CheckUserPassword("prom", "s3cret"); });
  EXPECT_TRUE(first);
  EXPECT_TRUE(second);
  EXPECT_LT(second_ms * 10, first_ms) << "first " << first_ms << " ms, second " << second_ms << " ms";
  // Wrong passwords are cached as failures, too.
  EXPECT_FALSE(auth.CheckUserPassword("prom", "wrong"));
  const double wrong_again_ms =
      MillisecondsOf([&] { EXPECT_FALSE(auth.CheckUserPassword("prom", "wrong")); });
  EXPECT_LT(wrong_again_ms * 10, first_ms);
}

TEST(BasicAuth, UnknownUsersCostABcryptToo) {
  // Unknown users are checked against the dummy hash, so they cost a bcrypt like a known user with a wrong
  // password; a fast "no such user" answer would let a client enumerate users.
  std::mutex mu;
  std::vector<std::string> checked;
  BasicAuthChecker::Options options;
  options.verify = [&](const std::string& password, const std::string& hash) {
    std::lock_guard<std::mutex> lock(mu);
    checked.push_back(hash);
    return VerifyBcrypt(password, hash);
  };
  BasicAuthChecker auth({{"prom", MakeHash("s3cret", 4)}}, options);
  EXPECT_FALSE(auth.CheckUserPassword("nobody", "s3cret"));
  ASSERT_EQ(checked.size(), 1u);
  EXPECT_EQ(checked[0], auth.dummy_hash());
  EXPECT_FALSE(auth.CheckUserPassword("nobody", "s3cret"));
  EXPECT_EQ(checked.size(), 1u) << "the failure is cached like a known user's";
}

TEST(BasicAuth, DummyHashHasTheCostOfTheDearestConfiguredHash) {
  // A fixed cost-10 dummy answered an unknown user in 168 ms while a cost-12 user took 630 ms and a cost-4
  // user 5 ms: the timing told which users exist.
  for (int cost : {4, 6}) {
    BasicAuthChecker auth({{"prom", MakeHash("s3cret", cost)}});
    EXPECT_EQ(BasicAuthChecker::BcryptCost(auth.dummy_hash()), cost) << auth.dummy_hash();
    EXPECT_EQ(auth.dummy_hash().size(), 60u) << "a whole bcrypt hash, not only its salt";
    EXPECT_FALSE(auth.CheckUserPassword("nobody", "s3cret"));
  }
  BasicAuthChecker mixed({{"a", MakeHash("x", 4)}, {"b", MakeHash("y", 7, "$2y$")}, {"c", MakeHash("z", 5)}});
  EXPECT_EQ(BasicAuthChecker::BcryptCost(mixed.dummy_hash()), 7);
  BasicAuthChecker other({{"a", MakeHash("x", 4)}});
  EXPECT_NE(other.dummy_hash(), BasicAuthChecker({{"a", MakeHash("x", 4)}}).dummy_hash()) << "a random salt";
  EXPECT_EQ(BasicAuthChecker::BcryptCost("$2b$12$abc"), 12);
  EXPECT_EQ(BasicAuthChecker::BcryptCost("$6$salt$hash"), -1);
  EXPECT_EQ(BasicAuthChecker::BcryptCost(""), -1);
  EXPECT_TRUE(BasicAuthChecker({}).dummy_hash().empty()) << "no users, no dummy to make";
}

// A verify hook that holds every check of a password starting with "wrong" until released, so a test can keep
// every bcrypt turn busy without depending on how long bcrypt takes.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int calls = 0;
  int running = 0;
  int max_running = 0;
  BasicAuthChecker::Options Options(int slots, int waiting) {
    BasicAuthChecker::Options o;
    o.max_concurrent_bcrypt = slots;
    o.max_waiting = waiting;
    o.verify = [this](const std::string& password, const std::string&) {
      std::unique_lock<std::mutex> lock(mu);
      ++calls;
      max_running = std::max(max_running, ++running);
      if (password.rfind("wrong", 0) == 0) cv.wait(lock, [this] { return open; });
      --running;
      return password == "s3cret";
    };
    return o;
  }
  void Open() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
  int Calls() {
    std::lock_guard<std::mutex> lock(mu);
    return calls;
  }
  int Running() {
    std::lock_guard<std::mutex> lock(mu);
    return running;
  }
};

bool WaitUntil(const std::function<bool()>& cond, std::chrono::seconds deadline = std::chrono::seconds(20)) {
  const auto until = Clock::now() + deadline;
  while (!cond()) {
    if (Clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

TEST(BasicAuth, CachedValidCredentialsAreAnsweredWhileEveryBcryptTurnIsBusy) {
  Gate gate;
  BasicAuthChecker auth({{"prom", MakeHash("s3cret", 4)}}, gate.Options(2, 64));
  ASSERT_TRUE(auth.CheckUserPassword("prom", "s3cret"));  // verified once, then cached
  // Wrong passwords take both turns and queue behind them.
  std::vector<std::thread> attackers;
  for (int i = 0; i < 6; ++i) {
    attackers.emplace_back(
        [&auth, i] { EXPECT_FALSE(auth.CheckUserPassword("prom", "wrong" + std::to_string(i))); });
  }
  // Both turns taken and both verifications inside the gate: the checker counts a turn as running a little
  // before its verify call starts, and a call that lands after `calls` is read is not the cached check's.
  ASSERT_TRUE(WaitUntil([&] { return auth.bcrypt_running() == 2 && gate.Running() == 2; }));
  const int calls = gate.Calls();
  // Answered on another thread, so that a check that wrongly queued fails the test instead of hanging it.
  std::atomic<int> answer{-1};
  std::thread scrape([&] { answer = auth.CheckUserPassword("prom", "s3cret") ? 1 : 0; });
  EXPECT_TRUE(WaitUntil([&] { return answer.load() >= 0; })) << "a cached valid credential waited for a turn";
  EXPECT_EQ(answer.load(), 1);
  EXPECT_EQ(gate.Calls(), calls) << "no bcrypt for a cached credential";
  EXPECT_EQ(auth.bcrypt_running(), 2) << "the turns were still busy";
  gate.Open();
  scrape.join();
  for (auto& t : attackers) t.join();
  EXPECT_LE(gate.max_running, 2) << "never more bcrypt at once than the turns";
}

TEST(BasicAuth, WhenTooManyWaitMoreAreRefusedAndNotCachedAsWrong) {
  Gate gate;
  BasicAuthChecker auth({{"prom", MakeHash("s3cret", 4)}}, gate.Options(1, 1));
  std::thread busy([&] { EXPECT_FALSE(auth.CheckUserPassword("prom", "wrong-1")); });
  ASSERT_TRUE(WaitUntil([&] { return auth.bcrypt_running() == 1; }));
  std::thread queued([&] { EXPECT_FALSE(auth.CheckUserPassword("prom", "wrong-2")); });
  ASSERT_TRUE(WaitUntil([&] { return auth.bcrypt_waiting() == 1; }));
  // The valid password, never verified yet, finds the queue full: refused at once, without a bcrypt...
  EXPECT_FALSE(auth.CheckUserPassword("prom", "s3cret"));
  EXPECT_EQ(gate.Calls(), 1);
  gate.Open();
  busy.join();
  queued.join();
  // ... and that refusal was not remembered as a wrong password.
  EXPECT_TRUE(auth.CheckUserPassword("prom", "s3cret"));
}

TEST(BasicAuth, WrongPasswordsDoNotEvictVerifiedCredentials) {
  Gate gate;
  gate.Open();
  BasicAuthChecker auth({{"prom", MakeHash("s3cret", 4)}}, gate.Options(2, 64));
  ASSERT_TRUE(auth.CheckUserPassword("prom", "s3cret"));
  for (int i = 0; i < 3000; ++i) EXPECT_FALSE(auth.CheckUserPassword("prom", "guess" + std::to_string(i)));
  const int calls = gate.Calls();
  EXPECT_TRUE(auth.CheckUserPassword("prom", "s3cret"));
  EXPECT_EQ(gate.Calls(), calls) << "still cached after 3,000 wrong passwords";
}

}  // namespace
}  // namespace estate::web
