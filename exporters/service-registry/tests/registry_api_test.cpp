// The JSON API: the documented schema for the list and one app, filters, 404 JSON for an unknown app, 400 for
// a bad parameter, 503 before the first join.
#include "registry_api.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "first_seen_store.h"
#include "registry_test_data.h"

namespace estate::registry {
namespace {

using test::kNow;

RegistryView View() {
  RegistryView view = Join(test::Inputs(), test::Options(), kNow);
  FirstSeenStore store;
  store.Update(view.apps, view.registry_known, kNow - 86400);
  return view;
}

web::HttpResponse Get(const std::string& path, const std::string& query, const RegistryView* view) {
  web::HttpRequest req;
  req.method = "GET";
  req.path = path;
  req.query = query;
  return HandleApi(req, view);
}

nlohmann::json Body(const web::HttpResponse& r) { return nlohmann::json::parse(r.body); }

TEST(RegistryApiTest, ListHasTheDocumentedSchema) {
  RegistryView view = View();
  auto r = Get("/api/registry/v1/apps", "", &view);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = Body(r);
  EXPECT_EQ(j["schema_version"], 1);
  EXPECT_EQ(j["generated_at"], "2025-12-04T10:00:00Z");
  EXPECT_EQ(j["registry_known"], true);
  EXPECT_EQ(j["count"], 5);
  EXPECT_EQ(j["vm_count"], 9);
  EXPECT_EQ(j["unmatched_vm_count"], 2);
  ASSERT_EQ(j["apps"].size(), 5u);
  std::vector<std::string> keys;
  for (auto it = j["apps"][0].begin(); it != j["apps"][0].end(); ++it) keys.push_back(it.key());
  // nlohmann::json sorts keys; the documented order is checked on the raw body below.
  EXPECT_EQ(keys.size(), 11u);
  EXPECT_NE(
      r.body.find("{\"app\":\"iex\",\"registered\":false,\"reason\":\"no record\",\"record\":null,"
                  "\"first_seen\":\"2025-12-03T10:00:00Z\",\"vm_count\":1,\"colours\":{\"\":1},\"vms\":["
                  "{\"name\":\"iex-fokpp01\",\"id\":\"id-iex-fokpp01\",\"colour\":\"\",\"hypervisor\":"
                  "\"hv-lenovo-01\",\"project\":\"proj\",\"status\":\"ACTIVE\",\"source\":\"nova:prod\"}],"
                  "\"hypervisor_teams\":[\"Lenovo Ops\"],\"pipelines\":[\"deploy-prod\",\"iex-build\"],"
                  "\"pipeline_users\":[{\"user\":\"alice\",\"runs\":3},{\"user\":\"bob\",\"runs\":1}]}"),
      std::string::npos)
      << r.body;
}

TEST(RegistryApiTest, FilterByRegistration) {
  RegistryView view = View();
  auto unreg = Body(Get("/api/registry/v1/apps", "registered=false", &view));
  EXPECT_EQ(unreg["count"], 3);
  auto reg = Body(Get("/api/registry/v1/apps", "registered=true", &view));
  EXPECT_EQ(reg["count"], 2);
  EXPECT_EQ(Get("/api/registry/v1/apps", "registered=maybe", &view).status, 400);
  auto bad = Get("/api/registry/v1/apps", "colour=a", &view);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(Body(bad)["error"], "unknown parameter \"colour\"");
}

TEST(RegistryApiTest, OneAppAnyCase) {
  RegistryView view = View();
  auto r = Get("/api/registry/v1/apps/XYZ", "", &view);
  ASSERT_EQ(r.status, 200);
  auto j = Body(r);
  EXPECT_EQ(j["app"]["app"], "xyz");
  EXPECT_EQ(j["app"]["vm_count"], 3);
  EXPECT_EQ(j["app"]["colours"]["a"], 2);
  EXPECT_EQ(j["app"]["colours"]["b"], 1);
  ASSERT_EQ(j["app"]["vms"].size(), 3u);
  EXPECT_EQ(j["app"]["vms"][2]["name"], "xyz-web-b01");
  EXPECT_EQ(j["app"]["vms"][2]["colour"], "b");
  auto pay = Body(Get("/api/registry/v1/apps/pay", "", &view));
  EXPECT_EQ(pay["app"]["registered"], true);
  EXPECT_EQ(pay["app"]["record"]["sys_id"], "sys-PAY");
  EXPECT_EQ(pay["app"]["record"]["owner"], "jdoe");
  EXPECT_TRUE(pay["app"]["first_seen"].is_null());
  auto old = Body(Get("/api/registry/v1/apps/old", "", &view));
  EXPECT_EQ(old["app"]["reason"], "install_status 7 (Retired)");
  EXPECT_EQ(old["app"]["record"]["install_status"], "7");
}

TEST(RegistryApiTest, UnknownAppIs404Json) {
  RegistryView view = View();
  auto r = Get("/api/registry/v1/apps/nope", "", &view);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(Body(r)["error"], "no such app");
  EXPECT_EQ(Body(r)["app"], "nope");
  EXPECT_EQ(Get("/api/registry/v1/apps/" + std::string(100, 'x'), "", &view).status, 400);
  // Invalid UTF-8 in the name comes back valid.
  auto bin = Get("/api/registry/v1/apps/\xff\xfe", "", &view);
  EXPECT_EQ(bin.status, 404);
  EXPECT_NO_THROW(Body(bin));
}

TEST(RegistryApiTest, NoDataYet) {
  EXPECT_EQ(Get("/api/registry/v1/apps", "", nullptr).status, 503);
  EXPECT_EQ(Get("/api/registry/v1/apps/xyz", "", nullptr).status, 503);
}

}  // namespace
}  // namespace estate::registry
