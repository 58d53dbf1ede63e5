// The simulated ServiceNow (tools/simestate/sim_servicenow.h): the Table API answers it gives (paging
// headers, fields, display values, queries, auth, rate limit, HTML login), and ServiceNowClient reading the
// demo's records model from it: two apps without a record, one registered, one retired, one registered
// yesterday, and the hypervisors' cmdb_ci_server support groups.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/link_traps.h"
#include "servicenow_client.h"
#include "servicenow_parse.h"
#include "sim_servicenow.h"

namespace estate::registry {
namespace {

using estate::simestate::ServiceNowSimOptions;
using estate::simestate::SimServiceNow;
using estate::simestate::SnowBusinessApp;
using estate::simestate::SnowRecord;
using estate::simestate::SnowServer;
using estate::testing::FakeUpstream;
using Json = nlohmann::json;

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

http::Auth BasicAuth(const std::string& user, const std::string& password) {
  http::Auth a;
  a.kind = http::Auth::Kind::kBasic;
  a.username = user;
  a.password = password;
  return a;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class SimServiceNowTest : public ::testing::Test {
 protected:
  void Start(ServiceNowSimOptions o) {
    sim = std::make_unique<SimServiceNow>(o);
    sim->Install(fake);
    ASSERT_TRUE(fake.Start().ok());
  }

  http::Response Get(const std::string& target, http::Auth auth = {}) {
    http::ClientOptions o;
    o.max_retries = 0;
    o.auth = auth;
    http::Request r;
    r.url = fake.base_url() + target;
    auto resp = http.Do(r, o, Seconds(5));
    EXPECT_TRUE(resp.ok()) << resp.error();
    return resp.ok() ? *resp : http::Response{};
  }

  // The demo's records: "pay" registered, "old" retired, "new" registered yesterday; "abc" and "xyz" run VMs
  // but have no record at all. Two hypervisors with support groups, one without.
  void FillDemo() {
    const double now = Now();
    sim->PutRecord("cmdb_ci_business_app",
                   SnowBusinessApp("pay", "Payments", "1", "alice", "Team Payments", now - 400 * 86400));
    sim->PutRecord("cmdb_ci_business_app",
                   SnowBusinessApp("old", "Old Ledger", "7", "bob", "", now - 900 * 86400));
    sim->PutRecord("cmdb_ci_business_app",
                   SnowBusinessApp("new", "Newcomer", "1", "", "Team New", now - 86400));
    sim->PutRecord("cmdb_ci_server", SnowServer("hv-a1", "hv-a1.sim.example", "Compute Alpha"));
    sim->PutRecord("cmdb_ci_server", SnowServer("hv-b1", "hv-b1.sim.example", "Compute Beta"));
    sim->PutRecord("cmdb_ci_server", SnowServer("hv-c1", "hv-c1.sim.example", ""));
  }

  FakeUpstream fake{estate::testing::SmallUpstream()};
  http::CurlHttpClient http;
  std::unique_ptr<SimServiceNow> sim;
};

TEST_F(SimServiceNowTest, PagesWithTotalCountAndLinkHeaders) {
  Start({});
  for (int i = 0; i < 25; ++i) {
    sim->PutRecord("cmdb_ci_appl",
                   {{"name", "app" + std::to_string(i)}, {"install_status", i == 3 ? "7" : "1"}});
  }
  auto resp =
      Get("/api/now/table/cmdb_ci_appl?sysparm_query=ORDERBYsys_id&sysparm_limit=10&sysparm_offset=10"
          "&sysparm_fields=sys_id%2Cinstall_status&sysparm_display_value=all");
  ASSERT_EQ(resp.status, 200);
  EXPECT_EQ(resp.Header("x-total-count"), "25");
  auto links = ParseLinkHeader(resp.Header("link"));
  ASSERT_TRUE(links.ok()) << links.error();
  const std::string next = LinkWithRel(*links, "next");
  EXPECT_NE(next.find(fake.base_url() + "/api/now/table/cmdb_ci_appl?"), std::string::npos) << next;
  EXPECT_NE(next.find("sysparm_offset=20"), std::string::npos) << next;
  EXPECT_NE(LinkWithRel(*links, "prev").find("sysparm_offset=0"), std::string::npos);
  EXPECT_NE(LinkWithRel(*links, "last").find("sysparm_offset=20"), std::string::npos);
  auto page = ParseTablePage(resp.Header("content-type"), resp.body, {"sys_id", "install_status", "name"});
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->rows.size(), 10u);
  for (std::size_t i = 1; i < page->rows.size(); ++i)
    EXPECT_LT(page->rows[i - 1][0].value, page->rows[i][0].value);
  EXPECT_EQ(page->rows[0][2].value, "");  // not among sysparm_fields
  const Json doc = Json::parse(resp.body);
  EXPECT_TRUE(doc["result"][0]["install_status"].contains("display_value"));

  auto last = Get("/api/now/table/cmdb_ci_appl?sysparm_limit=10&sysparm_offset=20");
  auto last_links = ParseLinkHeader(last.Header("link"));
  ASSERT_TRUE(last_links.ok());
  EXPECT_EQ(LinkWithRel(*last_links, "next"), "");
  EXPECT_EQ(Json::parse(last.body)["result"].size(), 5u);
}

TEST_F(SimServiceNowTest, QueriesFilterAndOrder) {
  Start({});
  FillDemo();
  auto resp =
      Get("/api/now/table/cmdb_ci_business_app?sysparm_query=install_status%3D1%5EORDERBYDESCname"
          "&sysparm_fields=name");
  ASSERT_EQ(resp.status, 200);
  EXPECT_EQ(Json::parse(resp.body)["result"], Json::parse(R"([{"name":"Payments"},{"name":"Newcomer"}])"));
  EXPECT_EQ(
      Get("/api/now/table/cmdb_ci_business_app?sysparm_query=nameSTARTSWITHOld").Header("x-total-count"),
      "1");
  EXPECT_EQ(Get("/api/now/table/cmdb_ci_business_app?sysparm_query=a%3D1%5EORb%3D2").status, 400);
  auto unknown = Get("/api/now/table/cmdb_ci_business_app_x");
  EXPECT_EQ(unknown.status, 404);  // no route at all for a table the sim never had
  sim->AddTable("cmdb_ci_service_auto");
  EXPECT_EQ(Get("/api/now/table/cmdb_ci_service_auto").Header("x-total-count"), "0");
}

TEST_F(SimServiceNowTest, BasicAndBearerAuth) {
  Start({.username = "svc", .password = "pw", .bearer_token = "tok"});
  sim->PutRecord("cmdb_ci_server", SnowServer("hv1", "hv1.x", "G"));
  auto denied = Get("/api/now/table/cmdb_ci_server");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(ErrorDocumentMessage(denied.body), "User Not Authenticated");
  http::Auth basic = BasicAuth("svc", "pw");
  EXPECT_EQ(Get("/api/now/table/cmdb_ci_server", basic).status, 200);
  basic.password = "wrong";
  EXPECT_EQ(Get("/api/now/table/cmdb_ci_server", basic).status, 401);
  http::Auth bearer;
  bearer.kind = http::Auth::Kind::kBearer;
  bearer.token = "tok";
  EXPECT_EQ(Get("/api/now/table/cmdb_ci_server", bearer).status, 200);
}

TEST_F(SimServiceNowTest, RateLimitAnswers429WithRetryAfterAndQuotaHeaders) {
  Start({.rate_limit_requests = 2, .rate_limit_window_seconds = 60});
  sim->AddTable("cmdb_ci_server");
  auto first = Get("/api/now/table/cmdb_ci_server");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.Header("x-ratelimit-limit"), "2");
  EXPECT_EQ(first.Header("x-ratelimit-remaining"), "1");
  EXPECT_EQ(Get("/api/now/table/cmdb_ci_server").Header("x-ratelimit-remaining"), "0");
  auto refused = Get("/api/now/table/cmdb_ci_server");
  EXPECT_EQ(refused.status, 429);
  EXPECT_GE(http::ParseRetryAfter(refused.Header("retry-after")), 58);
  EXPECT_GT(
      RateLimitResetWait(refused.Header("x-ratelimit-remaining"), refused.Header("x-ratelimit-reset"), Now()),
      57);
  EXPECT_EQ(sim->rate_limited(), 1);
  EXPECT_EQ(sim->requests(), 3);
}

TEST_F(SimServiceNowTest, HtmlLoginModeFailsTheClient) {
  Start({});
  FillDemo();
  sim->SetHtmlLogin(true);
  auto resp = Get("/api/now/table/cmdb_ci_business_app");
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.Header("content-type").rfind("text/html", 0), 0u);
  ServiceNowOptions o;
  o.url = fake.base_url();
  ServiceNowClient client(http, o);
  auto snap = client.Collect(Seconds(5));
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("ServiceNow answered with an HTML page (SSO login?)"), std::string::npos);
  sim->SetHtmlLogin(false);
  EXPECT_TRUE(client.Collect(Seconds(5)).ok());
}

