// Real TLS handshakes (libcurl client, civetweb server) with certificates generated at test time by the
// openssl CLI: first against raw civetweb with our init_ssl callback, then through estate::web::HttpServer.
#include <civetweb.h>
#include <crypt.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <link.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "../src/tls_setup.h"  // private to estate_common; tested directly
#include "estate/http_server.h"
#include "estate/web_config.h"

namespace estate::web {
namespace {

namespace fs = std::filesystem;

// ----- certificates ---------------------------------------------------------------------------------------

// A CA, a server certificate for 127.0.0.1/localhost, a client certificate from that CA and one from an
// unrelated "rogue" CA. Generated once per test binary into a temporary directory (no keys in the repo).
struct Pki {
  fs::path dir;
  std::string ca, server_cert, server_key, client_cert, client_key, rogue_cert, rogue_key;
  ~Pki() {  // runs at exit, after every test
    std::error_code ignored;
    if (!dir.empty()) fs::remove_all(dir, ignored);
  }
};

bool Run(const std::string& command, const fs::path& log) {
  const std::string full = command + " >>" + log.string() + " 2>&1";
  return std::system(full.c_str()) == 0;
}

const Pki& TestPki() {
  static Pki pki;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string templ = (fs::temp_directory_path() / "estate-tls-XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    pki.dir = templ;
    const fs::path log = pki.dir / "openssl.log";
    std::ofstream(pki.dir / "pki.cnf")
        << "[req]\ndistinguished_name = dn\n[dn]\n"
           "[ca]\nbasicConstraints = critical,CA:TRUE\n"
           "keyUsage = critical,keyCertSign,cRLSign\nsubjectKeyIdentifier = hash\n"
           "[server]\nbasicConstraints = CA:FALSE\n"
           "subjectAltName = IP:127.0.0.1,DNS:localhost\n"
           "extendedKeyUsage = serverAuth\n"
           "[client]\nbasicConstraints = CA:FALSE\nextendedKeyUsage = clientAuth\n";
    const std::string d = pki.dir.string() + "/";
    const std::string cnf = " -config " + d + "pki.cnf";
    const std::string newkey = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    auto make_ca = [&](const std::string& name) {
      return Run("openssl req -x509" + cnf + " -extensions ca" + newkey + " -keyout " + d + name +
                     ".key -out " + d + name + ".crt -days 2 -subj /CN=" + name,
                 log);
    };
    auto make_leaf = [&](const std::string& name, const std::string& ca, const std::string& ext, int serial) {
      return Run("openssl req -new" + cnf + newkey + " -keyout " + d + name + ".key -out " + d + name +
                     ".csr -subj /CN=" + name,
                 log) &&
             Run("openssl x509 -req -in " + d + name + ".csr -CA " + d + ca + ".crt -CAkey " + d + ca +
                     ".key -set_serial " + std::to_string(serial) + " -days 2 -extfile " + d +
                     "pki.cnf -extensions " + ext + " -out " + d + name + ".crt",
                 log);
    };
    const bool ok = make_ca("ca") && make_ca("rogue-ca") && make_leaf("server", "ca", "server", 2) &&
                    make_leaf("client", "ca", "client", 3) &&
                    make_leaf("rogue-client", "rogue-ca", "client", 4);
    ASSERT_TRUE(ok) << "openssl failed, see " << log;
    pki.ca = d + "ca.crt";
    pki.server_cert = d + "server.crt";
    pki.server_key = d + "server.key";
    pki.client_cert = d + "client.crt";
    pki.client_key = d + "client.key";
    pki.rogue_cert = d + "rogue-client.crt";
    pki.rogue_key = d + "rogue-client.key";
  });
  return pki;
}

TlsServerConfig ServerTls() {
  TlsServerConfig tls;
  tls.cert_file = TestPki().server_cert;
  tls.key_file = TestPki().server_key;
  return tls;
}

// ----- client ---------------------------------------------------------------------------------------------

struct FetchOptions {
  std::string ca_file;  // empty: the system's CA store
  std::string client_cert, client_key;
  std::string user_password;                   // "user:pass" for basic auth
  long ssl_version = CURL_SSLVERSION_DEFAULT;  // NOLINT(google-runtime-int): libcurl's type
  std::string cipher_list;

