// Pure FlashArray parsers against the recorded REST 2.x bodies, and PureClient against an in-process fake
// array (our own invented data): version discovery, session reuse and re-login, continuation-token paging,
// tags (and their absence on old arrays), rate limits, loops and garbage.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "estate/http_client.h"
#include "estate/openstack/paging.h"  // QueryParam
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"
#include "estate/testing/json_variants.h"
#include "pure_client.h"
#include "pure_parse.h"

namespace estate::storage {
namespace {

using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using Json = nlohmann::json;
using openstack::QueryParam;

// ---- Parsers against recorded bodies ---------------------------------------------------------------------

#define REQUIRE_PURE_FIXTURES()                                                      \
  if (!estate::testing::HaveFixtures("storage/purestorage-fa-openmetrics-exporter")) \
  GTEST_SKIP() << "fixtures absent: " << estate::testing::FixturesDir()              \
               << "/storage/purestorage-fa-openmetrics-exporter"

std::string Fixture(const std::string& name) {
  return estate::testing::ReadFileOrDie(estate::testing::FixturesDir() +
                                        "/storage/purestorage-fa-openmetrics-exporter/" + name);
}

const PureVolume* Find(const std::vector<PureVolume>& volumes, const std::string& name) {
  for (const auto& v : volumes) {
    if (v.name == name) return &v;
  }
  return nullptr;
}

TEST(PureParse, ApiVersionsPickTheHighest2x) {
  REQUIRE_PURE_FIXTURES();
  auto versions = ParsePureApiVersions(Fixture("versions.json"));
  ASSERT_TRUE(versions.ok()) << versions.error();
  EXPECT_EQ(versions->front(), "1.0");
  auto picked = PickPureApiVersion(*versions);
  ASSERT_TRUE(picked.ok());
  EXPECT_EQ(*picked, "2.15");  // numerically, not "2.9"
  EXPECT_FALSE(PickPureApiVersion({"1.17", "1.19", "3.x"}).ok());
  EXPECT_EQ(*PickPureApiVersion({"2.9", "2.10", "1.99"}), "2.10");
}

TEST(PureParse, Volumes) {
  REQUIRE_PURE_FIXTURES();
  auto page = ParsePureVolumesPage(Fixture("volumes.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->volumes.size(), 81u);
  EXPECT_EQ(page->next.token, "");  // null
  ASSERT_TRUE(page->next.more_items_remaining.has_value());
  EXPECT_FALSE(*page->next.more_items_remaining);

  const PureVolume* ds = Find(page->volumes, "z-fsa-esxi01-x70a-datastore01");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->id, "07d9f7ef-f4ab-87d1-3202-ce08ffb1247b");
  EXPECT_EQ(ds->serial, "6C1B16CE1C034D1C00024C6F");
  EXPECT_EQ(ds->provisioned_bytes, 4398046511104.0);
  EXPECT_NEAR(ds->created_unix, 1622302154.807, 1e-6);
  EXPECT_EQ(ds->pod, "");
  EXPECT_FALSE(ds->destroyed);
  EXPECT_EQ(ds->time_remaining_seconds, 0);

  const PureVolume* pod = Find(page->volumes, "z-ProdPod::z-cisco-AC-datastore-VSI-FC");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->pod, "z-ProdPod");
  EXPECT_EQ(pod->serial, "6C1B16CE1C034D1C00051838");
  EXPECT_EQ(pod->provisioned_bytes, 21990232555520.0);
  EXPECT_EQ(pod->used_bytes, 1916969338423.0);  // space.total_physical

  // vVols are named "<volume group>/<volume>".
  const auto vvol = std::find_if(page->volumes.begin(), page->volumes.end(), [](const PureVolume& v) {
    return v.name.view().find('/') != std::string_view::npos;
  });
  ASSERT_NE(vvol, page->volumes.end());
  std::string serial = vvol->serial.str();
  std::transform(serial.begin(), serial.end(), serial.begin(),
                 [](char c) { return static_cast<char>(std::tolower(c)); });
  EXPECT_EQ(vvol->wwid, "3624a9370" + serial) << vvol->name;
}

TEST(PureParse, ConnectionsGiveEachVolumeItsHosts) {
  REQUIRE_PURE_FIXTURES();
  auto volumes = ParsePureVolumesPage(Fixture("volumes.json"));
  auto connections = ParsePureConnectionsPage(Fixture("connections.json"));
  ASSERT_TRUE(volumes.ok() && connections.ok());
  EXPECT_EQ(connections->connections.size(), 171u);
  ApplyPureConnections(volumes->volumes, connections->connections);
  std::size_t connected = 0, host_entries = 0;
  for (const auto& v : volumes->volumes) {
    connected += v.hosts.empty() ? 0 : 1;
    host_entries += v.hosts.size();
  }
  EXPECT_EQ(connected, 58u);
  EXPECT_EQ(host_entries, 169u);  // two host-group connections have no host
  const PureVolume* pod = Find(volumes->volumes, "z-ProdPod::z-cisco-AC-datastore-VSI-FC");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->hosts, (std::vector<Text>{"z-c220-1-fc", "z-c220-2-fc", "z-c220-3-fc", "z-c220-4-fc",
                                           "z-m70-a:z-c220-1-fc", "z-m70-a:z-c220-2-fc",
                                           "z-m70-a:z-c220-3-fc", "z-m70-a:z-c220-4-fc"}));
  EXPECT_TRUE(Find(volumes->volumes, "z-fsa-esxi01-x70a-datastore01")->hosts.empty());

