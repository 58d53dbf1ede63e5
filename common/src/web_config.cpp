#include "estate/web_config.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>

#include "estate/config.h"
#include "tls_setup.h"

namespace estate::web {
namespace {

using config::ConfigErrors;

// ---------------------------------------------------------------------------------------------------------
// Strict YAML walking. yaml-cpp has no "unknown field" mode, so every mapping is walked key by key and each
// key must be claimed by a handler; anything else is reported with its line and dotted path, as the
// exporter-toolkit (yaml.UnmarshalStrict) does.

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

// Calls handle(key, key_node, value) for each entry of a mapping. Null counts as an empty mapping (a section
// written as "basic_auth_users:" with nothing under it). Reports non-mappings, non-scalar and duplicate keys.
void ForEachEntry(
    const YAML::Node& node, const YAML::Mark& where, const std::string& path, ConfigErrors& errors,
    const std::function<void(const std::string&, const YAML::Node&, const YAML::Node&)>& handle) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsMap()) {
    errors.Add(where, path, "must be a mapping");
    return;
  }
  std::set<std::string> seen;
  for (const auto& entry : node) {
    const YAML::Node& key = entry.first;
    if (!key.IsScalar()) {
      errors.Add(key.Mark(), path, "keys must be strings");
      continue;
    }
    const std::string name = key.Scalar();
    if (!seen.insert(name).second) {
      errors.Add(key.Mark(), Join(path, name), "duplicate key");
      continue;
    }
    handle(name, key, entry.second);
  }
}

// Scalars: null reads as empty, as in Go's yaml.
bool ReadString(const YAML::Node& value, const YAML::Mark& where, const std::string& path,
                ConfigErrors& errors, std::string* out) {
  if (value.IsNull()) {
    out->clear();
    return true;
  }
  if (!value.IsScalar()) {
    errors.Add(where, path, "must be a string");
    return false;
  }
  *out = value.Scalar();
  return true;
}

void ReadBool(const YAML::Node& value, const YAML::Mark& where, const std::string& path,
              ConfigErrors& errors) {
  bool ignored = false;
  if (value.IsNull()) return;
  if (!value.IsScalar() || !YAML::convert<bool>::decode(value, ignored)) {
    errors.Add(where, path, "must be true or false");
  }
}

std::vector<std::string> ReadStringList(const YAML::Node& value, const YAML::Mark& where,
                                        const std::string& path, ConfigErrors& errors) {
  std::vector<std::string> out;
  if (value.IsNull()) return out;
  if (!value.IsSequence()) {
    errors.Add(where, path, "must be a list of strings");
    return out;
  }
  for (std::size_t i = 0; i < value.size(); ++i) {
    const YAML::Node item = value[i];
    if (!item.IsScalar()) {
      errors.Add(item.Mark(), path + "[" + std::to_string(i) + "]", "must be a string");
      continue;
    }
    out.push_back(item.Scalar());
  }
  return out;
}

// Prefer the value's own position; yaml-cpp gives null values no useful mark, so fall back to the key's.
YAML::Mark MarkOf(const YAML::Node& value, const YAML::Node& key) {
  YAML::Mark mark = value.Mark();
  return (value.IsNull() || mark.line < 0) ? key.Mark() : mark;
}

// ---------------------------------------------------------------------------------------------------------
// Semantic checks.

const std::set<std::string>& ClientAuthTypes() {
  static const std::set<std::string> kTypes = {"NoClientCert", "RequestClientCert", "RequireAnyClientCert",
                                               "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"};
  return kTypes;
}

// The only headers the toolkit lets users set (web/handler.go); the value lists are its enumerations.
const std::map<std::string, std::vector<std::string>>& AllowedHeaders() {
  static const std::map<std::string, std::vector<std::string>> kHeaders = {
      {"Strict-Transport-Security", {}},
      {"X-Content-Type-Options", {"nosniff"}},
      {"X-Frame-Options", {"deny", "sameorigin"}},
      {"X-XSS-Protection", {}},
      {"Content-Security-Policy", {}},
  };
  return kHeaders;
}

