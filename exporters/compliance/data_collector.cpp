#include "data_collector.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

#include "estate/json_util.h"
#include "estate/log.h"

namespace estate::compliance {

struct DataCollector::Settings {
  bool enabled = false;
  std::vector<std::string> tokens;
  std::string spool_dir;
  std::size_t max_body_bytes = 0;
};

namespace {

constexpr const char* kTempPrefix = ".push-";
constexpr const char* kJson = "application/json";

std::string_view Trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t' || v.front() == '\r')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

std::string Lower(std::string_view v) {
  std::string s(v);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Result<std::vector<std::string>> ReadTokens(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return MakeError("push.tokens_file " + path + ": " + std::strerror(errno));
  std::vector<std::string> tokens;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view t = Trim(line);
    if (t.empty() || t.front() == '#') continue;
    tokens.emplace_back(t);
  }
  if (in.bad()) return MakeError("push.tokens_file " + path + ": read error");
  if (tokens.empty()) return MakeError("push.tokens_file " + path + ": no token (every push would get 401)");
  return tokens;
}

// Compares in time that depends on the length of the token only, never on where the first difference is.
bool SameToken(std::string_view given, std::string_view token) {
  unsigned char diff = given.size() != token.size() ? 1 : 0;
  for (std::size_t i = 0; i < token.size(); ++i) {
    diff |= static_cast<unsigned char>((i < given.size() ? given[i] : 0) ^ token[i]);
  }
  return diff == 0;
}

bool TokenAccepted(std::string_view given, const std::vector<std::string>& tokens) {
  bool ok = false;
  for (const auto& t : tokens) ok |= SameToken(given, t);  // no early exit
  return ok && !given.empty();
}

std::string Sha256Hex128(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(data.data(), data.size(), md, &n, EVP_sha256(), nullptr) != 1) n = 0;
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < std::min(n, 16u); ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string JsonField(std::string_view key, std::string_view value) {
  std::string out;
  AppendJsonString(out, key);
  out += ':';
  AppendJsonString(out, value);
  return out;
}

bool FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool WriteFully(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), std::min<std::size_t>(data.size(), std::size_t{1} << 20));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// mkdir -p; true when the directory exists afterwards.
bool MakeDirs(const std::string& path) {
  if (path.empty()) return false;
  for (std::size_t i = 1; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/') {
      std::string part = path.substr(0, i);
      if (::mkdir(part.c_str(), 0750) != 0 && errno != EEXIST) return false;
    }
  }
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Chef Infra's data collector messages (run_start, run_converge, action, ...): a JSON object with a string
// "message_type". Looked for only when the body is not a report.
std::string ChefMessageType(std::string_view body) {
  if (body.find("\"message_type\"") == std::string_view::npos) return {};
  auto json = ParseJsonText(body);
  if (!json || !json->is_object()) return {};
  auto it = json->find("message_type");
  if (it == json->end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

DataCollector::DataCollector(Parser parser, prometheus::Registry* registry) : parser_(std::move(parser)) {
  if (registry == nullptr) {
    own_registry_ = std::make_unique<prometheus::Registry>();
    registry = own_registry_.get();
  }
  requests_ = &prometheus::BuildCounter()
                   .Name("estate_compliance_push_requests_total")
                   .Help("Requests to the push endpoint (/data-collector/v0/) by the HTTP status answered.")
                   .Register(*registry);
  // The usual answers exist from the start, at 0.
  for (int code : {200, 400, 401, 404, 405, 413, 415, 500}) requests_->Add({{"code", std::to_string(code)}});
  bytes_ = &prometheus::BuildCounter()
                .Name("estate_compliance_push_bytes_total")
                .Help("Bytes of request bodies read by the push endpoint, as sent (before inflating gzip).")
                .Register(*registry)
                .Add({});
  settings_ = std::make_shared<Settings>();
}

DataCollector::~DataCollector() = default;

Result<Ok> DataCollector::Configure(const DataCollectorOptions& options) {
  auto s = std::make_shared<Settings>();
  s->enabled = options.enabled;
  s->spool_dir = options.spool_dir;
  while (s->spool_dir.size() > 1 && s->spool_dir.back() == '/') s->spool_dir.pop_back();
  s->max_body_bytes = options.max_body_bytes;
  if (s->enabled) {
    if (options.max_body_bytes == 0) return MakeError("push.max_body_bytes must be above 0");
    auto tokens = ReadTokens(options.tokens_file);
    if (!tokens) return MakeError(tokens.error());
    s->tokens = std::move(*tokens);
    if (!MakeDirs(s->spool_dir)) {
      return MakeError("push.spool_dir " + s->spool_dir + ": cannot create: " + std::strerror(errno));
    }
    // Leftovers of a crash between writing and renaming, removed once, before the first push can arrive (a
    // reload must not remove the temporary file of a push in flight); and a probe that the directory is
    // writable.
    DIR* d = cleaned_.exchange(true) ? nullptr : ::opendir(s->spool_dir.c_str());
    if (d != nullptr) {
      while (dirent* e = ::readdir(d)) {
        if (std::strncmp(e->d_name, kTempPrefix, std::strlen(kTempPrefix)) == 0) {
          ::unlinkat(::dirfd(d), e->d_name, 0);
        }
      }
      ::closedir(d);
    }
    const std::string probe = s->spool_dir + "/" + kTempPrefix + "probe-" + std::to_string(::getpid());
    int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
      return MakeError("push.spool_dir " + s->spool_dir + ": not writable: " + std::strerror(errno));
    ::close(fd);
    ::unlink(probe.c_str());
  }
  web::HttpServer* server = nullptr;
  std::size_t limit = s->max_body_bytes;
  bool limit_changed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (settings_->spool_dir != s->spool_dir) newest_.clear();
    limit_changed = settings_->max_body_bytes != s->max_body_bytes;
    settings_ = std::move(s);
    server = server_;
  }
  // The routes carry the body limit the server reads up to: a reload that changes it re-adds them.
  if (server != nullptr && limit_changed) RegisterRoutes(*server, limit);
  return Ok{};
}

void DataCollector::SetOnStored(OnStored on_stored) {
  std::lock_guard<std::mutex> lock(mu_);
  on_stored_ = std::move(on_stored);
}

std::shared_ptr<const DataCollector::Settings> DataCollector::settings() const {
  std::lock_guard<std::mutex> lock(mu_);
  return settings_;
}

void DataCollector::AddRoutes(web::HttpServer& server) {
  std::size_t limit = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    server_ = &server;
    limit = settings_->max_body_bytes;
  }
  RegisterRoutes(server, limit);
}

void DataCollector::RegisterRoutes(web::HttpServer& server, std::size_t max_body_bytes) {
  // Every method reaches the handler, so that a wrong one is answered (and counted) here.
  const std::vector<std::string> methods = {"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
  web::RouteOptions options;
  // The server stops reading a body (chunked, or longer than announced) beyond this; the precheck refuses an
  // announced length beyond it before reading anything.
  options.max_body_bytes = std::max<std::size_t>(max_body_bytes, 1);
  options.precheck = [this](const web::HttpRequest& req) { return Precheck(req); };
  auto handle = [this](const web::HttpRequest& req) { return Handle(req); };
  server.Route("/data-collector/v0/", methods, handle, options);
  server.Route("/data-collector/v0", methods, handle, options);
  web::RouteOptions meta_options;
  meta_options.precheck = [this](const web::HttpRequest& req) -> std::optional<web::HttpResponse> {
    auto s = settings();
    if (!s->enabled || !TokenAccepted(Trim(req.Header("x-data-collector-token")), s->tokens)) {
      return HandleMetasearch(req);
    }
    return std::nullopt;
  };
  server.Route(
      "/compliance/profiles/metasearch", {"POST"},
      [this](const web::HttpRequest& req) { return HandleMetasearch(req); }, meta_options);
}

web::HttpResponse DataCollector::Answer(int code, std::string body, std::string content_type) {
  requests_->Add({{"code", std::to_string(code)}}).Increment();
  web::HttpResponse r;
  r.status = code;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  if (code == 405) r.headers.push_back({"Allow", "POST"});
  if (code == 401) r.headers.push_back({"WWW-Authenticate", "x-data-collector-token"});
  return r;
}

std::optional<web::HttpResponse> DataCollector::Precheck(const web::HttpRequest& req) {
  try {
    auto s = settings();
    if (!s->enabled) return Answer(404, "push is disabled (push.enabled: false in the exporter's config)\n");
    if (req.method != "POST") return Answer(405, "only POST is accepted here\n");
    if (!TokenAccepted(Trim(req.Header("x-data-collector-token")), s->tokens)) {
      return Answer(401, req.Header("x-data-collector-token").empty()
                             ? "missing x-data-collector-token header\n"
                             : "x-data-collector-token not accepted\n");
    }
    const std::string encoding = Lower(Trim(req.Header("content-encoding")));
    if (!encoding.empty() && encoding != "identity" && encoding != "gzip" && encoding != "x-gzip") {
      return Answer(415, "Content-Encoding " + Utf8Excerpt(encoding, 64) + " not supported (gzip or none)\n");
    }
    const std::string length = std::string(Trim(req.Header("content-length")));
    if (!length.empty() && length.size() <= 18 &&
        std::all_of(length.begin(), length.end(), [](unsigned char c) { return std::isdigit(c) != 0; }) &&
        std::stoull(length) > s->max_body_bytes) {
      return Answer(413, "body of " + length + " bytes is over push.max_body_bytes (" +
                             std::to_string(s->max_body_bytes) + ")\n");
    }
    return std::nullopt;
  } catch (const std::exception& e) {
    log::Error("push: precheck failed", {{"err", e.what()}});
    return Answer(500, "internal error\n");
  } catch (...) {
    return Answer(500, "internal error\n");
  }
}

web::HttpResponse DataCollector::Handle(const web::HttpRequest& req) {
  try {
    if (auto early = Precheck(req)) return std::move(*early);
    auto s = settings();
    return HandleBody(*s, req);
  } catch (const std::exception& e) {
    log::Error("push: request failed", {{"err", e.what()}});
    return Answer(500, "internal error\n");
  } catch (...) {
    return Answer(500, "internal error\n");
  }
}

web::HttpResponse DataCollector::HandleBody(const Settings& s, const web::HttpRequest& req) {
  bytes_->Increment(static_cast<double>(req.body.size()));
  if (req.body_too_large || req.body.size() > s.max_body_bytes) {
    return Answer(413, "body over push.max_body_bytes (" + std::to_string(s.max_body_bytes) + ")\n");
  }
  if (req.body_incomplete)
    return Answer(400, "body incomplete: fewer bytes than its Content-Length arrived\n");
  std::string inflated;
  std::string_view body = req.body;
  const std::string encoding = Lower(Trim(req.Header("content-encoding")));
  if (encoding == "gzip" || encoding == "x-gzip") {
    bool over = false;
    const bool ok = web::GunzipTo(req.body, [&](std::string_view piece) {
      if (inflated.size() + piece.size() > s.max_body_bytes) {
        over = true;
        return false;
      }
      inflated.append(piece);
      return true;
    });
    if (over) {
      return Answer(
          413, "gzip body inflates to over push.max_body_bytes (" + std::to_string(s.max_body_bytes) + ")\n");
    }
    if (!ok) return Answer(400, "Content-Encoding: gzip, but the body is not valid gzip\n");
    body = inflated;
  }
  if (body.empty()) return Answer(400, "empty body: expected an InSpec report (JSON) or XCCDF/ARF results\n");

  auto report = parser_(body);
  if (!report) {
    if (std::string type = ChefMessageType(body); !type.empty()) {
      log::Debug("push: ignored a Chef Infra data collector message", {{"message_type", type}});
      return Answer(200, "{" + JsonField("status", "ignored") + "," + JsonField("message_type", type) + "}\n",
                    kJson);
    }
    log::Warn("push: refused a body that is no report", {{"err", report.error()}});
    return Answer(400, "not a compliance report: " + Utf8Excerpt(report.error(), 1024) + "\n");
  }
  if (report->host.empty()) {
    return Answer(400,
                  "the report names no host: set node_name (reporter.automate.node_name in InSpec's "
                  "config) or a target_id\n");
  }
  bool superseded = false;
  auto stored = Store(s, body, *report, &superseded);
  if (!stored) {
    log::Error("push: could not write the spool", {{"err", stored.error()}});
    return Answer(500, "could not store the report: " + stored.error() + "\n");
  }
  const std::string file = stored->substr(stored->rfind('/') + 1);
  log::Debug("push: stored a report",
             {{"host", report->host}, {"file", file}, {"superseded", superseded ? "true" : "false"}});
  if (!superseded) {
    OnStored on_stored;
    {
      std::lock_guard<std::mutex> lock(mu_);
      on_stored = on_stored_;
    }
    if (on_stored) {
      try {
        on_stored(*stored, *report);
      } catch (const std::exception& e) {
        log::Error("push: the store's callback failed", {{"err", e.what()}});
      } catch (...) {
        log::Error("push: the store's callback failed");
      }
    }
  }
  return Answer(200,
                "{" + JsonField("status", superseded ? "superseded" : "stored") + "," +
                    JsonField("host", report->host) + "," + JsonField("file", file) + "}\n",
                kJson);
}

Result<std::string> DataCollector::Store(const Settings& s, std::string_view body, const Report& report,
                                         bool* superseded) {
  const std::string stem = SpoolStem(report.host, report);
  const std::string ext = SpoolExtension(body, report.format);
  const std::string path = s.spool_dir + "/" + stem + "." + ext;
  std::lock_guard<std::mutex> key_lock(key_mu_[std::hash<std::string>{}(stem) % key_mu_.size()]);
  if (report.time_unix > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = newest_.find(s.spool_dir + "/" + stem);
    if (it != newest_.end() && it->second > report.time_unix) {
      *superseded = true;
      return path;
    }
  }
  const std::string temp = s.spool_dir + "/" + kTempPrefix + stem + "-" + std::to_string(::getpid()) + "-" +
                           std::to_string(temp_seq_.fetch_add(1)) + ".tmp";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return MakeError(temp + ": " + std::strerror(errno));
  bool ok = WriteFully(fd, body);
  int err = errno;
  if (ok && ::fsync(fd) != 0) {
    ok = false;
    err = errno;
  }
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (ok && ::rename(temp.c_str(), path.c_str()) != 0) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(temp.c_str());
    return MakeError(path + ": " + std::strerror(err));
  }
  // The same host and profiles pushed before in another format: the new file replaces it too.
  for (const char* other : {"json", "xml", "xml.bz2"}) {
    if (ext != other) ::unlink((s.spool_dir + "/" + stem + "." + other).c_str());
  }
  if (!FsyncDir(s.spool_dir)) return MakeError(s.spool_dir + ": fsync: " + std::strerror(errno));
  {
    std::lock_guard<std::mutex> lock(mu_);
    newest_[s.spool_dir + "/" + stem] = report.time_unix;
  }
  return path;
}

web::HttpResponse DataCollector::HandleMetasearch(const web::HttpRequest& req) {
  try {
    auto s = settings();
    if (!s->enabled) return Answer(404, "push is disabled (push.enabled: false in the exporter's config)\n");
    if (req.method != "POST") return Answer(405, "only POST is accepted here\n");
    if (!TokenAccepted(Trim(req.Header("x-data-collector-token")), s->tokens)) {
      return Answer(401, "x-data-collector-token missing or not accepted\n");
    }
    // We keep no profile metadata: every profile is "missing", so Chef sends reports with full metadata.
    auto json = ParseJsonText(req.body);
    nlohmann::json missing = nlohmann::json::array();
    if (json && json->is_object() && json->contains("sha256") && (*json)["sha256"].is_array()) {
      for (const auto& v : (*json)["sha256"]) {
        if (v.is_string()) missing.push_back(v);
      }
    }
    web::HttpResponse r;
    r.content_type = kJson;
    r.body = DumpJson(nlohmann::json{{"missing_sha256", missing}}) + "\n";
    return r;
  } catch (...) {
    web::HttpResponse r;
    r.status = 500;
    r.body = "internal error\n";
    return r;
  }
}

double DataCollector::Requests(int code) const {
  return requests_->Add({{"code", std::to_string(code)}}).Value();
}

double DataCollector::Bytes() const { return bytes_->Value(); }

std::string DataCollector::SpoolStem(std::string_view host, const Report& report) {
  std::string safe;
  for (unsigned char c : host) {
    if (safe.size() >= 64) break;
    const bool keep = std::isalnum(c) != 0 || c == '.' || c == '-' || c == '_';
    safe += keep ? static_cast<char>(c) : '_';
  }
  if (safe.empty()) safe = "host";
  if (safe.front() == '.') safe.front() = '_';
  std::set<std::string> names;
  for (const auto& p : report.profiles) names.insert(p.name);
  std::string key(host);
  for (const auto& n : names) key.append(1, '\0').append(n);
  return safe + "_" + Sha256Hex128(key);
}

std::string DataCollector::SpoolExtension(std::string_view body, Format format) {
  if (body.substr(0, 3) == "BZh") return "xml.bz2";
  switch (format) {
    case Format::kXccdf11:
    case Format::kXccdf12:
    case Format::kArf:
      return "xml";
    default:
      return "json";
  }
}

}  // namespace estate::compliance