  FetchOptions& Ca(std::string file) {
    ca_file = std::move(file);
    return *this;
  }
  FetchOptions& Cert(std::string cert, std::string key) {
    client_cert = std::move(cert);
    client_key = std::move(key);
    return *this;
  }
  FetchOptions& Auth(std::string user_colon_password) {
    user_password = std::move(user_colon_password);
    return *this;
  }
  FetchOptions& Version(long version) {  // NOLINT(google-runtime-int)
    ssl_version = version;
    return *this;
  }
  FetchOptions& Ciphers(std::string list) {
    cipher_list = std::move(list);
    return *this;
  }
};

// A client that trusts the test CA.
FetchOptions Trusting() { return FetchOptions().Ca(TestPki().ca); }
FetchOptions WithClientCert() { return Trusting().Cert(TestPki().client_cert, TestPki().client_key); }
FetchOptions WithRogueCert() { return Trusting().Cert(TestPki().rogue_cert, TestPki().rogue_key); }

// TLS 1.2 and nothing newer.
constexpr long kTls12Only =  // NOLINT(google-runtime-int)
    static_cast<long>(CURL_SSLVERSION_TLSv1_2) | static_cast<long>(CURL_SSLVERSION_MAX_TLSv1_2);  // NOLINT

struct Fetched {
  CURLcode code = CURLE_OK;
  long status = 0;  // NOLINT(google-runtime-int): libcurl's type
  std::string body;
  std::string headers;
  std::string error;
};

std::size_t Append(char* data, std::size_t size, std::size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

Fetched Fetch(const std::string& url, const FetchOptions& o) {
  Fetched f;
  CURL* curl = curl_easy_init();
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &f.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &f.headers);
  if (!o.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca_file.c_str());
  if (!o.client_cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, o.client_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, o.client_key.c_str());
  }
  if (!o.user_password.empty()) {
    curl_easy_setopt(curl, CURLOPT_HTTPAUTH,
                     static_cast<long>(CURLAUTH_BASIC));  // NOLINT(google-runtime-int)
    curl_easy_setopt(curl, CURLOPT_USERPWD, o.user_password.c_str());
  }
  curl_easy_setopt(curl, CURLOPT_SSLVERSION, o.ssl_version);
  if (!o.cipher_list.empty()) curl_easy_setopt(curl, CURLOPT_SSL_CIPHER_LIST, o.cipher_list.c_str());
  f.code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &f.status);
  f.error = error;
  curl_easy_cleanup(curl);
  return f;
}

std::string Describe(const Fetched& f) {
  return "curl: " + std::string(curl_easy_strerror(f.code)) + " (" + f.error + "), HTTP " +
         std::to_string(f.status) + ", body: " + f.body;
}

// ----- raw civetweb server --------------------------------------------------------------------------------

void InitCivetweb() {
  static std::once_flag once;
  std::call_once(once, [] { mg_init_library(MG_FEATURES_TLS); });
}

// civetweb with exactly the contract tls_setup.h documents: an "s" port and an init_ssl callback calling
// ConfigureServerTls. Answers "ok" plus the client certificate's subject when there is one (civetweb gets it
// through SSL_get_peer_certificate, i.e. through the shim).
class RawTlsServer {
 public:
  RawTlsServer() = default;
  RawTlsServer(const RawTlsServer&) = delete;
  RawTlsServer& operator=(const RawTlsServer&) = delete;
  ~RawTlsServer() {
    if (ctx_ != nullptr) mg_stop(ctx_);
  }

  bool Start(const TlsServerConfig& tls, bool with_certificate_option = false) {
    InitCivetweb();
    tls_ = tls;
    std::vector<const char*> options = {"listening_ports", "127.0.0.1:0s", "num_threads", "2"};
    if (with_certificate_option) {
      options.push_back("ssl_certificate");
      options.push_back(tls_.cert_file.c_str());
    }
    options.push_back(nullptr);
    mg_callbacks callbacks{};
    callbacks.init_ssl = &InitSsl;
    callbacks.begin_request = &BeginRequest;
    callbacks.log_message = [](const mg_connection*, const char*) { return 1; };  // keep test output quiet
    ctx_ = mg_start(&callbacks, this, options.data());
    return ctx_ != nullptr;
  }

  std::string url() const {
    mg_server_port ports[1] = {};
    const int n = mg_get_server_ports(ctx_, 1, ports);
    return n == 1 ? "https://127.0.0.1:" + std::to_string(ports[0].port) + "/" : "https://invalid/";
  }
  const std::string& error() const { return error_; }

