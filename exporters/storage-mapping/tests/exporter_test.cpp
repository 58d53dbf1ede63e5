// The storage-mapping exporter's config parsing and its wiring: source jobs, the join job, history across a
// restart, and the API routes, against in-process fake OpenStack and Pure upstreams.
#include <gtest/gtest.h>
#include <chrono>
#include <thread>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "estate/refresher.h"
#include "storage_config.h"
#include "storage_exporter.h"

namespace estate::storage {
namespace {

TEST(StorageConfig, ParsesCloudsArraysAndDefaults) {
  setenv("ESTATE_TEST_PURE_TOKEN", "t-123", 1);
  auto cfg = ParseConfig(R"(
defaults: {openstack_interval: 10m, array_interval: 1m, request_timeout: 20s}
history: {state_file: /tmp/h.json, retention: 3d}
clouds:
  - name: prod
    auth_url: https://keystone.example:5000/v3
    region: RegionOne
    interface: internal
    auth: {method: password, username: monitor, password: secret, project_name: admin}
    array_backends: [pure-a]
  - name: lab
    auth_url: http://127.0.0.1:5000
    interval: 30s
    auth: {method: application_credential, application_credential_id: abc, application_credential_secret: s}
arrays:
  - {name: pure-a, address: pure-a.example, api_token_env: ESTATE_TEST_PURE_TOKEN}
  - {name: pure-b, address: "http://127.0.0.1:8443", api_token: x, interval: 15s, read_tags: false}
)",
                         "t.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->openstack_interval_seconds, 600);
  EXPECT_EQ(cfg->request_timeout_seconds, 20);
  EXPECT_EQ(cfg->history_state_file, "/tmp/h.json");
  EXPECT_EQ(cfg->history_retention_seconds, 3 * 86400);
  ASSERT_EQ(cfg->clouds.size(), 2u);
  EXPECT_EQ(cfg->clouds[0].interface, "internal");
  EXPECT_EQ(cfg->clouds[0].auth.password, "secret");
  EXPECT_EQ(cfg->clouds[0].array_backends, std::vector<std::string>{"pure-a"});
  EXPECT_EQ(cfg->CloudInterval(cfg->clouds[0]), 600);
  EXPECT_EQ(cfg->CloudInterval(cfg->clouds[1]), 30);
  EXPECT_EQ(cfg->clouds[1].auth.method, "application_credential");
  ASSERT_EQ(cfg->arrays.size(), 2u);
  EXPECT_EQ(cfg->arrays[0].api_token, "t-123");
  EXPECT_EQ(cfg->ArrayInterval(cfg->arrays[0]), 60);
  EXPECT_EQ(cfg->ArrayInterval(cfg->arrays[1]), 15);
  EXPECT_FALSE(cfg->arrays[1].read_tags);
}

TEST(StorageConfig, ReportsEveryProblemWithItsLine) {
  auto cfg = ParseConfig(R"(clouds:
  - name: prod
    auth_url: https://k.example
    interface: private
    cinder_microversion: "3.0"
    auth: {method: password, username: u, password: p}
  - name: prod
    auth_url: https://user:pw@k.example
    auth: {method: token}
arrays:
  - {name: a, address: pure.example}
  - {name: b, address: pure.example, api_token: t, colour: red}
)",
                         "bad.yml");
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  EXPECT_NE(e.find("bad.yml:4: clouds[0].interface: must be public, internal or admin"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[0].cinder_microversion: must be 3.21 or later"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[0].auth.project_name: set project_name or project_id"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[1].name: duplicate source \"prod\""), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[1].auth_url: must not carry credentials"), std::string::npos) << e;
  EXPECT_NE(e.find("clouds[1].auth.method: must be password or application_credential"), std::string::npos) << e;
  EXPECT_NE(e.find("arrays[0]"), std::string::npos) << e;  // api_token missing
  EXPECT_NE(e.find("arrays[1].colour"), std::string::npos) << e;
  EXPECT_EQ(e.find("secret"), std::string::npos);
}

TEST(StorageConfig, NeedsASource) {
  auto cfg = ParseConfig("history: {retention: 1d}\n", "empty.yml");
  ASSERT_FALSE(cfg.ok());
  EXPECT_NE(cfg.error().find("configure at least one cloud or array"), std::string::npos) << cfg.error();
  for (const char* text : {"", "\n", "arrays:\n", "arrays: []\n"}) {
    EXPECT_FALSE(ParseConfig(text, "empty.yml").ok()) << text;
  }
  auto allowed = ParseConfig("allow_empty: true\n", "empty.yml");
  ASSERT_TRUE(allowed.ok()) << allowed.error();
  EXPECT_TRUE(allowed->clouds.empty() && allowed->arrays.empty());
}

TEST(StorageConfig, OddYamlIsAnErrorNotAnException) {
  for (const char* text : {"{[x]: 1}", "arrays:\n  - {[x]: 1}\n", "clouds: [{name: a, auth: {[m]: x}}]\n",
                           "clouds: [{name: a, array_backends: [[x]]}]\n", "&a [*a]"}) {
    Result<StorageConfig> cfg = MakeError("");
    ASSERT_NO_THROW(cfg = ParseConfig(text, "s.yml")) << text;
    ASSERT_FALSE(cfg.ok()) << text;
    EXPECT_NE(cfg.error().find("s.yml:"), std::string::npos) << cfg.error();
  }
}

TEST(StorageConfig, InlineSecretsAreWarnedAbout) {
  auto cfg = ParseConfig("arrays: [{name: a, address: x, api_token: s3cret}]\n", "s.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_NE(cfg->warnings[0].find("s.yml:1: arrays[0].api_token: secret written in the config file"),
            std::string::npos)
      << cfg->warnings[0];
  EXPECT_EQ(cfg->warnings[0].find("s3cret"), std::string::npos);
}

TEST(StorageConfig, FingerprintChangesWithSecretsButDoesNotContainThem) {
  auto a = ParseConfig("arrays: [{name: a, address: x, api_token: secret-one}]\n", "a.yml");
  auto b = ParseConfig("arrays: [{name: a, address: x, api_token: secret-two}]\n", "b.yml");
  ASSERT_TRUE(a.ok() && b.ok());
  std::string fa = Fingerprint(*a, a->arrays[0]);
  EXPECT_NE(fa, Fingerprint(*b, b->arrays[0]));
  EXPECT_EQ(fa.find("secret"), std::string::npos);
}

// A cloud and an array answered from memory (invented data): one server "app01" on hypervisor hv-01 with one
// volume on array "pa". Routes match the URL without its query. `server_id` can be changed to simulate a redeploy.
class FakeEstate : public http::HttpClient {
 public:
  std::mutex mu;
  std::string server_id = "11111111-1111-4111-8111-111111111111";
  bool cloud_fails = false;
  std::atomic<int> requests{0};