  // Every host name we attach is a host the array lists (not a host group).
  Json hosts = Json::parse(Fixture("hosts.json"));
  std::set<std::string> names;
  for (const auto& h : hosts["items"]) names.insert(h["name"].get<std::string>());
  for (const auto& v : volumes->volumes) {
    for (const auto& h : v.hosts) EXPECT_EQ(names.count(h.str()), 1u) << h;
  }
}

TEST(PureParse, ArrayName) {
  REQUIRE_PURE_FIXTURES();
  auto name = ParsePureArrays(Fixture("arrays.json"));
  ASSERT_TRUE(name.ok()) << name.error();
  EXPECT_EQ(*name, "z-x70-a");
  EXPECT_EQ(*ParsePureArrays(R"({"items":[]})"), "");
}

TEST(PureParse, DestroyedVolumesAndSpaceFallback) {
  auto page = ParsePureVolumesPage(R"({"items":[
      {"name":"cinder-pod::volume-1-cinder","id":"i1","serial":"ABC","provisioned":1073741824,
       "destroyed":true,"time_remaining":86400000,"created":1700000000000,"pod":{"name":"cinder-pod","id":"p"},
       "space":{"unique":100,"snapshots":20,"total_physical":null}},
      {"name":"v2","space":{"unique":5,"snapshots":1,"total_physical":7}}],
      "continuation_token":"abc","more_items_remaining":true})");
  ASSERT_TRUE(page.ok()) << page.error();
  const PureVolume& v = page->volumes[0];
  EXPECT_TRUE(v.destroyed);
  EXPECT_EQ(v.time_remaining_seconds, 86400);
  EXPECT_EQ(v.created_unix, 1700000000);
  EXPECT_EQ(v.pod, "cinder-pod");
  EXPECT_EQ(v.used_bytes, 120);
  EXPECT_EQ(page->volumes[1].used_bytes, 7);
  EXPECT_EQ(page->next.token, "abc");
  EXPECT_TRUE(page->next.more_items_remaining.value_or(false));
}

TEST(PureParse, TagsOfTheOpenStackNamespace) {
  auto page = ParsePureTagsPage(R"({"items":[
      {"namespace":"openstack-integration.purestorage.com","key":"VmId","value":"srv-1","resource":{"name":"a"}},
      {"namespace":"openstack-integration.purestorage.com","key":"ProjectId","value":"p1","resource":{"id":"id-b"}},
      {"namespace":"other","key":"VmId","value":"nope","resource":{"name":"a"}},
      {"namespace":"openstack-integration.purestorage.com","key":"VmId","value":"x","resource":{"name":"gone"}},
      {"key":"","resource":{"name":"a"}}]})");
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->tags.size(), 4u);
  std::vector<PureVolume> volumes(2);
  volumes[0].name = "a";
  volumes[1].name = "b";
  volumes[1].id = "id-b";
  ApplyPureTags(volumes, page->tags);
  EXPECT_EQ(volumes[0].tags, (std::map<std::string, std::string>{{"VmId", "srv-1"}}));
  EXPECT_EQ(volumes[1].tags, (std::map<std::string, std::string>{{"ProjectId", "p1"}}));
}