// "$2a$", "$2b$" or "$2y$", a two-digit cost, "$", then 53 characters of bcrypt's base64: what
// `htpasswd -nBC 10` writes and what the toolkit's bcrypt.Cost() accepts. Catches the common mistake of
// pasting a plain-text password.
bool LooksLikeBcrypt(const std::string& hash) {
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return false;
  }
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) return false;
  return std::all_of(hash.begin() + 7, hash.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '/';
  });
}

std::string ResolvePath(const std::string& base_dir, const std::string& file) {
  if (file.empty() || file[0] == '/' || base_dir.empty()) return file;
  return base_dir + "/" + file;
}

// Empty when the file is a readable regular file; otherwise why not.
std::string FileProblem(const std::string& file) {
  struct stat st {};
  if (stat(file.c_str(), &st) != 0) {
    return errno == ENOENT ? "file " + file + " does not exist"
                           : "cannot access " + file + ": " + std::strerror(errno);
  }
  if (!S_ISREG(st.st_mode)) return file + " is not a regular file";
  if (access(file.c_str(), R_OK) != 0) return "cannot read " + file + ": " + std::strerror(errno);
  return {};
}

struct TlsSection {
  TlsServerConfig tls;
  YAML::Mark mark;                          // of the "tls_server_config" key
  std::map<std::string, YAML::Mark> marks;  // per sub-key, for error lines
  bool client_auth_set = false;
};

void ParseTls(const YAML::Node& node, const YAML::Mark& where, const std::string& base_dir,
              ConfigErrors& errors, TlsSection* out) {
  const std::string path = "tls_server_config";
  TlsServerConfig& tls = out->tls;
  ForEachEntry(
      node, where, path, errors, [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
        const std::string sub = Join(path, key);
        const YAML::Mark mark = MarkOf(v, k);
        out->marks[key] = k.Mark();
        if (key == "cert_file") {
          if (ReadString(v, mark, sub, errors, &tls.cert_file)) {
            tls.cert_file = ResolvePath(base_dir, tls.cert_file);
          }
        } else if (key == "key_file") {
          if (ReadString(v, mark, sub, errors, &tls.key_file)) {
            tls.key_file = ResolvePath(base_dir, tls.key_file);
          }
        } else if (key == "client_ca_file") {
          if (ReadString(v, mark, sub, errors, &tls.client_ca_file)) {
            tls.client_ca_file = ResolvePath(base_dir, tls.client_ca_file);
          }
        } else if (key == "client_auth_type") {
          std::string value;
          if (!ReadString(v, mark, sub, errors, &value)) return;
          // The old name the toolkit still accepts.
          if (value == "RequireClientCert") value = "RequireAnyClientCert";
          if (value.empty()) value = "NoClientCert";
          if (ClientAuthTypes().count(value) == 0) {
            errors.Add(
                mark, sub,
                "unknown value \"" + value +
                    "\" (want NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven "
                    "or RequireAndVerifyClientCert)");
            return;
          }
          tls.client_auth_type = value;
          out->client_auth_set = value != "NoClientCert";
        } else if (key == "min_version" || key == "max_version") {
          std::string value;
          if (!ReadString(v, mark, sub, errors, &value)) return;
          if (TlsVersionNumber(value) == 0) {
            errors.Add(mark, sub,
                       "unknown TLS version \"" + value + "\" (want TLS10, TLS11, TLS12 or TLS13)");
            return;
          }
          (key == "min_version" ? tls.min_version : tls.max_version) = value;
          if (key == "min_version" && TlsVersionNumber(value) < TlsVersionNumber("TLS12")) {
            errors.Warn(mark, sub, value + " is deprecated and insecure (RFC 8996); use TLS12 or TLS13");
          }
        } else if (key == "cipher_suites") {
          tls.cipher_suites = ReadStringList(v, mark, sub, errors);
          for (const auto& suite : tls.cipher_suites) {
            std::string ignored;
            if (!CipherSuiteToOpenSsl(suite, &ignored)) {
              errors.Add(mark, sub, "unknown cipher suite \"" + suite + "\"");
            }
          }
        } else if (key == "curve_preferences") {
          // Accepted for compatibility and validated like the toolkit does, but not applied: OpenSSL's
          // default group list (X25519, P-256, ...) is already what Go prefers.
          static const std::set<std::string> kCurves = {"CurveP256", "CurveP384", "CurveP521", "X25519"};
          for (const auto& curve : ReadStringList(v, mark, sub, errors)) {
            if (kCurves.count(curve) == 0) errors.Add(mark, sub, "unknown curve \"" + curve + "\"");
          }
        } else if (key == "prefer_server_cipher_suites") {
          ReadBool(v, mark, sub, errors);  // accepted; civetweb always prefers the server's order
        } else if (key == "cert" || key == "key" || key == "client_ca" || key == "client_allowed_sans") {
          // Newer toolkit keys. Failing is safer than ignoring them (client_allowed_sans restricts access).
          errors.Add(k.Mark(), sub, "not supported by this exporter");
        } else {
          errors.Add(k.Mark(), sub, "unknown key");
        }
      });
}

