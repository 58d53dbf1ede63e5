// The compliance metric families from store snapshots built in the test (fake_report.h reports through
// MakeStored): statuses with zeros, the ratio, the per-control series and their limits, links, the newest
// report per (host, profile), and no stale series. Every rendering is checked with promtool.
#include "compliance_metrics.h"

#include <gtest/gtest.h>

#include <regex>

#include "estate/metrics.h"
#include "estate/testing/golden.h"
#include "fake_report.h"

namespace estate::compliance {
namespace {

std::shared_ptr<const StoredReport> Stored(const std::string& body, const std::string& path = "/r/x.json") {
  auto parsed = testing::FakeParse(body);
  EXPECT_TRUE(parsed.ok());
  return std::make_shared<const StoredReport>(MakeStored(std::move(*parsed), path, false, 50, nullptr, true));
}

StoreSnapshot Snap(std::vector<std::shared_ptr<const StoredReport>> reports) {
  StoreSnapshot s;
  s.scan_unix = 1000;
  s.reports = std::move(reports);
  std::stable_sort(s.reports.begin(), s.reports.end(), [](const auto& a, const auto& b) {
    if (a->host != b->host) return a->host < b->host;
    return a->time_unix > b->time_unix;
  });
  return s;
}

// The exposition text of pre-rendered data (small: no compressed families).
std::string Text(const RenderedData& d) {
  std::string out;
  for (const auto& f : d.families) {
    EXPECT_EQ(f.gzip, nullptr);
    out += "# HELP " + f.name + " " + metrics::EscapeHelp(f.help) + "\n# TYPE " + f.name + " " + f.type + "\n";
    out += d.samples.substr(f.offset, f.length);
  }
  return out;
}

std::string Render(const StoreSnapshot& s, const MetricsOptions& o = {}) {
  std::string text = Text(RenderReports(s, o)) + Text(RenderFiles(s));
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(text));
  return text;
}

bool Has(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}
int Count(const std::string& text, const std::string& prefix) {
  int n = 0;
  for (std::size_t pos = text.find("\n" + prefix); pos != std::string::npos; pos = text.find("\n" + prefix, pos + 1)) {
    ++n;
  }
  return n;
}

const char kWeb1[] =
    "host web-1\ntime 900\nduration 12.5\nplatform debian 12\ntool inspec 5.22.3\nprofile base 1.0.0\n"
    "control c1 base failed high id=stig:V-1\ncontrol c2 base passed high\ncontrol c3 base error medium\n"
    "control c4 base not_reviewed low\ncontrol c5 base waived critical waived expires=2000000000\n"
    "control c6 base failed critical waived expires=1900000000 doc=https://docs.example/c6\n"
    "control c7 base not_applicable none\n";

TEST(ComplianceMetrics, EveryStatusOfEverySeverityPresentZerosIncluded) {
  std::string text = Render(Snap({Stored(kWeb1)}));
  EXPECT_TRUE(Has(text, R"(estate_compliance_controls{host="web-1",profile="base",status="failed",severity="high"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_controls{host="web-1",profile="base",status="passed",severity="high"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_controls{host="web-1",profile="base",status="waived",severity="high"} 0)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_controls{host="web-1",profile="base",status="error",severity="medium"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_controls{host="web-1",profile="base",status="not_applicable",severity="none"} 1)"));
  // 5 severities present (none, low, medium, high, critical) x 6 statuses; unknown is absent.
  EXPECT_EQ(Count(text, "estate_compliance_controls{"), 30);
  EXPECT_EQ(text.find("severity=\"unknown\""), std::string::npos);
}

TEST(ComplianceMetrics, RatioIsPassedOverPassedFailedErrorNotReviewed) {
  std::string text = Render(Snap({Stored(kWeb1)}));
  // passed 1 / (passed 1 + failed 2 + error 1 + not_reviewed 1): waived and not_applicable do not count.
  EXPECT_TRUE(Has(text, R"(estate_compliance_ratio{host="web-1",profile="base"} 0.2)")) << text;
  // Nothing to count: no ratio.
  text = Render(Snap({Stored("host h\ntime 5\nprofile p 1\ncontrol a p not_applicable none\n")}));
  EXPECT_EQ(Count(text, "estate_compliance_ratio{"), 0);
  EXPECT_EQ(Count(text, "estate_compliance_controls{"), 6);
}

TEST(ComplianceMetrics, ControlSeriesOnlyForControlsNotPassing) {
  std::string text = Render(Snap({Stored(kWeb1)}));
  EXPECT_TRUE(Has(text, R"(estate_compliance_control_status{host="web-1",profile="base",control="c1",severity="high",status="failed",waived="false"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_control_status{host="web-1",profile="base",control="c5",severity="critical",status="waived",waived="true"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_control_status{host="web-1",profile="base",control="c6",severity="critical",status="failed",waived="true"} 1)"));
  EXPECT_EQ(Count(text, "estate_compliance_control_status{"), 5);  // c1 c3 c4 c5 c6
  EXPECT_EQ(text.find("control=\"c2\""), std::string::npos);
  EXPECT_EQ(text.find("control=\"c7\""), std::string::npos);
  EXPECT_EQ(Count(text, "estate_compliance_control_info{"), 5);
}

TEST(ComplianceMetrics, SeverityFloorAllowListAndNone) {
  auto snap = Snap({Stored(kWeb1), Stored("host web-2\ntime 9\nprofile cis 2\ncontrol k1 cis failed high\n")});
  MetricsOptions floor;
  floor.severity_floor = 3;  // high
  std::string text = Render(snap, floor);
  EXPECT_EQ(Count(text, "estate_compliance_control_status{"), 4);  // c1, c5, c6, k1
  EXPECT_EQ(text.find("control=\"c3\""), std::string::npos);
  MetricsOptions allow;
  allow.profiles = {"cis"};
  text = Render(snap, allow);
  EXPECT_EQ(Count(text, "estate_compliance_control_status{"), 1);
  EXPECT_EQ(Count(text, "estate_compliance_control_info{"), 1);
  // Counts and waiver expiries are not limited.
  EXPECT_EQ(Count(text, "estate_compliance_waiver_expiry_timestamp_seconds{"), 2);
  EXPECT_EQ(Count(text, "estate_compliance_controls{"), 36);
  MetricsOptions none;
  none.control_series = ControlSeries::kNone;
  text = Render(snap, none);
  EXPECT_EQ(Count(text, "estate_compliance_control_status{"), 0);
  EXPECT_EQ(Count(text, "estate_compliance_control_info{"), 0);
}

TEST(ComplianceMetrics, LinksFromTheControlOrATemplate) {
  MetricsOptions o;
  o.doc_url_templates = {{"stig", "https://stig.example/view/{id}"}};
  o.report_base_url = "http://compliance.example:9842";
  std::string text = Render(Snap({Stored(kWeb1)}), o);
  EXPECT_TRUE(Has(text, R"(estate_compliance_control_info{profile="base",control="c1",severity="high",title="Title of c1",doc_url="https://stig.example/view/V-1"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(estate_compliance_control_info{profile="base",control="c6",severity="critical",title="Title of c6",doc_url="https://docs.example/c6"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_control_info{profile="base",control="c3",severity="medium",title="Title of c3",doc_url=""} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_host_info{host="web-1",report_url="http://compliance.example:9842/report/web-1",platform="debian",platform_release="12"} 1)"));
  EXPECT_EQ(ReportUrl("", "a b/c"), "/report/a%20b%2Fc");
}

TEST(ComplianceMetrics, ReportAndProfileSeries) {
  std::string text = Render(Snap({Stored(kWeb1)}));
  EXPECT_TRUE(Has(text, R"(estate_compliance_report_timestamp_seconds{host="web-1",profile="base"} 900)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_report_age_seconds{host="web-1",profile="base"} 100)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_report_duration_seconds{host="web-1",profile="base"} 12.5)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_profile_info{host="web-1",profile="base",version="1.0.0",status="loaded",tool="inspec",tool_version="5.22.3",format="inspec_json"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(estate_compliance_waiver_expiry_timestamp_seconds{host="web-1",profile="base",control="c5"} 2000000000)"));
  // A skipped profile without leaf controls still has its info and timestamp.
  text = Render(Snap({Stored("host h\ntime 5\nprofile wrapper 1 loaded\nprofile broken 2 skipped\ncontrol a wrapper failed low\n")}));
  EXPECT_TRUE(Has(text, R"(estate_compliance_profile_info{host="h",profile="broken",version="2",status="skipped",tool="",tool_version="",format="inspec_json"} 1)")) << text;
  EXPECT_TRUE(Has(text, R"(estate_compliance_report_timestamp_seconds{host="h",profile="broken"} 5)"));
}

TEST(ComplianceMetrics, AProfileInTwoReportsComesFromTheNewest) {
  // Two profile sets of one host share "base": its series come once, from the newer report.
  auto older = Stored("host h\ntime 100\nprofile base 1\ncontrol a base failed low\n", "/r/1.json");
  auto newer = Stored("host h\ntime 200\nprofile base 2\nprofile extra 1\ncontrol a base passed low\n"
                      "control b extra failed low\n",
                      "/r/2.json");
  std::string text = Render(Snap({older, newer}));
  EXPECT_TRUE(Has(text, R"(estate_compliance_report_timestamp_seconds{host="h",profile="base"} 200)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_controls{host="h",profile="base",status="passed",severity="low"} 1)"));
  EXPECT_EQ(Count(text, "estate_compliance_control_status{host=\"h\",profile=\"base\""), 0);
  EXPECT_EQ(Count(text, "estate_compliance_host_info{"), 1);
}

TEST(ComplianceMetrics, NoStaleSeries) {
  std::string before = Render(Snap({Stored(kWeb1), Stored("host web-2\ntime 9\nprofile cis 2\ncontrol k1 cis failed high\n")}));
  EXPECT_NE(before.find("host=\"web-2\""), std::string::npos);
  // c1 passes again, web-2's report is gone (deleted or past retention).
  std::string fixed = kWeb1;
  fixed.replace(fixed.find("c1 base failed"), 14, "c1 base passed");
  std::string after = Render(Snap({Stored(fixed)}));
  EXPECT_EQ(after.find("control=\"c1\""), std::string::npos);
  EXPECT_EQ(after.find("host=\"web-2\""), std::string::npos);
  EXPECT_EQ(after.find("profile=\"cis\""), std::string::npos);
  EXPECT_TRUE(Has(after, R"(estate_compliance_controls{host="web-1",profile="base",status="failed",severity="high"} 0)"));
}

TEST(ComplianceMetrics, FileFamilies) {
  StoreSnapshot s = Snap({});
  FileState ok;
  ok.path = "/r/a.json";
  ok.up = true;
  ok.last_success_unix = 990;
  FileState bad;
  bad.path = "/r/b \"quoted\".json";
  bad.parse_errors = 3;
  bad.last_error = "x";
  s.files = {ok, bad};
  std::string text = Render(s);
  EXPECT_TRUE(Has(text, R"(estate_compliance_file_up{file="/r/a.json"} 1)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_file_up{file="/r/b \"quoted\".json"} 0)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_file_parse_errors_total{file="/r/b \"quoted\".json"} 3)"));
  EXPECT_TRUE(Has(text, R"(estate_compliance_file_last_success_timestamp_seconds{file="/r/a.json"} 990)"));
  EXPECT_NE(text.find("# TYPE estate_compliance_file_parse_errors_total counter"), std::string::npos);
}

TEST(ComplianceMetrics, TheTableNamesEveryRenderedFamily) {
  std::string text = Render(Snap({Stored(kWeb1)}));
  std::set<std::string> rendered;
  std::regex type_re("# TYPE (\\S+) ");
  for (std::sregex_iterator it(text.begin(), text.end(), type_re), end; it != end; ++it) rendered.insert((*it)[1]);
  std::set<std::string> table;
  for (const auto& d : FamilyDefs()) {
    table.insert(d.name);
    EXPECT_TRUE(metrics::ValidMetricName(d.name));
    EXPECT_FALSE(d.help.empty());
  }
  EXPECT_EQ(rendered, table);
}

}  // namespace
}  // namespace estate::compliance