// A number that overflows a double used to throw nlohmann's out_of_range out of every parser.
TEST(PureParse, OverflowingNumbersAndDeepNestingAreErrorsNotExceptions) {
  for (const std::string& body : std::vector<std::string>{
           "[1e400]", R"({"a":1e400})", R"({"items":[{"name":"v","provisioned":1e400}]})",
           R"({"version":[1e400]})", std::string(100000, '[') + std::string(100000, ']'),
           R"({"items":)" + std::string(100000, '{')}) {
    EXPECT_NO_THROW({
      EXPECT_FALSE(ParsePureApiVersions(body).ok());
      EXPECT_FALSE(ParsePureVolumesPage(body).ok());
      EXPECT_FALSE(ParsePureConnectionsPage(body).ok());
      EXPECT_FALSE(ParsePureTagsPage(body).ok());
      EXPECT_FALSE(ParsePureArrays(body).ok());
    }) << body.substr(0, 60);
  }
  auto overflow = ParsePureVolumesPage(R"({"items":[{"name":"v","provisioned":1e400}]})");
  ASSERT_FALSE(overflow.ok());
  EXPECT_NE(overflow.error().find("invalid JSON: a number too large for a double"), std::string::npos)
      << overflow.error();
}

// Every value of a sample page replaced by every other type: errors or odd data, never an exception.
TEST(PureParse, WrongTypesAnywhereAreSurvived) {
  const Json versions = Json::parse(R"({"version":["2.0","2.15"]})");
  const Json volumes = Json::parse(R"({"items":[{"name":"v","id":"i","serial":"ABC","pod":{"name":"p"},
      "provisioned":1,"space":{"total_provisioned":1,"total_physical":2,"unique":1,"snapshots":1},"created":1,
      "destroyed":false,"time_remaining":null}],"continuation_token":"t","more_items_remaining":true})");
  const Json connections = Json::parse(
      R"({"items":[{"volume":{"name":"v","id":"i"},"host":{"name":"h"},"host_group":{"name":"g"}}]})");
  const Json tags =
      Json::parse(R"({"items":[{"resource":{"name":"v","id":"i"},"key":"k","namespace":"n","value":"x"}]})");
  const Json arrays = Json::parse(R"({"items":[{"name":"a"}]})");
  std::size_t n = 0;
  for (const auto& body : estate::testing::WrongTypeVariants(versions)) {
    EXPECT_NO_THROW((void)ParsePureApiVersions(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(volumes)) {
    EXPECT_NO_THROW((void)ParsePureVolumesPage(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(connections)) {
    EXPECT_NO_THROW((void)ParsePureConnectionsPage(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(tags)) {
    EXPECT_NO_THROW((void)ParsePureTagsPage(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(arrays)) {
    EXPECT_NO_THROW((void)ParsePureArrays(body)) << body;
    ++n;
  }
  EXPECT_GT(n, 500u);
}

TEST(PureParse, BadBodiesAreClearErrors) {
  auto garbage = ParsePureVolumesPage("\xff\xfe garbage");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().find("invalid JSON at byte"), std::string::npos) << garbage.error();
  auto no_items = ParsePureConnectionsPage(R"({"errors":[{"message":"nope"}]})");
  ASSERT_FALSE(no_items.ok());
  EXPECT_NE(no_items.error().find("\"items\""), std::string::npos);
  auto nameless = ParsePureVolumesPage(R"({"items":[{"name":"a"},{"serial":"x"}]})");
  ASSERT_FALSE(nameless.ok());
  EXPECT_NE(nameless.error().find("items[1]"), std::string::npos);
  EXPECT_FALSE(ParsePureApiVersions("").ok());
}

// ---- PureClient against a fake array ---------------------------------------------------------------------

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

// An array with `volumes` volumes (every third one destroyed), two host connections each for the even ones,
// and OpenStack tags. Listings page by continuation token, alternately given in the body and in the
// x-next-token header; tokens contain characters that need URL encoding.
class FakeArray {
 public:
  int volumes = 23;
  bool tags_supported = true;
  std::atomic<int> logins{0};
  std::atomic<int> logouts{0};

  void Install(FakeUpstream& fake) {
    fake.Route("GET", "/api/api_version", [](const FakeRequest&) {
      return JsonResponse(200, {{"version", {"1.19", "2.2", "2.9", "2.10"}}});
    });
    fake.Route("POST", "/api/2.10/login", [this](const FakeRequest& req) {
      if (Header(req, "api-token") != "secret-token")
        return JsonResponse(401, {{"errors", {{"message", "no"}}}});
      FakeResponse r = JsonResponse(200, {{"items", {{{"username", "monitor"}}}}});
      std::lock_guard<std::mutex> lock(mu_);
      const std::string session = "sess-" + std::to_string(++logins);
      sessions_.insert(session);
      r.headers = {{"x-auth-token", session}};
      return r;
    });
    fake.Route("POST", "/api/2.10/logout", [this](const FakeRequest& req) {
      std::lock_guard<std::mutex> lock(mu_);
      if (sessions_.erase(Header(req, "x-auth-token")) == 1) ++logouts;
      return JsonResponse(200, Json::object());
    });
    fake.Route("GET", "/api/2.10/arrays", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"errors", Json::array()}});
      return JsonResponse(200, {{"items", {{{"name", "pure-a"}, {"id", "arr-1"}}}}});
    });
    fake.Route("GET", "/api/2.10/volumes", [this](const FakeRequest& req) {
      return Page(req, volumes, [](int i) {
        Json v = {{"name", Name(i)},
                  {"id", "id-" + std::to_string(i)},
                  {"serial", "SERIAL" + std::to_string(i)},
                  {"provisioned", 1073741824.0 * (i + 1)},
                  {"created", 1700000000000 + i},
                  {"destroyed", i % 3 == 2},
                  {"time_remaining", i % 3 == 2 ? Json(3600000) : Json(nullptr)},
                  {"pod", {{"name", i == 0 ? Json("cinder-pod") : Json(nullptr)}}},
                  {"space", {{"total_physical", 1000 + i}}}};
        return v;
      });
    });
    fake.Route("GET", "/api/2.10/connections", [this](const FakeRequest& req) {
      return Page(req, volumes, [](int i) {
        // Item i: a connection of volume i (even volumes only get real hosts; odd ones a host group only).
        return Json{
            {"host", {{"name", i % 2 == 0 ? Json("compute-" + std::to_string(i % 4)) : Json(nullptr)}}},
            {"host_group", {{"name", "hg"}}},
            {"volume", {{"name", Name(i)}, {"id", "id-" + std::to_string(i)}}}};
      });
    });
    fake.Route("GET", "/api/2.10/volumes/tags", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"errors", Json::array()}});
      if (!tags_supported) return JsonResponse(404, {{"errors", {{{"message", "Not found."}}}}});
      if (QueryParam("?" + req.query, "namespaces") != kPureOpenStackTagNamespace) {
        return JsonResponse(400, {{"errors", Json::array()}});
      }
      return Page(req, 4, [](int i) {
        return Json{{"namespace", kPureOpenStackTagNamespace},
                    {"key", i % 2 ? "ProjectId" : "VmId"},
                    {"value", "v" + std::to_string(i)},
                    {"resource", {{"name", Name(i / 2)}}}};
      });
    });
  }

  static std::string Name(int i) {
    return (i == 0 ? "cinder-pod::" : "") + std::string("volume-") + std::to_string(i) + "-cinder";
  }
  void DropSessions() {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.clear();
  }

 private:
  bool Valid(const FakeRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    return sessions_.count(Header(req, "x-auth-token")) == 1;
  }

  template <typename Make>
  FakeResponse Page(const FakeRequest& req, int total, Make make) {
    if (!Valid(req)) return JsonResponse(401, {{"errors", Json::array()}});
    const int limit = std::stoi(QueryParam("?" + req.query, "limit"));
    const std::string token = QueryParam("?" + req.query, "continuation_token");
    int start = 0;
    if (!token.empty()) {
      if (token.rfind("c+/=", 0) != 0) return JsonResponse(400, {{"errors", {{{"message", "bad token"}}}}});
      start = std::stoi(token.substr(4));
    }
    Json items = Json::array();
    for (int i = start; i < total && i < start + limit; ++i) items.push_back(make(i));
    const bool more = start + limit < total;
    const std::string next = more ? "c+/=" + std::to_string(start + limit) : "";
    const bool in_header = (start / limit) % 2 == 1;
    Json body = {{"items", items}, {"more_items_remaining", more}, {"total_item_count", total}};
    body["continuation_token"] = more && !in_header ? Json(next) : Json(nullptr);
    FakeResponse r = JsonResponse(200, body);
    if (more && in_header) r.headers = {{"x-next-token", next}};
    return r;
  }

  std::mutex mu_;
  std::set<std::string> sessions_;
};

class PureClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.Start().ok());
    array_.Install(fake_);
  }

  PureOptions Options() const {
    PureOptions o;
    o.array = "pa";
    o.address = fake_.base_url();
    o.api_token = "secret-token";
    o.page_size = 5;
    o.http.timeout_seconds = 5;
    o.http.backoff_initial_seconds = 0.01;
    return o;
  }

  static Budget Seconds(double s) {
    Budget b;
    b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
    return b;
  }

  std::size_t Count(const std::string& method, const std::string& path) const {
    auto requests = fake_.Requests();
    return static_cast<std::size_t>(
        std::count_if(requests.begin(), requests.end(),
                      [&](const FakeRequest& r) { return r.method == method && r.path == path; }));
  }

  static Fault RateLimited(const std::string& path, std::vector<std::pair<std::string, std::string>> headers,
                           int remaining) {
    Fault f;
    f.kind = Fault::Kind::kStatus;
    f.status = 429;
    f.path_prefix = path;
    f.headers = std::move(headers);
    f.remaining = remaining;
    return f;
  }

  FakeUpstream fake_{FakeUpstream::Options{}};
  FakeArray array_;
  http::CurlHttpClient http_;
};

TEST_F(PureClientTest, CollectsEveryPageWithHostsAndTags) {
  PureClient client(http_, Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->array, "pa");
  EXPECT_EQ(snap->array_name, "pure-a");
  EXPECT_EQ(snap->api_version, "2.10");
  ASSERT_EQ(snap->volumes.size(), 23u);
  for (int i = 0; i < 23; ++i) {
    const PureVolume& v = snap->volumes[static_cast<std::size_t>(i)];
    EXPECT_EQ(v.name, FakeArray::Name(i));
    EXPECT_EQ(v.destroyed, i % 3 == 2) << i;
    EXPECT_EQ(v.time_remaining_seconds, i % 3 == 2 ? 3600 : 0) << i;
    EXPECT_EQ(v.hosts.size(), i % 2 == 0 ? 1u : 0u) << i;
  }
  EXPECT_EQ(snap->volumes[0].pod, "cinder-pod");
  EXPECT_EQ(snap->volumes[22].serial, "SERIAL22");
  EXPECT_EQ(snap->volumes[22].provisioned_bytes, 23.0 * 1073741824.0);
  EXPECT_EQ(snap->volumes[22].used_bytes, 1022);
  EXPECT_EQ(snap->volumes[6].hosts, (std::vector<Text>{"compute-2"}));
  EXPECT_EQ(snap->volumes[1].tags, (std::map<std::string, std::string>{{"VmId", "v2"}, {"ProjectId", "v3"}}));
  EXPECT_TRUE(snap->volumes[2].tags.empty());
  EXPECT_GT(snap->collected_unix, 1.6e9);
  // version + login + arrays + 5 volume pages + 5 connection pages + 1 tags page.
  EXPECT_EQ(client.last_requests(), 14);
  EXPECT_EQ(Count("GET", "/api/2.10/volumes"), 5u);
}

