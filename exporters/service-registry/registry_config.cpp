#include "registry_config.h"

#include <algorithm>
#include <functional>
#include <regex>
#include <set>

#include "estate/openstack/auth_config.h"
#include "registry_join.h"

namespace estate::registry {
namespace {

void ReadDuration(config::MapReader& r, const std::string& key, double& out) {
  if (r.Has(key)) r.GetDuration(key, out);
}

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

// An http(s) URL without credentials, path or query (the clients add their own paths).
void CheckUrl(config::MapReader& r, const std::string& key, const std::string& value) {
  if (!r.Has(key)) return;
  if (value.rfind("https://", 0) != 0 && value.rfind("http://", 0) != 0) {
    r.Error(key, "must be an http:// or https:// URL");
  } else if (value.find('@') != std::string::npos) {
    r.Error(key, "must not carry credentials (use auth:)");
  } else if (value.find_first_of("?#") != std::string::npos) {
    r.Error(key, "must not have a query or fragment");
  }
}

// auth: {basic: {username, password[_file|_env]}} or {bearer_token[_file|_env]: ...}; required.
void ReadUpstreamAuth(config::MapReader& parent, UpstreamAuth& a) {
  if (!parent.Has("auth")) {
    parent.Error("auth", "is required (basic: {username, password_file} or bearer_token_file)");
    return;
  }
  config::MapReader r = parent.Map("auth");
  const bool basic = r.Has("basic");
  const bool bearer = r.Has("bearer_token") || r.Has("bearer_token_file") || r.Has("bearer_token_env");
  if (basic == bearer) r.Error("basic", "set exactly one of basic or bearer_token_file");
  if (basic) {
    config::MapReader b = r.Map("basic");
    b.Require("username", a.username);
    config::GetSecret(b, "password", a.password, /*required=*/true);
    b.Finish();
  }
  if (bearer) config::GetSecret(r, "bearer_token", a.bearer_token, /*required=*/true);
  r.Finish();
}

void CheckPageSize(config::MapReader& r, int value, int lo, int hi) {
  if (value < lo || value > hi) {
    r.Error("page_size", "must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  }
}

// A ServiceNow field name, possibly dot-walked: letters, digits, _ and '.'.
void CheckField(config::MapReader& r, const std::string& key, const std::string& value, bool allow_empty) {
  if (value.empty()) {
    if (!allow_empty) r.Error(key, "must not be empty");
    return;
  }
  const bool ok = std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
  });
  if (!ok) r.Error(key, "\"" + value + "\" is not a field name (letters, digits, _ and . for dot-walking)");
}

void ReadServiceNow(config::MapReader r, ServiceNowConfig& s) {
  s.enabled = true;
  r.Require("url", s.url);
  CheckUrl(r, "url", s.url);
  ReadUpstreamAuth(r, s.auth);
  r.Get("tables", s.tables);
  r.Get("query", s.query);
  r.Get("app_code_field", s.app_code_field);
  r.Get("name_field", s.name_field);
  r.Get("owner_field", s.owner_field);
  r.Get("support_group_field", s.support_group_field);
  r.Get("unregistered_install_status", s.unregistered_install_status);
  r.Get("page_size", s.page_size);
  r.Get("server_table", s.server_table);
  r.Get("server_name_field", s.server_name_field);
  r.Get("server_support_group_field", s.server_support_group_field);
  ReadDuration(r, "interval", s.interval_seconds);
  r.Get("ca_file", s.ca_file);
  r.Get("insecure", s.insecure);
  r.Finish();
  if (s.tables.empty()) r.Error("tables", "name at least one table (cmdb_ci_business_app)");
  for (const auto& t : s.tables) CheckField(r, "tables", t, false);
  CheckField(r, "app_code_field", s.app_code_field, false);
  CheckField(r, "name_field", s.name_field, false);
  CheckField(r, "owner_field", s.owner_field, false);
  CheckField(r, "support_group_field", s.support_group_field, false);
  CheckField(r, "server_table", s.server_table, true);
  CheckField(r, "server_name_field", s.server_name_field, false);
  CheckField(r, "server_support_group_field", s.server_support_group_field, false);
  // Each page after the first starts at the previous page's last record (the client's anchor against records
  // that change between pages), so a page of one record could never move on.
  CheckPageSize(r, s.page_size, 2, 10000);
  if (s.insecure && !s.ca_file.empty()) r.Error("insecure", "set either ca_file or insecure, not both");
}

void ReadGocd(config::MapReader r, GocdConfig& g) {
  g.enabled = true;
  r.Require("url", g.url);
  CheckUrl(r, "url", g.url);
  ReadUpstreamAuth(r, g.auth);
  r.Get("app_pipeline_patterns", g.app_pipeline_patterns);
  r.Get("window_days", g.window_days);
  r.Get("page_size", g.page_size);
  ReadDuration(r, "interval", g.interval_seconds);
  r.Get("ca_file", g.ca_file);
  r.Get("insecure", g.insecure);
  r.Finish();
  if (g.app_pipeline_patterns.empty())
    r.Error("app_pipeline_patterns", "name at least one pattern ('^{app}-')");
  for (const auto& p : g.app_pipeline_patterns) {
    auto compiled = CompilePipelinePattern(p);
    if (!compiled) r.Error("app_pipeline_patterns", "\"" + p + "\": " + compiled.error());
  }
  if (!(g.window_days > 0 && g.window_days <= 3650)) r.Error("window_days", "must be between 0 and 3650");
  CheckPageSize(r, g.page_size, 10, 100);
  if (g.insecure && !g.ca_file.empty()) r.Error("insecure", "set either ca_file or insecure, not both");
}

}  // namespace

Result<RegistryConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                   const config::ParseOptions& options) {
  auto node = config::ParseYaml(yaml, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin, options);
  RegistryConfig cfg;
  config::MapReader root(*node, "", errors);
  root.Get("allow_empty", cfg.allow_empty);
  ReadDuration(root, "request_timeout", cfg.request_timeout_seconds);
  ReadDuration(root, "join_interval", cfg.join_interval_seconds);

  {
    config::MapReader naming = root.Map("naming");
    naming.Get("rules", cfg.naming_rules);
    naming.Finish();
    if (naming.Has("rules") && cfg.naming_rules.empty()) naming.Error("rules", "name at least one rule");
    std::vector<NamingRule> compiled;
    for (std::size_t i = 0; i < cfg.naming_rules.size(); ++i) {
      auto rule = NamingRule::Compile(cfg.naming_rules[i]);
      if (rule) {
        compiled.push_back(std::move(*rule));
      } else {
        naming.Error("rules[" + std::to_string(i) + "]", rule.error());
      }
    }
    cfg.rules = std::make_shared<const NamingRules>(std::move(compiled));
  }

  {
    config::MapReader inv = root.Map("inventory");
    std::set<std::string> names;
    for (auto& r : inv.List("clouds")) {
      CloudConfig c;
      openstack::ReadCloudSettings(r, c);
      ReadDuration(r, "interval", c.interval_seconds);
      r.Finish();
      if (r.Has("name") && !ValidName(c.name)) {
        r.Error("name", "must be 1-64 letters, digits, - _ .");
      } else if (!c.name.empty() && !names.insert(c.name).second) {
        r.Error("name", "duplicate cloud \"" + c.name + "\"");
      }
      if (!c.auth_url.empty() && c.auth_url.rfind("https://", 0) != 0 &&
          c.auth_url.rfind("http://", 0) != 0) {
        r.Error("auth_url", "must be an http:// or https:// URL");
      }
      cfg.clouds.push_back(std::move(c));
    }
    inv.Get("files", cfg.inventory_files);
    ReadDuration(inv, "file_interval", cfg.file_interval_seconds);
    inv.Finish();
    std::set<std::string> seen;
    for (const auto& f : cfg.inventory_files) {
      if (f.empty() || f.find('\0') != std::string::npos) inv.Error("files", "an empty path");
      if (!seen.insert(f).second) inv.Error("files", "\"" + f + "\" is listed twice");
    }
  }

  if (root.Has("servicenow")) ReadServiceNow(root.Map("servicenow"), cfg.servicenow);
  if (root.Has("gocd")) ReadGocd(root.Map("gocd"), cfg.gocd);

  {
    config::MapReader teams = root.Map("teams");
    teams.Get("order", cfg.teams.order);
    teams.Get("file", cfg.teams.file);
    teams.Get("aggregate_metadata_key", cfg.teams.aggregate_metadata_key);
    ReadDuration(teams, "file_interval", cfg.teams.file_interval_seconds);
    teams.Finish();
    std::set<std::string> seen;
    for (const auto& o : cfg.teams.order) {
      if (o != "file" && o != "aggregate" && o != "servicenow") {
        teams.Error("order", "\"" + o + "\" is not file, aggregate or servicenow");
      } else if (!seen.insert(o).second) {
        teams.Error("order", "\"" + o + "\" appears twice");
      }
    }
    if (cfg.teams.aggregate_metadata_key.empty()) teams.Error("aggregate_metadata_key", "must not be empty");
  }

  {
    config::MapReader report = root.Map("report");
    report.Get("top_users", cfg.top_users);
    report.Get("state_file", cfg.state_file);
    ReadDuration(report, "forget_after", cfg.forget_after_seconds);
    report.Finish();
    if (cfg.top_users < 1 || cfg.top_users > 50) report.Error("top_users", "must be between 1 and 50");
  }
  root.Finish();

  if (cfg.clouds.empty() && cfg.inventory_files.empty() && !cfg.allow_empty && errors.empty()) {
    root.Error("inventory",
               "configure at least one cloud or inventory file (an empty or truncated file?); set "
               "allow_empty: true to run with none");
  }
  if (!errors.empty()) return MakeError(errors.Text());
  if (!cfg.servicenow.enabled) {
    errors.Warn(root.mark(), "servicenow", "not configured: every app counts as unregistered");
  }
  cfg.warnings = errors.warnings();
  cfg.inline_secrets = errors.inline_secrets();
  return cfg;
}

