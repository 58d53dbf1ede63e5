// The --web.config.file of Prometheus' exporter-toolkit: basic auth users with bcrypt hashes, TLS server
// settings and extra response headers. Unknown keys are errors, as in the toolkit.
// Parsing only reads files; BasicAuthChecker is thread-safe and caches bcrypt results (bounded, keyed by a
// SHA-256 so no password is kept).
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "estate/result.h"

namespace estate::config {
struct ParseOptions;
}  // namespace estate::config

namespace estate::web {

struct TlsServerConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  // NoClientCert | RequestClientCert | RequireAnyClientCert | VerifyClientCertIfGiven |
  // RequireAndVerifyClientCert (the toolkit's old name RequireClientCert is read as RequireAnyClientCert)
  std::string client_auth_type = "NoClientCert";
  std::string min_version = "TLS12";       // TLS10 | TLS11 | TLS12 | TLS13
  std::string max_version;                 // accepted; empty = no maximum
  std::vector<std::string> cipher_suites;  // IANA names as in the toolkit; apply to TLS <= 1.2 only
  bool enabled() const { return !cert_file.empty(); }
};

struct WebConfig {
  TlsServerConfig tls;
  std::map<std::string, std::string> headers;           // http_server_config.headers
  std::map<std::string, std::string> basic_auth_users;  // user -> bcrypt hash
  // Problems that do not stop the server (TLS below 1.2, a key or the file readable by other users), one line
  // each; LoadWebConfig logs them.
  std::vector<std::string> warnings;
};

// Reads and validates a web-config file. Every problem is reported, one per line, with the line and key path,
// e.g. "web.yml:3: tls_server_config.certfile: unknown key". Files named in tls_server_config must exist and
// the certificate/key/CA are loaded once to check them. Relative file names are relative to the config file's
// directory (as in the toolkit). An empty path gives the default (no TLS, no auth). The file is read with
// config::ReadFile (safe against a concurrent rewrite); warnings are logged once. Never throws.
Result<WebConfig> LoadWebConfig(const std::string& path);
// The same for text; origin only names it in messages, relative file names are relative to the working dir.
// Warnings are returned in WebConfig::warnings, not logged. With options.read_files false no file is touched.
Result<WebConfig> ParseWebConfig(const std::string& yaml_text, const std::string& origin);
Result<WebConfig> ParseWebConfig(const std::string& yaml_text, const std::string& origin,
                                 const config::ParseOptions& options);

// Checks "Authorization: Basic ..." values against the bcrypt hashes.
// - Unknown users are checked against a dummy hash made at construction with the highest cost among the
//   configured users' hashes, so a wrong user name costs as much as a wrong password.
// - Verified credentials are cached (keyed by a SHA-256, so no password is kept) apart from failed ones, so a
//   flood of wrong passwords cannot evict them; a cached answer never waits.
// - At most max_concurrent_bcrypt checks run bcrypt at once and at most max_waiting wait for a turn (more are
//   refused), so wrong passwords cannot take every CPU or thread and starve scrapes with valid credentials.
class BasicAuthChecker {
 public:
  struct Options {
    int max_concurrent_bcrypt = 2;
    int max_waiting = 64;
    // The hash check; VerifyBcrypt unless a test replaces it.
    std::function<bool(const std::string& password, const std::string& hash)> verify;
  };
  explicit BasicAuthChecker(std::map<std::string, std::string> users);
  BasicAuthChecker(std::map<std::string, std::string> users, Options options);
  bool enabled() const { return !users_.empty(); }
  // authorization_header is the raw header value ("Basic dXNlcjpwYXNz"); empty/absent fails.
  bool Check(const std::string& authorization_header) const;
  bool CheckUserPassword(const std::string& user, const std::string& password) const;

  // The hash unknown users are checked against, and the bcrypt cost of a hash ("$2b$12$..." -> 12; -1 when
  // it has none).
  const std::string& dummy_hash() const { return dummy_hash_; }
  static int BcryptCost(const std::string& hash);
  // Checks running bcrypt now, and waiting for a turn (for tests and metrics).
  int bcrypt_running() const;
  int bcrypt_waiting() const;

 private:
  // The check in one of the bcrypt turns; nullopt when refused because too many wait already.
  std::optional<bool> Verify(const std::string& password, const std::string& hash) const;

  std::map<std::string, std::string> users_;
  Options options_;
  std::string dummy_hash_;
  mutable std::mutex mu_;
  mutable std::condition_variable turn_;
  mutable int running_ = 0;
  mutable int waiting_ = 0;
  mutable std::set<std::string> valid_;    // keys: sha256(user, hash, password) of verified credentials
  mutable std::set<std::string> invalid_;  // the same for failed ones
};

// Verifies a password against a crypt(3) hash ($2y$/$2b$ bcrypt and the others libcrypt knows).
bool VerifyBcrypt(const std::string& password, const std::string& hash);

}  // namespace estate::web
