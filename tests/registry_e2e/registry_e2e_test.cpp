// The service-registry exporter's daily report end to end, set up as the demo sets it up: the simulated
// estate of tools/simestate/estate.demo.yml (two OpenStack clouds with TLA host names, ServiceNow, GoCD;
// ports 0) and packaging/demo/service-registry.yml (rendered as scripts/demo.sh renders it, with short
// intervals). Once the exporter has read every source, a real Prometheus evaluates
// alerts/service-registry.rules.yml (every `for:` set to 0s) and a real Alertmanager runs the shipped example
// packaging/alertmanager/alertmanager.yml, its waits shortened and its webhook and Slack receivers pointed at
// a receiver in this test. Exactly one notification of RegistryNewUnregisteredApp must arrive at the webhook,
// listing the demo's new unregistered apps with their VM counts, hypervisor teams and pipeline users, and
// none of the registered ones.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::HttpGet;
using estate::testing::MetricSample;
using estate::testing::TempDir;
using json = nlohmann::json;

constexpr char kWebhookPath[] = "/service-registry/daily";
constexpr char kSlackPath[] = "/slack/registry";

// The demo's unregistered apps (tools/simestate/data/registry-demo/model.yml, data/storage-demo/model.yml,
// cmdb.yml, gocd.yml, hypervisor-teams.yml), all first seen when the exporter starts, so all new.
struct ExpectedApp {
  std::string app;
  std::string vms;                 // the annotation: the VM count
  std::vector<std::string> teams;  // each in the hypervisor_teams annotation
  std::vector<std::string> users;  // each in the pipeline_users annotation
};
const std::vector<ExpectedApp>& NewUnregisteredApps() {
  static const std::vector<ExpectedApp> apps = {
      // Teams: teams.order is [file, aggregate, servicenow]; the file names hv-hpe-* only, and the simulated
      // cloud's aggregates (tools/simestate/sim_openstack.cpp) give the first half of the other hypervisors
      // team
      // platform-a, the rest platform-b, ahead of their cmdb_ci_server records.
      // qap-api01 on hv-dell-01, qap-api02 on hv-lenovo-01; no record; qap-build and qap-deploy run by dana
      // and
      // erin.
      {"qap", "2", {"platform-a"}, {"dana", "erin"}},
      // web-front01..03 and web-cache01 of the storage demo's cloud (hv-hpe-01, hv-dell-01, hv-lenovo-01,
      // hv-ilo4-01); no record; web-front-deploy forced by frank, a commit by grace.
      {"web", "4", {"Compute HPE", "platform-a", "platform-b"}, {"frank", "grace"}},
      // lgc-batch01 on hv-ilo4-01; its record is retired (install_status 7); lgc-nightly run by henry.
      {"lgc", "1", {"platform-b"}, {"henry"}},
  };
  return apps;
}
// Registered apps (records In Production; nwa since yesterday; pay mid-redeploy A->B): never in the report.
const std::vector<std::string> kRegisteredApps = {"iex", "pay", "nwa"};

// Replaces `from` (which must occur) in text; a change to the shipped file that drops it fails the test.
::testing::AssertionResult Patch(std::string& text, const std::string& from, const std::string& to) {
  if (text.find(from) == std::string::npos) {
    return ::testing::AssertionFailure() << "\"" << from << "\" is not in the shipped Alertmanager example";
  }
  text = estate::testing::ReplaceAll(text, from, to);
  return ::testing::AssertionSuccess();
}

// What the exporter still lacks before the alerts can be evaluated on complete data ("" = nothing).
std::string MissingFromExporter(const std::vector<MetricSample>& samples) {
  std::string why;
  for (const char* source : {"nova:cloud-demo", "nova:cloud-registry", "servicenow", "gocd", "teams_file"}) {
    if (estate::testing::SampleValue(samples, "estate_registry_source_up", {{"source", source}}) != 1.0) {
      why += std::string("source ") + source + " not up; ";
    }
  }
  for (const auto& e : NewUnregisteredApps()) {
    const MetricSample* info = nullptr;
    for (const auto& s : samples) {
      if (s.name == "estate_registry_unregistered_app_info" && s.labels.count("app") &&
          s.labels.at("app") == e.app) {
        info = &s;
      }
    }
    if (info == nullptr ||
        !estate::testing::SampleValue(
            samples, "estate_registry_unregistered_app_first_seen_timestamp_seconds", {{"app", e.app}})) {
      why += e.app + " not unregistered yet; ";
    } else if (info->labels.count("pipeline_users") == 0 || info->labels.at("pipeline_users").empty()) {
      why += e.app + " has no pipeline users yet; ";
    }
  }
  for (const auto& app : kRegisteredApps) {
    if (estate::testing::SampleValue(samples, "estate_registry_app_registered", {{"app", app}}) != 1.0) {
      why += app + " not registered yet; ";
    }
  }
  return why;
}