Result<RegistryConfig> LoadConfig(const std::string& path) {
  return config::LoadConfigFile(
      path, [](const std::string& text, const std::string& name) { return ParseConfig(text, name); });
}

http::ClientOptions HttpOptions(const RegistryConfig& config, const std::string& source,
                                const std::string& ca_file, bool insecure, const UpstreamAuth& auth) {
  http::ClientOptions o;
  o.source = source;
  o.timeout_seconds = config.request_timeout_seconds;
  o.connect_timeout_seconds = std::min(10.0, config.request_timeout_seconds);
  o.ca_file = ca_file;
  o.insecure_skip_verify = insecure;
  if (!auth.bearer_token.empty()) {
    o.auth.kind = http::Auth::Kind::kBearer;
    o.auth.token = auth.bearer_token;
  } else if (!auth.username.empty()) {
    o.auth.kind = http::Auth::Kind::kBasic;
    o.auth.username = auth.username;
    o.auth.password = auth.password;
  }
  return o;
}

namespace {
std::string Hash(const std::string& s) { return std::to_string(std::hash<std::string>{}(s)); }
std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + '\x1f';
  return out;
}
std::string AuthDigest(const UpstreamAuth& a) {
  return a.username + "|" + Hash(a.password) + "|" + Hash(a.bearer_token);
}
}  // namespace

