// The real ServiceNow and GoCD clients as DefaultSources() wires them, against the simulated ServiceNow and
// GoCD (tools/simestate) on port 0, through the exporter's jobs: records, server support groups and pipeline
// users reach the view, requests are counted by status, and a ServiceNow that starts answering with an HTML
// login page fails its job while the last good CMDB is kept.
#include <gtest/gtest.h>

#include <ctime>

#include "estate/http_client.h"
#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"
#include "registry_exporter.h"
#include "sim_gocd.h"
#include "sim_servicenow.h"

namespace estate::registry {
namespace {

using simestate::SimGocd;
using simestate::SimServiceNow;
using testing::FakeUpstream;

class RegistrySourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const double now = static_cast<double>(std::time(nullptr));
    simestate::ServiceNowSimOptions so;
    so.username = "monitor";
    so.password = "pw";
    snow_ = std::make_unique<SimServiceNow>(so);
    snow_->AddTable("cmdb_ci_business_app");
    snow_->AddTable("cmdb_ci_server");
    snow_->PutRecord("cmdb_ci_business_app", simestate::SnowBusinessApp("pay", "Payments", "1", "p.ayton",
                                                                        "Payments Ops", now - 86400));
    snow_->PutRecord("cmdb_ci_business_app",
                     simestate::SnowBusinessApp("lgc", "Legacy", "7", "l.gacy", "", now - 86400));
    snow_->PutRecord("cmdb_ci_server",
                     simestate::SnowServer("hv-dell-01", "hv-dell-01.example", "Compute Dell"));
    snow_->Install(snow_server_);
    ASSERT_TRUE(snow_server_.Start().ok());

    simestate::SimGocdOptions go;
    go.bearer_token = "tok";
    gocd_ = std::make_unique<SimGocd>(go);
    gocd_->AddPipeline("qap-build", "quality");
    simestate::SimGocdRun run;
    run.scheduled_unix = now - 3600;
    run.forced_by = "dana";
    gocd_->AddRun("qap-build", run);
    run.scheduled_unix = now - 600;
    gocd_->AddRun("qap-build", run);
    gocd_->Install(gocd_server_);
    ASSERT_TRUE(gocd_server_.Start().ok());

    const std::string pw = dir_.Write("snow.pass", "pw\n");
    const std::string tok = dir_.Write("gocd.token", "tok\n");
    const std::string inv = dir_.Write("inv.yml",
                                       "vms:\n  - {name: pay-api-a01, hypervisor: hv-dell-01.example}\n"
                                       "  - {name: lgc-batch01, hypervisor: hv-dell-01.example}\n"
                                       "  - {name: qap-api01, hypervisor: hv-x}\n");
    auto cfg =
        ParseConfig("inventory: {files: [" + inv + "]}\n" + "servicenow: {url: '" + snow_server_.base_url() +
                        "', auth: {basic: {username: monitor, password_file: " + pw +
                        "}}, server_table: cmdb_ci_server, page_size: 2}\n" + "gocd: {url: '" +
                        gocd_server_.base_url() + "', auth: {bearer_token_file: " + tok + "}}\n",
                    "r.yml");
    ASSERT_TRUE(cfg.ok()) << cfg.error();
    config_ = *cfg;
  }

  void TearDown() override {
    snow_server_.Stop();
    gocd_server_.Stop();
  }

  static void RunAll(Plan& plan) {
    Budget budget;
    budget.deadline = Clock::now() + std::chrono::seconds(20);
    for (auto& job : plan.jobs) {
      if (job.source == "registry") continue;
      auto r = job.collect(budget);
      results_[job.source] = r.ok();
      errors_[job.source] = r.ok() ? "" : r.error();
    }
    for (auto& job : plan.jobs) {
      if (job.source == "registry") (void)job.collect(budget);
    }
  }

  testing::TempDir dir_;
  std::unique_ptr<SimServiceNow> snow_;
  std::unique_ptr<SimGocd> gocd_;
  FakeUpstream snow_server_{FakeUpstream::Options{}};
  FakeUpstream gocd_server_{FakeUpstream::Options{}};
  RegistryConfig config_;
  static inline std::map<std::string, bool> results_;
  static inline std::map<std::string, std::string> errors_;
};

TEST_F(RegistrySourcesTest, RealClientsThroughTheExporter) {
  http::CurlHttpClient http;
  RegistryExporter exporter;  // DefaultSources()
  auto plan = exporter.BuildPlan(config_, http);
  ASSERT_TRUE(plan.ok()) << plan.error();
  RunAll(*plan);
  EXPECT_TRUE(results_.at("servicenow")) << errors_.at("servicenow");
  EXPECT_TRUE(results_.at("gocd")) << errors_.at("gocd");
  auto view = exporter.state()->Current();
  ASSERT_TRUE(view);
  ASSERT_TRUE(view->registry_known);
  const App* pay = view->Find("pay");
  ASSERT_NE(pay, nullptr);
  EXPECT_TRUE(pay->registered);
  EXPECT_EQ(pay->record->owner, "p.ayton");
  EXPECT_EQ(pay->hypervisor_teams, std::vector<std::string>{"Compute Dell"});  // the server record
  const App* lgc = view->Find("lgc");
  ASSERT_NE(lgc, nullptr);
  EXPECT_FALSE(lgc->registered);
  EXPECT_NE(lgc->not_registered_reason.find("7"), std::string::npos) << lgc->not_registered_reason;
  const App* qap = view->Find("qap");
  ASSERT_NE(qap, nullptr);
  EXPECT_EQ(qap->not_registered_reason, "no record");
  ASSERT_EQ(qap->pipeline_users.size(), 1u);
  EXPECT_EQ(qap->pipeline_users[0].user, "dana");
  EXPECT_EQ(qap->pipeline_users[0].runs, 2);
  EXPECT_GT(qap->first_seen_unregistered_unix, 0);

  // ServiceNow behind SSO answers an HTML login page: the job fails, the CMDB data stays.
  snow_->SetHtmlLogin(true);
  RunAll(*plan);
  EXPECT_FALSE(results_.at("servicenow"));
  view = exporter.state()->Current();
  ASSERT_NE(view->Find("pay"), nullptr);
  EXPECT_TRUE(view->Find("pay")->registered);
}

}  // namespace
}  // namespace estate::registry