 private:
  static int InitSsl(void* ssl_ctx, void* user_data) {
    auto* self = static_cast<RawTlsServer*>(user_data);
    return ConfigureServerTls(ssl_ctx, self->tls_, &self->error_);
  }

  static int BeginRequest(mg_connection* conn) {
    const mg_request_info* info = mg_get_request_info(conn);
    std::string body = "ok";
    if (info->client_cert != nullptr && info->client_cert->subject != nullptr) {
      body += std::string(" subject=") + info->client_cert->subject;
    }
    mg_printf(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
        body.size());
    mg_write(conn, body.data(), body.size());
    return 1;
  }

  TlsServerConfig tls_;
  std::string error_;
  mg_context* ctx_ = nullptr;
};

std::string LoadedPath(const char* soname) {
  void* handle = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
  if (handle == nullptr) return "(not loaded)";
  link_map* map = nullptr;
  std::string path = dlinfo(handle, RTLD_DI_LINKMAP, &map) == 0 && map != nullptr ? map->l_name : "(unknown)";
  dlclose(handle);
  return path;
}

// ----- shim -----------------------------------------------------------------------------------------------

TEST(TlsShim, CivetwebGetsTheShims) {
  std::string why;
  EXPECT_TRUE(TlsShimPresent(&why)) << why;
  // What civetweb's dlopen("libssl.so") / dlopen("libcrypto.so") will return: our shims, not the system's
  // libssl-dev symlinks (which would also be absent on a machine without libssl-dev).
  EXPECT_NE(LoadedPath("libssl.so").find("estate-sslcompat/libssl.so"), std::string::npos)
      << LoadedPath("libssl.so");
  EXPECT_NE(LoadedPath("libcrypto.so").find("estate-sslcompat"), std::string::npos)
      << LoadedPath("libcrypto.so");
}

// ----- raw civetweb ---------------------------------------------------------------------------------------

TEST(RawCivetwebTls, HttpsWithTheCa) {
  RawTlsServer server;
  ASSERT_TRUE(server.Start(ServerTls())) << server.error();
  Fetched f = Fetch(server.url(), Trusting());
  ASSERT_EQ(f.code, CURLE_OK) << Describe(f);
  EXPECT_EQ(f.status, 200);
  EXPECT_EQ(f.body, "ok");
  // A second connection: civetweb's per-connection path (and the shim) is not a one-off.
  Fetched again = Fetch(server.url(), Trusting());
  EXPECT_EQ(again.code, CURLE_OK) << Describe(again);
}

TEST(RawCivetwebTls, UnknownCaIsRejectedByTheClient) {
  RawTlsServer server;
  ASSERT_TRUE(server.Start(ServerTls())) << server.error();
  Fetched f = Fetch(server.url(), FetchOptions().Ca(TestPki().dir.string() + "/rogue-ca.crt"));
  EXPECT_EQ(f.code, CURLE_PEER_FAILED_VERIFICATION) << Describe(f);
}

TEST(RawCivetwebTls, CertificateOptionIsHarmless) {
  // What HttpServer passes: ssl_certificate = cert_file alongside the callback. Not needed, but must not
  // hurt.
  RawTlsServer server;
  ASSERT_TRUE(server.Start(ServerTls(), /*with_certificate_option=*/true)) << server.error();
  Fetched f = Fetch(server.url(), Trusting());
  EXPECT_EQ(f.code, CURLE_OK) << Describe(f);
}

TEST(RawCivetwebTls, RequireAndVerifyClientCert) {
  TlsServerConfig tls = ServerTls();
  tls.client_auth_type = "RequireAndVerifyClientCert";
  tls.client_ca_file = TestPki().ca;
  RawTlsServer server;
  ASSERT_TRUE(server.Start(tls)) << server.error();

  Fetched none = Fetch(server.url(), Trusting());
  EXPECT_NE(none.code, CURLE_OK) << "a client without a certificate got in: " << Describe(none);

  Fetched rogue = Fetch(server.url(), WithRogueCert());
  EXPECT_NE(rogue.code, CURLE_OK) << "a certificate from another CA got in: " << Describe(rogue);

  Fetched good = Fetch(server.url(), WithClientCert());
  ASSERT_EQ(good.code, CURLE_OK) << Describe(good);
  EXPECT_EQ(good.status, 200);
  EXPECT_NE(good.body.find("CN=client"), std::string::npos) << good.body;
}