std::vector<FakeRequest> PostsTo(const estate::testing::FakeUpstream& receiver, const std::string& path) {
  std::vector<FakeRequest> posts;
  for (auto& r : receiver.Requests()) {
    if (r.method == "POST" && r.path == path) posts.push_back(std::move(r));
  }
  return posts;
}

std::string Annotation(const json& alert, const std::string& key) {
  const json& annotations = alert.value("annotations", json::object());
  auto it = annotations.find(key);
  return it != annotations.end() && it->is_string() ? it->get<std::string>() : "";
}

TEST(RegistryE2e, DailyReportReachesWebhookThroughAlertmanager) {
  const std::string source = estate::testing::SourceDir();
  const std::string binary = estate::testing::BinaryPath("estate-service-registry-exporter");
  ASSERT_FALSE(binary.empty()) << "estate-service-registry-exporter was not built";

  TempDir dir;
  estate::testing::DemoEstate sim;
  auto sim_started = sim.Start(dir);
  ASSERT_TRUE(sim_started) << sim_started.error();

  // The exporter on the demo's config; the demo's 30 s intervals become 5 s (ServiceNow is rate limited).
  const std::string address = "127.0.0.1:" + std::to_string(estate::testing::FreePort());
  const std::string base = "http://" + address;
  std::string config = sim.RenderDemoConfig("service-registry.yml", dir.path(), address);
  config = std::regex_replace(config, std::regex(R"(\binterval: \S+)"), "interval: 5s");
  config = std::regex_replace(config, std::regex(R"(\bjoin_interval: \S+)"), "join_interval: 500ms");
  estate::testing::ChildProcess exporter;
  auto started = exporter.Start({binary, "--config.file=" + dir.Write("service-registry.yml", config),
                                 "--web.listen-address=" + address},
                                dir.path() + "/exporter.log");
  ASSERT_TRUE(started) << started.error();
  ASSERT_TRUE(estate::testing::WaitHttpOk(base + "/metrics", 30s)) << exporter.Log();

  // Every source read and joined before Prometheus starts, so that the alerts of all new apps fire in the
  // same evaluation and Alertmanager groups them into one notification (as a day's refreshes would be).
  std::string why = "not scraped";
  for (auto until = Clock::now() + 60s; Clock::now() < until; std::this_thread::sleep_for(250ms)) {
    why = MissingFromExporter(estate::testing::ParseMetricSamples(HttpGet(base + "/metrics", 5).body));
    if (why.empty()) break;
  }
  ASSERT_TRUE(why.empty()) << why << "\n" << HttpGet(base + "/metrics", 5).body << "\n" << exporter.Log();

  // The receiver: Alertmanager's webhook JSON and Slack's incoming-webhook JSON, both answered 200.
  estate::testing::FakeUpstream receiver(estate::testing::FakeUpstream::Options{});
  for (const char* path : {kWebhookPath, kSlackPath}) {
    receiver.Route("POST", path, [](const FakeRequest&) {
      return FakeResponse{200, "text/plain", {}, "ok"};
    });
  }
  auto receiver_started = receiver.Start();
  ASSERT_TRUE(receiver_started) << receiver_started.error();

  // The shipped Alertmanager example, with the daily route's first wait shortened (its 24 h interval and
  // repeat stay) and its receivers pointed at the test.
  std::string am_config = estate::testing::ReadFileOrDie(source + "/packaging/alertmanager/alertmanager.yml");
  const std::string slack_url_file = dir.Write("slack-url", receiver.base_url() + kSlackPath + "\n");
  ASSERT_TRUE(Patch(am_config, "group_wait: 1h", "group_wait: 3s"));
  ASSERT_TRUE(Patch(am_config, "group_wait: 30s", "group_wait: 3s"));
  ASSERT_TRUE(Patch(am_config, "/etc/prometheus/secrets/slack-registry-webhook-url", slack_url_file));
  ASSERT_TRUE(
      Patch(am_config, "- templates/*.tmpl", "- " + source + "/packaging/alertmanager/templates/*.tmpl"));
  ASSERT_TRUE(
      Patch(am_config, "http://127.0.0.1:9095/service-registry/daily", receiver.base_url() + kWebhookPath));
  estate::testing::AlertmanagerServer am;
  auto am_started = am.Start(dir, am_config);
  ASSERT_TRUE(am_started) << am_started.error();

  const std::string rules_path = source + "/alerts/service-registry.rules.yml";
  ASSERT_TRUE(std::filesystem::exists(rules_path)) << rules_path;
  estate::testing::PrometheusServer::Options options;
  options.scrape_configs_yaml =
      "  - job_name: service-registry\n    static_configs:\n      - targets: [\"" + address + "\"]\n";
  options.rule_files = {dir.Write("service-registry.rules.yml",
                                  std::regex_replace(estate::testing::ReadFileOrDie(rules_path),
                                                     std::regex(R"((\n\s+for:\s*)\S+)"), "$010s"))};
  options.alertmanager_url = am.address();
  estate::testing::PrometheusServer prometheus(options);
  auto prom_started = prometheus.Start(dir);
  ASSERT_TRUE(prom_started) << prom_started.error();

  // The daily notification, at the webhook and in Slack.
  auto diagnostics = [&] {
    return "\nAlertmanager alerts: " + HttpGet(am.url() + "/api/v2/alerts", 5).body +
           "\nPrometheus alerts: " + HttpGet(prometheus.url() + "/api/v1/alerts", 5).body +
           "\nAlertmanager log:\n" + am.process().Log();
  };
  std::vector<FakeRequest> webhook;
  std::vector<FakeRequest> slack;
  for (auto until = Clock::now() + 60s; Clock::now() < until; std::this_thread::sleep_for(250ms)) {
    webhook = PostsTo(receiver, kWebhookPath);
    slack = PostsTo(receiver, kSlackPath);
    if (!webhook.empty() && !slack.empty()) break;
  }
  ASSERT_FALSE(webhook.empty()) << "no notification reached the webhook" << diagnostics();
  ASSERT_EQ(webhook.size(), 1u) << "the new apps came in more than one notification" << diagnostics();

  const json body = json::parse(webhook[0].body, nullptr, /*allow_exceptions=*/false);
  ASSERT_TRUE(body.is_object()) << webhook[0].body;
  EXPECT_EQ(body.value("receiver", ""), "registry-daily");
  EXPECT_EQ(body.value("status", ""), "firing");
  EXPECT_EQ(body.value("groupLabels", json::object()), (json{{"alertname", "RegistryNewUnregisteredApp"}}));
  std::map<std::string, json> by_app;
  for (const auto& alert : body.value("alerts", json::array())) {
    const json& labels = alert.value("labels", json::object());
    EXPECT_EQ(labels.value("alertname", ""), "RegistryNewUnregisteredApp") << alert.dump();
    EXPECT_EQ(labels.value("report", ""), "daily") << alert.dump();
    by_app[labels.value("app", "")] = alert;
  }
  std::set<std::string> apps;
  for (const auto& [app, alert] : by_app) apps.insert(app);
  std::set<std::string> expected_apps;
  for (const auto& e : NewUnregisteredApps()) expected_apps.insert(e.app);
  EXPECT_EQ(apps, expected_apps) << body.dump(1);
  for (const auto& app : kRegisteredApps) EXPECT_EQ(by_app.count(app), 0u) << app << " is registered";

  // Each app with its owner hints, as annotations and in the description.
  for (const auto& e : NewUnregisteredApps()) {
    SCOPED_TRACE(e.app);
    auto it = by_app.find(e.app);
    if (it == by_app.end()) continue;
    const json& alert = it->second;
    const std::string description = Annotation(alert, "description");
    EXPECT_EQ(Annotation(alert, "vms"), e.vms) << alert.dump(1);
    EXPECT_NE(description.find("VMs: " + e.vms), std::string::npos) << description;
    for (const auto& team : e.teams) {
      EXPECT_NE(Annotation(alert, "hypervisor_teams").find(team), std::string::npos) << alert.dump(1);
      EXPECT_NE(description.find(team), std::string::npos) << description;
    }
    for (const auto& user : e.users) {
      EXPECT_NE(Annotation(alert, "pipeline_users").find(user), std::string::npos) << alert.dump(1);
      EXPECT_NE(description.find(user), std::string::npos) << description;
    }
    EXPECT_EQ(Annotation(alert, "app_url"), base + "/api/registry/v1/apps/" + e.app);
    EXPECT_EQ(Annotation(alert, "report_url"), base + "/report");
  }
  // The retired record says why it does not count.
  if (by_app.count("lgc"))
    EXPECT_NE(Annotation(by_app["lgc"], "reason"), "no record") << by_app["lgc"].dump(1);
  if (by_app.count("qap"))
    EXPECT_EQ(Annotation(by_app["qap"], "reason"), "no record") << by_app["qap"].dump(1);

  // The Slack receiver got the same day's list in one message.
  ASSERT_EQ(slack.size(), 1u) << diagnostics();
  for (const auto& e : NewUnregisteredApps())
    EXPECT_NE(slack[0].body.find(e.app), std::string::npos) << slack[0].body;
  for (const auto& app : kRegisteredApps) {
    EXPECT_EQ(slack[0].body.find("\"" + app + "\""), std::string::npos) << slack[0].body;
  }

  // The report link of the notification opens the exporter's page with the same apps.
  const auto report = HttpGet(base + "/report", 10);
  EXPECT_EQ(report.status, 200);
  for (const auto& e : NewUnregisteredApps()) EXPECT_NE(report.body.find(e.app), std::string::npos);
  EXPECT_TRUE(exporter.Running()) << exporter.Log();
}

}  // namespace
