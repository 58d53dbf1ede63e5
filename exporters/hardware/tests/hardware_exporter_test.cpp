// The real collector against FakeUpstream serving the fixture trees over HTTP: sessions (creation, reuse,
// re-login on 401, DELETE on removal), basic-auth fallback, RIBCL over POST /ribcl, protocol auto-detection,
// request counts per poll, faults marking only the poll down, and /probe.
#include <gtest/gtest.h>

#include <atomic>
#include <iostream>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"
#include "fixture_util.h"
#include "hardware_exporter.h"

namespace estate::hardware {
namespace {

using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using testing::HardwareFixtures;
using testing::HaveHardwareFixtures;
using testing::ReadText;

#define REQUIRE_SET(set) \
  if (!HaveHardwareFixtures(set)) GTEST_SKIP() << "fixtures absent: " << set

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

std::string Text(const metrics::Families& f) { return metrics::Render(f); }

HardwareConfig ConfigFor(const std::string& base_url, Protocol protocol = Protocol::kAuto) {
  HardwareConfig cfg;
  cfg.request_timeout_seconds = 5;
  cfg.auths.push_back(AuthSet{"bmc", "monitor", "s3cret"});
  TargetConfig t;
  t.name = "bmc1";
  t.address = base_url;
  t.protocol = protocol;
  t.auth = "bmc";
  t.labels = {{"host", "hv01"}};
  cfg.targets.push_back(t);
  return cfg;
}

// A Redfish session service on top of a recorded tree.
struct Sessions {
  std::atomic<int> created{0};
  std::atomic<int> deleted{0};
  std::atomic<int> refuse{0};  // login POSTs still to answer 401 although the credentials are right
  void Install(FakeUpstream& fake) {
    fake.Route("POST", "/redfish/v1/SessionService/Sessions", [this](const FakeRequest& req) {
      FakeResponse r;
      if (req.body.find("\"s3cret\"") == std::string::npos || refuse.fetch_sub(1) > 0) {
        r.status = 401;
        return r;
      }
      int n = ++created;
      r.status = 201;
      r.headers = {{"X-Auth-Token", "token" + std::to_string(n)},
                   {"Location", "/redfish/v1/SessionService/Sessions/" + std::to_string(n)}};
      r.body = "{}";
      return r;
    });
    for (int i = 1; i <= 5; ++i) {
      fake.Route("DELETE", "/redfish/v1/SessionService/Sessions/" + std::to_string(i), [this](const FakeRequest&) {
        ++deleted;
        FakeResponse r;
        r.status = 204;
        return r;
      });
    }
  }
};

constexpr const char* kDl325 = "hpe-proliant-dl325-gen10plus-ilo5";

class Dl325Test : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveHardwareFixtures(kDl325)) GTEST_SKIP() << "fixtures absent";
    FakeUpstream::Options opt;
    opt.root_dir = HardwareFixtures() + "/" + kDl325;
    fake_ = std::make_unique<FakeUpstream>(opt);
    sessions_.Install(*fake_);
    ASSERT_TRUE(fake_->Start().ok());
    config_ = ConfigFor(fake_->base_url());
    state_ = std::make_shared<TargetState>(config_, config_.targets[0], http_, nullptr);
  }
  void TearDown() override {
    if (fake_) fake_->Stop();
  }

  http::CurlHttpClient http_;
  std::unique_ptr<FakeUpstream> fake_;
  Sessions sessions_;
  HardwareConfig config_;
  std::shared_ptr<TargetState> state_;
};

