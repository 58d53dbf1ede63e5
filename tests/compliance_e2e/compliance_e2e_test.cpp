// The compliance exporter end to end, set up exactly as the demo sets it up:
// packaging/demo/compliance.before.sh writes the InSpec reports of tools/compliance-demo/make_reports.py (one
// of them cut off half-way) and, when oscap is installed, the results of a real `oscap xccdf eval` of
// tests/scap; the exporter reads them with packaging/demo/compliance.yml (rendered as scripts/demo.sh renders
// it, with a 1 s scan interval); packaging/demo/compliance.after.sh pushes monitoring01's automate envelope
// to /data-collector/v0/ with a token. Then a real Prometheus evaluates alerts/compliance.rules.yml (every
// `for:` set to 0s) and a real Alertmanager must receive the critical-control alert of pgdb-main01 with its
// documentation and report links, and the demo's other alerts.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::HttpGet;
using estate::testing::MetricSample;
using estate::testing::TempDir;

constexpr char kCriticalHost[] = "pgdb-main01";
constexpr char kCriticalControl[] = "ssh-01";
constexpr char kCriticalDoc[] = "https://man.openbsd.org/sshd_config#PermitRootLogin";

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// packaging/demo/compliance.yml with the placeholders of scripts/demo.sh replaced, scanning every second.
std::string ExporterConfig(const std::string& state_dir, const std::string& address) {
  const std::string source = estate::testing::SourceDir();
  std::string text = estate::testing::ReadFileOrDie(source + "/packaging/demo/compliance.yml");
  text = ReplaceAll(text, "{{state_dir}}", state_dir);
  text = ReplaceAll(text, "{{source_dir}}", source);
  text = ReplaceAll(text, "{{exporter_address}}", address);
  return std::regex_replace(text, std::regex(R"(\binterval: \S+)"), "interval: 1s");
}

// bash packaging/demo/compliance.<when>.sh STATE SOURCE ADDRESS, as scripts/demo.sh runs it.
estate::testing::CommandResult RunHook(const std::string& when, const std::string& state,
                                       const std::string& address) {
  const std::string source = estate::testing::SourceDir();
  return estate::testing::RunCommand({estate::testing::BinaryPath("bash"),
                                      source + "/packaging/demo/compliance." + when + ".sh", state, source,
                                      address});
}

bool HasSample(const std::vector<MetricSample>& samples, const std::string& name,
               const std::map<std::string, std::string>& labels, double value) {
  return estate::testing::SampleValue(samples, name, labels) == value;
}

// The first sample of `name` whose label `label` matches `pattern` (and that has the other labels).
const MetricSample* FindSample(const std::vector<MetricSample>& samples, const std::string& name,
                               const std::string& label, const std::regex& pattern,
                               const std::map<std::string, std::string>& labels = {}) {
  for (const auto& s : samples) {
    if (s.name != name) continue;
    auto it = s.labels.find(label);
    if (it == s.labels.end() || !std::regex_search(it->second, pattern)) continue;
    bool all = true;
    for (const auto& [k, v] : labels) {
      auto l = s.labels.find(k);
      all = all && l != s.labels.end() && l->second == v;
    }
    if (all) return &s;
  }
  return nullptr;
}

