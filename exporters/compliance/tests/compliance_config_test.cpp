// The compliance exporter's YAML config: defaults, every key, and the errors (with file:line and path).
#include "compliance_config.h"

#include <gtest/gtest.h>

#include "estate/testing/e2e.h"

namespace estate::compliance {
namespace {

TEST(ComplianceConfig, Defaults) {
  auto cfg = ParseConfig("scan: {paths: [/var/lib/estate-compliance/reports]}\n", "c.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->scan_paths, std::vector<std::string>{"/var/lib/estate-compliance/reports"});
  EXPECT_EQ(cfg->scan_interval_seconds, 30);
  EXPECT_EQ(cfg->settle_seconds, 2);
  EXPECT_EQ(cfg->host_from_path, "");
  EXPECT_EQ(cfg->retention_seconds, 14 * 86400);
  EXPECT_FALSE(cfg->push_enabled);
  EXPECT_EQ(cfg->push_tokens_file, "/etc/estate/compliance-tokens");
  EXPECT_EQ(cfg->push_spool_dir, "/var/lib/estate-compliance/spool");
  EXPECT_EQ(cfg->push_max_body_bytes, 64u << 20);
  EXPECT_EQ(cfg->control_series, ControlSeries::kNotPassing);
  EXPECT_EQ(cfg->severity_floor, 0);
  EXPECT_TRUE(cfg->profiles.empty());
  EXPECT_EQ(cfg->report_base_url, "");
  EXPECT_TRUE(cfg->doc_url_templates.empty());
  EXPECT_FALSE(cfg->allow_empty);
}

TEST(ComplianceConfig, EveryKey) {
  auto cfg = ParseConfig(R"(
scan:
  paths: ["/var/lib/estate-compliance/reports", "/srv/ci/*/inspec.json"]
  interval: 1m
  settle: 0s
  host_from_path: "/srv/ci/([^/]+)/"
retention: 3d
push:
  enabled: true
  tokens_file: /etc/estate/t
  spool_dir: /var/spool/c
  max_body_bytes: 1048576
metrics:
  control_series: none
  severity_floor: high
  profiles: [cis-level1, stig]
links:
  report_base_url: "http://compliance.example:9842/"
  doc_url_templates: {stig: "https://stigviewer.example/{id}", cis: "https://cis.example/{id}"}
allow_empty: true
)",
                         "c.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->scan_paths.size(), 2u);
  EXPECT_EQ(cfg->scan_interval_seconds, 60);
  EXPECT_EQ(cfg->settle_seconds, 0);
  EXPECT_EQ(cfg->host_from_path, "/srv/ci/([^/]+)/");
  EXPECT_EQ(cfg->retention_seconds, 3 * 86400);
  EXPECT_TRUE(cfg->push_enabled);
  EXPECT_EQ(cfg->push_tokens_file, "/etc/estate/t");
  EXPECT_EQ(cfg->push_spool_dir, "/var/spool/c");
  EXPECT_EQ(cfg->push_max_body_bytes, 1048576u);
  EXPECT_EQ(cfg->control_series, ControlSeries::kNone);
  EXPECT_EQ(cfg->severity_floor, 3);
  EXPECT_EQ(cfg->profiles, (std::vector<std::string>{"cis-level1", "stig"}));
  EXPECT_EQ(cfg->report_base_url, "http://compliance.example:9842");  // trailing slash dropped
  EXPECT_EQ(cfg->doc_url_templates.at("stig"), "https://stigviewer.example/{id}");
  EXPECT_TRUE(cfg->allow_empty);
}

TEST(ComplianceConfig, PushAloneIsAnInput) {
  auto cfg = ParseConfig("push: {enabled: true}\n", "c.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_TRUE(cfg->HasInputs());
}

TEST(ComplianceConfig, AnEmptyFileIsRefusedUnlessAllowed) {
  auto cfg = ParseConfig("", "c.yml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("allow_empty"), std::string::npos) << cfg.error();
  EXPECT_TRUE(ParseConfig("allow_empty: true\n", "c.yml").ok());
}

TEST(ComplianceConfig, ErrorsNameFileLineAndPath) {
  auto cfg = ParseConfig(R"(scan:
  paths: [/r]
  intervall: 30s
retention: forever
metrics:
  severity_floor: severe
  control_series: all
)",
                         "c.yml");
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  EXPECT_NE(e.find("c.yml:3: scan.intervall"), std::string::npos) << e;
  EXPECT_NE(e.find("c.yml:4: retention"), std::string::npos) << e;
  EXPECT_NE(e.find("metrics.severity_floor: must be none, low, medium, high or critical"), std::string::npos) << e;
  EXPECT_NE(e.find("metrics.control_series: must be not_passing or none"), std::string::npos) << e;
}

TEST(ComplianceConfig, BadValues) {
  struct Case {
    const char* yaml;
    const char* error;
  };
  const Case cases[] = {
      {"scan: {paths: [/r], host_from_path: \"(unclosed\"}\n", "not a valid regular expression"},
      {"scan: {paths: [/r], host_from_path: \"/srv/[a-z]+/\"}\n", "needs a capture group"},
      {"scan: {paths: [\"\"]}\n", "an empty path"},
      {"scan: {paths: [/r], interval: 0s}\n", "scan.interval"},
      {"scan: {paths: [/r], settle: -1s}\n", "scan.settle"},
      {"scan: {paths: /r}\n", "scan.paths"},
      {"scan: {paths: [/r]}\npush: {max_body_bytes: 10}\n", "must be between 1024"},
      {"push: {enabled: true, tokens_file: \"\"}\n", "tokens_file: is required with push"},
      {"push: {enabled: true, spool_dir: \"\"}\n", "spool_dir: is required with push"},
      {"scan: {paths: [/r]}\nlinks: {report_base_url: \"compliance:9842\"}\n", "must start with http"},
      {"scan: {paths: [/r]}\nlinks: {doc_url_templates: {stig: \"https://x/\"}}\n", "has no {id}"},
      {"scan: {paths: [/r]}\nlinks: {doc_url_templates: {\"S T\": \"https://x/{id}\"}}\n", "id kind"},
      {"scan: {paths: [/r]}\nlinks: {doc_url_templates: {stig: \"ftp://x/{id}\"}}\n", "must start with http"},
      {"scan: [1, 2]\n", "scan"},
  };
  for (const auto& c : cases) {
    auto cfg = ParseConfig(c.yaml, "c.yml");
    ASSERT_FALSE(cfg.ok()) << c.yaml;
    EXPECT_NE(cfg.error().find(c.error), std::string::npos) << c.yaml << "\n" << cfg.error();
  }
}

TEST(ComplianceConfig, LoadConfigReadsTheFile) {
  estate::testing::TempDir dir;
  std::string path = dir.Write("compliance.yml", "scan: {paths: [/r], interval: 5s}\n");
  auto cfg = LoadConfig(path);
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->scan_interval_seconds, 5);
  auto missing = LoadConfig(dir.path() + "/nope.yml");
  EXPECT_FALSE(missing.ok());
}

TEST(ComplianceConfig, TheScanFingerprintFollowsTheScanSettings) {
  auto a = ParseConfig("scan: {paths: [/r]}\n", "c.yml");
  auto b = ParseConfig("scan: {paths: [/r]}\nmetrics: {severity_floor: high}\n", "c.yml");
  auto c = ParseConfig("scan: {paths: [/r, /s]}\n", "c.yml");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(ScanFingerprint(*a), ScanFingerprint(*b));
  EXPECT_NE(ScanFingerprint(*a), ScanFingerprint(*c));
}

}  // namespace
}  // namespace estate::compliance
