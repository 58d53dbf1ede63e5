// Redfish events: payload parsing and patching (pure), and the event channel against the simulated estate's
// EventService (SSE with a BMC that closes every stream, a silent stream, the stream bound, push
// subscriptions created, reused after a restart and deleted, and links to other origins refused).
#include "redfish_events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "sim_events.h"

namespace estate::hardware {
namespace {

using namespace std::chrono_literals;
using redfish::Json;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeUpstream;

template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds deadline = 10000ms) {
  for (auto end = std::chrono::steady_clock::now() + deadline; std::chrono::steady_clock::now() < end;) {
    if (pred()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return pred();
}

// --- pure --------------------------------------------------------------------------------------------------

TEST(RedfishEventPayload, ReadsOriginsFromOriginOfConditionAndMessageArgs) {
  auto events = ParseEventPayload(R"({
    "@odata.type": "#Event.v1_7_0.Event", "Context": "estate-hardware:bmc:s3cret",
    "Events": [
      {"EventType": "Alert", "MessageId": "StorageDevice.1.1.DriveFailure", "MessageSeverity": "Critical",
       "OriginOfCondition": {"@odata.id": "/redfish/v1/Systems/1/Storage/1/Drives/0"},
       "MessageArgs": ["Disk 0", "/redfish/v1/Systems/1/Storage/1"]},
      {"MessageId": "ResourceEvent.1.0.ResourceChanged", "OriginOfCondition": "/redfish/v1/Chassis/1/Power#/PowerSupplies/1"},
      {"EventType": "Bogus", "OriginOfCondition": {"@odata.id": "/etc/passwd"}},
      "not a record"
    ]})");
  ASSERT_TRUE(events) << events.error();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, "Alert");
  EXPECT_EQ((*events)[0].severity, "Critical");
  EXPECT_EQ((*events)[0].origins, (std::vector<std::string>{"/redfish/v1/Systems/1/Storage/1/Drives/0",
                                                            "/redfish/v1/Systems/1/Storage/1"}));
  EXPECT_EQ((*events)[1].type, "ResourceUpdated");  // from the MessageId of a 1.6+ event without EventType
  EXPECT_EQ((*events)[1].origins, (std::vector<std::string>{"/redfish/v1/Chassis/1/Power"}));
  EXPECT_EQ((*events)[2].type, "Other");
  EXPECT_TRUE((*events)[2].origins.empty());  // not a Redfish resource
  std::string context;
  ASSERT_TRUE(ParseEventPayload(R"({"Events": [], "Context": "c"})", &context));
  EXPECT_EQ(context, "c");
}

TEST(RedfishEventPayload, RefusesWhatIsNotAnEvent) {
  EXPECT_FALSE(ParseEventPayload(""));
  EXPECT_FALSE(ParseEventPayload("{\"Events\": {}}"));
  EXPECT_FALSE(ParseEventPayload("[1, 2]"));
  EXPECT_FALSE(ParseEventPayload("{\"Events\": [1"));
  // Bounded: at most 64 records, at most 4 origins each.
  Json many = {{"Events", Json::array()}};
  Json args = Json::array();
  for (int i = 0; i < 10; ++i) args.push_back("/redfish/v1/Chassis/" + std::to_string(i));
  for (int i = 0; i < 100; ++i) many["Events"].push_back({{"EventType", "Alert"}, {"MessageArgs", args}});
  auto events = ParseEventPayload(many.dump());
  ASSERT_TRUE(events);
  EXPECT_EQ(events->size(), 64u);
  EXPECT_EQ(events->front().origins.size(), 4u);
}

TEST(RedfishEventPatch, DriveReplacesTheKnownDriveAndKeepsItsController) {
  Findings fast, slow;
  Drive d;
  d.key = "Disk.Bay.0";
  d.controller = "RAID.1";
  d.status.health = Health::kOk;
  slow.drives.push_back(d);
  Drive other = d;
  other.key = "Disk.Bay.1";
  slow.drives.push_back(other);
  Json body = {{"@odata.type", "#Drive.v1_9_0.Drive"},
               {"Id", "Disk.Bay.0"},
               {"Status", {{"Health", "Critical"}, {"State", "Enabled"}}}};
  PatchResult r = PatchFindings(body, fast, slow);
  EXPECT_TRUE(r.slow);
  EXPECT_FALSE(r.fast);
  EXPECT_EQ(slow.drives[0].status.health, Health::kCritical);
  EXPECT_EQ(slow.drives[0].controller, "RAID.1");
  EXPECT_EQ(slow.drives[1].status.health, Health::kOk);
  // A drive nobody knew of patches nothing (the caller runs the group early instead).
  body["Id"] = "Disk.Bay.9";
  r = PatchFindings(body, fast, slow);
  EXPECT_FALSE(r.slow || r.fast);
  EXPECT_EQ(slow.drives.size(), 2u);
}

TEST(RedfishEventPatch, BatteryKeepsItsChargeAndPowerSupplyItsWatts) {
  Findings fast, slow;
  Battery b;
  b.key = "Battery 1";
  b.state = BatteryState::kReady;
  b.charge_percent = 97;
  slow.batteries.push_back(b);
  PowerSupply p;
  p.key = "PSU1";
  p.input_watts = 240;
  fast.psus.push_back(p);
  PatchResult r = PatchFindings({{"@odata.type", "#Battery.v1_2_0.Battery"},
                                 {"Id", "1"},
                                 {"Name", "Battery 1"},
                                 {"Status", {{"Health", "Critical"}, {"State", "Enabled"}}}},
                                fast, slow);
  EXPECT_TRUE(r.slow);
  EXPECT_EQ(slow.batteries[0].state, BatteryState::kFailed);
  EXPECT_EQ(slow.batteries[0].charge_percent, 97);
  r = PatchFindings({{"@odata.type", "#PowerSupply.v1_5_0.PowerSupply"},
                     {"Id", "PSU1"},
                     {"Name", "PSU1"},
                     {"Status", {{"Health", "Warning"}, {"State", "Enabled"}}}},
                    fast, slow);
  EXPECT_TRUE(r.fast);
  EXPECT_EQ(fast.psus[0].status.health, Health::kWarning);
  EXPECT_EQ(fast.psus[0].input_watts, 240);
}

TEST(RedfishEventPatch, UnknownTypesPatchNothing) {
  Findings fast, slow;
  EXPECT_FALSE(PatchFindings({{"@odata.type", "#LogEntry.v1_4_0.LogEntry"}}, fast, slow).slow);
  EXPECT_FALSE(PatchFindings(Json::array(), fast, slow).fast);
  EXPECT_EQ(GroupOfPath("/redfish/v1/Chassis/1/Thermal"), "fast");
  EXPECT_EQ(GroupOfPath("/redfish/v1/Chassis/1/PowerSubsystem/Batteries/1"), "slow");
  EXPECT_EQ(GroupOfPath("/redfish/v1/Systems/1/Storage/1"), "slow");
}

TEST(EventsConfigTest, ParsesTheEventsSectionAndChecksIt) {
  const std::string head =
      "auths:\n  a: {username: u, password: p}\n"
      "targets:\n  - {name: b1, address: bmc1, auth: a}\n  - {name: b2, address: bmc2, auth: a, events: "
      "false}\n";
  auto cfg =
      ParseConfig(head +
                      "events: {sse: true, push: true, receiver_url: 'https://x.example:9840/events/redfish',"
                      " max_streams: 5, idle_timeout: 90s, reconnect_min: 2s, reconnect_max: 1m,"
                      " resync_min_interval: 15m, fallback_min_interval: 1m}\n",
                  "t.yml", config::ParseOptions{false});
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_TRUE(cfg->events.sse);
  EXPECT_TRUE(cfg->events.push);
  EXPECT_EQ(cfg->events.max_streams, 5);
  EXPECT_EQ(cfg->events.idle_timeout_seconds, 90);
  EXPECT_EQ(cfg->events.reconnect_max_seconds, 60);
  EXPECT_EQ(cfg->events.resync_min_interval_seconds, 900);
  EXPECT_TRUE(cfg->targets[0].events);
  EXPECT_FALSE(cfg->targets[1].events);
  // Turning events on or off restarts the target (its fingerprint changes).
  auto off = ParseConfig(head, "t.yml", config::ParseOptions{false});
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->events.Enabled());
  EXPECT_NE(Fingerprint(*cfg, cfg->targets[0]), Fingerprint(*off, off->targets[0]));