void ValidateTls(const TlsSection& section, ConfigErrors& errors) {
  const TlsServerConfig& tls = section.tls;
  const std::string path = "tls_server_config";
  auto mark_of = [&](const std::string& key) {
    auto it = section.marks.find(key);
    return it == section.marks.end() ? section.mark : it->second;
  };
  // Like the toolkit: TLS is on as soon as a certificate, key, CA or client auth policy is given, and then
  // both the certificate and the key are required.
  const bool wants_tls = !tls.cert_file.empty() || !tls.key_file.empty() || !tls.client_ca_file.empty() ||
                         section.client_auth_set;
  if (!wants_tls) return;
  if (tls.cert_file.empty()) {
    errors.Add(section.mark, Join(path, "cert_file"),
               "missing (required once any TLS file or client_auth_type is set)");
  }
  if (tls.key_file.empty()) {
    errors.Add(section.mark, Join(path, "key_file"),
               "missing (required once any TLS file or client_auth_type is set)");
  }
  const bool verifies = tls.client_auth_type == "VerifyClientCertIfGiven" ||
                        tls.client_auth_type == "RequireAndVerifyClientCert";
  if (verifies && tls.client_ca_file.empty()) {
    errors.Add(
        mark_of("client_auth_type"), Join(path, "client_ca_file"),
        "missing (client_auth_type " + tls.client_auth_type + " verifies client certificates against it)");
  }
  if (!tls.client_ca_file.empty() && tls.client_auth_type == "NoClientCert") {
    errors.Add(mark_of("client_ca_file"), Join(path, "client_ca_file"),
               "set but client_auth_type is NoClientCert (set a client_auth_type)");
  }
  if (!tls.max_version.empty() && TlsVersionNumber(tls.max_version) < TlsVersionNumber(tls.min_version)) {
    errors.Add(mark_of("max_version"), Join(path, "max_version"),
               tls.max_version + " is below min_version " + tls.min_version);
  }
  for (const auto& [key, file] : {std::pair<std::string, std::string>{"cert_file", tls.cert_file},
                                  {"key_file", tls.key_file},
                                  {"client_ca_file", tls.client_ca_file}}) {
    if (file.empty() || !errors.options().read_files) continue;
    std::string problem = FileProblem(file);
    if (!problem.empty()) errors.Add(mark_of(key), Join(path, key), problem);
  }
  // Only when the whole file is otherwise clean, so one mistake is not reported twice.
  if (!errors.empty() || !errors.options().read_files) return;
  if (std::string w = config::FileModeWarning(tls.key_file, /*secret=*/true); !w.empty()) {
    errors.Warn(mark_of("key_file"), Join(path, "key_file"), "TLS private key " + w);
  }

  // Everything looks right on paper: apply it to a scratch context, so a certificate that does not parse, a
  // key that does not match or a CA file without certificates is reported now (and by --config.check), not
  // when the server starts.
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return;
  std::string error;
  if (ConfigureServerTls(ctx, tls, &error) < 0) errors.Add(section.mark, path, error);
  SSL_CTX_free(ctx);
}