TEST_F(Dl325Test, FullPollOverHttpWithOneSession) {
  auto slow = state_->PollSlow(Seconds(30));
  ASSERT_TRUE(slow.ok()) << slow.error();
  const std::size_t slow_requests = fake_->RequestCount();
  fake_->ClearRequests();
  auto fast = state_->PollFast(Seconds(30));
  ASSERT_TRUE(fast.ok()) << fast.error();
  const std::size_t fast_requests = fake_->RequestCount();
  std::cout << "[ requests ] DL325 over HTTP (fake ignores $expand): slow " << slow_requests << ", fast "
            << fast_requests << " requests\n";
  const std::string text = Text(*slow) + Text(*fast);
  EXPECT_NE(text.find("estate_hardware_log_entries_total{target=\"bmc1\",host=\"hv01\",log=\"IML\",severity="
                      "\"critical\"} 17"),
            std::string::npos)
      << text.substr(0, 3000);
  EXPECT_NE(text.find("serial=\"MXQ019020B\""), std::string::npos);
  EXPECT_NE(
      text.find(
          "estate_hardware_fan_speed_ratio{target=\"bmc1\",host=\"hv01\",chassis=\"1\",fan=\"Fan 1\"} 0.35"),
      std::string::npos);
  EXPECT_NE(text.find("estate_hardware_poll_requests{target=\"bmc1\",host=\"hv01\",group=\"fast\"}"),
            std::string::npos);
  EXPECT_EQ(sessions_.created.load(), 1);  // one session, reused by both groups
  for (const auto& req : fake_->Requests()) {
    if (req.method == "GET") {
      EXPECT_EQ(req.headers.count("x-auth-token"), 1u) << req.path;
    }
    EXPECT_EQ(req.path.find("s3cret"), std::string::npos);
    EXPECT_EQ(req.query.find("s3cret"), std::string::npos);
  }
  // The fast cycle reuses the topology: no collection walk, a handful of GETs.
  EXPECT_LE(fast_requests, 6u);
  state_->Shutdown();
  EXPECT_EQ(sessions_.deleted.load(), 1);
}

// Fault that answers the next GET of the system with 401, as when the BMC ends the session.
Fault SessionEnded() {
  Fault expired;
  expired.kind = Fault::Kind::kStatus;
  expired.status = 401;
  expired.path_prefix = "/redfish/v1/Systems/1";
  expired.remaining = 1;
  return expired;
}

std::size_t CountRequests(const FakeUpstream& fake, const std::string& method, const std::string& path) {
  std::size_t n = 0;
  for (const auto& req : fake.Requests()) n += req.method == method && req.path == path ? 1 : 0;
  return n;
}

TEST_F(Dl325Test, ReLoginOn401DeletesTheOldSession) {
  ASSERT_TRUE(state_->PollFast(Seconds(30)).ok());
  fake_->AddFault(SessionEnded());
  auto again = state_->PollFast(Seconds(30));
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(sessions_.created.load(), 2);
  EXPECT_EQ(sessions_.deleted.load(), 1);
  for (const auto& req : fake_->Requests()) {
    if (req.method != "DELETE") continue;
    EXPECT_EQ(req.path, "/redfish/v1/SessionService/Sessions/1");  // the old one, with its own token
    EXPECT_EQ(req.headers.count("x-auth-token") ? req.headers.at("x-auth-token") : "", "token1");
  }
  state_->Shutdown();
  EXPECT_EQ(sessions_.deleted.load(), 2);  // nothing left behind on the BMC
}

// A refused login fails the poll; it never switches the target to basic auth for good.
TEST_F(Dl325Test, RefusedLoginFailsThePollWithoutBasicFallback) {
  sessions_.refuse = 2;  // the plain POST and the one with basic auth
  auto refused = state_->PollFast(Seconds(30));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("401"), std::string::npos) << refused.error();
  EXPECT_EQ(refused.error().find("s3cret"), std::string::npos);
  fake_->ClearRequests();
  auto ok = state_->PollFast(Seconds(30));
  ASSERT_TRUE(ok.ok()) << ok.error();
  EXPECT_EQ(sessions_.created.load(), 1);
  EXPECT_GT(fake_->RequestCount(), 1u);
  for (const auto& req : fake_->Requests()) {
    EXPECT_EQ(req.headers.count("authorization"), 0u) << req.method << " " << req.path;
    // Protocol detection after the failed poll reads the service root anonymously; the rest uses the session.
    if (req.method == "GET" && req.path.rfind("/redfish/v1/", 0) == 0 && req.path != "/redfish/v1/") {
      EXPECT_EQ(req.headers.count("x-auth-token"), 1u) << req.path;
    }
  }
  state_->Shutdown();
  EXPECT_EQ(sessions_.deleted.load(), 1);
}