TEST_F(SimServiceNowTest, TheClientReadsTheDemoModel) {
  Start({.username = "svc", .password = "pw"});
  FillDemo();
  ServiceNowOptions o;
  o.url = fake.base_url();
  o.server_table = "cmdb_ci_server";
  o.page_size = 2;
  o.http.auth = BasicAuth("svc", "pw");
  ServiceNowClient client(http, o);
  auto snap = client.Collect(Seconds(10));
  ASSERT_TRUE(snap.ok()) << snap.error();
  std::map<std::string, CmdbRecord> by_code;
  for (const auto& r : snap->records) by_code[r.app_code] = r;
  ASSERT_EQ(by_code.size(), 3u);
  EXPECT_FALSE(by_code.contains("abc"));
  EXPECT_FALSE(by_code.contains("xyz"));
  EXPECT_TRUE(by_code["pay"].registered);
  EXPECT_EQ(by_code["pay"].owner, "alice");
  EXPECT_EQ(by_code["pay"].support_group, "Team Payments");
  EXPECT_EQ(by_code["pay"].name, "Payments");
  EXPECT_FALSE(by_code["old"].registered);
  EXPECT_EQ(by_code["old"].not_registered_reason, "install_status 7 (Retired)");
  EXPECT_TRUE(by_code["new"].registered);
  EXPECT_EQ(by_code["new"].owner, "");
  const std::map<std::string, std::string> groups = {{"hv-a1", "Compute Alpha"},
                                                     {"hv-a1.sim.example", "Compute Alpha"},
                                                     {"hv-b1", "Compute Beta"},
                                                     {"hv-b1.sim.example", "Compute Beta"}};
  EXPECT_EQ(snap->server_support_groups, groups);
  EXPECT_EQ(client.last_requests(),
            4);  // per table: offset 0 (2 records), offset 1 (the anchor and the third)
  EXPECT_EQ(sim->requests(), client.last_requests());
}