  auto bad = ParseConfig(head + "events: {push: true, reconnect_min: 0s, unknown: 1}\n", "t.yml",
                         config::ParseOptions{false});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("receiver_url"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("reconnect_min"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("unknown"), std::string::npos) << bad.error();
  bad = ParseConfig(head + "events: {push: true, receiver_url: 'https://x/events?target=a'}\n", "t.yml",
                    config::ParseOptions{false});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("query"), std::string::npos) << bad.error();
}

TEST(EventsConfigTest, ReceiverUrlNamesEachShardFromOneConfig) {
  const std::string head =
      "auths:\n  a: {username: u, password: p}\ntargets:\n  - {name: b1, address: bmc1, auth: a}\n";
  auto cfg = ParseConfig(
      head + "events: {push: true, receiver_url: 'https://hw-{shard}.hw.mon.svc:9840/events/redfish'}\n",
      "t.yml", config::ParseOptions{false});
  ASSERT_TRUE(cfg) << cfg.error();
  EXPECT_EQ(ReceiverUrlForShard(cfg->events.receiver_url, 2), "https://hw-2.hw.mon.svc:9840/events/redfish");
  EXPECT_EQ(ReceiverUrlForShard("https://{shard}.x/{shard}/{shar}{shard}", 13), "https://13.x/13/{shar}13");
  EXPECT_EQ(ReceiverUrlForShard("https://x:9840/events/redfish", 4), "https://x:9840/events/redfish");
  EXPECT_EQ(ReceiverUrlForShard("", 4), "");
  // The URL is checked as shard 0 would use it: a placeholder does not excuse a bad URL.
  auto bad = ParseConfig(head + "events: {push: true, receiver_url: 'hw-{shard}:9840/events'}\n", "t.yml",
                         config::ParseOptions{false});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("receiver_url"), std::string::npos) << bad.error();
  bad = ParseConfig(head + "events: {push: true, receiver_url: 'https://hw-{shard}/events?shard={shard}'}\n",
                    "t.yml", config::ParseOptions{false});
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().find("query"), std::string::npos) << bad.error();
}