// The simulated estate's repro: the session ends (GET 401) and the new login is refused too. The poll fails,
// the old session is deleted anyway, the next poll gets a session again, and shutdown leaves none behind.
TEST_F(Dl325Test, SessionEndedAndLoginRefusedLeaksNoSession) {
  ASSERT_TRUE(state_->PollFast(Seconds(30)).ok());
  fake_->AddFault(SessionEnded());
  sessions_.refuse = 2;  // the plain POST and the one with basic auth
  EXPECT_FALSE(state_->PollFast(Seconds(30)).ok());
  EXPECT_EQ(sessions_.deleted.load(), 1);
  EXPECT_EQ(CountRequests(*fake_, "DELETE", "/redfish/v1/SessionService/Sessions/1"), 1u);
  fake_->ClearRequests();
  ASSERT_TRUE(state_->PollFast(Seconds(30)).ok());
  EXPECT_EQ(sessions_.created.load(), 2);
  for (const auto& req : fake_->Requests()) {
    EXPECT_EQ(req.headers.count("authorization"), 0u) << req.method << " " << req.path;
  }
  state_->Shutdown();
  EXPECT_EQ(sessions_.deleted.load(), sessions_.created.load());
}

// Computed health needs the slow group's leaves (storage, inventory): it is not emitted before a slow poll has
// succeeded, and then only by the fast group (one owner, no duplicate series), from the merged model.
TEST_F(Dl325Test, ComputedHealthOnlyFromTheMergedModel) {
  // A critical DIMM: a slow-group leaf that the fast poll alone cannot see.
  auto dimm = testing::LoadResource(kDl325, "redfish/v1/Systems/1/Memory/proc1dimm1");
  dimm["Status"]["Health"] = "Critical";
  fake_->Route("GET", "/redfish/v1/Systems/1/Memory/proc1dimm1/", [&dimm](const FakeRequest&) {
    FakeResponse r;
    r.body = dimm.dump();
    return r;
  });
  fake_->Route("GET", "/redfish/v1/Systems/1/Memory/proc1dimm1", [&dimm](const FakeRequest&) {
    FakeResponse r;
    r.body = dimm.dump();
    return r;
  });
  const std::string system = R"(estate_hardware_computed_health{target="bmc1",host="hv01",resource="system"} )";

  auto first = state_->PollFast(Seconds(30));
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(Text(*first).find("estate_hardware_computed_health"), std::string::npos) << Text(*first);
  EXPECT_NE(Text(*first).find("estate_hardware_reported_health{"), std::string::npos);

  auto slow = state_->PollSlow(Seconds(30));
  ASSERT_TRUE(slow.ok()) << slow.error();
  EXPECT_NE(Text(*slow).find(R"(estate_hardware_memory_health{target="bmc1",host="hv01",dimm="PROC 1 DIMM 1"} 2)"),
            std::string::npos)
      << Text(*slow);
  EXPECT_EQ(Text(*slow).find("estate_hardware_computed_health"), std::string::npos);
  EXPECT_EQ(Text(*slow).find("estate_hardware_reported_health"), std::string::npos);

  auto fast = state_->PollFast(Seconds(30));
  ASSERT_TRUE(fast.ok()) << fast.error();
  const std::string text = Text(*fast);
  EXPECT_NE(text.find(system + "2"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(estate_hardware_computed_health{target="bmc1",host="hv01",resource="chassis"} 0)"),
            std::string::npos);

  // /probe does both groups and emits each computed series once.
  auto probe = state_->Probe("all", Seconds(60));
  ASSERT_TRUE(probe.ok()) << probe.error();
  const std::string all = Text(*probe);
  const auto at = all.find(system + "2");
  ASSERT_NE(at, std::string::npos) << all;
  EXPECT_EQ(all.find(system, at + 1), std::string::npos);
  EXPECT_TRUE(estate::testing::PromtoolCheckMetrics(all));
}

TEST(HardwareExporter, BasicAuthFallbackWithoutSessionService) {
  constexpr const char* kGen10 = "hpe-gen10-ilo5-proliantutils-samples";
  REQUIRE_SET(kGen10);
  FakeUpstream::Options opt;
  opt.root_dir = HardwareFixtures() + "/" + kGen10;
  opt.basic_auth = "monitor:s3cret";
  FakeUpstream fake(opt);
  ASSERT_TRUE(fake.Start().ok());
  http::CurlHttpClient http;
  HardwareConfig cfg = ConfigFor(fake.base_url(), Protocol::kRedfish);
  TargetState state(cfg, cfg.targets[0], http, nullptr);
  auto slow = state.PollSlow(Seconds(30));
  ASSERT_TRUE(slow.ok()) << slow.error();
  const std::string text = Text(*slow);
  EXPECT_NE(text.find("source=\"hpe_backup_power_source\""), std::string::npos) << text;
  EXPECT_NE(text.find("estate_hardware_storage_controller_health{target=\"bmc1\",host=\"hv01\",controller=\"Slot 0\"} 1"),
            std::string::npos);
}

// The error of the first fast (or slow) poll of a new target on `fake`, "" when it succeeded.
std::string FirstPollError(FakeUpstream& fake, bool slow = false) {
  http::CurlHttpClient http;
  const HardwareConfig cfg = ConfigFor(fake.base_url());
  TargetState state(cfg, cfg.targets[0], http, nullptr);
  auto poll = slow ? state.PollSlow(Seconds(30)) : state.PollFast(Seconds(30));
  return poll.ok() ? std::string() : poll.error();
}

// A service root that answers 200 with garbage: the poll's error names that, not the 404s of the fallbacks
// that protocol detection went on to (/rest/v1, /xmldata).
TEST(HardwareExporter, GarbageServiceRootIsTheReportedCause) {
  FakeUpstream fake(FakeUpstream::Options{});
  fake.Route("GET", "/redfish/v1", [](const FakeRequest&) {
    FakeResponse r;
    r.body = "<html><body>Service Unavailable</body></html>";
    return r;
  });
  ASSERT_TRUE(fake.Start().ok());
  const std::string error = FirstPollError(fake);
  EXPECT_NE(error.find("service root /redfish/v1: response is not valid JSON"), std::string::npos) << error;
  EXPECT_EQ(error.find("/rest/v1: HTTP 404"), std::string::npos) << error;

  // A fallback root behind authentication is taken for a Redfish root; when it then fails (404 once logged
  // in), the garbage root still comes first in the error.
  fake.Route("GET", "/rest/v1", [](const FakeRequest& req) {
    FakeResponse r;
    r.status = req.headers.count("authorization") != 0 ? 404 : 401;
    r.body = "{}";
    return r;
  });
  const std::string guarded = FirstPollError(fake, /*slow=*/true);
  EXPECT_EQ(guarded.rfind("service root /redfish/v1: response is not valid JSON", 0), 0u) << guarded;

  // A Redfish error body as the root is no root either.
  fake.Route("GET", "/redfish/v1", [](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"error": {"code": "Base.1.8.ServiceTemporarilyUnavailable", "message": "Try later."}})";
    return r;
  });
  const std::string erroring = FirstPollError(fake);
  EXPECT_EQ(erroring.rfind(
                "service root /redfish/v1: Redfish error body: Base.1.8.ServiceTemporarilyUnavailable", 0),
            0u)
      << erroring;
  fake.Stop();
}