TEST_F(PureClientTest, KeepsTheSessionAcrossCollects) {
  PureClient client(http_, Options());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  EXPECT_EQ(array_.logins.load(), 1);
  EXPECT_EQ(Count("GET", "/api/api_version"), 1u);
  EXPECT_EQ(client.last_requests(), 12);
}

TEST_F(PureClientTest, LogsInAgainOnceOn401) {
  PureClient client(http_, Options());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  array_.DropSessions();  // the array forgot the session (timeout, failover)
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->volumes.size(), 23u);
  EXPECT_EQ(array_.logins.load(), 2);
  EXPECT_EQ(client.logins(), 2);
  EXPECT_EQ(Count("GET", "/api/api_version"), 1u);  // the version is kept
}

TEST_F(PureClientTest, RefusedTokenFailsWithoutEchoingIt) {
  PureOptions o = Options();
  o.api_token = "not-the-token";
  PureClient client(http_, o);
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("/api/2.10/login"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("refused"), std::string::npos) << snap.error();
  EXPECT_EQ(snap.error().find("not-the-token"), std::string::npos);
}

TEST_F(PureClientTest, ConfiguredVersionSkipsDiscovery) {
  PureOptions o = Options();
  o.api_version = "2.10";
  o.address = "http://" + fake_.base_url().substr(7) + "/";  // trailing slash tolerated
  PureClient client(http_, o);
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  EXPECT_EQ(Count("GET", "/api/api_version"), 0u);
}