TEST(RawCivetwebTls, VerifyClientCertIfGiven) {
  TlsServerConfig tls = ServerTls();
  tls.client_auth_type = "VerifyClientCertIfGiven";
  tls.client_ca_file = TestPki().ca;
  RawTlsServer server;
  ASSERT_TRUE(server.Start(tls)) << server.error();
  EXPECT_EQ(Fetch(server.url(), Trusting()).code, CURLE_OK);
  EXPECT_EQ(Fetch(server.url(), WithClientCert()).code, CURLE_OK);
  EXPECT_NE(Fetch(server.url(), WithRogueCert()).code, CURLE_OK);
}

TEST(RawCivetwebTls, RequireAnyClientCertDoesNotVerify) {
  TlsServerConfig tls = ServerTls();
  tls.client_auth_type = "RequireAnyClientCert";
  RawTlsServer server;
  ASSERT_TRUE(server.Start(tls)) << server.error();
  EXPECT_NE(Fetch(server.url(), Trusting()).code, CURLE_OK);
  Fetched rogue = Fetch(server.url(), WithRogueCert());
  EXPECT_EQ(rogue.code, CURLE_OK) << Describe(rogue);
}

TEST(RawCivetwebTls, MinVersionTls13RefusesTls12Client) {
  TlsServerConfig tls = ServerTls();
  tls.min_version = "TLS13";
  RawTlsServer server;
  ASSERT_TRUE(server.Start(tls)) << server.error();
  Fetched old = Fetch(server.url(), Trusting().Version(kTls12Only));
  EXPECT_NE(old.code, CURLE_OK) << "a TLS 1.2-only client got in: " << Describe(old);
  Fetched modern = Fetch(server.url(), Trusting().Version(CURL_SSLVERSION_TLSv1_3));
  EXPECT_EQ(modern.code, CURLE_OK) << Describe(modern);
}

TEST(RawCivetwebTls, MaxVersionTls12RefusesTls13OnlyClient) {
  TlsServerConfig tls = ServerTls();
  tls.max_version = "TLS12";
  RawTlsServer server;
  ASSERT_TRUE(server.Start(tls)) << server.error();
  EXPECT_NE(Fetch(server.url(), Trusting().Version(CURL_SSLVERSION_TLSv1_3)).code, CURLE_OK);
  EXPECT_EQ(Fetch(server.url(), Trusting()).code, CURLE_OK);
}