  Result<http::Response> Do(const http::Request& req, const http::ClientOptions&, const Budget&) override {
    ++requests;
    std::lock_guard<std::mutex> lock(mu);
    std::string url = req.url.substr(0, req.url.find('?'));
    http::Response r;
    r.status = 200;
    const std::string vol = "22222222-2222-4222-8222-222222222222";
    if (url.find("http://cloud") == 0 && cloud_fails) {
      r.status = 503;
      r.body = "{}";
    } else if (url == "http://cloud/v3/auth/tokens" && req.method == "POST") {
      r.status = 201;
      r.headers["x-subject-token"] = "tok";
      r.body = R"({"token":{"expires_at":"2099-01-01T00:00:00.000000Z","project":{"id":"p1"},"roles":[{"name":"admin"}],
        "catalog":[{"type":"compute","endpoints":[{"interface":"public","region_id":"R","url":"http://cloud/compute/v2.1"}]},
                   {"type":"volumev3","endpoints":[{"interface":"public","region_id":"R","url":"http://cloud/volume/v3/p1"}]}]}})";
    } else if (url == "http://cloud/v3/projects") {
      r.body = R"({"projects":[{"id":"p1","name":"shop"}],"links":{"next":null}})";
    } else if (url == "http://cloud/compute/v2.1/servers/detail") {
      r.body = R"({"servers":[{"id":")" + server_id +
               R"(","name":"app01","status":"ACTIVE","tenant_id":"p1","OS-EXT-SRV-ATTR:host":"hv-01",
        "OS-EXT-SRV-ATTR:hypervisor_hostname":"hv-01.example","OS-EXT-SRV-ATTR:hostname":"app01",
        "os-extended-volumes:volumes_attached":[{"id":")" + vol + R"("}]}]})";
    } else if (url == "http://cloud/volume/v3/p1/volumes/detail") {
      r.body = R"({"volumes":[{"id":")" + vol + R"(","name":"app01_data","status":"in-use","size":10,
        "volume_type":"pure","os-vol-tenant-attr:tenant_id":"p1","os-vol-host-attr:host":"c@pa#pa",
        "os-vol-mig-status-attr:name_id":null,"provider_id":"volume-)" + vol + R"(-cinder","metadata":{},
        "attachments":[{"server_id":")" + server_id + R"(","attachment_id":"a1","host_name":"hv-01",
        "device":"/dev/vdb","volume_id":")" + vol + R"("}]}]})";
    } else if (url == "http://pa/api/api_version") {
      r.body = R"({"version":["1.19","2.0","2.21"]})";
    } else if (url == "http://pa/api/2.21/login") {
      r.headers["x-auth-token"] = "sess";
      r.body = R"({"items":[{"username":"monitor"}]})";
    } else if (url == "http://pa/api/2.21/volumes") {
      r.body = R"({"items":[{"id":"v1","name":"volume-)" + vol + R"(-cinder","serial":"ABCDEF0123456789ABCDEF01",
        "provisioned":10737418240,"space":{"total_physical":1073741824},"created":1700000000000,"destroyed":false}],
        "continuation_token":null,"more_items_remaining":false,"total_item_count":1})";
    } else if (url == "http://pa/api/2.21/connections" || url == "http://pa/api/2.21/volumes/tags") {
      r.body = R"({"items":[],"continuation_token":null,"more_items_remaining":false})";
    } else if (url == "http://pa/api/2.21/arrays") {
      r.body = R"({"items":[{"name":"pure-array-a","id":"x"}]})";
    } else if (url == "http://pa/api/2.21/logout" || url == "http://cloud/v3/auth/tokens") {
      r.status = 204;
    } else {
      r.status = 404;
      r.body = "{}";
    }
    return r;
  }
};

