// Redfish events end to end: the real estate-hardware-exporter against the real estate-simestate serving the
// demo's Dell iDRAC 9 tree with an EventService (events: true). The slow interval is 300 s, so a drive that
// fails after the first slow poll can only reach /metrics through an event within the test's deadline.
//   HardwareEventsE2e.SseFlipReachesMetricsInSeconds   SSE: flip a drive -> drive health 2 within 5 s
//   HardwareEventsE2e.PushFlipReachesMetricsAndTheSubscriptionGoesAtShutdown
//                                                       push: the exporter's receiver gets the event; SIGTERM
//                                                       deletes the subscription on the BMC
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "estate/shard.h"
#include "estate/testing/e2e.h"
#include "estate/testing/golden.h"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using estate::testing::ChildProcess;
using estate::testing::HttpGet;
using estate::testing::HttpPost;
using estate::testing::TempDir;

constexpr char kDrive[] =
    "/redfish/v1/Systems/System.Embedded.1/Storage/RAID.Integrated.1-1/Drives/"
    "Disk.Bay.2:Enclosure.Internal.0-1:RAID.Integrated.1-1";
constexpr char kDriveSeries[] =
    "estate_hardware_drive_health{target=\"dell\",controller=\"RAID.Integrated.1-1\",drive=\"Disk.Bay.2:"
    "Enclosure.Internal.0-1:RAID.Integrated.1-1\"} ";

class Events {
 public:
  // {{base}} in events_yaml is the exporter's URL and {{port}} its port; it listens on host with extra_args.
  ::testing::AssertionResult Start(const TempDir& dir, const std::string& events_yaml,
                                   const std::vector<std::string>& extra_args = {},
                                   const std::string& host = "127.0.0.1") {
    const std::string sim = estate::testing::BinaryPath("estate-simestate");
    const std::string exporter = estate::testing::BinaryPath("estate-hardware-exporter");
    if (sim.empty() || exporter.empty()) return ::testing::AssertionFailure() << "binaries not built";
    const std::string data = estate::testing::SourceDir() + "/tools/simestate/data/bmc-dell-idrac9";
    const std::string ports_file = dir.path() + "/ports.json";
    auto started = sim_.Start({sim,
                               "--config.file=" + dir.Write("estate.yml",
                                                            "upstreams:\n"
                                                            "  - name: dell\n"
                                                            "    kind: redfish\n"
                                                            "    port: 0\n"
                                                            "    data: " +
                                                                data +
                                                                "\n"
                                                                "    basic_auth: {username: "
                                                                "monitor, password: pw}\n"
                                                                "    events: true\n"),
                               "--ports.file=" + ports_file},
                              dir.path() + "/simestate.log");
    if (!started) return ::testing::AssertionFailure() << "simestate: " << started.error();
    for (auto until = Clock::now() + 20s; !std::filesystem::exists(ports_file);
         std::this_thread::sleep_for(50ms)) {
      if (Clock::now() > until || !sim_.Running()) return ::testing::AssertionFailure() << sim_.Log();
    }
    auto ports = nlohmann::json::parse(estate::testing::ReadFileOrDie(ports_file));
    control_ = "http://127.0.0.1:" + std::to_string(ports["_control"].get<int>());
    bmc_ = "http://127.0.0.1:" + std::to_string(ports["dell"].get<int>());
    port_ = estate::testing::FreePort();
    base_ = "http://" + host + ":" + std::to_string(port_);
    std::string yaml =
        "defaults: {fast_interval: 300s, slow_interval: 300s, request_timeout: 5s}\n"
        "auths:\n  sim: {username: monitor, password_env: ESTATE_TEST_BMC_PASSWORD}\n"
        "targets:\n  - {name: dell, address: \"http://127.0.0.1:" +
        std::to_string(ports["dell"].get<int>()) + "\", auth: sim}\n" +
        estate::testing::ReplaceAll(estate::testing::ReplaceAll(events_yaml, "{{base}}", base_), "{{port}}",
                                    std::to_string(port_)) +
        "\n";
    setenv("ESTATE_TEST_BMC_PASSWORD", "pw", 1);
    std::vector<std::string> argv = {exporter, "--config.file=" + dir.Write("hardware.yml", yaml),
                                     "--web.listen-address=" + host + ":" + std::to_string(port_)};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    started = exporter_.Start(argv, dir.path() + "/exporter.log");
    if (!started) return ::testing::AssertionFailure() << "exporter: " << started.error();
    if (!estate::testing::WaitHttpOk(base_ + "/-/ready", 60s)) {
      return ::testing::AssertionFailure() << "exporter not ready:\n" << exporter_.Log();
    }
    return ::testing::AssertionSuccess();
  }

