// The compliance exporter's configuration (docs/compliance.md): where result files are scanned, how long
// reports are kept, the push endpoint, which per-control series are exposed and how links are made. YAML is
// mapped onto these structs (defaults live here); unknown keys are errors reported with file, line and path.
//
//   scan:
//     paths: ["/var/lib/estate-compliance/reports", "/srv/ci/*/inspec.json"]   # dirs (recursive) or globs
//     interval: 30s        # rescans stat everything; unchanged files (size, mtime, inode) are not read
//     settle: 2s           # a file modified more recently than this is read on a later scan
//     host_from_path: ""   # optional regex; its first capture group names the host (overrides the report's)
//   retention: 14d         # reports whose own time is older are dropped
//   push: {enabled: false, tokens_file: /etc/estate/compliance-tokens,
//          spool_dir: /var/lib/estate-compliance/spool, max_body_bytes: 67108864}
//   metrics: {control_series: not_passing, severity_floor: none, profiles: []}
//   links: {report_base_url: "", doc_url_templates: {stig: "https://…/{id}"}}
//   allow_empty: false     # true: no scan paths and no push is fine (otherwise such a file is refused)
//
// Plain values; not thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "estate/config.h"
#include "estate/result.h"

namespace estate::compliance {

enum class ControlSeries { kNotPassing, kNone };

struct ComplianceConfig {
  // scan
  std::vector<std::string> scan_paths;
  double scan_interval_seconds = 30;
  double settle_seconds = 2;
  std::string host_from_path;  // "" = none; else an ECMAScript regex with at least one capture group
  double retention_seconds = 14 * 86400.0;
  // push (the data-collector endpoint; its handler reads the tokens file itself)
  bool push_enabled = false;
  std::string push_tokens_file = "/etc/estate/compliance-tokens";
  std::string push_spool_dir = "/var/lib/estate-compliance/spool";
  std::size_t push_max_body_bytes = std::size_t{64} << 20;
  // metrics
  ControlSeries control_series = ControlSeries::kNotPassing;
  int severity_floor = 0;  // SeverityRank: 0 none (every control), 1 low, 2 medium, 3 high, 4 critical
  std::vector<std::string> profiles;  // allow-list for per-control series; empty = all
  // links
  std::string report_base_url;  // without a trailing slash; "" = relative /report/<host>
  std::map<std::string, std::string> doc_url_templates;  // id kind (stig, cis, xccdf, ...) -> URL with {id}
  bool allow_empty = false;
  // Not settings: what the load noticed (logged by LoadConfig).
  std::vector<std::string> warnings;

  // Where the reports come from: the scan paths, plus the push spool when push is enabled.
  bool HasInputs() const { return !scan_paths.empty() || push_enabled; }
};

// Parses and validates; the error lists every problem, one per line, with file:line and path. Never throws;
// touches no file (so options.read_files changes nothing today: the tokens file is read by the push handler).
Result<ComplianceConfig> ParseConfig(const std::string& yaml, const std::string& origin,
                                     const config::ParseOptions& options = {});
// Reads the file (config::ReadFile), parses it and logs its warnings (and the file's own, e.g.
// world-writable).
Result<ComplianceConfig> LoadConfig(const std::string& path);

// A stable digest of what the scan depends on (paths, spool, settle, host pattern, retention, interval): the
// scan job's fingerprint.
std::string ScanFingerprint(const ComplianceConfig& config);

}  // namespace estate::compliance
