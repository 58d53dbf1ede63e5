// Nova in the estate::openstack library: the server and aggregate parsers (bodies written here, and the
// recorded samples of ../shared/fixtures/storage/nova when present), and the listings over a Session against
// an in-process fake cloud: a compute-only session, one token for servers and aggregates, a 401 re-auth,
// marker paging and its loop checks.
#include "estate/openstack/nova.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "estate/http_client.h"
#include "estate/openstack/session.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"
#include "estate/testing/json_variants.h"

namespace estate::openstack {
namespace {

using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using Json = nlohmann::json;

// ---- parsers ----------------------------------------------------------------------------------------------

// Two aggregates as `openstack aggregate list --long` shows them at microversion 2.41+, written for this
// test.
constexpr const char* kAggregates = R"({"aggregates": [
  {"availability_zone": "az-east", "created_at": "2026-01-12T09:30:00.000000", "deleted": false,
   "deleted_at": null, "hosts": ["cmp-east-01", "cmp-east-02"], "id": 3,
   "metadata": {"availability_zone": "az-east", "team": "compute-east", "ssd": "true"}, "name": "rack-east",
   "updated_at": null, "uuid": "4b8a6f3e-9c1d-4a57-8e21-0d6c3f2b9a10"},
  {"availability_zone": null, "created_at": "2026-01-12T09:31:00.000000", "deleted": false, "deleted_at": null,
   "hosts": ["cmp-west-01", "cmp-east-02"], "id": 4, "metadata": {"team": "compute-west", "weight": 2,
   "gpu": true, "note": null}, "name": "rack-west", "updated_at": "2026-02-01T10:00:00.000000",
   "uuid": "a01f2c6d-5e3b-4f8a-9b7c-1e2d3c4b5a60"},
  {"hosts": [], "id": 5, "metadata": {}, "name": "empty"}]})";

TEST(NovaAggregates, NameHostsAndMetadata) {
  auto aggregates = ParseNovaAggregates(kAggregates);
  ASSERT_TRUE(aggregates.ok()) << aggregates.error();
  ASSERT_EQ(aggregates->size(), 3u);
  const NovaAggregate& east = (*aggregates)[0];
  EXPECT_EQ(east.id, "3");
  EXPECT_EQ(east.uuid, "4b8a6f3e-9c1d-4a57-8e21-0d6c3f2b9a10");
  EXPECT_EQ(east.name, "rack-east");
  EXPECT_EQ(east.availability_zone, "az-east");
  EXPECT_EQ(east.hosts, (std::vector<std::string>{"cmp-east-01", "cmp-east-02"}));
  EXPECT_EQ(east.metadata.at("team"), "compute-east");
  EXPECT_EQ(east.metadata.at("ssd"), "true");
  const NovaAggregate& west = (*aggregates)[1];
  EXPECT_EQ(west.availability_zone, "");
  EXPECT_EQ(west.metadata.at("weight"), "2");  // numbers and booleans as JSON text
  EXPECT_EQ(west.metadata.at("gpu"), "true");
  EXPECT_EQ(west.metadata.count("note"), 0u);  // null is absent
  EXPECT_TRUE((*aggregates)[2].hosts.empty());
}

TEST(NovaAggregates, MetadataByHostGivesEachHostsTeams) {
  auto aggregates = ParseNovaAggregates(kAggregates);
  ASSERT_TRUE(aggregates.ok());
  auto teams = MetadataByHost(*aggregates, "team");
  ASSERT_EQ(teams.size(), 3u);
  ASSERT_EQ(teams.at("cmp-east-01").size(), 1u);
  EXPECT_EQ(teams.at("cmp-east-01")[0].value, "compute-east");
  EXPECT_EQ(teams.at("cmp-east-01")[0].aggregate, "rack-east");
  // A host in two aggregates with different teams has both, in aggregate order.
  ASSERT_EQ(teams.at("cmp-east-02").size(), 2u);
  EXPECT_EQ(teams.at("cmp-east-02")[1].value, "compute-west");
  EXPECT_EQ(teams.at("cmp-east-02")[1].aggregate, "rack-west");
  EXPECT_EQ(teams.at("cmp-west-01")[0].value, "compute-west");
  EXPECT_TRUE(MetadataByHost(*aggregates, "owner").empty());
}