// --- the channel against the simulated EventService
// ---------------------------------------------------------

class EventChannelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim_.Install(server_, [](const FakeRequest&) { return true; });
    server_.Route("GET", "/redfish/v1", [](const FakeRequest&) {
      FakeResponse r;
      r.body = R"({"@odata.id": "/redfish/v1", "EventService": {"@odata.id": "/redfish/v1/EventService"}})";
      return r;
    });
    ASSERT_TRUE(server_.Start());
    RedfishSettings rs;
    rs.base_url = server_.base_url();
    rs.use_sessions = false;
    rs.username = "u";
    rs.password = "p";
    client_ = std::make_unique<RedfishClient>(http_, rs);
    config_.sse = true;
    config_.reconnect_min_seconds = 0.05;
    config_.reconnect_max_seconds = 0.2;
  }
  void TearDown() override {
    channels_.clear();
    server_.Stop();
    sim_.Stop();
  }

  EventChannel& Open(const std::string& target = "bmc") {
    EventChannel::Callbacks cb;
    cb.on_event = [this](const RedfishEvent& e) {
      std::lock_guard lock(mu_);
      for (const auto& o : e.origins) origins_.push_back(o);
    };
    cb.on_resync = [this] { ++resyncs_; };
    channels_.push_back(std::make_unique<EventChannel>(target, config_, *client_, hub_, cb));
    channels_.back()->Start("/redfish/v1");
    return *channels_.back();
  }
  std::vector<std::string> Origins() {
    std::lock_guard lock(mu_);
    return origins_;
  }

  FakeUpstream server_{FakeUpstream::Options{}};
  simestate::SimEvents sim_;
  http::CurlHttpClient http_;
  std::unique_ptr<RedfishClient> client_;
  EventsConfig config_;
  std::shared_ptr<EventHub> hub_ = std::make_shared<EventHub>(10);
  std::vector<std::unique_ptr<EventChannel>> channels_;
  std::mutex mu_;
  std::vector<std::string> origins_;
  std::atomic<int> resyncs_{0};
};

