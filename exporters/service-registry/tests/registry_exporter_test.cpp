// The exporter with fake sources (the real clients are tested by their own tests): jobs per source, the join
// job's metrics and published view, a source that goes down keeping its last good data, a partial inventory
// file, collectors kept across reloads, and a restart that keeps first-seen times.
#include "registry_exporter.h"

#include <gtest/gtest.h>

#include <atomic>

#include "estate/testing/e2e.h"
#include "registry_test_data.h"

namespace estate::registry {
namespace {

using test::kNow;

class NoHttp final : public http::HttpClient {
 public:
  Result<http::Response> Do(const http::Request&, const http::ClientOptions&, const Budget&) override {
    return MakeError("no network in this test");
  }
};

// Fake upstreams whose answers the test changes; counts how often each collector was made.
struct Fakes {
  std::atomic<bool> nova_up{true}, snow_up{true}, gocd_up{true};
  std::shared_ptr<const InventorySnapshot> inventory = test::Inventory();
  std::shared_ptr<const CmdbSnapshot> cmdb = test::Cmdb();
  std::atomic<int> made_nova{0}, made_snow{0}, made_gocd{0};

  SourceFactory Factory() {
    SourceFactory f;
    f.nova = [this](const RegistryConfig&, const CloudConfig&, http::HttpClient&) -> Result<NovaCollector> {
      ++made_nova;
      return NovaCollector{[this](const Budget&) -> Result<NovaCollect> {
                             if (!nova_up) return MakeError("nova: connection refused");
                             NovaCollect c;
                             c.inventory = *inventory;
                             c.aggregate_teams["hv-lenovo-01"] = {{"Aggregate Lenovo", "aggregate:lenovo"}};
                             return c;
                           },
                           nullptr};
    };
    f.servicenow = [this](const RegistryConfig&, http::HttpClient&) -> Result<CmdbCollector> {
      ++made_snow;
      return CmdbCollector{[this](const Budget&) -> Result<CmdbSnapshot> {
        if (!snow_up) return MakeError("servicenow: 200 with an HTML login page");
        return *cmdb;
      }};
    };
    f.gocd = [this](const RegistryConfig&, http::HttpClient&) -> Result<GocdCollector> {
      ++made_gocd;
      return GocdCollector{[this](const Budget&) -> Result<GocdCollect> {
        if (!gocd_up) return MakeError("gocd: dashboard 500");
        GocdCollect c;
        c.snapshot = *test::Gocd();
        // The test estate's runs are relative to kNow; move them to now so that the window keeps them.
        const double shift = static_cast<double>(std::time(nullptr)) - kNow;
        for (auto& p : c.snapshot.pipelines) {
          for (auto& r : p.runs) r.scheduled_unix += shift;
        }
        c.partial = true;
        return c;
      }};
    };
    return f;
  }
};

class RegistryExporterTest : public ::testing::Test {
 protected:
  RegistryConfig Config() {
    auto cfg = ParseConfig(
        "inventory:\n"
        "  clouds: [{name: prod, auth_url: 'https://keystone.example/v3', auth: {username: u, password: p, "
        "project_name: admin}}]\n"
        "  files: [" +
            dir_.path() + "/a.yml, " + dir_.path() +
            "/b.csv]\n"
            "servicenow: {url: 'https://snow.example', auth: {bearer_token: t}}\n"
            "gocd: {url: 'https://gocd.example', auth: {bearer_token: t}, app_pipeline_patterns: "
            "['^{app}-']}\n"
            "teams: {file: " +
            dir_.path() +
            "/teams.yml, order: [file, aggregate, servicenow]}\n"
            "report: {state_file: " +
            dir_.path() + "/first-seen.json, top_users: 1}\n",
        "r.yml");
    EXPECT_TRUE(cfg.ok()) << cfg.error();
    return *cfg;
  }

  void SetUp() override {
    dir_.Write("a.yml", "vms: [{name: fil-app01, hypervisor: hv-file-01}]\n");
    dir_.Write("b.csv", "name,hypervisor\nfil-app02,hv-file-01\nmonitoring02,hv-file-01\n");
    dir_.Write("teams.yml", "teams:\n  - {hypervisor: 'hv-hpe-*', team: Compute HPE}\n");
  }

