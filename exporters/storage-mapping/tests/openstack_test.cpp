// OpenStack parsers against the recorded Keystone/Cinder/Nova samples, and OpenStackClient against an
// in-process fake cloud (our own invented data): paging, token reuse and re-authentication, loop and garbage
// detection, the admin-field check.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "cinder_parse.h"
#include "estate/http_client.h"
#include "estate/openstack/keystone.h"
#include "estate/openstack/paging.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/golden.h"
#include "estate/testing/json_variants.h"
#include "openstack_client.h"

namespace estate::storage {
namespace {

using namespace estate::openstack;  // NOLINT(google-build-using-namespace): the tests exercise both

using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using Json = nlohmann::json;

// ---- Parsers against recorded samples ------------------------------------------------------------------

#define REQUIRE_FIXTURES()                       \
  if (!estate::testing::HaveFixtures("storage")) \
  GTEST_SKIP() << "fixtures absent: " << estate::testing::FixturesDir() << "/storage"

std::string Fixture(const std::string& rel) {
  return estate::testing::ReadFileOrDie(estate::testing::FixturesDir() + "/storage/" + rel);
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(CinderParse, V369ListWithProviderIdAndNameId) {
  REQUIRE_FIXTURES();
  auto page = ParseCinderVolumesPage(Fixture("cinder/v3-volumes-list-detailed-response.v3.69.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->volumes.size(), 1u);
  const CinderVolume& v = page->volumes[0];
  EXPECT_EQ(v.id, "cb49b381-9012-40cb-b8ee-80c19a4801b5");
  EXPECT_EQ(v.name, "");  // null
  EXPECT_EQ(v.status, "creating");
  EXPECT_EQ(v.size_gb, 10);
  EXPECT_EQ(v.volume_type, "__DEFAULT__");
  EXPECT_EQ(v.project_id, "89afd400-b646-4bbc-b12b-c0a4d63e5bd3");
  EXPECT_EQ(v.provider_id, "");  // null, but the key is there
  EXPECT_EQ(v.name_id, "");
  EXPECT_FALSE(v.bootable);
  EXPECT_FALSE(v.multiattach);
  EXPECT_TRUE(v.attachments.empty());
  EXPECT_EQ(page->keys.volumes, 1u);
  EXPECT_EQ(page->keys.with_provider_id, 1u);
  EXPECT_EQ(page->keys.with_name_id, 1u);
  EXPECT_EQ(page->keys.with_backend_host, 1u);
  EXPECT_FALSE(page->has_next);
  // The admin view at 3.69 carries every admin key, even as null.
  EXPECT_TRUE(CheckAdminFields(page->keys, {}).complete());
}

TEST(CinderParse, V2ListWithAttachments) {
  REQUIRE_FIXTURES();
  auto page =
      ParseCinderVolumesPage(Fixture("cinder/v2-volumes-list-detailed-response.with-attachments.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->volumes.size(), 2u);
  const CinderVolume& v = page->volumes[0];
  EXPECT_EQ(v.id, "6edbc2f4-1507-44f8-ac0d-eed1d2608d38");
  EXPECT_EQ(v.name, "test-volume-attachments");
  EXPECT_EQ(v.status, "in-use");
  EXPECT_EQ(v.backend_host, "difleming@lvmdriver-1#lvmdriver-1");
  EXPECT_EQ(v.project_id, "bab7d5c60cd041a0a36f7c4b6e1dd978");
  EXPECT_TRUE(v.multiattach);
  ASSERT_EQ(v.attachments.size(), 1u);
  EXPECT_EQ(v.attachments[0].server_id, "f4fda93b-06e0-4743-8117-bc8bcecd651b");
  EXPECT_EQ(v.attachments[0].device, "/dev/vdb");
  EXPECT_EQ(v.attachments[0].host_name, "");  // null
  EXPECT_TRUE(page->volumes[1].bootable);     // "true" as a string
  EXPECT_TRUE(page->volumes[1].attachments.empty());
  EXPECT_EQ(page->volumes[1].size_gb, 1);
  // The next link's marker, not the last id on the page.
  EXPECT_TRUE(page->has_next);
  EXPECT_EQ(page->next_marker, "3b451d5d-9358-4a7e-a746-c6fd8b0e1462");
  // v2 has no provider_id, and its only attachment names no host.
  AdminCheck check = CheckAdminFields(page->keys, {});
  EXPECT_TRUE(Contains(check.missing_fields, "provider_id"));
  EXPECT_TRUE(Contains(check.missing_fields, "attachments[].host_name"));
  EXPECT_FALSE(Contains(check.missing_fields, "os-vol-host-attr:host"));
}

TEST(NovaParse, AdminListV273) {
  REQUIRE_FIXTURES();
  auto page = ParseNovaServersPage(Fixture("nova/servers-details-resp.v2.73.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->servers.size(), 1u);
  const NovaServer& s = page->servers[0];
  EXPECT_EQ(s.id, "2ce4c5b3-2866-4972-93ce-77a2ea46a7f9");
  EXPECT_EQ(s.name, "new-server-test");
  EXPECT_EQ(s.status, "ACTIVE");
  EXPECT_EQ(s.project_id, "6f70656e737461636b20342065766572");
  EXPECT_EQ(s.host_name, "new-server-test");
  EXPECT_EQ(s.hypervisor, "compute");
  EXPECT_EQ(s.hypervisor_hostname, "fake-mini");
  EXPECT_TRUE(CheckAdminFields({}, page->keys).complete());
}

TEST(NovaParse, NonAdminListV2100IsFlagged) {
  REQUIRE_FIXTURES();
  auto page = ParseNovaServersPage(Fixture("nova/servers-details-resp.v2.100.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_FALSE(page->servers.empty());
  for (const auto& s : page->servers) {
    EXPECT_FALSE(s.id.empty());
    EXPECT_EQ(s.hypervisor, "");
    EXPECT_EQ(s.hypervisor_hostname, "");
    EXPECT_FALSE(s.host_name.empty());
  }
  EXPECT_TRUE(page->has_next);
  EXPECT_EQ(page->next_marker, "f5dc173b-6804-445a-a6d8-c705dad5b5eb");
  AdminCheck check = CheckAdminFields({}, page->keys);
  EXPECT_FALSE(check.complete());
  EXPECT_TRUE(Contains(check.missing_fields, "OS-EXT-SRV-ATTR:host"));
  EXPECT_TRUE(Contains(check.missing_fields, "OS-EXT-SRV-ATTR:hypervisor_hostname"));
}

TEST(NovaParse, VolumesAttachedAndHostnameFallback) {
  auto page = ParseNovaServersPage(R"({"servers":[{"id":"s1","name":"web-01","tenant_id":"p1",
      "OS-EXT-SRV-ATTR:hostname":null,"OS-EXT-SRV-ATTR:host":null,
      "os-extended-volumes:volumes_attached":[{"id":"v1","delete_on_termination":false},{"id":"v2"}]}],
      "servers_links":[{"rel":"next","href":"http://x/servers/detail?limit=1"}]})");
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->servers[0].host_name, "web-01");
  EXPECT_EQ(page->keys.with_host, 1u);  // null, but present
  // A next link without a marker: continue after the last id.
  EXPECT_TRUE(page->has_next);
  EXPECT_EQ(page->next_marker, "s1");
}

TEST(OpenStackParse, BadBodiesAreClearErrors) {
  auto garbage = ParseCinderVolumesPage("\x01\xff<html>");
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().find("invalid JSON at byte"), std::string::npos) << garbage.error();
  auto truncated = ParseNovaServersPage(R"({"servers":[{"id":"a")");
  ASSERT_FALSE(truncated.ok());
  EXPECT_NE(truncated.error().find("invalid JSON"), std::string::npos);
  auto wrong = ParseCinderVolumesPage(R"({"volume":{}})");
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().find("\"volumes\""), std::string::npos);
  auto no_id = ParseCinderVolumesPage(R"({"volumes":[{"id":"a"},{"name":"b"}]})");
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.error().find("volumes[1]"), std::string::npos);
  EXPECT_FALSE(ParseProjectsPage("").ok());
  EXPECT_FALSE(ParseKeystoneToken(R"({"error":{}})").ok());
}

// A number that overflows a double used to throw nlohmann's out_of_range out of every parser.
TEST(OpenStackParse, OverflowingNumbersAndDeepNestingAreErrorsNotExceptions) {
  for (const std::string& body : std::vector<std::string>{
           "[1e400]", R"({"a":1e400})", R"({"volumes":[{"id":"v1","size":1e400}]})",
           R"({"token":{"expires_at":-1e400}})", std::string(100000, '[') + std::string(100000, ']'),
           R"({"servers":)" + std::string(100000, '{')}) {
    EXPECT_NO_THROW({
      EXPECT_FALSE(ParseKeystoneToken(body).ok());
      EXPECT_FALSE(ParseCinderVolumesPage(body).ok());
      EXPECT_FALSE(ParseNovaServersPage(body).ok());
      EXPECT_FALSE(ParseProjectsPage(body).ok());
    }) << body.substr(0, 60);
  }
  auto overflow = ParseCinderVolumesPage(R"({"volumes":[{"id":"v1","size":1e400}]})");
  ASSERT_FALSE(overflow.ok());
  EXPECT_NE(overflow.error().find("invalid JSON: a number too large for a double"), std::string::npos)
      << overflow.error();
  auto deep = ParseNovaServersPage(std::string(100000, '['));
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error(), "JSON nested deeper than 128 levels");
}

// Every value of a sample page replaced by every other type: errors or odd data, never an exception.
TEST(OpenStackParse, WrongTypesAnywhereAreSurvived) {
  const Json token =
      Json::parse(R"({"token":{"expires_at":"2027-01-01T00:00:00.000000Z","project":{"id":"p1"},
      "roles":[{"name":"admin"}],"catalog":[{"type":"volumev3","endpoints":[{"interface":"public",
      "region_id":"r1","region":"r1","url":"http://x/v3"}]}]}})");
  const Json volumes = Json::parse(R"({"volumes":[{"id":"v1","name":"n","status":"in-use","size":10,
      "volume_type":"t","os-vol-tenant-attr:tenant_id":"p1","os-vol-host-attr:host":"h@b#p",
      "os-vol-mig-status-attr:name_id":null,"provider_id":"x","metadata":{"array_volume_name":"a",
      "array_name":"b"},"bootable":"true","multiattach":false,"attachments":[{"server_id":"s1","host_name":"h",
      "device":"/dev/vdb"}]}],"volumes_links":[{"rel":"next","href":"http://x/volumes?marker=v1"}]})");
  const Json servers = Json::parse(R"({"servers":[{"id":"s1","name":"web","tenant_id":"p1","status":"ACTIVE",
      "OS-EXT-SRV-ATTR:hostname":"web","OS-EXT-SRV-ATTR:host":"cmp","OS-EXT-SRV-ATTR:hypervisor_hostname":"c"}],
      "servers_links":[{"rel":"next","href":"http://x/servers?marker=s1"}]})");
  const Json projects =
      Json::parse(R"({"projects":[{"id":"p1","name":"a"}],"links":{"next":"http://x/projects?marker=p1"}})");
  std::size_t n = 0;
  for (const auto& body : estate::testing::WrongTypeVariants(token)) {
    EXPECT_NO_THROW((void)ParseKeystoneToken(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(volumes)) {
    EXPECT_NO_THROW((void)ParseCinderVolumesPage(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(servers)) {
    EXPECT_NO_THROW((void)ParseNovaServersPage(body)) << body;
    ++n;
  }
  for (const auto& body : estate::testing::WrongTypeVariants(projects)) {
    EXPECT_NO_THROW((void)ParseProjectsPage(body)) << body;
    ++n;
  }
  EXPECT_GT(n, 900u);
}

TEST(AdminCheck, EmptyListingsLackNothing) { EXPECT_TRUE(CheckAdminFields({}, {}).complete()); }

// ---- OpenStackClient against a fake cloud --------------------------------------------------------------

std::string IsoIn(double seconds) {
  const std::time_t t = std::time(nullptr) + static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return buf;
}

FakeResponse JsonResponse(int status, const Json& body) {
  FakeResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

// A small cloud: Keystone (tokens, projects), Cinder and Nova with marker paging like the real services (a
// next link only when the page is full and more records follow).
class FakeCloud {
 public:
  int volumes = 25;
  int servers = 12;
  bool admin = true;
  double token_lifetime = 3600;
  std::atomic<int> auth_posts{0};
  std::atomic<int> volume_pages{0};
  std::atomic<int> revoked{0};
  // After this many volume pages every token issued so far stops working (0 = never).
  std::atomic<int> expire_tokens_after_volume_pages{0};

  void Install(FakeUpstream& fake) {
    base_ = fake.base_url();
    fake.Route("POST", "/identity/v3/auth/tokens", [this](const FakeRequest& req) {
      ++auth_posts;
      Json body = Json::parse(req.body, nullptr, false);
      if (body.is_discarded() || body["auth"]["identity"]["password"]["user"]["password"] != "pw" ||
          body["auth"]["scope"]["project"]["name"] != "admin") {
        return JsonResponse(401, {{"error", {{"code", 401}}}});
      }
      std::string token;
      {
        std::lock_guard<std::mutex> lock(mu_);
        token = "tok-" + std::to_string(++issued_);
        valid_.insert(token);
      }
      Json catalog = Json::array();
      catalog.push_back(
          {{"type", "identity"},
           {"endpoints", {{{"interface", "public"}, {"region_id", "R1"}, {"url", base_ + "/identity"}}}}});
      catalog.push_back(
          {{"type", "volumev3"},
           {"endpoints",
            {{{"interface", "public"}, {"region_id", "R1"}, {"url", "http://wrong.invalid/volume"}},
             {{"interface", "internal"}, {"region_id", "R1"}, {"url", base_ + "/volume/v3/p-admin/"}}}}});
      catalog.push_back(
          {{"type", "compute"},
           {"endpoints",
            {{{"interface", "internal"}, {"region_id", "R2"}, {"url", "http://wrong.invalid/compute"}},
             {{"interface", "internal"}, {"region_id", "R1"}, {"url", base_ + "/compute/v2.1"}}}}});
      FakeResponse r = JsonResponse(201, {{"token",
                                           {{"expires_at", IsoIn(token_lifetime)},
                                            {"project", {{"id", "p-admin"}}},
                                            {"catalog", catalog}}}});
      r.headers = {{"X-Subject-Token", token}};
      return r;
    });
    fake.Route("DELETE", "/identity/v3/auth/tokens", [this](const FakeRequest& req) {
      std::lock_guard<std::mutex> lock(mu_);
      if (Header(req, "x-auth-token") == Header(req, "x-subject-token") &&
          valid_.erase(Header(req, "x-subject-token")) == 1) {
        ++revoked;
      }
      FakeResponse r;
      r.status = 204;
      return r;
    });
    fake.Route("GET", "/volume/v3/p-admin/volumes/detail", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"error", "token"}});
      if (Header(req, "openstack-api-version") != "volume 3.21") return JsonResponse(400, {{"bad", "mv"}});
      if (QueryParam("?" + req.query, "all_tenants") != "1") return JsonResponse(400, {{"bad", "tenants"}});
      const int n = ++volume_pages;
      if (expire_tokens_after_volume_pages > 0 && n == expire_tokens_after_volume_pages) {
        std::lock_guard<std::mutex> lock(mu_);
        valid_.clear();
      }
      return Page(req, "volumes", volumes, [this](int i) { return Volume(i); });
    });
    fake.Route("GET", "/compute/v2.1/servers/detail", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"error", "token"}});
      if (Header(req, "openstack-api-version") != "compute 2.47") return JsonResponse(400, {{"bad", "mv"}});
      return Page(req, "servers", servers, [this](int i) { return Server(i); });
    });
    fake.Route("GET", "/identity/v3/projects", [this](const FakeRequest& req) {
      if (!Valid(req)) return JsonResponse(401, {{"error", "token"}});
      if (!admin) return JsonResponse(403, {{"error", "forbidden"}});
      if (req.query.empty()) {
        return JsonResponse(200, {{"projects", {{{"id", "p0"}, {"name", "alpha"}}}},
                                  {"links", {{"next", base_ + "/identity/v3/projects?marker=p0"}}}});
      }
      return JsonResponse(200,
                          {{"projects", {{{"id", "p1"}, {"name", "beta"}}}}, {"links", {{"next", nullptr}}}});
    });
  }

  static std::string VolumeId(int i) { return "vol-" + std::to_string(1000 + i); }
  static std::string ServerId(int i) { return "srv-" + std::to_string(1000 + i); }

 private:
  static std::string Header(const FakeRequest& req, const std::string& name) {
    auto it = req.headers.find(name);
    return it == req.headers.end() ? std::string() : it->second;
  }
  bool Valid(const FakeRequest& req) {
    std::lock_guard<std::mutex> lock(mu_);
    return valid_.count(Header(req, "x-auth-token")) == 1;
  }

  template <typename Make>
  FakeResponse Page(const FakeRequest& req, const std::string& kind, int total, Make make) {
    const int limit = std::stoi(QueryParam("?" + req.query, "limit"));
    const std::string marker = QueryParam("?" + req.query, "marker");
    int start = 0;
    if (!marker.empty()) start = std::stoi(marker.substr(4)) - 1000 + 1;
    Json items = Json::array();
    for (int i = start; i < total && i < start + limit; ++i) items.push_back(make(i));
    Json body = {{kind, items}};
    if (start + limit < total) {
      const std::string last = kind == "volumes" ? VolumeId(start + limit - 1) : ServerId(start + limit - 1);
      body[kind + "_links"] = {
          {{"rel", "next"},
           {"href", "http://elsewhere.invalid/x?limit=" + std::to_string(limit) + "&marker=" + last}}};
    }
    return JsonResponse(200, body);
  }

  Json Volume(int i) const {
    Json v = {
        {"id", VolumeId(i)},
        {"name", "data-" + std::to_string(i)},
        {"status", "in-use"},
        {"size", 10 + i},
        {"volume_type", "pure"},
        {"bootable", i == 0 ? "true" : "false"},
        {"multiattach", i == 1},
        {"os-vol-tenant-attr:tenant_id", "p" + std::to_string(i % 2)},
        {"metadata", {{"array_volume_name", "volume-" + VolumeId(i) + "-cinder"}, {"array_name", "pa"}}}};
    Json att = {{"server_id", ServerId(i % servers)},
                {"attachment_id", "att-" + std::to_string(i)},
                {"device", "/dev/vdb"},
                {"attached_at", "2024-01-01T00:00:00"},
                {"host_name", nullptr}};
    if (admin) {
      v["os-vol-host-attr:host"] = "cinder@pure#pool";
      v["os-vol-mig-status-attr:name_id"] = i == 2 ? Json("other-uuid") : Json(nullptr);
      v["provider_id"] = "volume-" + VolumeId(i) + "-cinder";
      att["host_name"] = "compute-" + std::to_string(i % 3);
    }
    v["attachments"] = Json::array({att});
    if (i == 1) {  // multi-attach: a second server
      Json second = att;
      second["server_id"] = ServerId(2);
      second["device"] = "/dev/vdc";
      v["attachments"].push_back(second);
    }
    return v;
  }

  Json Server(int i) const {
    Json s = {{"id", ServerId(i)},
              {"name", "vm-" + std::to_string(i)},
              {"status", "ACTIVE"},
              {"tenant_id", "p" + std::to_string(i % 2)},
              {"os-extended-volumes:volumes_attached", {{{"id", VolumeId(i)}}}}};
    if (admin) {
      s["OS-EXT-SRV-ATTR:hostname"] = "host-" + std::to_string(i);
      s["OS-EXT-SRV-ATTR:host"] = "compute-" + std::to_string(i % 3);
      s["OS-EXT-SRV-ATTR:hypervisor_hostname"] = "compute-" + std::to_string(i % 3) + ".example";
    }
    return s;
  }

  std::string base_;
  std::mutex mu_;
  int issued_ = 0;
  std::set<std::string> valid_;
};

class OpenStackClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake_.Start().ok());
    cloud_.Install(fake_);
  }

  OpenStackOptions Options() const {
    OpenStackOptions o;
    o.cloud = "prod";
    o.auth_url = fake_.base_url() + "/identity/v3/";
    o.region = "R1";
    o.interface = "internal";
    o.auth.username = "monitor";
    o.auth.password = "pw";
    o.auth.project_name = "admin";
    o.page_size = 10;
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

  FakeUpstream fake_{FakeUpstream::Options{}};
  FakeCloud cloud_;
  http::CurlHttpClient http_;
};

TEST_F(OpenStackClientTest, CollectsEveryPageOfVolumesServersAndProjects) {
  OpenStackClient client(http_, Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->cloud, "prod");
  ASSERT_EQ(snap->volumes.size(), 25u);
  ASSERT_EQ(snap->servers.size(), 12u);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(snap->volumes[static_cast<std::size_t>(i)].id, FakeCloud::VolumeId(i));
  const CinderVolume& v1 = snap->volumes[1];
  EXPECT_EQ(v1.name, "data-1");
  EXPECT_EQ(v1.size_gb, 11);
  EXPECT_EQ(v1.project_id, "p1");
  EXPECT_EQ(v1.backend_host, "cinder@pure#pool");
  EXPECT_EQ(v1.provider_id, "volume-vol-1001-cinder");
  EXPECT_EQ(v1.array_volume_name, "volume-vol-1001-cinder");
  EXPECT_EQ(v1.array_name, "pa");
  EXPECT_TRUE(v1.multiattach);
  ASSERT_EQ(v1.attachments.size(), 2u);
  EXPECT_EQ(v1.attachments[0].server_id, "srv-1001");
  EXPECT_EQ(v1.attachments[0].host_name, "compute-1");
  EXPECT_EQ(v1.attachments[1].server_id, "srv-1002");
  EXPECT_EQ(v1.attachments[1].device, "/dev/vdc");
  EXPECT_TRUE(snap->volumes[0].bootable);
  EXPECT_EQ(snap->volumes[2].name_id, "other-uuid");
  const NovaServer& s = snap->servers[11];
  EXPECT_EQ(s.id, "srv-1011");
  EXPECT_EQ(s.host_name, "host-11");
  EXPECT_EQ(s.hypervisor, "compute-2");
  EXPECT_EQ(s.hypervisor_hostname, "compute-2.example");
  EXPECT_EQ(snap->project_names, (std::map<std::string, Text, std::less<>>{{"p0", "alpha"}, {"p1", "beta"}}));
  EXPECT_TRUE(snap->admin.complete()) << snap->admin.missing_fields.front();
  EXPECT_GT(snap->collected_unix, 1.6e9);
  // 1 token + 3 volume pages + 2 server pages + 2 project pages.
  EXPECT_EQ(client.last_requests(), 8);
  EXPECT_EQ(Count("GET", "/volume/v3/p-admin/volumes/detail"), 3u);
  EXPECT_EQ(Count("GET", "/compute/v2.1/servers/detail"), 2u);
}