TEST_F(EventChannelTest, SseDeliversTheOriginOfAFlip) {
  EventChannel& ch = Open();
  ASSERT_TRUE(WaitFor([&] { return ch.Stats().connected; }));
  EXPECT_EQ(ch.Stats().mode, "sse");
  sim_.Flip("/redfish/v1/Systems/1/Storage/1/Drives/0", {});
  ASSERT_TRUE(WaitFor([&] { return Origins().size() == 1; }));
  EXPECT_EQ(Origins()[0], "/redfish/v1/Systems/1/Storage/1/Drives/0");
  EXPECT_EQ(ch.Stats().received.at("Alert"), 1);
  EXPECT_GT(ch.Stats().last_event_unix, 0);
  // Filtered where the service allows it.
  bool filtered = false;
  for (const auto& r : server_.Requests()) {
    if (r.path == "/redfish/v1/EventService/SSE") filtered = r.query.find("filter") != std::string::npos;
  }
  EXPECT_TRUE(filtered);
}

TEST_F(EventChannelTest, BmcClosingEveryStreamLosesNoEvent) {
  sim_.SetOptions({true, 0.3, false});  // every stream ends after 0.3 s (30 s on the real BMC that did it)
  EventChannel& ch = Open();
  ASSERT_TRUE(WaitFor([&] { return ch.Stats().connected; }));
  const int n = 12;
  for (int i = 0; i < n; ++i) {
    sim_.Emit({{"EventType", "Alert"},
               {"OriginOfCondition", {{"@odata.id", "/redfish/v1/Chassis/" + std::to_string(i)}}}});
    std::this_thread::sleep_for(100ms);  // spreads the events over several streams; not a synchronisation
  }
  ASSERT_TRUE(WaitFor([&] { return Origins().size() >= static_cast<std::size_t>(n); })) << Origins().size();
  auto got = Origins();
  for (int i = 0; i < n; ++i) {
    EXPECT_NE(std::find(got.begin(), got.end(), "/redfish/v1/Chassis/" + std::to_string(i)), got.end()) << i;
  }
  EXPECT_EQ(got.size(), static_cast<std::size_t>(n));  // Last-Event-ID: nothing twice either
  EXPECT_GE(ch.Stats().reconnects, 2);
  EXPECT_GE(resyncs_.load(), 2);  // each break asks the owner for a (rate-limited) re-poll
}

TEST_F(EventChannelTest, SilentStreamStaysConnectedWithoutData) {
  sim_.SetOptions({true, 0, true});
  EventChannel& ch = Open();
  ASSERT_TRUE(WaitFor([&] { return ch.Stats().connected; }));
  sim_.Emit({{"EventType", "Alert"}});  // swallowed by the silent BMC
  std::this_thread::sleep_for(1s);      // silence is the behaviour under test
  EventStats s = ch.Stats();
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.reconnects, 0);
  EXPECT_TRUE(s.received.empty());
  EXPECT_TRUE(Origins().empty());
}

TEST_F(EventChannelTest, IdleTimeoutReconnectsASilentStream) {
  sim_.SetOptions({true, 0, true});
  config_.idle_timeout_seconds = 0.5;
  EventChannel& ch = Open();
  ASSERT_TRUE(WaitFor([&] { return ch.Stats().reconnects >= 1; }));
  EXPECT_TRUE(WaitFor([&] { return sim_.stats().streams_opened >= 2; }));
}

TEST_F(EventChannelTest, OpenStreamsAreBounded) {
  hub_ = std::make_shared<EventHub>(1);
  EventChannel& a = Open("a");
  ASSERT_TRUE(WaitFor([&] { return a.Stats().connected; }));
  EventChannel& b = Open("b");
  ASSERT_TRUE(WaitFor([&] { return b.Stats().mode == "sse"; }));
  std::this_thread::sleep_for(300ms);  // b keeps trying in vain
  EXPECT_FALSE(b.Stats().connected);
  EXPECT_EQ(hub_->open_streams(), 1);
  channels_.front()->Stop();  // a's stream closes: b gets the slot
  EXPECT_TRUE(WaitFor([&] { return b.Stats().connected; }));
}