void ParseHttpServer(const YAML::Node& node, const YAML::Mark& where, ConfigErrors& errors, WebConfig* cfg) {
  const std::string path = "http_server_config";
  ForEachEntry(
      node, where, path, errors, [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
        const std::string sub = Join(path, key);
        if (key == "http2") {
          ReadBool(v, MarkOf(v, k), sub, errors);  // accepted; civetweb serves HTTP/1.1 only
        } else if (key == "headers") {
          ForEachEntry(
              v, k.Mark(), sub, errors,
              [&](const std::string& name, const YAML::Node& hk, const YAML::Node& hv) {
                const std::string hpath = Join(sub, name);
                const YAML::Mark mark = MarkOf(hv, hk);
                std::string value;
                if (!ReadString(hv, mark, hpath, errors, &value)) return;
                auto allowed = AllowedHeaders().find(name);
                if (allowed == AllowedHeaders().end()) {
                  errors.Add(
                      hk.Mark(), hpath,
                      "this header can not be configured (allowed: Strict-Transport-Security, "
                      "X-Content-Type-Options, X-Frame-Options, X-XSS-Protection, Content-Security-Policy)");
                  return;
                }
                const auto& values = allowed->second;
                if (!values.empty() && std::find(values.begin(), values.end(), value) == values.end()) {
                  std::string want;
                  for (const auto& w : values) want += (want.empty() ? "" : " or ") + ("\"" + w + "\"");
                  errors.Add(mark, hpath, "invalid value \"" + value + "\" (want " + want + ")");
                  return;
                }
                // A newline would let the config inject further headers into every response.
                if (value.find_first_of("\r\n") != std::string::npos) {
                  errors.Add(mark, hpath, "value must not contain line breaks");
                  return;
                }
                cfg->headers[name] = value;
              });
        } else {
          errors.Add(k.Mark(), sub, "unknown key");
        }
      });
}

void ParseUsers(const YAML::Node& node, const YAML::Mark& where, ConfigErrors& errors, WebConfig* cfg) {
  const std::string path = "basic_auth_users";
  ForEachEntry(node, where, path, errors,
               [&](const std::string& user, const YAML::Node& k, const YAML::Node& v) {
                 const std::string sub = Join(path, user);
                 const YAML::Mark mark = MarkOf(v, k);
                 std::string hash;
                 if (!ReadString(v, mark, sub, errors, &hash)) return;
                 if (user.empty() || user.find(':') != std::string::npos) {
                   errors.Add(k.Mark(), sub, "user names must be non-empty and must not contain ':'");
                   return;
                 }
                 // Never echo the value: if it is not a hash it is probably a plain-text password.
                 if (!LooksLikeBcrypt(hash)) {
                   errors.Add(mark, sub,
                              "not a bcrypt hash (generate one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')");
                   return;
                 }
                 cfg->basic_auth_users[user] = hash;
               });
}

Result<WebConfig> Parse(const std::string& yaml_text, const std::string& origin, const std::string& base_dir,
                        const config::ParseOptions& options) {
  ConfigErrors errors(origin, options);
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::Exception& e) {
    errors.Add(e.mark, "", "invalid YAML: " + e.msg);
    return MakeError(errors.Text());
  } catch (const std::exception& e) {
    errors.Add(YAML::Mark::null_mark(), "", std::string("cannot parse: ") + e.what());
    return MakeError(errors.Text());
  }

  WebConfig cfg;
  TlsSection tls;
  tls.mark = root.Mark();
  if (root.IsDefined() && !root.IsNull() && !root.IsMap()) {
    errors.Add(root.Mark(), "", "the web config must be a mapping");
    return MakeError(errors.Text());
  }
  ForEachEntry(root, root.Mark(), "", errors,
               [&](const std::string& key, const YAML::Node& k, const YAML::Node& v) {
                 if (key == "tls_server_config") {
                   tls.mark = k.Mark();
                   ParseTls(v, k.Mark(), base_dir, errors, &tls);
                 } else if (key == "http_server_config") {
                   ParseHttpServer(v, k.Mark(), errors, &cfg);
                 } else if (key == "basic_auth_users") {
                   ParseUsers(v, k.Mark(), errors, &cfg);
                 } else if (key == "rate_limit") {
                   errors.Add(k.Mark(), key, "not supported by this exporter");
                 } else {
                   errors.Add(k.Mark(), key, "unknown key");
                 }
               });
  ValidateTls(tls, errors);
  if (!errors.empty()) return MakeError(errors.Text());
  cfg.tls = tls.tls;
  cfg.warnings = errors.warnings();
  return cfg;
}

}  // namespace

