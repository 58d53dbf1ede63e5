// The real estate-compliance-exporter over a folder of reports this test writes itself (no fixture copies):
// an Automate envelope (host from node_name), a plain InSpec exec JSON (host from platform.target_id) with an
// overlay, a waiver and an error, an OpenSCAP XCCDF 1.2 result with its HTML report next to it, a truncated
// file and a host past retention. /metrics is compared with golden/compliance.metrics (ESTATE_UPDATE_GOLDEN=1
// rewrites it) and linted with promtool.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <string>
#include <thread>

#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::TempDir;

constexpr char kGolden[] = "exporters/compliance/tests/golden/compliance.metrics";

// Series whose values depend on time or on the machine, not on the reports.
const std::vector<std::string> kNonDeterministic = {
    R"(^(# (HELP|TYPE) )?estate_compliance_source_(last_success_timestamp_seconds|data_age_seconds|refresh_duration_seconds))",
    R"(^(# (HELP|TYPE) )?estate_compliance_config_last_reload_success_timestamp_seconds)",
    R"(^(# (HELP|TYPE) )?estate_compliance_report_age_seconds)",
    R"(^(# (HELP|TYPE) )?estate_compliance_file_last_success_timestamp_seconds)",
    R"(^(# (HELP|TYPE) )?estate_compliance_build_info)",
    R"(^(# (HELP|TYPE) )?estate_http_)",
    R"(^(# (HELP|TYPE) )?process_)",
};

std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// InSpec 5 exec JSON: a wrapper profile over "linux-baseline" (the wrapper's copies have no results), a
// waived control still failing, one skipped by its waiver, an error (exception with a backtrace), a failure
// with RSpec::Core::MultipleExceptionError (no backtrace: an ordinary failure), impact 0 and a skipped check.
std::string ExecJson(const std::string& target_id, const std::string& start_time) {
  return R"({"platform": {"name": "debian", "release": "12.4", "target_id": ")" + target_id + R"("},
 "profiles": [
  {"name": "wrapper", "version": "1.0.0", "sha256": "w", "title": "Wrapper", "status": "loaded",
   "depends": [{"name": "linux-baseline", "path": "x"}], "attributes": [], "groups": [], "supports": [],
   "controls": [{"id": "os-01", "title": "Trusted hosts login", "desc": "d", "impact": 1.0, "refs": [], "tags": {},
                 "code": "", "source_location": {"ref": "", "line": 1}, "results": []}]},
  {"name": "linux-baseline", "version": "2.8.0", "sha256": "b", "title": "DevSec Linux Baseline", "status": "loaded",
   "parent_profile": "wrapper", "attributes": [], "groups": [], "supports": [],
   "controls": [
    {"id": "os-01", "title": "Trusted hosts login", "desc": "hosts.equiv", "impact": 1.0,
     "refs": [{"url": "https://dev-sec.io/baselines/linux/#os-01"}], "tags": {}, "code": "",
     "source_location": {"ref": "", "line": 1},
     "results": [{"status": "failed", "code_desc": "File /etc/hosts.equiv should not exist", "run_time": 0.01,
                  "start_time": ")" +
         start_time + R"(", "message": "expected it not to exist"}]},
    {"id": "os-02", "title": "Check owner of /etc/shadow", "desc": "d", "impact": 0.5, "refs": [], "tags": {},
     "code": "", "source_location": {"ref": "", "line": 2},
     "results": [{"status": "passed", "code_desc": "ok", "run_time": 0.01, "start_time": ")" +
         start_time + R"("}]},
    {"id": "os-03", "title": "Kernel parameters", "desc": "d", "impact": 0.7, "refs": [],
     "tags": {"stig_id": "RHEL-07-010010"}, "code": "", "source_location": {"ref": "", "line": 3},
     "waiver_data": {"justification": "ticket SEC-12", "run": true, "skipped_due_to_waiver": false,
                     "expiration_date": "2031-01-01", "message": ""},
     "results": [{"status": "failed", "code_desc": "sysctl", "run_time": 0.01, "start_time": ")" +
         start_time + R"(",
                  "message": "expected 1", "exception": "RSpec::Core::MultipleExceptionError"}]},
    {"id": "os-04", "title": "Dot in PATH", "desc": "d", "impact": 0.3, "refs": [], "tags": {}, "code": "",
     "source_location": {"ref": "", "line": 4},
     "waiver_data": {"justification": "legacy", "run": false, "skipped_due_to_waiver": true,
                     "expiration_date": "2030-06-01", "message": ""},
     "results": [{"status": "skipped", "code_desc": "x", "run_time": 0.0, "start_time": ")" +
         start_time + R"(",
                  "skip_message": "Skipped control due to waiver condition: legacy"}]},
    {"id": "os-05", "title": "Broken check", "desc": "d", "impact": 0.9, "refs": [], "tags": {}, "code": "",
     "source_location": {"ref": "", "line": 5},
     "results": [{"status": "failed", "code_desc": "Control Source Code Error x.rb:5", "run_time": 0.0,
                  "start_time": ")" +
         start_time + R"(", "message": "undefined method",
                  "exception": "NoMethodError", "backtrace": ["x.rb:5"]}]},
    {"id": "os-06", "title": "Windows only", "desc": "d", "impact": 0.0, "refs": [], "tags": {}, "code": "",
     "source_location": {"ref": "", "line": 6},
     "results": [{"status": "skipped", "code_desc": "n/a", "run_time": 0.0, "start_time": ")" +
         start_time + R"(",
                  "skip_message": "Skipped control due to only_if condition"}]},
    {"id": "os-07", "title": "Manual review", "desc": "d", "impact": 0.5, "refs": [], "tags": {}, "code": "",
     "source_location": {"ref": "", "line": 7},
     "results": [{"status": "skipped", "code_desc": "manual", "run_time": 0.0, "start_time": ")" +
         start_time + R"(",
                  "skip_message": "manual"}]}
   ]}
 ],
 "statistics": {"duration": 4.25},
 "version": "5.22.3"})";
}