TEST_F(OpenStackClientTest, ReusesTheTokenAcrossCollectsUntilTheRefreshMargin) {
  OpenStackClient client(http_, Options());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  EXPECT_EQ(cloud_.auth_posts.load(), 1);
  EXPECT_EQ(client.last_requests(), 7);  // no token request the second time

  // A token already at its expiry: one new token per collect, not one per request.
  cloud_.token_lifetime = 0;
  OpenStackClient expiring(http_, Options());
  ASSERT_TRUE(expiring.Collect(Seconds(20)).ok());
  ASSERT_TRUE(expiring.Collect(Seconds(20)).ok());
  EXPECT_EQ(cloud_.auth_posts.load(), 3);
  EXPECT_EQ(expiring.last_requests(), 8);

  // Living shorter than the 300 s margin: renewed half-way through its life instead, so reused here.
  cloud_.token_lifetime = 200;
  OpenStackClient short_lived(http_, Options());
  ASSERT_TRUE(short_lived.Collect(Seconds(20)).ok());
  ASSERT_TRUE(short_lived.Collect(Seconds(20)).ok());
  EXPECT_EQ(cloud_.auth_posts.load(), 4);
}

TEST_F(OpenStackClientTest, TokenExpiringMidCollectReauthenticatesAndFinishes) {
  cloud_.expire_tokens_after_volume_pages = 1;  // page 1 is served, then the token is dead
  OpenStackClient client(http_, Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->volumes.size(), 25u);
  EXPECT_EQ(snap->servers.size(), 12u);
  EXPECT_EQ(cloud_.auth_posts.load(), 2);
  EXPECT_EQ(client.authentications(), 2);
  // 2 tokens + 3 volume pages + the refused one + 2 server pages + 2 project pages.
  EXPECT_EQ(client.last_requests(), 10);
}