  std::string Metrics() const { return HttpGet(base_ + "/metrics", 10).body; }
  // The value of the first sample line starting with `prefix`, or -1.
  double Sample(const std::string& prefix) const {
    const std::string text = Metrics();
    auto at = text.find(prefix);
    if (at == std::string::npos) return -1;
    return std::strtod(text.c_str() + at + prefix.size(), nullptr);
  }
  bool WaitSample(const std::string& prefix, double value, std::chrono::milliseconds deadline) const {
    for (auto until = Clock::now() + deadline; Clock::now() < until; std::this_thread::sleep_for(50ms)) {
      if (Sample(prefix) == value) return true;
    }
    return false;
  }
  // The Destination of each subscription on the simulated BMC, read over Redfish as a person would.
  std::vector<std::string> SubscriptionDestinations() const {
    std::vector<std::string> out;
    auto get = [this](const std::string& path) {
      auto r = HttpGet(bmc_ + path, 5, {"Authorization: Basic bW9uaXRvcjpwdw=="});  // monitor:pw
      auto j = nlohmann::json::parse(r.body, nullptr, false);
      return j.is_discarded() ? nlohmann::json::object() : j;
    };
    for (const auto& m :
         get("/redfish/v1/EventService/Subscriptions").value("Members", nlohmann::json::array())) {
      if (m.contains("@odata.id") && m["@odata.id"].is_string()) {
        out.push_back(get(m["@odata.id"].get<std::string>()).value("Destination", ""));
      }
    }
    return out;
  }
  nlohmann::json SimEvents() const {
    auto j = nlohmann::json::parse(HttpGet(control_ + "/events?upstream=dell", 5).body, nullptr, false);
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  bool Flip(const std::string& resource) const {
    return HttpPost(control_ + "/events/flip?upstream=dell&resource=" + resource, "").status == 200;
  }

  long Requests() const {
    auto j = nlohmann::json::parse(HttpGet(control_ + "/requests?upstream=dell", 5).body, nullptr, false);
    return j.is_discarded() ? -1 : j.value("count", -1L);
  }
  const std::string& base() const { return base_; }
  ChildProcess& exporter() { return exporter_; }

 private:
  ChildProcess sim_, exporter_;
  std::string control_, base_, bmc_;
  int port_ = 0;
};

TEST(HardwareEventsE2e, SseFlipReachesMetricsInSeconds) {
  TempDir dir;
  Events e;
  ASSERT_TRUE(e.Start(dir, "events: {sse: true, reconnect_min: 200ms}"));
  ASSERT_TRUE(e.WaitSample(kDriveSeries, 0, 30s)) << e.Metrics();
  ASSERT_TRUE(e.WaitSample("estate_hardware_event_stream_connected{target=\"dell\"} ", 1, 15s))
      << e.Metrics();
  const long before = e.Requests();
  const auto flipped = Clock::now();
  ASSERT_TRUE(e.Flip(kDrive));
  ASSERT_TRUE(e.WaitSample(kDriveSeries, 2, 5s)) << e.Metrics() << "\n" << e.exporter().Log();
  const double seconds = std::chrono::duration<double>(Clock::now() - flipped).count();
  std::printf("flip -> /metrics: %.3f s (slow interval 300 s)\n", seconds);
  // The fast group owns computed health: it moved with the drive.
  EXPECT_EQ(e.Sample("estate_hardware_computed_health{target=\"dell\",resource=\"system\"} "), 2);
  EXPECT_EQ(e.Sample("estate_hardware_events_received_total{target=\"dell\",type=\"Alert\"} "), 1);
  EXPECT_GT(e.Sample("estate_hardware_event_last_timestamp_seconds{target=\"dell\"} "), 0);
  // Only the drive was re-read, not a full poll (a slow poll of this BMC is ~20 requests).
  EXPECT_LE(e.Requests() - before, 2);
}

TEST(HardwareEventsE2e, PushFlipReachesMetricsAndTheSubscriptionGoesAtShutdown) {
  TempDir dir;
  Events e;
  ASSERT_TRUE(e.Start(dir, "events: {sse: false, push: true, receiver_url: \"{{base}}/events/redfish\"}"));
  ASSERT_TRUE(e.WaitSample(kDriveSeries, 0, 30s)) << e.Metrics();
  ASSERT_TRUE(e.WaitSample("estate_hardware_event_subscription_active{target=\"dell\"} ", 1, 15s))
      << e.Metrics();
  EXPECT_EQ(e.SimEvents()["subscriptions"], 1);
  ASSERT_TRUE(e.Flip(kDrive));
  ASSERT_TRUE(e.WaitSample(kDriveSeries, 2, 5s)) << e.Metrics() << "\n" << e.exporter().Log();
  EXPECT_EQ(e.Sample("estate_hardware_events_refused_total{target=\"dell\"} "), 0);
  // A forged push is refused.
  EXPECT_EQ(
      HttpPost(e.base() + "/events/redfish?target=dell", R"({"Events": [{"EventType": "Alert"}]})").status,
      401);
  EXPECT_TRUE(e.WaitSample("estate_hardware_events_refused_total{target=\"dell\"} ", 1, 5s));
  EXPECT_EQ(e.exporter().Stop(), 0);
  EXPECT_EQ(e.SimEvents()["subscriptions"], 0);
  EXPECT_EQ(e.SimEvents()["subscriptions_deleted"], 1);
}

TEST(HardwareEventsE2e, ShardedPushSubscribesWithTheShardsOwnReceiverUrl) {
  // One config for every shard: {shard} in receiver_url becomes the instance's --shard.index. Here the shard
  // that owns "dell" listens on 127.0.0.<ordinal>, as a StatefulSet pod has its own DNS name.
  const int total = 3;
  const int ordinal = estate::shard::ShardOf("dell", total);
  ASSERT_GT(ordinal, 0) << "127.0.0.0 is not an address to listen on: pick another total";
  TempDir dir;
  Events e;
  ASSERT_TRUE(e.Start(
      dir,
      "events: {sse: false, push: true, receiver_url: \"http://127.0.0.{shard}:{{port}}/events/redfish\"}",
      {"--shard.total=" + std::to_string(total), "--shard.index=" + std::to_string(ordinal)},
      "127.0.0." + std::to_string(ordinal)));
  ASSERT_TRUE(e.WaitSample("estate_hardware_event_subscription_active{target=\"dell\"} ", 1, 30s))
      << e.Metrics();
  const auto destinations = e.SubscriptionDestinations();
  ASSERT_EQ(destinations.size(), 1u);
  EXPECT_EQ(destinations[0], e.base() + "/events/redfish?target=dell");
  ASSERT_TRUE(e.WaitSample(kDriveSeries, 0, 30s)) << e.Metrics();
  ASSERT_TRUE(e.Flip(kDrive));
  ASSERT_TRUE(e.WaitSample(kDriveSeries, 2, 5s)) << e.Metrics() << "\n" << e.exporter().Log();
}

}  // namespace
