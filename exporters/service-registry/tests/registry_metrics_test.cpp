// The view's metric families: exact series for the test estate (names and labels as docs/service-registry.md
// lists them), nothing about registration before CMDB data exists, and label values escaped.
#include "registry_metrics.h"

#include <gtest/gtest.h>

#include "estate/testing/e2e.h"
#include "first_seen_store.h"
#include "registry_test_data.h"

namespace estate::registry {
namespace {

using test::kNow;

std::string Rendered(bool registry_known = true) {
  JoinInputs in = test::Inputs();
  if (!registry_known) in.cmdb = nullptr;
  RegistryView view = Join(in, test::Options(), kNow);
  FirstSeenStore store;
  store.Update(view.apps, view.registry_known, kNow - 3600);
  return metrics::Render(RenderView(view));
}

std::vector<std::string> Lines(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    if (line.rfind(prefix + "{", 0) == 0 || line.rfind(prefix + " ", 0) == 0) out.push_back(line);
    pos = end == std::string::npos ? text.size() : end + 1;
  }
  return out;
}

TEST(RegistryMetricsTest, SeriesOfTheTestEstate) {
  const std::string text = Rendered();
  EXPECT_EQ(Lines(text, "estate_registry_app_vms"),
            (std::vector<std::string>{R"m(estate_registry_app_vms{app="iex",colour=""} 1)m",
                                      R"m(estate_registry_app_vms{app="new",colour=""} 1)m",
                                      R"m(estate_registry_app_vms{app="old",colour=""} 1)m",
                                      R"m(estate_registry_app_vms{app="pay",colour=""} 1)m",
                                      R"m(estate_registry_app_vms{app="xyz",colour="a"} 2)m",
                                      R"m(estate_registry_app_vms{app="xyz",colour="b"} 1)m"}));
  EXPECT_EQ(Lines(text, "estate_registry_app_registered"),
            (std::vector<std::string>{R"m(estate_registry_app_registered{app="iex"} 0)m",
                                      R"m(estate_registry_app_registered{app="new"} 1)m",
                                      R"m(estate_registry_app_registered{app="old"} 0)m",
                                      R"m(estate_registry_app_registered{app="pay"} 1)m",
                                      R"m(estate_registry_app_registered{app="xyz"} 0)m"}));
  EXPECT_EQ(
      Lines(text, "estate_registry_unregistered_app_info"),
      (std::vector<std::string>{
          R"m(estate_registry_unregistered_app_info{app="iex",reason="no record",hypervisor_teams="Lenovo Ops",pipeline_users="alice,bob"} 1)m",
          R"m(estate_registry_unregistered_app_info{app="old",reason="install_status 7 (Retired)",hypervisor_teams="Compute Dell",pipeline_users=""} 1)m",
          R"m(estate_registry_unregistered_app_info{app="xyz",reason="no record",hypervisor_teams="Compute HPE,Compute Dell",pipeline_users=""} 1)m"}));
  EXPECT_EQ(
      Lines(text, "estate_registry_app_info"),
      (std::vector<std::string>{
          R"m(estate_registry_app_info{app="new",sys_id="sys-new",name="App new",owner="",support_group="Web Ops",install_status="1"} 1)m",
          R"m(estate_registry_app_info{app="old",sys_id="sys-old",name="App old",owner="jdoe",support_group="Payments Ops",install_status="7"} 1)m",
          R"m(estate_registry_app_info{app="pay",sys_id="sys-PAY",name="App PAY",owner="jdoe",support_group="Payments Ops",install_status="1"} 1)m"}));
  EXPECT_EQ(Lines(text, "estate_registry_unregistered_app_first_seen_timestamp_seconds").size(), 3u);
  EXPECT_NE(
      text.find("estate_registry_unregistered_app_first_seen_timestamp_seconds{app=\"xyz\"} 1764838800\n"),
      std::string::npos)
      << text;
  EXPECT_EQ(Lines(text, "estate_registry_registered_app_missing_owner"),
            std::vector<std::string>{
                R"m(estate_registry_registered_app_missing_owner{app="new",field="owner"} 1)m"});
  EXPECT_NE(text.find("estate_registry_unregistered_apps 3\n"), std::string::npos);
  EXPECT_NE(text.find("estate_registry_apps 5\n"), std::string::npos);
  EXPECT_NE(text.find("estate_registry_vms 9\n"), std::string::npos);
  EXPECT_NE(text.find("estate_registry_unmatched_vms 2\n"), std::string::npos);
  EXPECT_NE(text.find(R"m(estate_registry_app_hypervisor_team_vms{app="xyz",team="Compute HPE"} 2)m"),
            std::string::npos);
  EXPECT_NE(text.find("# TYPE estate_registry_app_vms gauge"), std::string::npos);
}

TEST(RegistryMetricsTest, NothingAboutRegistrationBeforeCmdbData) {
  const std::string text = Rendered(false);
  EXPECT_TRUE(Lines(text, "estate_registry_app_registered").empty());
  EXPECT_TRUE(Lines(text, "estate_registry_unregistered_app_info").empty());
  EXPECT_TRUE(Lines(text, "estate_registry_unregistered_apps").empty());
  EXPECT_TRUE(Lines(text, "estate_registry_unregistered_app_first_seen_timestamp_seconds").empty());
  EXPECT_NE(text.find("estate_registry_apps 5\n"), std::string::npos);
}

TEST(RegistryMetricsTest, CountersAndPartial) {
  RequestCounters c;
  c.gocd_requests = 12;
  c.servicenow_requests = {{"200", 7}, {"429", 2}};
  c.servicenow_rate_limited = 2;
  const std::string text = metrics::Render(ServiceNowCounterFamilies(c)) +
                           metrics::Render(GocdCounterFamilies(c)) +
                           metrics::Render({SourcePartialFamily("gocd", true)});
  EXPECT_NE(text.find("estate_registry_servicenow_requests_total{status=\"429\"} 2\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("estate_registry_servicenow_rate_limited_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_registry_gocd_requests_total 12\n"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_registry_source_partial{source=\"gocd\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE estate_registry_gocd_requests_total counter"), std::string::npos) << text;
}

TEST(RegistryMetricsTest, PromtoolIsClean) {
  const std::string promtool = testing::BinaryPath("promtool");
  if (promtool.empty()) GTEST_SKIP() << "promtool is not installed";
  testing::TempDir dir;
  const std::string file = dir.Write("metrics.prom", Rendered());
  auto r = testing::RunCommand({promtool, "check", "metrics"}, file);
  EXPECT_EQ(r.exit_code, 0) << r.output << r.error;
}

}  // namespace
}  // namespace estate::registry
