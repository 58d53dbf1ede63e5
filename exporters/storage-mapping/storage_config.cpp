#include "storage_config.h"

#include <functional>
#include <set>

#include "estate/config.h"
#include "estate/openstack/auth_config.h"

namespace estate::storage {
namespace {

void ReadDuration(config::MapReader& r, const std::string& key, double& out) {
  if (r.Has(key)) r.GetDuration(key, out);
}

bool ValidName(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.';
    if (!ok) return false;
  }
  return s != "mapping";  // the join job's source name
}

void CheckAddress(config::MapReader& r, const std::string& key, const std::string& value) {
  if (r.Has(key) && value.empty()) r.Error(key, "must not be empty");
  if (value.find('@') != std::string::npos) r.Error(key, "must not carry credentials");
}

}  // namespace

Result<StorageConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                  const config::ParseOptions& options) {
  auto node = config::ParseYaml(yaml, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin, options);
  StorageConfig cfg;
  config::MapReader root(*node, "", errors);
  root.Get("allow_empty", cfg.allow_empty);

  config::MapReader defaults = root.Map("defaults");
  ReadDuration(defaults, "openstack_interval", cfg.openstack_interval_seconds);
  ReadDuration(defaults, "array_interval", cfg.array_interval_seconds);
  ReadDuration(defaults, "request_timeout", cfg.request_timeout_seconds);
  ReadDuration(defaults, "join_interval", cfg.join_interval_seconds);
  defaults.Finish();

  config::MapReader history = root.Map("history");
  history.Get("state_file", cfg.history_state_file);
  ReadDuration(history, "retention", cfg.history_retention_seconds);
  history.Finish();

  std::set<std::string> names;
  for (auto& r : root.List("clouds")) {
    CloudConfig c;
    openstack::ReadCloudSettings(r, c);
    ReadDuration(r, "interval", c.interval_seconds);
    r.Get("cinder_microversion", c.cinder_microversion);
    r.Get("array_backends", c.array_backends);
    r.Finish();
    if (r.Has("name") && !ValidName(c.name)) {
      r.Error("name", "must be letters, digits, - _ . (and not \"mapping\")");
    } else if (!c.name.empty() && !names.insert(c.name).second) {
      r.Error("name", "duplicate source \"" + c.name + "\" (cloud and array names share one namespace)");
    }
    // provider_id, the authoritative join key, appears only from volume API 3.21.
    int major = 0, minor = 0;
    if (std::sscanf(c.cinder_microversion.c_str(), "%d.%d", &major, &minor) != 2 || major != 3 || minor < 21) {
      r.Error("cinder_microversion", "must be 3.21 or later (provider_id needs it), not \"" +
                                         c.cinder_microversion + "\"");
    }
    cfg.clouds.push_back(std::move(c));
  }

  for (auto& r : root.List("arrays")) {
    ArrayConfig a;
    r.Require("name", a.name);
    r.Require("address", a.address);
    config::GetSecret(r, "api_token", a.api_token, /*required=*/true);
    ReadDuration(r, "interval", a.interval_seconds);
    r.Get("ca_file", a.ca_file);
    r.Get("insecure", a.insecure);
    r.Get("page_size", a.page_size);
    r.Get("api_version", a.api_version);
    r.Get("read_tags", a.read_tags);
    r.Finish();
    if (r.Has("name") && !ValidName(a.name)) {
      r.Error("name", "must be letters, digits, - _ . (and not \"mapping\")");
    } else if (!a.name.empty() && !names.insert(a.name).second) {
      r.Error("name", "duplicate source \"" + a.name + "\" (cloud and array names share one namespace)");
    }
    CheckAddress(r, "address", a.address);
    if (a.page_size < 1 || a.page_size > 10000) r.Error("page_size", "must be between 1 and 10000");
    if (a.insecure && !a.ca_file.empty()) r.Error("insecure", "set either ca_file or insecure, not both");
    if (!a.api_version.empty() && a.api_version.rfind("2.", 0) != 0) {
      r.Error("api_version", "must be a REST 2.x version such as 2.26, not \"" + a.api_version + "\"");
    }
    cfg.arrays.push_back(std::move(a));
  }
  root.Finish();
  // An empty or truncated file (an editor saving in place) must not silently drop every source.
  if (cfg.clouds.empty() && cfg.arrays.empty() && !cfg.allow_empty && errors.empty()) {
    root.Error("clouds",
               "configure at least one cloud or array (an empty or truncated file?); set allow_empty: "
               "true to run with none");
  }
  if (!errors.empty()) return MakeError(errors.Text());
  cfg.warnings = errors.warnings();
  cfg.inline_secrets = errors.inline_secrets();
  return cfg;
}

Result<StorageConfig> LoadConfig(const std::string& path) {
  return config::LoadConfigFile(
      path, [](const std::string& text, const std::string& name) { return ParseConfig(text, name); });
}

namespace {
std::string Hash(const std::string& s) { return std::to_string(std::hash<std::string>{}(s)); }
}  // namespace

std::string Fingerprint(const StorageConfig& config, const CloudConfig& c) {
  std::string s = c.auth_url + "|" + c.region + "|" + c.interface + "|" + c.auth.method + "|" + c.auth.username +
                  "|" + c.auth.user_domain_name + "|" + c.auth.project_name + "|" + c.auth.project_id + "|" +
                  c.auth.project_domain_name + "|" + c.auth.application_credential_id + "|" +
                  c.auth.application_credential_name + "|" + Hash(c.auth.password) + "|" +
                  Hash(c.auth.application_credential_secret) + "|" + std::to_string(config.CloudInterval(c)) +
                  "|" + c.ca_file + (c.insecure ? "|1" : "|0") + "|" + std::to_string(c.page_size) + "|" +
                  c.cinder_microversion + "|" + c.nova_microversion + "|" +
                  std::to_string(config.request_timeout_seconds);
  return Hash(s);
}

std::string Fingerprint(const StorageConfig& config, const ArrayConfig& a) {
  std::string s = a.address + "|" + Hash(a.api_token) + "|" + std::to_string(config.ArrayInterval(a)) + "|" +
                  a.ca_file + (a.insecure ? "|1" : "|0") + "|" + std::to_string(a.page_size) + "|" +
                  a.api_version + (a.read_tags ? "|1" : "|0") + "|" + std::to_string(config.request_timeout_seconds);
  return Hash(s);
}

}  // namespace estate::storage