TEST(NovaAggregates, OddValuesAreSkippedBadBodiesAreErrors) {
  auto odd = ParseNovaAggregates(R"({"aggregates":[{"id":"7","name":null,"hosts":["h1",5,null,""],
      "metadata":{"team":null,"x":[1]}},{"id":8,"name":"n","hosts":null,"metadata":"team=a"}]})");
  ASSERT_TRUE(odd.ok()) << odd.error();
  EXPECT_EQ((*odd)[0].id, "7");  // a string id is kept too
  EXPECT_EQ((*odd)[0].hosts, std::vector<std::string>{"h1"});
  EXPECT_TRUE((*odd)[0].metadata.empty());
  EXPECT_TRUE((*odd)[1].hosts.empty());
  EXPECT_TRUE(ParseNovaAggregates(R"({"aggregates":[]})")->empty());

  auto garbage = ParseNovaAggregates("\x01\xff<html>");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().find("invalid JSON at byte"), std::string::npos) << garbage.error();
  EXPECT_EQ(ParseNovaAggregates(R"({"aggregate":{}})").error(), "no \"aggregates\" array");
  EXPECT_EQ(ParseNovaAggregates(R"({"aggregates":[1]})").error(), "aggregates[0] is not an object");
  EXPECT_EQ(ParseNovaAggregates(R"({"aggregates":[{"hosts":["a"]}]})").error(),
            "aggregates[0] has neither a name nor an id");
  EXPECT_FALSE(ParseNovaAggregates("[1e400]").ok());
  EXPECT_FALSE(ParseNovaAggregates(std::string(100000, '[')).ok());
}

TEST(NovaAggregates, WrongTypesAnywhereAreSurvived) {
  std::size_t n = 0;
  for (const auto& body : estate::testing::WrongTypeVariants(Json::parse(kAggregates))) {
    EXPECT_NO_THROW((void)ParseNovaAggregates(body)) << body;
    ++n;
  }
  EXPECT_GT(n, 50u);
}

TEST(NovaServers, RecordedListAtV247) {
  if (!estate::testing::HaveFixtures("storage")) {
    GTEST_SKIP() << "fixtures absent: " << estate::testing::FixturesDir() << "/storage";
  }
  auto page = ParseNovaServersPage(estate::testing::ReadFileOrDie(
      estate::testing::FixturesDir() + "/storage/nova/servers-details-resp.v2.47.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_FALSE(page->servers.empty());
  for (const auto& s : page->servers) {
    EXPECT_FALSE(s.id.empty());
    EXPECT_FALSE(s.host_name.empty());
  }
  EXPECT_EQ(page->keys.servers, page->servers.size());
}

TEST(NovaServers, RepeatedValuesShareTheirBytes) {
  auto page = ParseNovaServersPage(R"({"servers":[
      {"id":"s1","name":"a","status":"ACTIVE","tenant_id":"p1","OS-EXT-SRV-ATTR:host":"cmp-1"},
      {"id":"s2","name":"b","status":"ACTIVE","tenant_id":"p1","OS-EXT-SRV-ATTR:host":"cmp-1"}]})");
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->servers.size(), 2u);
  EXPECT_TRUE(page->servers[0].status.SameBytes(page->servers[1].status));
  EXPECT_TRUE(page->servers[0].project_id.SameBytes(page->servers[1].project_id));
  EXPECT_TRUE(page->servers[0].hypervisor.SameBytes(page->servers[1].hypervisor));
  EXPECT_FALSE(page->has_next);
  EXPECT_EQ(page->keys.with_host, 2u);
  EXPECT_EQ(page->keys.with_hypervisor_hostname, 0u);
}

// ---- listings over a Session ------------------------------------------------------------------------------

FakeResponse JsonResponse(int status, const Json& body) {
  FakeResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

std::string Header(const FakeRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string() : it->second;
}

// Keystone with a compute-only catalog, and Nova's servers (marker-paged) and aggregates.
class NovaListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_.Route("POST", "/identity/v3/auth/tokens", [this](const FakeRequest&) {
      ++auth_posts_;
      const std::string token = "tok-" + std::to_string(auth_posts_.load());
      {
        std::lock_guard<std::mutex> lock(mu_);
        valid_.insert(token);
      }
      Json catalog = Json::array({{{"type", "compute"},
                                   {"endpoints",
                                    {{{"interface", "public"},
                                      {"region_id", "R1"},
                                      {"url", fake_.base_url() + "/compute/v2.1/"}}}}}});
      // No expires_at: the session assumes an hour.
      FakeResponse r = JsonResponse(201, {{"token", {{"catalog", catalog}}}});
      r.headers = {{"X-Subject-Token", token}};
      return r;
    });
    fake_.Route("GET", "/compute/v2.1/servers/detail", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"error", "token"}});
      if (Header(req, "openstack-api-version") != "compute 2.47") return JsonResponse(400, {{"bad", "mv"}});
      if (QueryParam("?" + req.query, "all_tenants") != "1") return JsonResponse(400, {{"bad", "tenants"}});
      const int limit = std::stoi(QueryParam("?" + req.query, "limit"));
      const std::string marker = QueryParam("?" + req.query, "marker");
      const int start = marker.empty() ? 0 : std::stoi(marker.substr(2)) + 1;
      Json servers = Json::array();
      for (int i = start; i < servers_ && i < start + limit; ++i) {
        servers.push_back(
            {{"id", "s-" + std::to_string(i)},
             {"name", "xyz-app" + std::string(i % 2 ? "b" : "a") + std::to_string(i)},
             {"status", "ACTIVE"},
             {"tenant_id", "p1"},
             {"OS-EXT-SRV-ATTR:host", "cmp-" + std::to_string(i % 3)},
             {"OS-EXT-SRV-ATTR:hypervisor_hostname", "cmp-" + std::to_string(i % 3) + ".example"}});
      }
      Json body = {{"servers", servers}};
      if (start + limit < servers_ || loop_) {
        const std::string next = loop_ ? "s-0" : "s-" + std::to_string(start + limit - 1);
        body["servers_links"] = {{{"rel", "next"}, {"href", "http://elsewhere.invalid/x?marker=" + next}}};
      }
      return JsonResponse(200, body);
    });
    fake_.Route("GET", "/compute/v2.1/os-aggregates", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"error", "token"}});
      return JsonResponse(200, Json::parse(kAggregates));
    });
    ASSERT_TRUE(fake_.Start().ok());
  }

  SessionOptions Options() const {
    SessionOptions o;
    o.cloud = "prod";
    o.auth_url = fake_.base_url() + "/identity";
    o.auth.username = "monitor";
    o.auth.password = "pw";
    o.http.timeout_seconds = 5;
    o.http.backoff_initial_seconds = 0.01;
    return o;
  }

  static Budget Seconds(double s) {
    Budget b;
    b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
    return b;
  }

  bool Valid(const FakeRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    return valid_.count(Header(req, "x-auth-token")) == 1;
  }
  void ExpireTokens() {
    std::lock_guard<std::mutex> lock(mu_);
    valid_.clear();
  }

  FakeUpstream fake_{FakeUpstream::Options{}};
  http::CurlHttpClient http_;
  std::atomic<int> auth_posts_{0};
  int servers_ = 23;
  bool loop_ = false;
  std::mutex mu_;
  std::set<std::string> valid_;
};