TEST_F(OpenStackClientTest, RefusedCredentialsFailTheCollect) {
  OpenStackOptions o = Options();
  o.auth.password = "wrong";
  OpenStackClient client(http_, o);
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("/identity/v3/auth/tokens"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("credentials refused"), std::string::npos) << snap.error();
  EXPECT_EQ(snap.error().find("wrong"), std::string::npos);
}

TEST_F(OpenStackClientTest, MissingEndpointIsAnError) {
  OpenStackOptions o = Options();
  o.region = "R9";
  OpenStackClient client(http_, o);
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("R9"), std::string::npos) << snap.error();
}

TEST_F(OpenStackClientTest, NonAdminTokenIsFlaggedNotFailed) {
  cloud_.admin = false;
  OpenStackClient client(http_, Options());
  auto snap = client.Collect(Seconds(20));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->volumes.size(), 25u);
  const auto& missing = snap->admin.missing_fields;
  EXPECT_FALSE(snap->admin.complete());
  for (const char* field :
       {"os-vol-host-attr:host", "os-vol-mig-status-attr:name_id", "provider_id", "attachments[].host_name",
        "OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:hypervisor_hostname", "projects[].name"}) {
    EXPECT_TRUE(Contains(missing, field)) << field;
  }
  EXPECT_TRUE(snap->project_names.empty());
  EXPECT_EQ(snap->servers[3].host_name, "vm-3");  // no OS-EXT-SRV-ATTR:hostname: the name
}

