// Issue #10, point 1: what an upstream returns must never take a token to another host. A fake Keystone hands
// out links.next spelt every way that could leave it, and catalog endpoints with userinfo; a fake Pure array
// hands out continuation tokens spelt the same ways. Capture servers listen for real and must see nothing.
// Catalog endpoints of the configured interface on other hosts are legitimate (Cinder and Nova rarely share
// Keystone's host) and are used.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "estate/http_client.h"
#include "estate/openstack/upstream_util.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/link_traps.h"
#include "openstack_client.h"
#include "pure_client.h"

namespace estate::storage {
namespace {

using estate::testing::Captures;
using estate::testing::EvilLinkForms;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::FillLinkForm;
using estate::testing::SmallUpstream;
using Json = nlohmann::json;
using openstack::UrlEncode;

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

FakeResponse JsonResponse(int status, const Json& body) {
  FakeResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

std::string HostPort(const FakeUpstream& fake) { return "127.0.0.1:" + std::to_string(fake.port()); }

// No request reached `fake` with a path naming the IPv4 capture either.
void ExpectNoCaptureInPaths(const FakeUpstream& fake, const Captures& captures) {
  const std::string port = std::to_string(captures.v4.port());
  for (const auto& req : fake.Requests()) EXPECT_EQ(req.path.find(port), std::string::npos) << req.path;
}

// Keystone with Cinder and Nova on the same server (empty listings); the links it hands out are set by the
// test.
class FakeKeystone {
 public:
  FakeUpstream fake{SmallUpstream()};
  std::string next_link;        // links.next of the first projects page
  std::string volume_endpoint;  // catalog URL of volumev3 (internal)
  std::string public_volume_endpoint = "http://wrong.invalid/volume";

  FakeKeystone() {
    EXPECT_TRUE(fake.Start().ok());
    volume_endpoint = fake.base_url() + "/volume/v3/p";
    next_link = fake.base_url() + "/identity/v3/projects?marker=p0";
    fake.Route("POST", "/identity/v3/auth/tokens", [this](const FakeRequest&) {
      std::lock_guard<std::mutex> lock(mu_);
      Json catalog = Json::array();
      catalog.push_back({{"type", "volumev3"},
                         {"endpoints",
                          {{{"interface", "public"}, {"region_id", "R1"}, {"url", public_volume_endpoint}},
                           {{"interface", "internal"}, {"region_id", "R1"}, {"url", volume_endpoint}}}}});
      catalog.push_back(
          {{"type", "compute"},
           {"endpoints",
            {{{"interface", "internal"}, {"region_id", "R1"}, {"url", fake.base_url() + "/compute/v2.1"}}}}});
      FakeResponse r = JsonResponse(
          201,
          {{"token",
            {{"expires_at", "2999-01-01T00:00:00Z"}, {"project", {{"id", "p"}}}, {"catalog", catalog}}}});
      r.headers = {{"X-Subject-Token", "tok-1"}};
      return r;
    });
    fake.Route("DELETE", "/identity/v3/auth/tokens",
               [](const FakeRequest&) { return JsonResponse(204, {}); });
    Serve(fake, "/volume/v3/p/volumes/detail", {{"volumes", Json::array()}});
    fake.Route("GET", "/compute/v2.1/servers/detail", [](const FakeRequest&) {
      return JsonResponse(200, {{"servers", Json::array()}});
    });
    fake.Route("GET", "/identity/v3/projects", [this](const FakeRequest& req) {
      std::lock_guard<std::mutex> lock(mu_);
      if (req.query.empty()) {
        return JsonResponse(
            200, {{"projects", {{{"id", "p0"}, {"name", "alpha"}}}}, {"links", {{"next", next_link}}}});
      }
      return JsonResponse(200,
                          {{"projects", {{{"id", "p1"}, {"name", "beta"}}}}, {"links", {{"next", nullptr}}}});
    });
  }

  // An empty Cinder listing at `path` of `server`.
  static void Serve(FakeUpstream& server, const std::string& path, const Json& body) {
    server.Route("GET", path, [body](const FakeRequest&) { return JsonResponse(200, body); });
  }

  OpenStackOptions Options() const {
    OpenStackOptions o;
    o.cloud = "prod";
    o.auth_url = fake.base_url() + "/identity/v3";
    o.region = "R1";
    o.interface = "internal";
    o.auth.username = "monitor";
    o.auth.password = "pw";
    o.auth.project_name = "admin";
    o.http.timeout_seconds = 5;
    o.http.max_retries = 0;
    return o;
  }

  void Set(std::string* what, std::string value) {
    std::lock_guard<std::mutex> lock(mu_);
    *what = std::move(value);
  }

 private:
  std::mutex mu_;
};

class KeystoneNextLink : public ::testing::TestWithParam<int> {
 protected:
  Captures captures_;
  FakeKeystone keystone_;
  http::CurlHttpClient http_;
};

// links.next elsewhere: refused, so the collect fails naming the refusal, and the token goes nowhere.
TEST_P(KeystoneNextLink, ElsewhereGetsNoToken) {
  const std::string link =
      FillLinkForm(EvilLinkForms("/identity/v3/projects?marker=p0").at(static_cast<std::size_t>(GetParam())),
                   HostPort(keystone_.fake), captures_);
  keystone_.Set(&keystone_.next_link, link);
  OpenStackClient client(http_, keystone_.Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_FALSE(snap.ok()) << link;
  EXPECT_NE(snap.error().find("refused"), std::string::npos) << snap.error();
  EXPECT_EQ(snap.error().find("s3cret"), std::string::npos) << snap.error();
  EXPECT_EQ(captures_.Seen(), 0u) << link;
  ExpectNoCaptureInPaths(keystone_.fake, captures_);
}

INSTANTIATE_TEST_SUITE_P(EverySpelling, KeystoneNextLink,
                         ::testing::Range(0, static_cast<int>(EvilLinkForms("/x").size())));

TEST(KeystoneLinks, SameOriginNextLinkIsFollowed) {
  Captures captures;
  FakeKeystone keystone;
  keystone.Set(&keystone.next_link, "HTTP://" + HostPort(keystone.fake) + "/identity/v3/projects?marker=p0");
  http::CurlHttpClient http;
  OpenStackClient client(http, keystone.Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->project_names.size(), 2u);
  EXPECT_EQ(captures.Seen(), 0u);
}

// A catalog endpoint with userinfo, or one that is not an absolute http(s) URL, is refused before any
// request.
TEST(KeystoneLinks, CatalogEndpointWithUserinfoGetsNoToken) {
  Captures captures;
  const std::string capture = "127.0.0.1:" + std::to_string(captures.v4.port());
  for (const std::string& endpoint :
       {"http://monitor:pw@" + capture + "/volume/v3/p", "http://127.0.0.1:1@" + capture + "/v3",
        "//" + capture + "/volume/v3/p", "http://" + capture + "\\@x/volume"}) {
    FakeKeystone keystone;
    keystone.Set(&keystone.volume_endpoint, endpoint);
    http::CurlHttpClient http;
    OpenStackClient client(http, keystone.Options());
    auto snap = client.Collect(Seconds(20));
    ASSERT_FALSE(snap.ok()) << endpoint;
    EXPECT_NE(snap.error().find("catalog endpoint refused"), std::string::npos) << snap.error();
    EXPECT_EQ(snap.error().find(":pw"), std::string::npos) << snap.error();
  }
  EXPECT_EQ(captures.Seen(), 0u);
}

// The decision documented in docs/storage-mapping.md: Cinder on another host of the configured interface gets
// the token; the public endpoint (not configured) pointing at the capture never does.
TEST(KeystoneLinks, CatalogEndpointOfTheConfiguredInterfaceElsewhereIsUsed) {
  Captures captures;
  FakeUpstream cinder(SmallUpstream());
  ASSERT_TRUE(cinder.Start().ok());
  FakeKeystone::Serve(cinder, "/volume/v3/p/volumes/detail", {{"volumes", Json::array()}});
  FakeKeystone keystone;
  keystone.Set(&keystone.volume_endpoint, cinder.base_url() + "/volume/v3/p");
  keystone.Set(&keystone.public_volume_endpoint, captures.v4.base_url() + "/volume/v3/p");
  http::CurlHttpClient http;
  OpenStackClient client(http, keystone.Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  ASSERT_EQ(cinder.RequestCount(), 1u);
  EXPECT_EQ(cinder.Requests().front().headers.at("x-auth-token"), "tok-1");
  EXPECT_EQ(captures.Seen(), 0u);
}

// ---- Pure
// ---------------------------------------------------------------------------------------------------

// An array whose continuation tokens (in the body for volumes, in x-next-token for connections) are links
// that try to leave it. They are only ever sent back percent-encoded in the query, to the array.
class PureContinuation : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    token_ = FillLinkForm(EvilLinkForms("/api/2.10/volumes").at(static_cast<std::size_t>(GetParam())),
                          HostPort(array_), captures_);
    array_.Route("GET", "/api/api_version", [](const FakeRequest&) {
      return JsonResponse(200, {{"version", {"2.10"}}});
    });
    array_.Route("POST", "/api/2.10/login", [](const FakeRequest&) {
      FakeResponse r = JsonResponse(200, {{"items", Json::array()}});
      r.headers = {{"x-auth-token", "sess-1"}};
      return r;
    });
    array_.Route("GET", "/api/2.10/arrays", [](const FakeRequest&) {
      return JsonResponse(200, {{"items", {{{"name", "pure-a"}}}}});
    });
    array_.Route("GET", "/api/2.10/volumes", [this](const FakeRequest& req) {
      if (req.query.find("continuation_token=") == std::string::npos) {
        return JsonResponse(
            200, {{"items", {Volume(0)}}, {"continuation_token", token_}, {"more_items_remaining", true}});
      }
      return JsonResponse(200, {{"items", {Volume(1)}}, {"more_items_remaining", false}});
    });
    array_.Route("GET", "/api/2.10/connections", [this](const FakeRequest& req) {
      if (req.query.find("continuation_token=") == std::string::npos) {
        FakeResponse r = JsonResponse(200, {{"items", Json::array()}, {"more_items_remaining", true}});
        r.headers = {{"x-next-token", token_}};
        return r;
      }
      return JsonResponse(200, {{"items", Json::array()}, {"more_items_remaining", false}});
    });
    ASSERT_TRUE(array_.Start().ok());
  }

  static Json Volume(int i) {
    return {{"name", "v" + std::to_string(i)},   {"id", "id-" + std::to_string(i)},
            {"serial", "S" + std::to_string(i)}, {"provisioned", 1073741824.0},
            {"created", 1700000000000},          {"destroyed", false}};
  }

  Captures captures_;
  FakeUpstream array_{SmallUpstream()};
  std::string token_;
  http::CurlHttpClient http_;
};

TEST_P(PureContinuation, TokenGoesBackEncodedToTheArrayOnly) {
  PureOptions o;
  o.array = "pa";
  o.address = array_.base_url();
  o.api_token = "secret-token";
  o.read_tags = false;
  o.http.timeout_seconds = 5;
  PureClient client(http_, o);
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->volumes.size(), 2u);
  EXPECT_EQ(captures_.Seen(), 0u) << token_;
  int continued = 0;
  for (const auto& req : array_.Requests()) {
    EXPECT_EQ(req.path.rfind("/api/", 0), 0u) << req.path;
    if (req.query.find("continuation_token=" + UrlEncode(token_)) != std::string::npos) ++continued;
  }
  EXPECT_EQ(continued, 2);  // volumes and connections
}

INSTANTIATE_TEST_SUITE_P(EverySpelling, PureContinuation,
                         ::testing::Range(0, static_cast<int>(EvilLinkForms("/x").size())));

}  // namespace
}  // namespace estate::storage