TEST_F(NovaListingTest, ServersAndAggregatesShareOneTokenInACatalogWithoutCinder) {
  Session session(http_, Options());
  NovaOptions nova;
  nova.paging.page_size = 5;
  session.BeginCollect();
  NovaKeyCounts keys;
  auto servers = ListServers(session, nova, Seconds(10), &keys);
  ASSERT_TRUE(servers.ok()) << servers.error();
  ASSERT_EQ(servers->size(), 23u);
  EXPECT_EQ((*servers)[22].id, "s-22");
  EXPECT_EQ((*servers)[1].name, "xyz-appb1");
  EXPECT_EQ((*servers)[1].hypervisor_hostname, "cmp-1.example");
  EXPECT_EQ(keys.servers, 23u);
  EXPECT_EQ(keys.with_hypervisor_hostname, 23u);
  auto aggregates = ListAggregates(session, nova, Seconds(10));
  ASSERT_TRUE(aggregates.ok()) << aggregates.error();
  EXPECT_EQ(aggregates->size(), 3u);
  EXPECT_EQ(auth_posts_.load(), 1);
  EXPECT_EQ(session.requests(), 1 + 5 + 1);  // auth, five pages, aggregates

  // The next collect reuses the token; one that stopped working is renewed once and the request repeated.
  session.BeginCollect();
  ExpireTokens();
  auto again = ListAggregates(session, nova, Seconds(10));
  ASSERT_TRUE(again.ok()) << again.error();
  EXPECT_EQ(auth_posts_.load(), 2);
  EXPECT_EQ(session.requests(), 3);  // the refused GET, auth, the repeated GET
}

TEST_F(NovaListingTest, AServiceNotInTheCatalogFailsAuthentication) {
  SessionOptions o = Options();
  o.services = {kCompute, kVolume};
  Session session(http_, o);
  auto servers = ListServers(session, {}, Seconds(10));
  ASSERT_FALSE(servers.ok());
  EXPECT_NE(servers.error().find("no volumev3/block-storage/volume endpoint with interface public"),
            std::string::npos)
      << servers.error();
}

TEST_F(NovaListingTest, ARepeatedMarkerIsAPagingLoop) {
  loop_ = true;
  Session session(http_, Options());
  NovaOptions nova;
  nova.paging.page_size = 50;
  auto servers = ListServers(session, nova, Seconds(10));
  ASSERT_FALSE(servers.ok());
  EXPECT_EQ(servers.error(), "nova servers: marker s-0 returned twice (paging loop)");
}

TEST_F(NovaListingTest, ErrorsNameTheRequest) {
  Session session(http_, Options());
  fake_.Route("GET", "/compute/v2.1/os-aggregates", [](const FakeRequest&) {
    return JsonResponse(403, {{"forbidden", {{"message", "Policy"}}}});
  });
  auto aggregates = ListAggregates(session, {}, Seconds(10));
  ASSERT_FALSE(aggregates.ok());
  EXPECT_NE(aggregates.error().find("nova GET /compute/v2.1/os-aggregates: HTTP 403"), std::string::npos)
      << aggregates.error();
}

}  // namespace
}  // namespace estate::openstack