TEST_F(PureClientTest, MissingTagsEndpointMeansNoTags) {
  array_.tags_supported = false;
  PureClient client(http_, Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  for (const auto& v : snap->volumes) EXPECT_TRUE(v.tags.empty());
  EXPECT_EQ(snap->volumes.size(), 23u);

  PureOptions o = Options();
  o.read_tags = false;
  PureClient no_tags(http_, o);
  fake_.ClearRequests();
  ASSERT_TRUE(no_tags.Collect(Seconds(20)).ok());
  EXPECT_EQ(Count("GET", "/api/2.10/volumes/tags"), 0u);
}

TEST_F(PureClientTest, LogoutEndsTheSessionAndTheNextCollectLogsIn) {
  PureClient client(http_, Options());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  client.Logout(Seconds(5));
  EXPECT_EQ(array_.logouts.load(), 1);
  client.Logout(Seconds(5));  // no session: nothing sent
  EXPECT_EQ(Count("POST", "/api/2.10/logout"), 1u);
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  EXPECT_EQ(array_.logins.load(), 2);
}

TEST_F(PureClientTest, WaitsOutRetryAfterOnLogin) {
  // POST is not retried by the HTTP client: this client waits for Retry-After itself.
  fake_.AddFault(RateLimited("/api/2.10/login", {{"Retry-After", "1"}}, 1));
  PureClient client(http_, Options());
  const auto start = Clock::now();
  auto snap = client.Collect(Seconds(20));
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_GE(took, 0.9);
  EXPECT_EQ(Count("POST", "/api/2.10/login"), 2u);
}

TEST_F(PureClientTest, WaitsOutAnEmptyPerSecondBucket) {
  fake_.AddFault(RateLimited("/api/2.10/volumes",
                             {{"X-RateLimit-Remaining-second", "0"}, {"X-RateLimit-Remaining-minute", "80"}},
                             1));
  PureOptions o = Options();
  o.http.max_retries = 0;  // so that the 429 reaches this client
  PureClient client(http_, o);
  const auto start = Clock::now();
  auto snap = client.Collect(Seconds(20));
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_GE(took, 0.9);
  EXPECT_EQ(Count("GET", "/api/2.10/volumes"), 6u);
}

TEST_F(PureClientTest, EmptyPerMinuteBucketBeyondTheBudgetFailsAtOnce) {
  fake_.AddFault(RateLimited("/api/2.10/volumes",
                             {{"X-RateLimit-Remaining-second", "5"}, {"X-RateLimit-Remaining-minute", "0"}},
                             -1));
  PureClient client(http_, Options());
  const auto start = Clock::now();
  auto snap = client.Collect(Seconds(5));
  const double took = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("per-minute"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("exceed the budget"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("/api/2.10/volumes"), std::string::npos) << snap.error();
  EXPECT_LT(took, 3.0);
}

TEST_F(PureClientTest, RepeatedContinuationTokenIsAPagingLoop) {
  fake_.Route("GET", "/api/2.10/connections", [](const FakeRequest&) {
    return JsonResponse(200, {{"items", Json::array()}, {"continuation_token", "same"}});
  });
  PureClient client(http_, Options());
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("paging loop"), std::string::npos) << snap.error();
  EXPECT_EQ(Count("GET", "/api/2.10/connections"), 2u);
}

TEST_F(PureClientTest, GarbageBodyNamesTheRequest) {
  Fault garbage;
  garbage.kind = Fault::Kind::kGarbage;
  garbage.path_prefix = "/api/2.10/connections";
  fake_.AddFault(garbage);
  PureClient client(http_, Options());
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("GET /api/2.10/connections"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("invalid JSON"), std::string::npos) << snap.error();
}

TEST_F(PureClientTest, CancelledBudgetFails) {
  PureClient client(http_, Options());
  Budget budget = Seconds(10);
  budget.cancel.Cancel();
  auto snap = client.Collect(budget);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("cancel"), std::string::npos) << snap.error();
}

}  // namespace
}  // namespace estate::storage
