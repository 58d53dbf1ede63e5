// Issue #10, point 1: a BMC's links must never take its credentials to another host. A fake BMC hands out
// links spelt every way that could leave it (userinfo, scheme-relative, absolute, backslashes,
// percent-encoding, an IPv6 host) pointing at capture servers that listen for real and must see no request at
// all: not the session token (resource links, a session's Location), not the user name and password
// (Links.Sessions), not basic auth.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/link_traps.h"
#include "hardware_exporter.h"

namespace estate::hardware {
namespace {

using estate::testing::Captures;
using estate::testing::EvilLinkForms;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using estate::testing::FillLinkForm;

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

FakeResponse Json(std::string body, int status = 200) {
  FakeResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::string Link(const std::string& uri) { return "{\"@odata.id\": \"" + uri + "\"}"; }

// Escapes a link for a JSON string (backslashes).
std::string JsonString(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\' || c == '"') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// A small Redfish service: root, one system, a chassis, no managers, a session service. The links it hands
// out are set by the test.
class FakeBmc {
 public:
  std::string sessions_link = "/redfish/v1/SessionService/Sessions";
  std::string location = "/redfish/v1/SessionService/Sessions/1";
  std::string system_link = "/redfish/v1/Systems/1";
  std::string chassis_link = "/redfish/v1/Chassis/1";
  bool session_service = true;
  std::atomic<int> logins{0};
  std::atomic<int> deletes{0};

  FakeUpstream fake{estate::testing::SmallUpstream()};

  FakeBmc() {
    fake.Route("GET", "/redfish/v1", [this](const FakeRequest&) {
      return Json(R"({"@odata.id": "/redfish/v1", "RedfishVersion": "1.6.0",
        "Systems": {"@odata.id": "/redfish/v1/Systems"}, "Chassis": {"@odata.id": "/redfish/v1/Chassis"},
        "Managers": {"@odata.id": "/redfish/v1/Managers"},
        "Links": {"Sessions": {"@odata.id": ")" +
                  JsonString(sessions_link) + R"("}}})");
    });
    fake.Route("GET", "/redfish/v1/Systems", [this](const FakeRequest&) {
      return Json("{\"Members\": [" + Link(JsonString(system_link)) + "]}");
    });
    fake.Route("GET", "/redfish/v1/Systems/1", [](const FakeRequest&) {
      return Json(R"({"@odata.id": "/redfish/v1/Systems/1", "Id": "1", "PowerState": "On",
        "SerialNumber": "SN1", "Status": {"State": "Enabled", "Health": "OK"}})");
    });
    fake.Route("GET", "/redfish/v1/Chassis", [this](const FakeRequest&) {
      return Json("{\"Members\": [" + Link(JsonString(chassis_link)) + "]}");
    });
    fake.Route("GET", "/redfish/v1/Chassis/1", [](const FakeRequest&) {
      return Json(R"({"@odata.id": "/redfish/v1/Chassis/1", "Id": "1", "Status": {"Health": "OK"}})");
    });
    fake.Route("GET", "/redfish/v1/Managers", [](const FakeRequest&) { return Json(R"({"Members": []})"); });
    fake.Route("POST", "/redfish/v1/SessionService/Sessions", [this](const FakeRequest& req) {
      if (!session_service) return Json("{}", 404);
      if (req.body.find("\"s3cret\"") == std::string::npos) return Json("{}", 401);
      const int n = ++logins;
      FakeResponse r = Json(Link("/redfish/v1/SessionService/Sessions/" + std::to_string(n)), 201);
      r.headers = {{"X-Auth-Token", "token" + std::to_string(n)}, {"Location", location}};
      return r;
    });
    for (int i = 1; i <= 4; ++i) {
      fake.Route("DELETE", "/redfish/v1/SessionService/Sessions/" + std::to_string(i),
                 [this](const FakeRequest&) {
                   ++deletes;
                   return Json("", 204);
                 });
    }
    EXPECT_TRUE(fake.Start().ok());
  }

  std::string HostPort() const { return "127.0.0.1:" + std::to_string(fake.port()); }

  HardwareConfig Config(bool sessions = true) const {
    HardwareConfig cfg;
    cfg.request_timeout_seconds = 5;
    cfg.auths.push_back(AuthSet{"bmc", "monitor", "s3cret"});
    TargetConfig t;
    t.name = "bmc1";
    t.address = fake.base_url();
    t.protocol = Protocol::kRedfish;
    t.auth = "bmc";
    t.sessions = sessions;
    cfg.targets.push_back(t);
    return cfg;
  }

  // No request reached the BMC with a path naming a capture server either (the old code sent "//host" and
  // "/\host" links to the BMC as paths).
  void ExpectNoCaptureInPaths(const Captures& captures) const {
    const std::string port = std::to_string(captures.v4.port());
    for (const auto& req : fake.Requests()) EXPECT_EQ(req.path.find(port), std::string::npos) << req.path;
  }
};

class LinkOrigin : public ::testing::TestWithParam<int> {
 protected:
  std::string Form(const std::string& path, const FakeBmc& bmc) const {
    return FillLinkForm(EvilLinkForms(path).at(static_cast<std::size_t>(GetParam())), bmc.HostPort(),
                        captures_);
  }
  Captures captures_;
  http::CurlHttpClient http_;
};

// The only computer system is elsewhere: the link is refused, so the poll fails, naming the refusal.
TEST_P(LinkOrigin, ResourceLinkElsewhereGetsNoToken) {
  FakeBmc bmc;
  bmc.system_link = Form("/redfish/v1/Systems/1", bmc);
  HardwareConfig cfg = bmc.Config();
  TargetState state(cfg, cfg.targets[0], http_, nullptr);
  auto slow = state.PollSlow(Seconds(20));
  ASSERT_FALSE(slow.ok()) << bmc.system_link;
  EXPECT_NE(slow.error().find("refused"), std::string::npos) << slow.error();
  EXPECT_EQ(slow.error().find("s3cret"), std::string::npos) << slow.error();
  EXPECT_EQ(captures_.Seen(), 0u) << bmc.system_link;
  bmc.ExpectNoCaptureInPaths(captures_);
}

// A chassis elsewhere is one failed request of the poll, which goes on without it.
TEST_P(LinkOrigin, LinkElsewhereIsAFailedRequestOfThePoll) {
  FakeBmc bmc;
  bmc.chassis_link = Form("/redfish/v1/Chassis/1", bmc);
  HardwareConfig cfg = bmc.Config();
  TargetState state(cfg, cfg.targets[0], http_, nullptr);
  auto fast = state.PollFast(Seconds(20));
  ASSERT_TRUE(fast.ok()) << fast.error();
  EXPECT_NE(
      metrics::Render(*fast).find("estate_hardware_poll_failed_requests{target=\"bmc1\",group=\"fast\"} 1"),
      std::string::npos)
      << bmc.chassis_link << "\n"
      << metrics::Render(*fast);
  EXPECT_EQ(captures_.Seen(), 0u) << bmc.chassis_link;
  bmc.ExpectNoCaptureInPaths(captures_);
}

// Basic auth (no session service) is not sent elsewhere either.
TEST_P(LinkOrigin, LinkElsewhereGetsNoBasicAuth) {
  FakeBmc bmc;
  bmc.session_service = false;
  bmc.system_link = Form("/redfish/v1/Systems/1", bmc);
  HardwareConfig cfg = bmc.Config(false);
  TargetState state(cfg, cfg.targets[0], http_, nullptr);
  EXPECT_FALSE(state.PollSlow(Seconds(20)).ok());
  EXPECT_EQ(captures_.Seen(), 0u) << bmc.system_link;
}

// Links.Sessions elsewhere is ignored: a later login (after a 401) still posts the password to the BMC's own
// session service.
TEST_P(LinkOrigin, SessionsLinkElsewhereGetsNoPassword) {
  FakeBmc bmc;
  bmc.sessions_link = Form("/redfish/v1/SessionService/Sessions", bmc);
  HardwareConfig cfg = bmc.Config();
  TargetState state(cfg, cfg.targets[0], http_, nullptr);
  auto slow = state.PollSlow(Seconds(20));
  ASSERT_TRUE(slow.ok()) << slow.error();
  Fault expired;
  expired.kind = Fault::Kind::kStatus;
  expired.status = 401;
  expired.path_prefix = "/redfish/v1/Systems/1";
  expired.remaining = 1;
  bmc.fake.AddFault(expired);
  auto fast = state.PollFast(Seconds(20));
  ASSERT_TRUE(fast.ok()) << fast.error();
  EXPECT_EQ(bmc.logins.load(), 2) << bmc.sessions_link;
  EXPECT_EQ(captures_.Seen(), 0u) << bmc.sessions_link;
  bmc.ExpectNoCaptureInPaths(captures_);
}

// A session's Location elsewhere is not where the DELETE (with the token) goes: the body's @odata.id is.
TEST_P(LinkOrigin, SessionLocationElsewhereGetsNoToken) {
  FakeBmc bmc;
  bmc.location = Form("/redfish/v1/SessionService/Sessions/1", bmc);
  HardwareConfig cfg = bmc.Config();
  TargetState state(cfg, cfg.targets[0], http_, nullptr);
  auto slow = state.PollSlow(Seconds(20));
  ASSERT_TRUE(slow.ok()) << slow.error();
  state.Shutdown();
  EXPECT_EQ(bmc.deletes.load(), 1) << bmc.location;
  EXPECT_EQ(captures_.Seen(), 0u) << bmc.location;
  bmc.ExpectNoCaptureInPaths(captures_);
}

INSTANTIATE_TEST_SUITE_P(EverySpelling, LinkOrigin,
                         ::testing::Range(0, static_cast<int>(EvilLinkForms("/x").size())));

// Same-origin absolute links (some BMCs return them) are still followed.
TEST(LinkOriginSameHost, AbsoluteLinksToTheBmcAreFollowed) {
  Captures captures;
  FakeBmc bmc;
  bmc.system_link = bmc.fake.base_url() + "/redfish/v1/Systems/1";
  bmc.location = "HTTP://" + bmc.HostPort() + "/redfish/v1/SessionService/Sessions/1";
  http::CurlHttpClient http;
  HardwareConfig cfg = bmc.Config();
  TargetState state(cfg, cfg.targets[0], http, nullptr);
  auto slow = state.PollSlow(Seconds(20));
  ASSERT_TRUE(slow.ok()) << slow.error();
  EXPECT_NE(metrics::Render(*slow).find("SN1"), std::string::npos);
  state.Shutdown();
  EXPECT_EQ(bmc.deletes.load(), 1);
  EXPECT_EQ(captures.Seen(), 0u);
}

}  // namespace
}  // namespace estate::hardware
