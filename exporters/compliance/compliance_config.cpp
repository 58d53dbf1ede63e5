#include "compliance_config.h"

#include <functional>
#include <regex>

#include "estate/config.h"
#include "estate/regex.h"

namespace estate::compliance {
namespace {

constexpr long kMaxBodyLimit = long{1} << 30;

void ReadDuration(config::MapReader& r, const std::string& key, double& out, bool allow_zero = false) {
  if (r.Has(key)) r.GetDuration(key, out, allow_zero);
}

bool ValidKind(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

int FloorRank(const std::string& s) {
  if (s == "none") return 0;
  if (s == "low") return 1;
  if (s == "medium") return 2;
  if (s == "high") return 3;
  if (s == "critical") return 4;
  return -1;
}

}  // namespace

Result<ComplianceConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                     const config::ParseOptions& options) {
  auto node = config::ParseYaml(yaml, origin);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(origin, options);
  ComplianceConfig cfg;
  config::MapReader root(*node, "", errors);
  root.Get("allow_empty", cfg.allow_empty);
  ReadDuration(root, "retention", cfg.retention_seconds);

  config::MapReader scan = root.Map("scan");
  scan.Get("paths", cfg.scan_paths);
  ReadDuration(scan, "interval", cfg.scan_interval_seconds);
  ReadDuration(scan, "settle", cfg.settle_seconds, /*allow_zero=*/true);
  scan.Get("host_from_path", cfg.host_from_path);
  for (const auto& p : cfg.scan_paths) {
    if (p.empty()) {
      scan.Error("paths", "an empty path");
    } else if (p.find('\0') != std::string::npos) {
      scan.Error("paths", "a path with a NUL byte");
    }
  }
  if (cfg.host_from_path.size() > 512) {
    scan.Error("host_from_path", "longer than 512 characters");
  } else if (!cfg.host_from_path.empty()) {
    auto re = CompileRegex(cfg.host_from_path);
    if (!re) {
      scan.Error("host_from_path", "not a valid regular expression: " + re.error());
    } else if (re->mark_count() < 1) {
      scan.Error("host_from_path", "needs a capture group (its first names the host)");
    }
  }
  scan.Finish();

  config::MapReader push = root.Map("push");
  push.Get("enabled", cfg.push_enabled);
  push.Get("tokens_file", cfg.push_tokens_file);
  push.Get("spool_dir", cfg.push_spool_dir);
  long max_body = static_cast<long>(cfg.push_max_body_bytes);
  push.Get("max_body_bytes", max_body);
  if (max_body < 1024 || max_body > kMaxBodyLimit) {
    push.Error("max_body_bytes", "must be between 1024 and 1073741824");
  } else {
    cfg.push_max_body_bytes = static_cast<std::size_t>(max_body);
  }
  if (cfg.push_enabled && cfg.push_tokens_file.empty()) push.Error("tokens_file", "is required with push");
  if (cfg.push_enabled && cfg.push_spool_dir.empty()) push.Error("spool_dir", "is required with push");
  push.Finish();

  config::MapReader m = root.Map("metrics");
  std::string series = "not_passing";
  m.Get("control_series", series);
  if (series == "not_passing") {
    cfg.control_series = ControlSeries::kNotPassing;
  } else if (series == "none") {
    cfg.control_series = ControlSeries::kNone;
  } else {
    m.Error("control_series", "must be not_passing or none, not \"" + series + "\"");
  }
  std::string floor = "none";
  m.Get("severity_floor", floor);
  cfg.severity_floor = FloorRank(floor);
  if (cfg.severity_floor < 0) {
    m.Error("severity_floor", "must be none, low, medium, high or critical, not \"" + floor + "\"");
    cfg.severity_floor = 0;
  }
  m.Get("profiles", cfg.profiles);
  m.Finish();

  config::MapReader links = root.Map("links");
  links.Get("report_base_url", cfg.report_base_url);
  while (!cfg.report_base_url.empty() && cfg.report_base_url.back() == '/') cfg.report_base_url.pop_back();
  if (!cfg.report_base_url.empty() && cfg.report_base_url.rfind("http://", 0) != 0 &&
      cfg.report_base_url.rfind("https://", 0) != 0) {
    links.Error("report_base_url", "must start with http:// or https://");
  }
  links.Get("doc_url_templates", cfg.doc_url_templates);
  for (const auto& [kind, tmpl] : cfg.doc_url_templates) {
    if (!ValidKind(kind)) {
      links.Error("doc_url_templates", "id kind \"" + kind + "\" must be lower-case letters, digits, _ or -");
    }
    if (tmpl.find("{id}") == std::string::npos) {
      links.Error("doc_url_templates", "the template for \"" + kind + "\" has no {id}");
    } else if (tmpl.rfind("http://", 0) != 0 && tmpl.rfind("https://", 0) != 0) {
      links.Error("doc_url_templates",
                  "the template for \"" + kind + "\" must start with http:// or https://");
    }
  }
  links.Finish();
  root.Finish();

  // An empty or truncated file (an editor saving in place) must not silently stop every input.
  if (!cfg.HasInputs() && !cfg.allow_empty && errors.empty()) {
    root.Error("scan",
               "configure scan.paths or enable push (an empty or truncated file?); set allow_empty: "
               "true to run with none");
  }
  if (!errors.empty()) return MakeError(errors.Text());
  cfg.warnings = errors.warnings();
  return cfg;
}

Result<ComplianceConfig> LoadConfig(const std::string& path) {
  return config::LoadConfigFile(
      path, [](const std::string& text, const std::string& name) { return ParseConfig(text, name); });
}

std::string ScanFingerprint(const ComplianceConfig& c) {
  std::string s = std::to_string(c.scan_interval_seconds) + "|" + std::to_string(c.settle_seconds) + "|" +
                  c.host_from_path + "|" + std::to_string(c.retention_seconds) + "|" +
                  (c.push_enabled ? c.push_spool_dir : std::string()) + "|";
  for (const auto& p : c.scan_paths) s += p + "\x1f";
  return std::to_string(std::hash<std::string>{}(s));
}

}  // namespace estate::compliance