StorageConfig TwoSourceConfig(const std::string& state_file) {
  auto cfg = ParseConfig(R"(
defaults: {join_interval: 1h}
history: {state_file: ")" + state_file + R"("}
clouds:
  - name: c1
    auth_url: http://cloud/v3
    auth: {method: password, username: u, password: p, project_name: admin}
arrays:
  - {name: arr, address: "http://pa", api_token: t}
)",
                         "wiring.yml");
  EXPECT_TRUE(cfg.ok()) << cfg.error();
  return *cfg;
}

std::string Metrics(Refresher& r) { return *r.DataText(); }
// Refresher::RunAllNow runs the jobs in (source, group) order: the sources here ("arr", "c1") sort before the
// join ("mapping"), so one round collects both and then joins.

std::string TempStateFile() {
  char dir[] = "/tmp/estate-storage-wiring-XXXXXX";
  EXPECT_NE(mkdtemp(dir), nullptr);
  return std::string(dir) + "/history.json";
}

TEST(StorageExporter, JoinsBothSourcesAndServesTheMapping) {
  FakeEstate fake;
  StorageExporter exporter;
  auto plan = exporter.BuildPlan(TwoSourceConfig(TempStateFile()), fake);
  ASSERT_TRUE(plan.ok()) << plan.error();
  ASSERT_EQ(plan->jobs.size(), 3u);  // cloud, array, join
  Refresher r({"estate_storage", "source", 1, 0.1, false});
  r.Apply(plan->jobs);
  r.RunAllNow();
  auto mapping = exporter.state()->Current();
  ASSERT_NE(mapping, nullptr);
  auto rows = mapping->Lookup("3624a9370abcdef0123456789abcdef01");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]->host_name, "app01");
  EXPECT_EQ(rows[0]->hypervisor, "hv-01");
  EXPECT_EQ(rows[0]->device, "/dev/vdb");
  EXPECT_EQ(rows[0]->project, "shop");
  std::string text = Metrics(r);
  EXPECT_NE(text.find("estate_storage_mapping_rows{state=\"current\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("estate_storage_array_info{array=\"arr\",array_name=\"pure-array-a\",api_version=\"2.21\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("estate_storage_history_save_failures_total 0"), std::string::npos);
}

TEST(StorageExporter, JoinRunsOnlyWhenASourceBroughtNewData) {
  FakeEstate fake;
  StorageExporter exporter;
  auto plan = exporter.BuildPlan(TwoSourceConfig(TempStateFile()), fake);
  ASSERT_TRUE(plan.ok());
  Refresher r({"estate_storage", "source", 1, 0.1, false});
  std::vector<JobSpec> jobs = plan->jobs;
  JobSpec join = jobs.back();
  ASSERT_EQ(join.source, "mapping");
  r.Apply(jobs);
  r.RunAllNow();
  auto first = exporter.state()->Current();
  EXPECT_TRUE(join.unchanged());  // nothing new since the join
  exporter.state()->SetCloud("c1", std::make_shared<const CloudSnapshot>());
  EXPECT_FALSE(join.unchanged());
}

TEST(StorageExporter, TheMappingNeverAgesOutOfTheMetrics) {
  // A join that has not run for longer than the refresher's default max age (3 intervals + timeout: 2 s here)
  // keeps its data: on a busy machine a join of 100k volumes can take that long, and the whole mapping must
  // not vanish from /metrics meanwhile.
  FakeEstate fake;
  StorageExporter exporter;
  auto config = TwoSourceConfig(TempStateFile());
  config.join_interval_seconds = 0.5;
  auto plan = exporter.BuildPlan(config, fake);
  ASSERT_TRUE(plan.ok());
  Refresher r({"estate_storage", "source", 1, 0.1, false});
  r.Apply(plan->jobs);
  r.RunAllNow();
  ASSERT_NE(Metrics(r).find("estate_storage_volume_info{"), std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_NE(Metrics(r).find("estate_storage_volume_info{"), std::string::npos);
}

TEST(StorageExporter, AFailingSourceKeepsItsLastGoodDataInTheMapping) {
  FakeEstate fake;
  StorageExporter exporter;
  auto plan = exporter.BuildPlan(TwoSourceConfig(TempStateFile()), fake);
  ASSERT_TRUE(plan.ok());
  Refresher r({"estate_storage", "source", 1, 0.1, false});
  r.Apply(plan->jobs);
  r.RunAllNow();
  fake.cloud_fails = true;
  r.RunAllNow();
  auto mapping = exporter.state()->Current();
  ASSERT_NE(mapping, nullptr);
  EXPECT_EQ(mapping->Lookup("22222222-2222-4222-8222-222222222222").size(), 1u);
  std::string status = metrics::Render(r.StatusFamilies());
  EXPECT_NE(status.find("estate_storage_source_up{source=\"c1\",group=\"openstack\"} 0"), std::string::npos) << status;
  EXPECT_NE(status.find("estate_storage_source_up{source=\"arr\",group=\"pure\"} 1"), std::string::npos);
}

TEST(StorageExporter, HistorySurvivesARestartOfTheExporter) {
  const std::string state_file = TempStateFile();
  FakeEstate fake;
  {
    StorageExporter exporter;
    auto plan = exporter.BuildPlan(TwoSourceConfig(state_file), fake);
    ASSERT_TRUE(plan.ok());
    Refresher r({"estate_storage", "source", 1, 0.1, false});
    r.Apply(plan->jobs);
    r.RunAllNow();
    // A redeploy: the server gets a new id, so the volume's old attachment turns past.
    {
      std::lock_guard<std::mutex> lock(fake.mu);
      fake.server_id = "33333333-3333-4333-8333-333333333333";
    }
    r.RunAllNow();
    auto rows = exporter.state()->Current()->Lookup("22222222-2222-4222-8222-222222222222");
    ASSERT_EQ(rows.size(), 2u);
    r.Stop();
  }
  ASSERT_TRUE(std::filesystem::exists(state_file));
  // A new process: the same sources, but only the array answers, so nothing new can be learnt from the cloud.
  fake.cloud_fails = true;
  StorageExporter restarted;
  auto plan = restarted.BuildPlan(TwoSourceConfig(state_file), fake);
  ASSERT_TRUE(plan.ok());
  Refresher r({"estate_storage", "source", 1, 0.1, false});
  r.Apply(plan->jobs);
  r.RunAllNow();
  auto mapping = restarted.state()->Current();
  ASSERT_NE(mapping, nullptr);
  int past = 0;
  for (const VolumeRow* row : mapping->Lookup("22222222-2222-4222-8222-222222222222")) {
    if (row->state == "past") {
      ++past;
      EXPECT_EQ(row->server_id, "11111111-1111-4111-8111-111111111111");
      EXPECT_GT(row->last_seen_unix, 0);
    }
  }
  EXPECT_EQ(past, 1);
}

}  // namespace
}  // namespace estate::storage