TEST_F(OpenStackClientTest, RepeatedMarkerIsAPagingLoop) {
  fake_.Route("GET", "/volume/v3/p-admin/volumes/detail", [](const FakeRequest&) {
    return JsonResponse(200, {{"volumes", {{{"id", "a"}}, {{"id", "b"}}}},
                              {"volumes_links", {{{"rel", "next"}, {"href", "http://x/v?marker=b"}}}}});
  });
  OpenStackClient client(http_, Options());
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("paging loop"), std::string::npos) << snap.error();
  EXPECT_LE(Count("GET", "/volume/v3/p-admin/volumes/detail"), 3u);
}

TEST_F(OpenStackClientTest, EndlessDistinctMarkersHitThePageBound) {
  std::atomic<int> n{0};
  fake_.Route("GET", "/compute/v2.1/servers/detail", [&n](const FakeRequest&) {
    const std::string id = "s" + std::to_string(++n);
    return JsonResponse(200, {{"servers", {{{"id", id}}}},
                              {"servers_links", {{{"rel", "next"}, {"href", "http://x/s?marker=" + id}}}}});
  });
  OpenStackOptions o = Options();
  o.max_items = 50;  // 50 / 10 + 10 = 15 pages at most
  OpenStackClient client(http_, o);
  auto snap = client.Collect(Seconds(20));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("more than 15 pages"), std::string::npos) << snap.error();
  EXPECT_EQ(n.load(), 15);
}

