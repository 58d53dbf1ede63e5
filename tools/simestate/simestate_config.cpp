#include "simestate_config.h"

#include <filesystem>
#include <map>
#include <set>
#include <utility>

namespace estate::simestate {
namespace {

namespace fs = std::filesystem;
using testing::Fault;

constexpr std::pair<const char*, Fault::Kind> kKinds[] = {
    {"none", Fault::Kind::kNone},
    {"status", Fault::Kind::kStatus},
    {"truncated", Fault::Kind::kTruncated},
    {"garbage", Fault::Kind::kGarbage},
    {"huge", Fault::Kind::kHuge},
    {"slow_drip", Fault::Kind::kSlowDrip},
    {"drop_connection", Fault::Kind::kDropConnection},
};

bool ValidName(const std::string& name) {
  if (name.empty() || name[0] == '_') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

UpstreamConfig ReadUpstream(config::MapReader& reader, const std::string& base_dir) {
  UpstreamConfig up;
  reader.Require("name", up.name);
  if (reader.Has("name") && !ValidName(up.name)) {
    reader.Error("name", "must be letters, digits, '_', '-' or '.', and not start with '_'");
  }
  reader.Get("kind", up.kind);
  reader.Get("port", up.port);
  if (up.port < 0 || up.port > 65535) reader.Error("port", "must be between 0 and 65535");
  std::string data;
  reader.Get("data", data);
  if (!data.empty()) {
    fs::path dir(data);
    if (dir.is_relative()) dir = fs::path(base_dir) / dir;
    up.data_dir = dir.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_directory(up.data_dir, ec)) reader.Error("data", "is not a directory: " + up.data_dir);
  }
  std::string tls_cert;
  reader.Get("tls_cert_file", tls_cert);
  if (!tls_cert.empty()) {
    fs::path file(tls_cert);
    if (file.is_relative()) file = fs::path(base_dir) / file;
    up.tls_cert_file = file.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(up.tls_cert_file, ec))
      reader.Error("tls_cert_file", "is not a file: " + up.tls_cert_file);
  }
  reader.Get("lenient_paths", up.lenient_paths);
  reader.Get("threads", up.threads);
  if (up.threads < 1 || up.threads > 1024) reader.Error("threads", "must be between 1 and 1024");
  if (reader.Has("basic_auth")) {
    config::MapReader auth = reader.Map("basic_auth");
    auth.Require("username", up.username);
    config::GetSecret(auth, "password", up.password, /*required=*/true);
    if (up.username.find(':') != std::string::npos) auth.Error("username", "must not contain ':'");
    auth.Finish();
  }
  for (auto& fault_reader : reader.List("faults")) up.faults.push_back(ReadFault(fault_reader));
  reader.Finish();
  return up;
}

}  // namespace

bool ParseFaultKind(const std::string& text, Fault::Kind* out) {
  for (const auto& [name, kind] : kKinds) {
    if (text == name) {
      *out = kind;
      return true;
    }
  }
  return false;
}

const char* FaultKindName(Fault::Kind kind) {
  for (const auto& [name, k] : kKinds) {
    if (k == kind) return name;
  }
  return "none";
}

Fault ReadFault(config::MapReader& reader) {
  Fault fault;
  std::string kind = "none";
  reader.Get("kind", kind);
  if (!ParseFaultKind(kind, &fault.kind)) {
    reader.Error("kind", "must be one of none, status, truncated, garbage, huge, slow_drip, drop_connection");
  }
  reader.GetDuration("latency", fault.latency_seconds, /*allow_zero=*/true);
  reader.Get("status", fault.status);
  if (fault.status < 100 || fault.status > 599) reader.Error("status", "must be an HTTP status (100-599)");
  std::map<std::string, std::string> headers;
  reader.Get("headers", headers);
  fault.headers.assign(headers.begin(), headers.end());
  long huge_bytes = static_cast<long>(fault.huge_bytes);
  reader.Get("huge_bytes", huge_bytes);
  if (huge_bytes < 0) reader.Error("huge_bytes", "must not be negative");
  fault.huge_bytes = static_cast<std::size_t>(std::max(0L, huge_bytes));
  double drip_interval = fault.drip_interval_ms / 1000.0;
  reader.GetDuration("drip_interval", drip_interval, /*allow_zero=*/true);
  fault.drip_interval_ms = static_cast<int>(drip_interval * 1000 + 0.5);
  int drip_bytes = static_cast<int>(fault.drip_bytes);
  reader.Get("drip_bytes", drip_bytes);
  if (drip_bytes < 1) reader.Error("drip_bytes", "must be at least 1");
  fault.drip_bytes = static_cast<std::size_t>(std::max(1, drip_bytes));
  reader.Get("path_prefix", fault.path_prefix);
  if (!fault.path_prefix.empty() && fault.path_prefix[0] != '/') {
    reader.Error("path_prefix", "must start with '/'");
  }
  reader.Get("remaining", fault.remaining);
  if (fault.remaining < -1 || fault.remaining == 0) {
    reader.Error("remaining", "must be a positive count, or -1 for until cleared");
  }
  reader.Finish();
  return fault;
}

Result<Fault> ParseFault(const std::string& text) {
  auto node = config::ParseYaml(text, "fault");
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors("fault");
  config::MapReader reader(*node, "", errors);
  Fault fault = ReadFault(reader);
  if (!errors.empty()) return MakeError(errors.Text());
  return fault;
}

Result<Config> ParseConfig(const std::string& text, const std::string& origin, const std::string& base_dir) {
  auto node = config::ParseYaml(text, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin);
  config::MapReader root(*node, "", errors);
  Config cfg;
  if (!root.Has("upstreams")) root.Error("upstreams", "is required (a list of upstreams)");
  std::set<std::string> names;
  std::map<int, std::string> fixed_ports;
  for (auto& reader : root.List("upstreams")) {
    UpstreamConfig up = ReadUpstream(reader, base_dir);
    if (!up.name.empty() && !names.insert(up.name).second) {
      reader.Error("name", "duplicate upstream name " + up.name);
    }
    if (up.port != 0) {
      auto [it, inserted] = fixed_ports.emplace(up.port, up.name);
      if (!inserted)
        reader.Error("port", "port " + std::to_string(up.port) + " is also used by " + it->second);
    }
    cfg.upstreams.push_back(std::move(up));
  }
  root.Finish();
  if (!errors.empty()) return MakeError(errors.Text());
  return cfg;
}

Result<Config> LoadConfig(const std::string& path) {
  auto text = config::ReadFile(path);
  if (!text) return MakeError(text.error());
  std::string base_dir = fs::absolute(fs::path(path)).parent_path().string();
  return ParseConfig(*text, path, base_dir);
}

}  // namespace estate::simestate