// An iLO 3 answering RIBCL: each command's recorded answer, concatenated like a real iLO does.
TEST(HardwareExporter, RibclAutoDetectedAndPolled) {
  constexpr const char* kIlo3 = "hpe-ilo3-bl460c-g7-ribcl-python-hpilo";
  REQUIRE_SET(kIlo3);
  const std::string xml = HardwareFixtures() + "/" + kIlo3 + "/xml/";
  FakeUpstream fake(FakeUpstream::Options{});
  std::atomic<int> posts{0};
  fake.Route("POST", "/ribcl", [&](const FakeRequest& req) {
    ++posts;
    FakeResponse r;
    r.content_type = "text/xml";
    if (req.body.find("PASSWORD=\"s3cret\"") == std::string::npos) {
      r.body = ReadText(HardwareFixtures() + "/hpe-ilo4-ribcl-proliantutils/login_fail_xml.xml");
      return r;
    }
    static const std::pair<const char*, const char*> kAnswers[] = {
        {"GET_EMBEDDED_HEALTH", "get_embedded_health.xml"}, {"GET_HOST_POWER_STATUS", "get_host_power_status.xml"},
        {"GET_POWER_READINGS", "get_power_readings.xml"},   {"GET_FW_VERSION", "get_fw_version.xml"},
        {"GET_HOST_DATA", "get_host_data.xml"},             {"GET_SERVER_NAME", "get_server_name.xml"},
        {"GET_EVENT_LOG", "get_server_event_log.xml"}};
    for (const auto& [cmd, file] : kAnswers) {
      if (req.body.find(std::string("<") + cmd + " ") != std::string::npos) r.body += ReadText(xml + file);
    }
    return r;
  });
  fake.Route("GET", "/xmldata", [&](const FakeRequest&) {
    FakeResponse r;
    r.content_type = "text/xml";
    r.body = ReadText(xml + "xmldata.xml");
    return r;
  });
  ASSERT_TRUE(fake.Start().ok());
  http::CurlHttpClient http;
  HardwareConfig cfg = ConfigFor(fake.base_url());
  TargetState state(cfg, cfg.targets[0], http, nullptr);
  auto fast = state.PollFast(Seconds(30));
  ASSERT_TRUE(fast.ok()) << fast.error();
  auto slow = state.PollSlow(Seconds(30));
  ASSERT_TRUE(slow.ok()) << slow.error();
  const std::string text = Text(*fast) + Text(*slow);
  EXPECT_NE(text.find("protocol=\"ribcl\""), std::string::npos) << text;
  EXPECT_NE(text.find("serial=\"CZ320580J3\""), std::string::npos);
  EXPECT_NE(text.find("estate_hardware_drive_health{target=\"bmc1\",host=\"hv01\",controller=\"backplane 224\","
                      "drive=\"Bay 1\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("estate_hardware_log_entries_total{target=\"bmc1\",host=\"hv01\",log=\"IML\",severity="
                      "\"warning\"} 1"),
            std::string::npos);
  EXPECT_EQ(posts.load(), 2);  // one POST per data group
  for (const auto& req : fake.Requests()) EXPECT_EQ(req.query.find("s3cret"), std::string::npos);

  // Wrong password: RIBCL's login failure is a failed poll with the BMC's message.
  cfg.auths[0].password = "wrong";
  TargetState bad(cfg, cfg.targets[0], http, nullptr);
  auto refused = bad.PollFast(Seconds(30));
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().find("Login failed"), std::string::npos);
  EXPECT_EQ(refused.error().find("wrong"), std::string::npos);
}