TEST(RawCivetwebTls, CipherSuitesLimitTls12) {
  TlsServerConfig tls = ServerTls();
  tls.max_version = "TLS12";
  tls.cipher_suites = {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
  RawTlsServer server;
  ASSERT_TRUE(server.Start(tls)) << server.error();
  EXPECT_EQ(Fetch(server.url(), Trusting().Ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")).code, CURLE_OK);
  EXPECT_NE(Fetch(server.url(), Trusting().Ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")).code, CURLE_OK);
}

TEST(RawCivetwebTls, MismatchedKeyFailsStartWithAMessage) {
  TlsServerConfig tls = ServerTls();
  tls.key_file = TestPki().client_key;
  RawTlsServer server;
  EXPECT_FALSE(server.Start(tls));
  EXPECT_NE(server.error().find("does not match"), std::string::npos) << server.error();
  EXPECT_NE(server.error().find(TestPki().client_key), std::string::npos) << server.error();
}

TEST(RawCivetwebTls, MissingCertificateFailsStartWithAMessage) {
  TlsServerConfig tls = ServerTls();
  tls.cert_file = TestPki().dir.string() + "/nope.crt";
  RawTlsServer server;
  EXPECT_FALSE(server.Start(tls));
  EXPECT_NE(server.error().find("nope.crt"), std::string::npos) << server.error();
}

// ----- through estate::web::HttpServer ------------------------------------------------------------------

// Writes a web-config file next to the certificates and loads it the way an exporter does.
WebConfig LoadTestWebConfig(const std::string& name, const std::string& yaml) {
  const fs::path path = TestPki().dir / name;
  std::ofstream(path) << yaml;
  auto cfg = LoadWebConfig(path.string());
  EXPECT_TRUE(cfg.ok()) << cfg.error();
  return cfg.ok() ? *cfg : WebConfig{};
}

// A bcrypt hash made at test time with libcrypt (cost 5: cheap enough for tests).
std::string MakeTestHash(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof(salt)) == nullptr) return {};
  crypt_data data{};
  const char* hash = crypt_r(password.c_str(), salt, &data);
  return hash == nullptr ? std::string() : std::string(hash);
}

class HttpServerTls : public ::testing::Test {
 protected:
  void StartWith(const WebConfig& web) {
    ServerOptions options;
    options.listen_addresses = {"127.0.0.1:0"};
    options.worker_threads = 2;
    options.web_config = web;
    server_.Route("/metrics", {"GET"}, [](const HttpRequest&) {
      HttpResponse r;
      r.body = "up 1\n";
      return r;
    });
    auto started = server_.Start(options);
    ASSERT_TRUE(started.ok()) << started.error();
    ASSERT_TRUE(server_.tls());
    ASSERT_EQ(server_.Ports().size(), 1u);
    url_ = "https://127.0.0.1:" + std::to_string(server_.Ports()[0]) + "/metrics";
  }

  HttpServer server_;
  std::string url_;
};

TEST_F(HttpServerTls, HttpsWithBasicAuth) {
  const std::string yaml =
      "tls_server_config:\n"
      "  cert_file: server.crt\n"
      "  key_file: server.key\n"
      "http_server_config:\n"
      "  headers:\n"
      "    X-Frame-Options: deny\n"
      "basic_auth_users:\n"
      "  prom: " +
      MakeTestHash("s3cret") + "\n";
  StartWith(LoadTestWebConfig("auth.yml", yaml));

  Fetched right = Fetch(url_, Trusting().Auth("prom:s3cret"));
  ASSERT_EQ(right.code, CURLE_OK) << Describe(right);
  EXPECT_EQ(right.status, 200);
  EXPECT_EQ(right.body, "up 1\n");
  EXPECT_NE(right.headers.find("X-Frame-Options: deny"), std::string::npos) << right.headers;

  Fetched wrong = Fetch(url_, Trusting().Auth("prom:nope"));
  ASSERT_EQ(wrong.code, CURLE_OK) << Describe(wrong);
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers.find("WWW-Authenticate: Basic"), std::string::npos) << wrong.headers;

  Fetched anonymous = Fetch(url_, Trusting());
  EXPECT_EQ(anonymous.status, 401);
  Fetched unknown_user = Fetch(url_, Trusting().Auth("root:s3cret"));
  EXPECT_EQ(unknown_user.status, 401);
}

TEST_F(HttpServerTls, RequireAndVerifyClientCert) {
  StartWith(LoadTestWebConfig("mtls.yml",
                              "tls_server_config:\n"
                              "  cert_file: server.crt\n"
                              "  key_file: server.key\n"
                              "  client_auth_type: RequireAndVerifyClientCert\n"
                              "  client_ca_file: ca.crt\n"));
  Fetched none = Fetch(url_, Trusting());
  EXPECT_NE(none.code, CURLE_OK) << "a client without a certificate got in: " << Describe(none);
  Fetched rogue = Fetch(url_, WithRogueCert());
  EXPECT_NE(rogue.code, CURLE_OK) << "a certificate from another CA got in: " << Describe(rogue);
  Fetched good = Fetch(url_, WithClientCert());
  ASSERT_EQ(good.code, CURLE_OK) << Describe(good);
  EXPECT_EQ(good.status, 200);
}

TEST_F(HttpServerTls, MinVersionTls13) {
  StartWith(LoadTestWebConfig("tls13.yml",
                              "tls_server_config:\n"
                              "  cert_file: server.crt\n"
                              "  key_file: server.key\n"
                              "  min_version: TLS13\n"));
  Fetched old = Fetch(url_, Trusting().Version(kTls12Only));
  EXPECT_NE(old.code, CURLE_OK) << "a TLS 1.2-only client got in: " << Describe(old);
  Fetched modern = Fetch(url_, Trusting());
  EXPECT_EQ(modern.code, CURLE_OK) << Describe(modern);
}

TEST(HttpServerTlsStart, BrokenTlsFailsStartWithTheReason) {
  // A config that skipped validation (built in code): Start must fail cleanly, naming the problem.
  WebConfig web;
  web.tls = ServerTls();
  web.tls.key_file = TestPki().client_key;
  ServerOptions options;
  options.listen_addresses = {"127.0.0.1:0"};
  options.web_config = web;
  HttpServer server;
  auto started = server.Start(options);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.error().find("does not match"), std::string::npos) << started.error();
}

}  // namespace
}  // namespace estate::web