TEST_F(SimServiceNowTest, TheClientWaitsOutTheSimsRateLimit) {
  Start({.rate_limit_requests = 3, .rate_limit_window_seconds = 1});
  for (int i = 0; i < 5; ++i)
    sim->PutRecord("cmdb_ci_business_app", SnowBusinessApp("a" + std::to_string(i), "A", "1", "", "", 0));
  ServiceNowOptions o;
  o.url = fake.base_url();
  o.page_size = 2;
  ServiceNowClient client(http, o);
  auto snap = client.Collect(Seconds(10));
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 5u);  // 4 requests: the 4th waits for the window's reset
  // X-RateLimit-Remaining 0 makes the client wait for the reset; any 429 that still comes is waited out.
  EXPECT_EQ(client.rate_limited(), sim->rate_limited());
  EXPECT_EQ(client.last_requests(), sim->requests());
}

TEST(SimServiceNowModel, DeterministicRecords) {
  EXPECT_EQ(estate::simestate::SnowSysId("x"), estate::simestate::SnowSysId("x"));
  EXPECT_EQ(estate::simestate::SnowSysId("x").size(), 32u);
  EXPECT_EQ(estate::simestate::SnowDateTime(86400 + 3661), "1970-01-02 01:01:01");
  const SnowRecord app = SnowBusinessApp("xyz", "X", "22", "o", "g", 0);
  EXPECT_EQ(app.at("u_app_code"), "XYZ");
  EXPECT_EQ(app.at("install_status"), "22");
  EXPECT_EQ(app.at("sys_created_on"), "1970-01-01 00:00:00");
}

}  // namespace
}  // namespace estate::registry