TEST(HardwareConfigTest, ParsesTheDocumentedExample) {
  ::setenv("ESTATE_TEST_BMC_PASSWORD", "from-env", 1);
  const std::string yaml = R"(
defaults:
  fast_interval: 30s
  slow_interval: 15m
  request_timeout: 10s
  max_requests_per_bmc: 2
max_concurrent_polls: 100
auths:
  ilo:
    username: monitor
    password_env: ESTATE_TEST_BMC_PASSWORD
targets:
  - name: hv01-ilo
    address: https://10.0.0.11
    auth: ilo
    ca_file: /etc/estate/bmc-ca.pem
    labels: {host: hv01}
  - name: old-blade
    address: 10.0.0.12
    protocol: ribcl
    auth: ilo
    insecure: true
    slow_interval: 1h
)";
  auto cfg = ParseConfig(yaml, "hardware.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_EQ(cfg->fast_interval_seconds, 30);
  EXPECT_EQ(cfg->slow_interval_seconds, 900);
  EXPECT_EQ(cfg->max_concurrent_polls, 100);
  ASSERT_EQ(cfg->targets.size(), 2u);
  EXPECT_EQ(cfg->targets[1].protocol, Protocol::kRibcl);
  EXPECT_TRUE(cfg->targets[1].insecure);
  EXPECT_EQ(cfg->targets[1].slow_interval_seconds, 3600);
  EXPECT_EQ(cfg->FindAuth("ilo")->password, "from-env");
  EXPECT_EQ(BaseUrl(cfg->targets[1].address), "https://10.0.0.12");
  EXPECT_NE(Fingerprint(*cfg, cfg->targets[0]), Fingerprint(*cfg, cfg->targets[1]));
}