TEST(ComplianceE2e, DemoAlertsArriveWithDocAndReportLinks) {
  const std::string source = estate::testing::SourceDir();
  const std::string rules_path = source + "/alerts/compliance.rules.yml";
  const std::string binary = estate::testing::BinaryPath("estate-compliance-exporter");
  ASSERT_FALSE(binary.empty()) << "estate-compliance-exporter was not built";
  ASSERT_FALSE(estate::testing::BinaryPath("python3").empty())
      << "python3 is needed by the demo's report generator";
  const bool have_oscap = !estate::testing::BinaryPath("oscap").empty();
  if (!have_oscap) std::printf("oscap is not installed: the OpenSCAP part is left out\n");

  TempDir dir;
  const std::string address = "127.0.0.1:" + std::to_string(estate::testing::FreePort());
  const std::string base = "http://" + address;
  const auto before = RunHook("before", dir.path(), address);
  ASSERT_EQ(before.exit_code, 0) << before.error << before.output;

  estate::testing::ChildProcess exporter;
  auto started = exporter.Start(
      {binary, "--config.file=" + dir.Write("compliance.yml", ExporterConfig(dir.path(), address)),
       "--web.listen-address=" + address},
      dir.path() + "/exporter.log");
  ASSERT_TRUE(started) << started.error();
  ASSERT_TRUE(estate::testing::WaitHttpOk(base + "/metrics", 30s)) << exporter.Log();
  const auto after = RunHook("after", dir.path(), address);
  ASSERT_EQ(after.exit_code, 0) << after.error << after.output << exporter.Log();

  // The exporter's side: every source of the demo is in /metrics.
  const std::regex truncated_file(R"(batch-worker01\.json$)");
  const std::regex oscap_tool("oscap");
  std::string why;
  std::vector<MetricSample> samples;
  for (auto until = Clock::now() + 30s; Clock::now() < until; std::this_thread::sleep_for(200ms)) {
    samples = estate::testing::ParseMetricSamples(HttpGet(base + "/metrics", 5).body);
    why.clear();
    if (!HasSample(samples, "estate_compliance_control_status",
                   {{"host", kCriticalHost},
                    {"control", kCriticalControl},
                    {"status", "failed"},
                    {"severity", "critical"}},
                   1)) {
      why += "no failed critical ssh-01 on pgdb-main01; ";
    }
    if (!HasSample(samples, "estate_compliance_control_info",
                   {{"control", kCriticalControl}, {"doc_url", kCriticalDoc}}, 1)) {
      why += "no control_info with the doc link of ssh-01; ";
    }
    if (!HasSample(samples, "estate_compliance_host_info",
                   {{"host", "monitoring01"}, {"report_url", base + "/report/monitoring01"}}, 1)) {
      why += "no pushed report of monitoring01; ";
    }
    const MetricSample* bad = FindSample(samples, "estate_compliance_file_up", "file", truncated_file);
    if (bad == nullptr || bad->value != 0) why += "the truncated report is not file_up 0; ";
    if (have_oscap && FindSample(samples, "estate_compliance_profile_info", "tool", oscap_tool) == nullptr) {
      why += "no oscap results; ";
    }
    if (why.empty()) break;
  }
  ASSERT_TRUE(why.empty()) << why << "\n" << exporter.Log();

  // The real scanner's outcomes, each as itself: pass, fail, notapplicable, error and notchecked.
  if (have_oscap) {
    const MetricSample* info = FindSample(samples, "estate_compliance_profile_info", "tool", oscap_tool);
    const std::string oscap_host = info->labels.at("host");
    const std::string profile = info->labels.at("profile");
    EXPECT_EQ(oscap_host, "build-runner01");  // the XCCDF target: the scanned root's etc/hostname
    for (const char* status : {"passed", "failed", "not_applicable", "error", "not_reviewed"}) {
      double total = 0;
      for (const auto& s : samples) {
        if (s.name == "estate_compliance_controls" && s.labels.at("host") == oscap_host &&
            s.labels.at("profile") == profile && s.labels.at("status") == status) {
          total += s.value;
        }
      }
      EXPECT_GT(total, 0) << "no " << status << " rule in the oscap results of " << oscap_host;
    }
  }

  // Prometheus with the shipped rules (for: 0s) and Alertmanager.
  ASSERT_TRUE(std::filesystem::exists(rules_path)) << rules_path;
  const std::string rules =
      dir.Write("compliance.rules.yml", std::regex_replace(estate::testing::ReadFileOrDie(rules_path),
                                                           std::regex(R"((\n\s+for:\s*)\S+)"), "$010s"));
  estate::testing::AlertmanagerServer am;
  auto am_started = am.Start(dir);
  ASSERT_TRUE(am_started) << am_started.error();
  estate::testing::PrometheusServer::Options options;
  options.scrape_configs_yaml =
      "  - job_name: compliance\n    static_configs:\n      - targets: [\"" + address + "\"]\n";
  options.rule_files = {rules};
  options.alertmanager_url = am.address();
  estate::testing::PrometheusServer prometheus(options);
  auto prom_started = prometheus.Start(dir);
  ASSERT_TRUE(prom_started) << prom_started.error();

  // Each alert of the demo's story, by what it is about.
  struct Expected {
    std::string alertname;
    std::map<std::string, std::string> labels;
  };
  std::vector<Expected> expected = {
      {"ComplianceCriticalControlFailing", {{"host", kCriticalHost}, {"control", kCriticalControl}}},
      {"ComplianceWaiverExpiringSoon", {{"host", "web-front02"}, {"control", "ssh-02"}}},
      {"ComplianceReportStale", {{"host", "iex-zk02"}}},
      {"ComplianceReportUnparseable", {{"file", dir.path() + "/compliance/reports/batch-worker01.json"}}},
      {"ComplianceControlsErroring", {{"host", "hv-lenovo-01"}}},
      {"ComplianceProfileNotLoaded", {{"host", "hv-smc-01"}}},
  };
  // The scanner's error outcome is an erroring control too.
  if (have_oscap) expected.push_back({"ComplianceControlsErroring", {{"host", "build-runner01"}}});
  auto find = [](const nlohmann::json& alerts, const Expected& e) -> std::optional<nlohmann::json> {
    for (const auto& a : alerts) {
      if (a.contains("status") && a["status"].value("state", "active") != "active") continue;
      const auto& labels = a.value("labels", nlohmann::json::object());
      if (labels.value("alertname", "") != e.alertname) continue;
      bool all = true;
      for (const auto& [k, v] : e.labels) all = all && labels.value(k, "") == v;
      if (all) return a;
    }
    return std::nullopt;
  };
  nlohmann::json alerts = nlohmann::json::array();
  std::string missing;
  for (auto until = Clock::now() + 40s; Clock::now() < until; std::this_thread::sleep_for(500ms)) {
    auto got = am.Alerts();
    if (got) alerts = *got;
    missing.clear();
    for (const auto& e : expected) {
      if (!find(alerts, e)) missing += " " + e.alertname;
    }
    if (missing.empty()) break;
  }
  EXPECT_TRUE(missing.empty()) << "missing in Alertmanager:" << missing
                               << "\nAlertmanager: " << alerts.dump(1)
                               << "\nPrometheus: " << HttpGet(prometheus.url() + "/api/v1/alerts").body;

  // The critical control's alert says where to read about the control and where the host's report is.
  auto critical = find(alerts, expected[0]);
  ASSERT_TRUE(critical.has_value());
  std::string annotations;
  const nlohmann::json annotation_map = critical->value("annotations", nlohmann::json::object());
  for (const auto& [key, value] : annotation_map.items()) {
    annotations += key + ": " + value.get<std::string>() + "\n";
  }
  EXPECT_NE(annotations.find(kCriticalDoc), std::string::npos) << annotations;
  EXPECT_NE(annotations.find(base + "/report/" + kCriticalHost), std::string::npos) << annotations;
  // And the report link opens that host's page.
  const auto page = HttpGet(base + "/report/" + kCriticalHost, 10);
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find(kCriticalControl), std::string::npos);
  EXPECT_TRUE(exporter.Running()) << exporter.Log();
}

}  // namespace