TEST_F(OpenStackClientTest, GarbageBodyNamesTheRequest) {
  Fault garbage;
  garbage.kind = Fault::Kind::kGarbage;
  garbage.path_prefix = "/compute/";
  fake_.AddFault(garbage);
  OpenStackClient client(http_, Options());
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("/compute/v2.1/servers/detail"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("invalid JSON"), std::string::npos) << snap.error();
}

TEST_F(OpenStackClientTest, ServerErrorsFailTheWholeCollect) {
  Fault broken;
  broken.kind = Fault::Kind::kStatus;
  broken.status = 503;
  broken.path_prefix = "/volume/";
  fake_.AddFault(broken);
  OpenStackClient client(http_, Options());
  auto snap = client.Collect(Seconds(10));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("HTTP 503"), std::string::npos) << snap.error();
}

TEST_F(OpenStackClientTest, CancelledBudgetStopsBetweenPages) {
  OpenStackClient client(http_, Options());
  Budget budget = Seconds(10);
  budget.cancel.Cancel();
  auto snap = client.Collect(budget);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("cancelled"), std::string::npos) << snap.error();
}

TEST_F(OpenStackClientTest, RevokeTokenDeletesItAndTheNextCollectAuthenticates) {
  OpenStackClient client(http_, Options());
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  client.RevokeToken(Seconds(5));
  EXPECT_EQ(cloud_.revoked.load(), 1);
  client.RevokeToken(Seconds(5));  // nothing left to revoke
  EXPECT_EQ(Count("DELETE", "/identity/v3/auth/tokens"), 1u);
  ASSERT_TRUE(client.Collect(Seconds(20)).ok());
  EXPECT_EQ(cloud_.auth_posts.load(), 2);
}

}  // namespace
}  // namespace estate::storage