Result<WebConfig> ParseWebConfig(const std::string& yaml_text, const std::string& origin) {
  return ParseWebConfig(yaml_text, origin, config::ParseOptions{});
}

Result<WebConfig> ParseWebConfig(const std::string& yaml_text, const std::string& origin,
                                 const config::ParseOptions& options) {
  return Parse(yaml_text, origin, "", options);
}

Result<WebConfig> LoadWebConfig(const std::string& path) {
  if (path.empty()) return WebConfig{};
  try {
    auto text = config::ReadFile(path);
    if (!text) return MakeError("web config: " + text.error());
    // Relative file names in the config are relative to the config file, as in the toolkit.
    const auto slash = path.rfind('/');
    const std::string base_dir = slash == std::string::npos ? "" : (slash == 0 ? "/" : path.substr(0, slash));
    auto cfg = Parse(*text, path, base_dir, config::ParseOptions{});
    if (!cfg) return cfg;
    // The file holds bcrypt hashes at most, but they can be guessed offline: other users should not read
    // them.
    config::CheckConfigFileMode(path, !cfg->basic_auth_users.empty(), cfg->warnings);
    config::LogWarnings(cfg->warnings);
    return cfg;
  } catch (const std::exception& e) {
    return MakeError(path + ": cannot load: " + e.what());
  }
}

// ---------------------------------------------------------------------------------------------------------
// Basic auth.

namespace {

// The cost of the dummy hash when no configured hash has one.
constexpr int kDefaultBcryptCost = 10;

// Bounded so that a stream of wrong passwords cannot grow memory without limit.
constexpr std::size_t kMaxCacheEntries = 1024;

// Strict RFC 4648 base64 (padding required) for the Authorization header.
bool DecodeBase64(std::string_view in, std::string* out) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) return false;
  out->clear();
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = in[i + static_cast<std::size_t>(j)];
      if (c == '=' && last && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return false;  // data after padding
      v[j] = value(c);
      if (v[j] < 0) return false;
    }
    const unsigned triple = (static_cast<unsigned>(v[0]) << 18) | (static_cast<unsigned>(v[1]) << 12) |
                            (static_cast<unsigned>(v[2]) << 6) | static_cast<unsigned>(v[3]);
    out->push_back(static_cast<char>((triple >> 16) & 0xff));
    if (pad < 2) out->push_back(static_cast<char>((triple >> 8) & 0xff));
    if (pad < 1) out->push_back(static_cast<char>(triple & 0xff));
  }
  return true;
}

// SHA-256 over length-prefixed (user, hash, password), so the cache never holds a password and no two
// different triples can produce the same input.
std::string CacheKey(const std::string& user, const std::string& hash, const std::string& password) {
  std::string input;
  for (const std::string* field : {&user, &hash, &password}) {
    input += std::to_string(field->size());
    input.push_back(':');
    input += *field;
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  const bool ok = EVP_Digest(input.data(), input.size(), digest.data(), &len, EVP_sha256(), nullptr) == 1;
  OPENSSL_cleanse(input.data(), input.size());
  if (!ok) return {};
  return std::string(reinterpret_cast<const char*>(digest.data()), len);
}

}  // namespace

bool VerifyBcrypt(const std::string& password, const std::string& hash) {
  if (hash.empty() || password.find('\0') != std::string::npos) return false;
  // crypt_data is 32 KiB: keep it off civetweb's worker stacks. Value-initialised, as crypt_r requires.
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  bool ok = false;
  // libcrypt signals failure with a string starting with '*' (or NULL); compare in constant time.
  if (out != nullptr && out[0] != '*') {
    const std::size_t n = std::strlen(out);
    ok = n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
  }
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));  // holds password-derived state
  return ok;
}

BasicAuthChecker::BasicAuthChecker(std::map<std::string, std::string> users)
    : BasicAuthChecker(std::move(users), Options{}) {}