// The Automate reporter's envelope around an exec report: the host is node_name.
std::string Automate(const std::string& node_name, const std::string& end_time) {
  std::string exec = ExecJson("11111111-2222-3333-4444-555555555555", "2026-12-04T09:00:00+00:00");
  return R"({"type": "inspec_report", "node_uuid": "9b7c", "node_name": ")" + node_name +
         R"(", "report_uuid": "r-1", "end_time": ")" + end_time + R"(", "environment": "prod",)" +
         exec.substr(1);
}

std::string Xccdf(const std::string& target, const std::string& end_time) {
  return R"(<?xml version="1.0" encoding="UTF-8"?>
<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_estate_benchmark_test">
  <title>Estate test benchmark</title>
  <version>1.0</version>
  <Profile id="xccdf_estate_profile_base"><title>Base</title></Profile>
  <Rule id="xccdf_estate_rule_motd" severity="low"><title>MOTD present</title></Rule>
  <Rule id="xccdf_estate_rule_sshd" severity="high"><title>sshd root login off</title>
    <ident system="http://cyber.mil/legacy">V-38613</ident></Rule>
  <Rule id="xccdf_estate_rule_win" severity="medium"><title>Windows only</title></Rule>
  <Rule id="xccdf_estate_rule_probe" severity="medium"><title>Broken probe</title></Rule>
  <Rule id="xccdf_estate_rule_manual" severity="unknown"><title>Manual</title></Rule>
  <Rule id="xccdf_estate_rule_other" severity="high"><title>Not selected</title></Rule>
  <TestResult id="xccdf_org.open-scap_testresult_xccdf_estate_profile_base" start-time="2026-12-04T10:00:00+00:00"
      end-time=")" +
         end_time + R"(" test-system="cpe:/a:redhat:openscap:1.3.7" version="1.0">
    <benchmark href="b.xml" id="xccdf_estate_benchmark_test"/>
    <profile idref="xccdf_estate_profile_base"/>
    <target>)" +
         target + R"(</target>
    <rule-result idref="xccdf_estate_rule_motd" severity="low"><result>pass</result></rule-result>
    <rule-result idref="xccdf_estate_rule_sshd" severity="high"><result>fail</result></rule-result>
    <rule-result idref="xccdf_estate_rule_win" severity="medium"><result>notapplicable</result></rule-result>
    <rule-result idref="xccdf_estate_rule_probe" severity="medium"><result>error</result></rule-result>
    <rule-result idref="xccdf_estate_rule_manual" severity="unknown"><result>notchecked</result></rule-result>
    <rule-result idref="xccdf_estate_rule_other" severity="high"><result>notselected</result></rule-result>
  </TestResult>
