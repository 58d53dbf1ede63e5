#include "simestate_config.h"

#include <algorithm>
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
    {"reset_connection", Fault::Kind::kResetConnection},
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

// The keys of kinds openstack and pure: model / generate, and the kind's own block.
void ReadStorageKeys(config::MapReader& reader, const std::string& base_dir, UpstreamConfig& up) {
  const bool storage = up.kind == "openstack" || up.kind == "pure";
  std::vector<std::string> model_arrays;
  std::string model;
  reader.Get("model", model);
  // A storage kind with a data directory reads <data>/model.yml unless model or generate says otherwise.
  if (storage && model.empty() && !reader.Has("generate") && !up.data_dir.empty()) {
    model = (fs::path(up.data_dir) / "model.yml").string();
  }
  if (!model.empty()) {
    fs::path file(model);
    if (file.is_relative()) file = fs::path(base_dir) / file;
    up.model_file = file.lexically_normal().string();
    std::error_code ec;
    if (!fs::is_regular_file(up.model_file, ec)) {
      reader.Error("model", "is not a file: " + up.model_file);
    } else if (auto loaded = LoadStorageModel(up.model_file); !loaded) {
      reader.Error("model", "invalid model:\n" + loaded.error());
    } else {
      model_arrays = (*loaded)->array_names;
    }
  }
  if (reader.Has("generate")) {
    config::MapReader g = reader.Map("generate");
    GenerateSpec spec;
    g.Get("servers", spec.servers);
    g.Get("volumes", spec.volumes);
    g.Get("arrays", spec.arrays);
    g.Get("projects", spec.projects);
    long seed = static_cast<long>(spec.seed);
    g.Get("seed", seed);
    spec.seed = static_cast<std::uint64_t>(seed);
    g.Get("hypervisors", spec.hypervisors);
    if (spec.servers < 0 || spec.servers > 10000000) g.Error("servers", "must be between 0 and 10000000");
    if (spec.volumes < 0 || spec.volumes > 10000000) g.Error("volumes", "must be between 0 and 10000000");
    if (spec.arrays < 0 || spec.arrays > 100) g.Error("arrays", "must be between 0 and 100");
    if (spec.projects < 1 || spec.projects > 100000) g.Error("projects", "must be between 1 and 100000");
    g.Finish();
    up.generate = spec;
  }
  if (storage && model.empty() && !up.generate)
    reader.Error("model", "kind " + up.kind + " needs model, generate or data (a directory with model.yml)");
  if (!model.empty() && up.generate) reader.Error("generate", "set only one of model and generate");
  if (!storage && (!model.empty() || up.generate)) {
    reader.Error(model.empty() ? "generate" : "model", "is only for kinds openstack and pure");
  }

  if (reader.Has("openstack")) {
    if (up.kind != "openstack") reader.Error("openstack", "is only for kind openstack");
    config::MapReader os = reader.Map("openstack");
    os.Get("region", up.openstack.region);
    os.GetDuration("token_ttl", up.openstack.token_ttl_seconds);
    for (auto& u : os.List("users")) {
      OpenStackUser user;
      u.Require("name", user.name);
      config::GetSecret(u, "password", user.password, /*required=*/true);
      u.Get("project", user.project);
      u.Get("admin", user.admin);
      u.Finish();
      up.openstack.users.push_back(user);
    }
    for (auto& a : os.List("application_credentials")) {
      OpenStackAppCredential cred;
      a.Require("id", cred.id);
      a.Get("name", cred.name);
      a.Get("user", cred.user);
      config::GetSecret(a, "secret", cred.secret, /*required=*/true);
      a.Get("project", cred.project);
      a.Get("admin", cred.admin);
      a.Finish();
      up.openstack.application_credentials.push_back(cred);
    }
    os.Finish();
  }
  if (reader.Has("pure")) {
    if (up.kind != "pure") reader.Error("pure", "is only for kind pure");
    config::MapReader p = reader.Map("pure");
    p.Get("array", up.pure.array);
    config::GetSecret(p, "api_token", up.pure.api_token, /*required=*/false);
    p.Get("requests_per_second", up.pure.requests_per_second);
    p.Get("requests_per_minute", up.pure.requests_per_minute);
    p.Get("purity_version", up.pure.purity_version);
    if (up.pure.requests_per_second < 0) p.Error("requests_per_second", "must not be negative");
    if (up.pure.requests_per_minute < 0) p.Error("requests_per_minute", "must not be negative");
    p.Finish();
  }
  if (up.kind == "pure" && up.pure.array.empty()) up.pure.array = up.name;
  if (up.kind == "pure" && !model.empty() && !model_arrays.empty() &&
      std::find(model_arrays.begin(), model_arrays.end(), up.pure.array) == model_arrays.end()) {
    reader.Error("pure", "array " + up.pure.array + " is not in the model " + up.model_file);
  }
}

// The keys of kinds servicenow and gocd: servicenow: {...} / gocd: {...}.
void ReadRegistryKeys(config::MapReader& reader, const std::string& base_dir, UpstreamConfig& up) {
  for (const char* kind : {"servicenow", "gocd"}) {
    if (!reader.Has(kind)) {
      if (up.kind == kind) reader.Error(kind, std::string("kind ") + kind + " needs a " + kind + ": section");
      continue;
    }
    if (up.kind != kind) reader.Error(kind, std::string("is only for kind ") + kind);
    config::MapReader r = reader.Map(kind);
    const char* file_key = up.kind == "gocd" ? "pipelines" : "records";
    std::string file;
    r.Require(file_key, file);
    if (!file.empty()) {
      // Relative to the upstream's data directory when it has one (so that a copy of the config with absolute
      // data directories still finds it), else to the config file's directory.
      fs::path path(file);
      if (path.is_relative()) path = fs::path(up.data_dir.empty() ? base_dir : up.data_dir) / path;
      up.registry.data_file = path.lexically_normal().string();
      std::error_code ec;
      if (!fs::is_regular_file(up.registry.data_file, ec)) r.Error(file_key, "is not a file: " + up.registry.data_file);
    }
    config::GetSecret(r, "bearer_token", up.registry.bearer_token, /*required=*/false);
    if (std::string(kind) == "servicenow") {
      r.Get("default_limit", up.registry.default_limit);
      r.Get("html_login", up.registry.html_login);
      if (r.Has("rate_limit")) {
        config::MapReader rl = r.Map("rate_limit");
        rl.Require("requests", up.registry.rate_limit_requests);
        if (rl.Has("window")) rl.GetDuration("window", up.registry.rate_limit_window_seconds);
        rl.Finish();
        if (up.registry.rate_limit_requests < 1) rl.Error("requests", "must be at least 1");
      }
      if (up.registry.default_limit < 1) r.Error("default_limit", "must be at least 1");
    }
    r.Finish();
  }
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
  reader.Get("events", up.events);
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
  ReadStorageKeys(reader, base_dir, up);
  ReadRegistryKeys(reader, base_dir, up);
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
    reader.Error("kind",
                 "must be one of none, status, truncated, garbage, huge, slow_drip, drop_connection, "
                 "reset_connection");
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