BasicAuthChecker::BasicAuthChecker(std::map<std::string, std::string> users, Options options)
    : users_(std::move(users)), options_(std::move(options)) {
  if (users_.empty()) return;
  // The dummy costs what the dearest configured hash costs: with a fixed cost, an unknown user answered
  // faster or slower than a real one and so told which names exist.
  int cost = -1;
  for (const auto& [user, hash] : users_) cost = std::max(cost, BcryptCost(hash));
  if (cost < 0) cost = kDefaultBcryptCost;
  // bcrypt takes costs 4 to 31; past 20 (a minute a check) the dummy would hold up the start for hours, and
  // such a user could never log in anyway.
  cost = std::clamp(cost, 4, 20);
  // bcrypt of a random phrase nobody knows, under a random salt (libcrypt draws it when given no bytes).
  std::array<unsigned char, 24> phrase{};
  std::string password;
  if (RAND_bytes(phrase.data(), static_cast<int>(phrase.size())) == 1) {
    for (unsigned char c : phrase) password += "0123456789abcdef"[c & 15];
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  auto data = std::make_unique<crypt_data>();
  if (!password.empty() &&
      crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt)) {
    const char* out = crypt_r(password.c_str(), salt, data.get());
    if (out != nullptr && out[0] != '*') dummy_hash_ = out;
  }
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  OPENSSL_cleanse(password.data(), password.size());
  // Without one (no randomness?), unknown users are still refused: Verify fails fast on an empty hash, which
  // only costs the timing promise.
}

int BasicAuthChecker::BcryptCost(const std::string& hash) {
  // "$2a$", "$2b$" or "$2y$", then two digits and "$".
  if (hash.size() < 7 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') return -1;
  if (!std::isdigit(static_cast<unsigned char>(hash[4])) ||
      !std::isdigit(static_cast<unsigned char>(hash[5]))) {
    return -1;
  }
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

int BasicAuthChecker::bcrypt_running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

int BasicAuthChecker::bcrypt_waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_;
}

std::optional<bool> BasicAuthChecker::Verify(const std::string& password, const std::string& hash) const {
  const int slots = std::max(1, options_.max_concurrent_bcrypt);
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Too many waiting already: refuse rather than let a flood of wrong passwords hold every thread.
    if (running_ >= slots && waiting_ >= options_.max_waiting) return std::nullopt;
    ++waiting_;
    turn_.wait(lock, [&] { return running_ < slots; });
    --waiting_;
    ++running_;
  }
  bool ok = false;
  try {
    ok = options_.verify ? options_.verify(password, hash) : VerifyBcrypt(password, hash);
  } catch (...) {
    ok = false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --running_;
  }
  turn_.notify_one();
  return ok;
}

bool BasicAuthChecker::Check(const std::string& authorization_header) const {
  // RFC 7617: "Basic" (case-insensitive), one or more spaces, base64 of "user:password".
  std::string_view value = authorization_header;
  constexpr std::string_view kScheme = "basic";
  if (value.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  }
  value.remove_prefix(kScheme.size());
  if (value.front() != ' ') return false;
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  std::string decoded;
  if (!DecodeBase64(value, &decoded)) return false;
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const bool ok = CheckUserPassword(decoded.substr(0, colon), decoded.substr(colon + 1));
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return ok;
}

bool BasicAuthChecker::CheckUserPassword(const std::string& user, const std::string& password) const {
  auto it = users_.find(user);
  const bool known = it != users_.end();
  const std::string& hash = known ? it->second : dummy_hash_;
  const std::string key = CacheKey(user, hash, password);
  if (!key.empty()) {
    // A cached answer does not wait for a bcrypt turn: scrapes with valid credentials go through however many
    // wrong passwords are queued.
    std::lock_guard<std::mutex> lock(mu_);
    if (valid_.count(key) > 0) return true;
    if (invalid_.count(key) > 0) return false;
  }
  // bcrypt runs outside the lock (crypt_r is reentrant), in one of a few turns (Verify).
  const std::optional<bool> verified = Verify(password, hash);
  if (!verified) return false;  // refused for load: not an answer about these credentials, so not cached
  const bool ok = *verified && known;
  if (!key.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    // Keys are hashes, so begin() is an arbitrary entry: a cheap random eviction. Failures have their own
    // set, so wrong passwords never evict verified credentials.
    std::set<std::string>& cache = ok ? valid_ : invalid_;
    if (cache.size() >= kMaxCacheEntries && cache.count(key) == 0) cache.erase(cache.begin());
    cache.insert(key);
  }
  return ok;
}

}  // namespace estate::web
