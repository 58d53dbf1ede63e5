// Keystone v3 parsers against recorded samples (../shared/fixtures/storage/keystone, skipped when absent) and
// bodies written here.
#include "estate/openstack/keystone.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "estate/openstack/paging.h"
#include "estate/testing/golden.h"

namespace estate::openstack {
namespace {

using Json = nlohmann::json;

#define REQUIRE_FIXTURES()                       \
  if (!estate::testing::HaveFixtures("storage")) \
  GTEST_SKIP() << "fixtures absent: " << estate::testing::FixturesDir() << "/storage"

std::string Fixture(const std::string& rel) {
  return estate::testing::ReadFileOrDie(estate::testing::FixturesDir() + "/storage/" + rel);
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(KeystoneParse, ProjectScopedTokenWithFullCatalog) {
  REQUIRE_FIXTURES();
  auto token = ParseKeystoneToken(Fixture("keystone/admin_auth-password-project-scoped-response.json"));
  ASSERT_TRUE(token.ok()) << token.error();
  EXPECT_EQ(token->expires_at, "2015-11-07T02:58:43.578887Z");
  EXPECT_NEAR(token->expires_unix, 1446865123.578887, 1e-3);
  EXPECT_EQ(token->project_id, "a6944d763bf64ee6a275f1263fae0352");
  EXPECT_TRUE(Contains(token->roles, "admin"));
  EXPECT_GT(token->catalog.size(), 30u);

  auto compute = SelectEndpoint(token->catalog, kComputeServiceTypes, "public", "");
  ASSERT_TRUE(compute.ok()) << compute.error();
  EXPECT_EQ(*compute, "http://23.253.248.171:8774/v2.1/a6944d763bf64ee6a275f1263fae0352");
  // No volumev3 or block-storage in this catalog: the "volume" type is the last choice.
  auto volume = SelectEndpoint(token->catalog, kVolumeServiceTypes, "internal", "RegionOne");
  ASSERT_TRUE(volume.ok()) << volume.error();
  EXPECT_EQ(*volume, "http://23.253.248.171:8776/v1/a6944d763bf64ee6a275f1263fae0352");
  // volumev2 when asked for it; the trailing slash of a catalog URL is dropped.
  auto v2 = SelectEndpoint(token->catalog, {"volumev2"}, "adminURL", "RegionOne");
  ASSERT_TRUE(v2.ok()) << v2.error();
  EXPECT_EQ(*v2, "http://23.253.248.171:8776/v2/a6944d763bf64ee6a275f1263fae0352");
  auto network = SelectEndpoint(token->catalog, {"network"}, "public", "");
  ASSERT_TRUE(network.ok());
  EXPECT_EQ(*network, "http://23.253.248.171:9696");

  auto elsewhere = SelectEndpoint(token->catalog, kComputeServiceTypes, "public", "RegionTwo");
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_NE(elsewhere.error().find("compute"), std::string::npos);
  EXPECT_NE(elsewhere.error().find("RegionTwo"), std::string::npos);
}

TEST(KeystoneParse, ApplicationCredentialToken) {
  REQUIRE_FIXTURES();
  auto token = ParseKeystoneToken(Fixture("keystone/admin_auth-application-credential-response.json"));
  ASSERT_TRUE(token.ok()) << token.error();
  EXPECT_EQ(token->project_id, "231c62fb0fbd485b995e8b060c3f0d98");
  EXPECT_NEAR(token->expires_unix, 1516054445.0, 1e-3);
  EXPECT_TRUE(Contains(token->roles, "Member"));
  auto identity = SelectEndpoint(token->catalog, {"identity"}, "public", "RegionOne");
  ASSERT_TRUE(identity.ok());
  EXPECT_EQ(*identity, "http://example.com/identity");
  EXPECT_FALSE(SelectEndpoint(token->catalog, kVolumeServiceTypes, "public", "").ok());
}

TEST(KeystoneParse, AuthRequestBodies) {
  REQUIRE_FIXTURES();
  // Keystone's samples name the user by id; we name it by name and domain, the rest has the samples' shape.
  Json sample = Json::parse(Fixture("keystone/auth_requests_project-name-password.json"));
  KeystoneAuth auth;
  auth.username = "monitor";
  auth.user_domain_name = "Ops";
  auth.password = "devstacker";
  auth.project_name = sample["auth"]["scope"]["project"]["name"];
  auth.project_domain_name = "Default";
  Json body = Json::parse(BuildKeystoneAuthRequest(auth));
  EXPECT_EQ(body["auth"]["identity"]["methods"], sample["auth"]["identity"]["methods"]);
  EXPECT_EQ(body["auth"]["identity"]["password"]["user"],
            (Json{{"name", "monitor"}, {"domain", {{"name", "Ops"}}}, {"password", "devstacker"}}));
  EXPECT_EQ(body["auth"]["scope"]["project"]["name"], "admin");
  EXPECT_EQ(body["auth"]["scope"]["project"]["domain"], (Json{{"name", "Default"}}));

  Json by_id = Json::parse(Fixture("keystone/auth_requests_project-id-password.json"));
  auth.project_id = by_id["auth"]["scope"]["project"]["id"];
  EXPECT_EQ(Json::parse(BuildKeystoneAuthRequest(auth))["auth"]["scope"], by_id["auth"]["scope"]);

  Json app_sample = Json::parse(Fixture("keystone/admin_auth-application-credential-id-request.json"));
  KeystoneAuth app;
  app.method = "application_credential";
  app.application_credential_id = app_sample["auth"]["identity"]["application_credential"]["id"];
  app.application_credential_secret = app_sample["auth"]["identity"]["application_credential"]["secret"];
  EXPECT_EQ(Json::parse(BuildKeystoneAuthRequest(app)), app_sample);
}

TEST(KeystoneParse, ApplicationCredentialByNameNamesTheUser) {
  KeystoneAuth app;
  app.method = "application_credential";
  app.application_credential_name = "monitoring";
  app.application_credential_secret = "s3cret";
  app.username = "exporter";
  app.user_domain_name = "Ops";
  Json body = Json::parse(BuildKeystoneAuthRequest(app));
  const Json& cred = body["auth"]["identity"]["application_credential"];
  EXPECT_EQ(cred["name"], "monitoring");
  EXPECT_EQ(cred["secret"], "s3cret");
  EXPECT_EQ(cred["user"]["name"], "exporter");
  EXPECT_EQ(cred["user"]["domain"]["name"], "Ops");
  EXPECT_FALSE(body["auth"].contains("scope"));
}

TEST(OpenStackParse, ProjectsAndQueryParams) {
  auto page = ParseProjectsPage(R"({"projects":[{"id":"p1","name":"alpha"},{"id":"p2","name":null}],
      "links":{"next":"http://k/v3/projects?marker=p2","self":"x","previous":null}})");
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->projects.size(), 2u);
  EXPECT_EQ(page->projects[0], (std::pair<std::string, std::string>{"p1", "alpha"}));
  EXPECT_EQ(page->next, "http://k/v3/projects?marker=p2");
  EXPECT_EQ(QueryParam("http://h/x?limit=1&marker=a%2Bb", "marker"), "a+b");
  EXPECT_EQ(QueryParam("http://h/x?limit=1", "marker"), "");
  EXPECT_EQ(QueryParam("http://h/marker", "marker"), "");
}

}  // namespace
}  // namespace estate::openstack