  // Runs every job once, the join last; returns the families of the job with that source.
  std::map<std::string, Result<metrics::Families>> RunAll(Plan& plan) {
    std::map<std::string, Result<metrics::Families>> out;
    Budget budget;
    for (auto& job : plan.jobs) {
      if (job.source == "registry") continue;
      out.emplace(job.source, job.collect(budget));
    }
    for (auto& job : plan.jobs) {
      if (job.source == "registry") out.emplace(job.source, job.collect(budget));
    }
    return out;
  }

  static std::string Text(const Result<metrics::Families>& r) { return r ? metrics::Render(*r) : r.error(); }

  testing::TempDir dir_;
  NoHttp http_;
  Fakes fakes_;
};

TEST_F(RegistryExporterTest, JobsJoinAndPublish) {
  RegistryExporter exporter(fakes_.Factory());
  auto plan = exporter.BuildPlan(Config(), http_);
  ASSERT_TRUE(plan.ok()) << plan.error();
  std::vector<std::string> sources;
  for (const auto& j : plan->jobs) sources.push_back(j.source + "/" + j.group);
  EXPECT_EQ(sources,
            (std::vector<std::string>{"nova:prod/inventory", "inventory_file/inventory", "servicenow/cmdb",
                                      "gocd/gocd", "teams_file/teams", "registry/join"}));
  auto results = RunAll(*plan);
  for (const auto& [source, r] : results) EXPECT_TRUE(r.ok()) << source << ": " << r.error();
  const std::string join = Text(results.at("registry"));
  EXPECT_NE(join.find("estate_registry_vms 12\n"), std::string::npos) << join;
  EXPECT_NE(join.find("estate_registry_unmatched_vms 3\n"), std::string::npos) << join;
  EXPECT_NE(join.find("estate_registry_app_vms{app=\"fil\",colour=\"\"} 2"), std::string::npos) << join;
  EXPECT_NE(join.find("estate_registry_unregistered_apps 4\n"), std::string::npos) << join;
  // iex's hypervisor: no file rule, the aggregate before ServiceNow; top_users 1.
  EXPECT_NE(
      join.find("estate_registry_unregistered_app_info{app=\"iex\",reason=\"no record\",hypervisor_teams="
                "\"Aggregate Lenovo\",pipeline_users=\"alice\"} 1"),
      std::string::npos)
      << join;
  EXPECT_NE(Text(results.at("gocd")).find("estate_registry_source_partial{source=\"gocd\"} 1"),
            std::string::npos);
  EXPECT_NE(Text(results.at("nova:prod")).find("estate_registry_source_partial{source=\"nova:prod\"} 0"),
            std::string::npos);
  auto view = exporter.state()->Current();
  ASSERT_TRUE(view);
  ASSERT_NE(view->Find("xyz"), nullptr);
  EXPECT_EQ(view->Find("xyz")->colours.at("a")[0].source, "nova:prod");
  EXPECT_EQ(view->Find("fil")->colours.at("")[0].source, "file:" + dir_.path() + "/a.yml");
  EXPECT_NE(plan->landing_dynamic_html().find("monitoring02"), std::string::npos);
}

TEST_F(RegistryExporterTest, ASourceThatGoesDownKeepsItsLastGoodData) {
  RegistryExporter exporter(fakes_.Factory());
  auto plan = exporter.BuildPlan(Config(), http_);
  ASSERT_TRUE(plan.ok()) << plan.error();
  RunAll(*plan);
  const double first_seen = exporter.state()->Current()->Find("xyz")->first_seen_unregistered_unix;
  ASSERT_GT(first_seen, 0);

  fakes_.snow_up = false;
  fakes_.nova_up = false;
  fakes_.gocd_up = false;
  dir_.Write("a.yml", "vms: [{name: fil-app01, hypervisor: hv-file-01}");  // broken mid-write
  auto results = RunAll(*plan);
  EXPECT_FALSE(results.at("servicenow").ok());
  EXPECT_FALSE(results.at("nova:prod").ok());
  EXPECT_FALSE(results.at("gocd").ok());
  ASSERT_TRUE(results.at("inventory_file").ok());
  EXPECT_NE(
      Text(results.at("inventory_file")).find("estate_registry_source_partial{source=\"inventory_file\"} 1"),
      std::string::npos);
  auto view = exporter.state()->Current();
  EXPECT_EQ(view->vms, 12u);  // nothing vanished
  EXPECT_TRUE(view->registry_known);
  EXPECT_TRUE(view->Find("pay")->registered);
  EXPECT_EQ(view->Find("xyz")->first_seen_unregistered_unix, first_seen);
  EXPECT_EQ(view->Find("fil")->colours.at("").size(), 2u);
  EXPECT_FALSE(view->Find("iex")->pipeline_users.empty());
}

TEST_F(RegistryExporterTest, RestartKeepsFirstSeenAndRegistrationDropsIt) {
  double first_seen = 0;
  {
    RegistryExporter exporter(fakes_.Factory());
    auto plan = exporter.BuildPlan(Config(), http_);
    ASSERT_TRUE(plan.ok()) << plan.error();
    RunAll(*plan);
    first_seen = exporter.state()->Current()->Find("old")->first_seen_unregistered_unix;
    ASSERT_GT(first_seen, 0);
  }
  // The restarted exporter's first join happens before ServiceNow answers: the stored times are shown.
  fakes_.snow_up = false;
  RegistryExporter restarted(fakes_.Factory());
  auto plan = restarted.BuildPlan(Config(), http_);
  ASSERT_TRUE(plan.ok()) << plan.error();
  RunAll(*plan);
  auto view = restarted.state()->Current();
  EXPECT_FALSE(view->registry_known);
  EXPECT_EQ(view->Find("old")->first_seen_unregistered_unix, first_seen);
  // ServiceNow answers: the same time; then "old" gets registered and leaves the store.
  fakes_.snow_up = true;
  RunAll(*plan);
  EXPECT_EQ(restarted.state()->Current()->Find("old")->first_seen_unregistered_unix, first_seen);
  auto cmdb = std::make_shared<CmdbSnapshot>(*test::Cmdb());
  for (auto& r : cmdb->records) {
    if (r.app_code == "old") r.registered = true;
  }
  fakes_.cmdb = cmdb;
  RunAll(*plan);
  EXPECT_TRUE(restarted.state()->Current()->Find("old")->registered);
  FirstSeenStore saved(dir_.path() + "/first-seen.json");
  ASSERT_TRUE(saved.Load().ok());
  EXPECT_FALSE(saved.entries().count("old"));
  EXPECT_TRUE(saved.entries().count("xyz"));
}

TEST_F(RegistryExporterTest, ReloadKeepsCollectorsWhoseSettingsDidNotChange) {
  RegistryExporter exporter(fakes_.Factory());
  RegistryConfig cfg = Config();
  ASSERT_TRUE(exporter.BuildPlan(cfg, http_).ok());
  ASSERT_TRUE(exporter.BuildPlan(cfg, http_).ok());
  EXPECT_EQ(fakes_.made_snow, 1);
  EXPECT_EQ(fakes_.made_gocd, 1);
  EXPECT_EQ(fakes_.made_nova, 1);
  cfg.gocd.window_days = 7;
  ASSERT_TRUE(exporter.BuildPlan(cfg, http_).ok());
  EXPECT_EQ(fakes_.made_gocd, 2);
  EXPECT_EQ(fakes_.made_snow, 1);
}

TEST_F(RegistryExporterTest, AFactoryErrorFailsTheLoad) {
  SourceFactory f = fakes_.Factory();
  f.nova = [](const RegistryConfig&, const CloudConfig&, http::HttpClient&) -> Result<NovaCollector> {
    return MakeError("no OpenStack client");
  };
  RegistryExporter exporter(f);
  auto plan = exporter.BuildPlan(Config(), http_);
  ASSERT_FALSE(plan.ok());
  EXPECT_NE(plan.error().find("no OpenStack client"), std::string::npos);
}

TEST_F(RegistryExporterTest, LoadFromFileAndConfigErrors) {
  RegistryExporter exporter(fakes_.Factory());
  Services services;
  services.http = &http_;
  const std::string good = dir_.Write("good.yml", "inventory: {files: [" + dir_.path() + "/a.yml]}\n");
  EXPECT_TRUE(exporter.Load(good, services).ok());
  const std::string bad = dir_.Write("bad.yml", "inventory: {files: [x]}\nnaming: {rules: ['^abc$']}\n");
  auto r = exporter.Load(bad, services);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("no (?P<app>...) group"), std::string::npos) << r.error();
}

TEST(CountingHttpClientTest, CountsByStatus) {
  NoHttp inner;
  CountingHttpClient counting(inner);
  Budget budget;
  EXPECT_FALSE(counting.Do(http::Request{}, http::ClientOptions{}, budget).ok());
  EXPECT_EQ(counting.ByStatus().at("error"), 1);
  EXPECT_EQ(counting.Total(), 1);
}

}  // namespace
}  // namespace estate::registry