</Benchmark>
)";
}

TEST(ComplianceGolden, ReportsOfEveryKindMetrics) {
  const std::string exporter = estate::testing::BinaryPath("estate-compliance-exporter");
  ASSERT_FALSE(exporter.empty()) << "estate-compliance-exporter was not built";
  TempDir dir;
  // Fixed report times, so the timestamps are part of the golden file (retention is ten years).
  dir.Write("reports/automate/web-01.json", Automate("web-01.example", "2026-12-04T09:00:42+00:00"));
  dir.Write("reports/inspec/db.json", ExecJson("db-01-uuid", "2026-12-04T08:30:00+00:00"));
  dir.Write("reports/scap/scap-01-results.xml", Xccdf("scap-01.example", "2026-12-04T10:00:42+00:00"));
  dir.Write("reports/scap/scap-01-results.html", "<html><body>OpenSCAP report</body></html>");
  dir.Write("reports/broken.json",
            R"({"platform": {"name": "debian", "release": "12"}, "profiles": [{"name": )");
  const int port = estate::testing::FreePort();
  const std::string config = dir.Write("compliance.yml", R"(scan:
  paths: [")" + dir.path() + R"(/reports"]
  interval: 1s
  settle: 0s
retention: 3650d
links:
  report_base_url: "http://compliance.example:9842"
  doc_url_templates: {stig: "https://stigviewer.example/stig/{id}"}
)");
  // The host past retention: retention counts from now, so give it a report time older than ten years.
  dir.Write("reports/gone-host.json", ExecJson("gone-host", "2001-01-01T00:00:00+00:00"));
  estate::testing::ChildProcess process;
  auto started = process.Start(
      {exporter, "--config.file=" + config, "--web.listen-address=127.0.0.1:" + std::to_string(port)},
      dir.path() + "/exporter.log");
  ASSERT_TRUE(started.ok()) << started.error();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(estate::testing::WaitHttpOk(base + "/-/ready", 30s)) << process.Log();
  std::string text, filtered, previous;
  for (auto until = Clock::now() + 20s; Clock::now() < until; std::this_thread::sleep_for(300ms)) {
    text = estate::testing::HttpGet(base + "/metrics", 10).body;
    filtered = ReplaceAll(estate::testing::DropLines(text, kNonDeterministic), dir.path(), "<dir>");
    if (filtered == previous && filtered.find("estate_compliance_host_info{") != std::string::npos) break;
    previous = filtered;
  }
  ASSERT_EQ(filtered, previous) << "/metrics did not settle";
  EXPECT_TRUE(estate::testing::MatchesGolden(filtered, kGolden));
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(text));
  // The landing page names the file that does not parse.
  auto landing = estate::testing::HttpGet(base + "/", 10);
  EXPECT_NE(landing.body.find("broken.json"), std::string::npos);
  EXPECT_NE(landing.body.find("1 result files do not parse"), std::string::npos) << landing.body;
  // The report pages are served from the same store.
  EXPECT_EQ(estate::testing::HttpGet(base + "/report", 10).status, 200);
  auto host_page = estate::testing::HttpGet(base + "/report/web-01.example", 10);
  EXPECT_EQ(host_page.status, 200);
  EXPECT_NE(host_page.body.find("os-02"),
            std::string::npos);  // a passed control: the page reads the file again
}

}  // namespace