TEST(HardwareConfigTest, ReportsEveryProblemWithItsLine) {
  const std::string yaml = R"(auths:
  ilo:
    username: monitor
    password: x
targets:
  - name: a
    address: https://user:pw@bmc
    auth: nope
    colour: blue
  - name: a
    address: b
    auth: ilo
    protocol: ipmi
    insecure: true
    ca_file: /ca.pem
    labels: {target: x}
)";
  auto cfg = ParseConfig(yaml, "hardware.yml");
  ASSERT_FALSE(cfg.ok());
  const std::string& e = cfg.error();
  for (const char* needle : {"colour", "nope", "credentials", "duplicate", "ipmi", "not both", "\"target\""}) {
    EXPECT_NE(e.find(needle), std::string::npos) << needle << " in:\n" << e;
  }
  EXPECT_NE(e.find("hardware.yml:"), std::string::npos);
}

TEST(HardwareConfigTest, EmptyOrTruncatedConfigIsRefusedUnlessAllowed) {
  const std::string full =
      "auths:\n  ilo: {username: monitor, password_env: HOME}\ntargets:\n  - {name: a, address: b, auth: "
      "ilo}\n";
  ASSERT_TRUE(ParseConfig(full, "hardware.yml").ok());
  for (const std::string& text :
       {std::string(), std::string("\n"), std::string("# comment\n"), full.substr(0, full.find("targets:")),
        full.substr(0, full.find("targets:") + 9)}) {
    auto cfg = ParseConfig(text, "hardware.yml");
    ASSERT_FALSE(cfg.ok()) << "accepted: " << text;
    EXPECT_NE(cfg.error().find("no targets configured"), std::string::npos) << cfg.error();
  }
  auto cfg = ParseConfig("allow_empty: true\n", "hardware.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  EXPECT_TRUE(cfg->targets.empty());
}

TEST(HardwareConfigTest, OddYamlIsAnErrorNotAnException) {
  for (const char* text : {"{[x]: 1}", "targets:\n  - {[x]: 1}\n", "auths: {[a]: {username: u}}\n",
                           "targets: [{name: a, address: b, auth: c, labels: {[k]: v}}]\n", "&a [*a]",
                           "targets: &t [{name: a, address: b, auth: c, x: *t}]\n",
                           "defaults: {fast_interval: 9999999999999999999999y}\n"}) {
    Result<HardwareConfig> cfg = MakeError("");
    ASSERT_NO_THROW(cfg = ParseConfig(text, "hardware.yml")) << text;
    ASSERT_FALSE(cfg.ok()) << text;
    EXPECT_NE(cfg.error().find("hardware.yml:"), std::string::npos) << cfg.error();
  }
}

TEST(HardwareConfigTest, InlinePasswordIsWarnedAbout) {
  auto cfg = ParseConfig(
      "auths:\n  ilo: {username: u, password: s3cret}\ntargets: [{name: a, address: b, auth: ilo}]\n",
      "hardware.yml");
  ASSERT_TRUE(cfg.ok()) << cfg.error();
  ASSERT_EQ(cfg->warnings.size(), 1u);
  EXPECT_NE(cfg->warnings[0].find("hardware.yml:2: auths.ilo.password: secret written in the config file"),
            std::string::npos)
      << cfg->warnings[0];
  EXPECT_TRUE(cfg->inline_secrets);
}

}  // namespace
}  // namespace estate::hardware