std::string Fingerprint(const RegistryConfig& config, const CloudConfig& c) {
  const auto& a = c.auth;
  return Hash(c.auth_url + "|" + c.region + "|" + c.interface + "|" + a.method + "|" + a.username + "|" +
              a.user_domain_name + "|" + a.project_name + "|" + a.project_id + "|" + a.project_domain_name +
              "|" + a.application_credential_id + "|" + a.application_credential_name + "|" +
              Hash(a.password) + "|" + Hash(a.application_credential_secret) + "|" +
              std::to_string(c.interval_seconds) + "|" + c.ca_file + (c.insecure ? "|1|" : "|0|") +
              std::to_string(c.page_size) + "|" + c.nova_microversion + "|" +
              std::to_string(config.request_timeout_seconds) + "|" + config.teams.aggregate_metadata_key);
}

std::string Fingerprint(const RegistryConfig& config, const ServiceNowConfig& s) {
  return Hash(s.url + "|" + AuthDigest(s.auth) + "|" + Join(s.tables) + "|" + s.query + "|" +
              s.app_code_field + "|" + s.name_field + "|" + s.owner_field + "|" + s.support_group_field +
              "|" + Join(s.unregistered_install_status) + "|" + std::to_string(s.page_size) + "|" +
              s.server_table + "|" + s.server_name_field + "|" + s.server_support_group_field + "|" +
              std::to_string(s.interval_seconds) + "|" + s.ca_file + (s.insecure ? "|1|" : "|0|") +
              std::to_string(config.request_timeout_seconds));
}

std::string Fingerprint(const RegistryConfig& config, const GocdConfig& g) {
  return Hash(g.url + "|" + AuthDigest(g.auth) + "|" + Join(g.app_pipeline_patterns) + "|" +
              std::to_string(g.window_days) + "|" + std::to_string(g.page_size) + "|" +
              std::to_string(g.interval_seconds) + "|" + g.ca_file + (g.insecure ? "|1|" : "|0|") +
              std::to_string(config.request_timeout_seconds));
}

}  // namespace estate::registry