TEST_F(EventChannelTest, StreamOnAnotherOriginIsRefused) {
  FakeUpstream other{FakeUpstream::Options{}};
  ASSERT_TRUE(other.Start());
  server_.Route("GET", "/redfish/v1/EventService", [&](const FakeRequest&) {
    FakeResponse r;
    r.body = Json{{"ServiceEnabled", true}, {"ServerSentEventUri", other.base_url() + "/sse"}}.dump();
    return r;
  });
  EventChannel& ch = Open();
  ASSERT_TRUE(WaitFor([&] { return ch.Stats().mode == "sse"; }));
  std::this_thread::sleep_for(300ms);
  EXPECT_FALSE(ch.Stats().connected);
  EXPECT_EQ(other.RequestCount(), 0u);  // neither the stream nor the credentials went there
  other.Stop();
}

TEST_F(EventChannelTest, PushSubscriptionIsCreatedReusedAfterARestartAndDeleted) {
  config_.sse = false;
  config_.push = true;
  config_.receiver_url = "https://exporter.example:9840/events/redfish";
  EventChannel& first = Open();
  ASSERT_TRUE(WaitFor([&] { return first.Stats().subscribed; }));
  EXPECT_EQ(first.Stats().mode, "push");
  EXPECT_EQ(sim_.stats().subscriptions, 1);
  const std::string secret = first.secret();
  EXPECT_EQ(secret.size(), 32u);

  // The receiver checks the secret (header or Context) and hands the event on.
  const std::string event =
      R"({"Events": [{"EventType": "Alert", "OriginOfCondition": {"@odata.id": "/redfish/v1/Chassis/1"}}]})";
  EXPECT_EQ(hub_->Receive("bmc", "wrong", event), 401);
  EXPECT_EQ(hub_->Receive("bmc", "", event), 401);
  EXPECT_EQ(hub_->Receive("other", secret, event), 404);
  EXPECT_EQ(hub_->Receive("bmc", secret, event), 204);
  EXPECT_EQ(hub_->Receive("bmc", "",
                          R"({"Context": "estate-hardware:bmc:)" + secret +
                              R"(", "Events": [{"EventType": "Alert"}]})"),
            204);
  EXPECT_EQ(first.Stats().refused, 2);
  ASSERT_TRUE(WaitFor(
      [&] { return first.Stats().received.count("Alert") && first.Stats().received.at("Alert") == 2; }));
  EXPECT_EQ(Origins(), (std::vector<std::string>{"/redfish/v1/Chassis/1"}));

  // A crash leaves the subscription behind; the next run finds it and reuses it with its secret.
  channels_.clear();  // Stop() deletes it, so recreate one the way a crashed run would have left it
  ASSERT_EQ(sim_.stats().subscriptions, 0);
  auto resp = client_->Send("POST", "/redfish/v1/EventService/Subscriptions",
                            Json{{"Destination", "https://exporter.example:9840/events/redfish?target=bmc"},
                                 {"Context", "estate-hardware:bmc:" + secret}}
                                .dump(),
                            Budget{});
  ASSERT_TRUE(resp && resp->status == 201);
  // And a duplicate, as a buggy earlier version might have left: it goes.
  resp = client_->Send("POST", "/redfish/v1/EventService/Subscriptions",
                       Json{{"Destination", "https://exporter.example:9840/events/redfish?target=bmc"},
                            {"Context", "estate-hardware:bmc:another"}}
                           .dump(),
                       Budget{});
  ASSERT_TRUE(resp && resp->status == 201);
  // Someone else's subscription stays.
  resp =
      client_->Send("POST", "/redfish/v1/EventService/Subscriptions",
                    Json{{"Destination", "https://siem.example/in"}, {"Context", "siem"}}.dump(), Budget{});
  ASSERT_TRUE(resp && resp->status == 201);
  const long created = sim_.stats().subscriptions_created;
  EventChannel& second = Open();
  ASSERT_TRUE(WaitFor([&] { return second.Stats().subscribed; }));
  EXPECT_EQ(second.secret(), secret);
  EXPECT_EQ(sim_.stats().subscriptions_created, created);  // nothing new
  EXPECT_EQ(sim_.stats().subscriptions, 2);                // ours and the SIEM's
  channels_.clear();
  EXPECT_EQ(sim_.stats().subscriptions, 1);  // only the SIEM's is left
}

}  // namespace
}  // namespace estate::hardware
