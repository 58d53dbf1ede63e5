// The ServiceNow Table API parsers: record shapes (plain, reference, display_value=all, dot-walked keys), the
// Link and X-Total-Count headers, X-RateLimit-*, HTML login pages, install_status, and the encoded query the
// client sends, checked against the FilterOperators of the recorded ServiceNow material
// (../shared/fixtures/registry/servicenow; skipped when absent).
#include "servicenow_parse.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "estate/testing/golden.h"
#include "estate/url.h"

namespace estate::registry {
namespace {

const std::vector<std::string> kFields = {
    "sys_id", "name", "u_app_code", "install_status", "owned_by.user_name", "support_group.name", "owned_by"};

TEST(ServiceNowParse, PlainReferenceAndDisplayValueShapes) {
  const std::string body = R"({"result":[
    {"sys_id":"a1","name":"Payments","u_app_code":" PAY ","install_status":"1",
     "owned_by.user_name":"alice","support_group.name":"Team Pay",
     "owned_by":{"link":"https://x.service-now.com/api/now/table/sys_user/u1","value":"u1"}},
    {"sys_id":{"display_value":"b2","value":"b2"},"name":{"display_value":"Ledger","value":"Ledger"},
     "install_status":{"display_value":"Retired","value":"7"},
     "owned_by":{"display_value":"Bob Smith","value":"u2"},"extra":[1,2]},
    {"sys_id":"c3","name":null,"install_status":7,"u_app_code":true}]})";
  auto page = ParseTablePage("application/json;charset=UTF-8", body, kFields);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->rows.size(), 3u);
  const SnowRow& a = page->rows[0];
  EXPECT_EQ(a[0].value, "a1");
  EXPECT_EQ(a[2].value, " PAY ");
  EXPECT_EQ(a[4].value, "alice");
  EXPECT_EQ(a[5].display, "Team Pay");
  EXPECT_EQ(a[6].value, "u1");  // a reference: the sys_id, no display value
  EXPECT_EQ(a[6].display, "");
  const SnowRow& b = page->rows[1];
  EXPECT_EQ(b[0].value, "b2");
  EXPECT_EQ(b[3].value, "7");
  EXPECT_EQ(b[3].display, "Retired");
  EXPECT_EQ(b[6].display, "Bob Smith");
  EXPECT_EQ(b[2].value, "");  // absent
  const SnowRow& c = page->rows[2];
  EXPECT_EQ(c[1].value, "");   // null
  EXPECT_EQ(c[3].value, "7");  // a number is written out
  EXPECT_EQ(c[2].value, "true");
}

TEST(ServiceNowParse, EmptyResultIsAnEmptyPage) {
  auto page = ParseTablePage("application/json", R"({"result":[]})", kFields);
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_TRUE(page->rows.empty());
}

TEST(ServiceNowParse, HtmlLoginPageIsAnError) {
  const std::string login =
      "<html><head><title>Log in | ServiceNow</title></head><body>secret-token</body></html>";
  for (const auto& [type, body] :
       std::vector<std::pair<std::string, std::string>>{{"text/html;charset=UTF-8", R"({"result":[]})"},
                                                        {"application/json", "  \n" + login},
                                                        {"", login},
                                                        {"application/xhtml+xml", "x"}}) {
    auto page = ParseTablePage(type, body, kFields);
    ASSERT_FALSE(page.ok()) << type;
    EXPECT_EQ(page.error(), "ServiceNow answered with an HTML page (SSO login?)");
  }
}

TEST(ServiceNowParse, GarbageAndWrongShapesAreErrorsThatDoNotEchoTheBody) {
  const std::vector<std::string> bodies = {
      "",
      "not json secret-token",
      "\xff\xfe\x00garbage",
      "[1,2,3]",
      R"({"records":[]})",
      R"({"result":{}})",
      R"({"result":[1]})",
      R"({"result":[{"sys_id":["secret-token"]}]})",
      R"({"result":[{"sys_id":{"x":1}}]})",
      R"({"result":[{"sys_id":"a", )",
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
      "["};
  for (const auto& body : bodies) {
    auto page = ParseTablePage("application/json", body, kFields);
    ASSERT_FALSE(page.ok()) << body;
    EXPECT_EQ(page.error().find("secret-token"), std::string::npos) << page.error();
    EXPECT_EQ(page.error().find("garbage"), std::string::npos) << page.error();
  }
}

TEST(ServiceNowParse, ErrorDocumentNamesTheMessage) {
  const std::string body =
      R"({"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},)"
      R"("status":"failure"})";
  auto page = ParseTablePage("application/json", body, kFields);
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error(), "ServiceNow error: User Not Authenticated");
  EXPECT_EQ(ErrorDocumentMessage(body), "User Not Authenticated");
  EXPECT_EQ(ErrorDocumentMessage("<html>"), "");
  EXPECT_EQ(ErrorDocumentMessage(R"({"error":{"message":")" + std::string(500, 'x') + "\\u0001\"}}").size(),
            120u);
}

TEST(ServiceNowParse, LinkHeaderWithCommasInsideUrls) {
  const std::string header =
      "<https://x.service-now.com/api/now/table/cmdb_ci_business_app?sysparm_fields=sys_id,name;x&"
      "sysparm_offset=0>;rel=\"first\",<https://x.service-now.com/api/now/table/t?sysparm_fields=a,b&"
      "sysparm_offset=1000>;rel=\"next\" , <https://x.service-now.com/t?o=9000>; rel=last; title=\"a,b;c\"";
  auto links = ParseLinkHeader(header);
  ASSERT_TRUE(links.ok()) << links.error();
  ASSERT_EQ(links->size(), 3u);
  EXPECT_EQ((*links)[0].url,
            "https://x.service-now.com/api/now/table/cmdb_ci_business_app?sysparm_fields=sys_id,name;x&"
            "sysparm_offset=0");
  EXPECT_EQ(LinkWithRel(*links, "next"),
            "https://x.service-now.com/api/now/table/t?sysparm_fields=a,b&sysparm_offset=1000");
  EXPECT_EQ(LinkWithRel(*links, "last"), "https://x.service-now.com/t?o=9000");
  EXPECT_EQ(LinkWithRel(*links, "prev"), "");
}

TEST(ServiceNowParse, LinkHeaderRelations) {
  auto links = ParseLinkHeader(R"(</a>; REL="Next Last", </b>; rel=prev; rel=next)");
  ASSERT_TRUE(links.ok()) << links.error();
  EXPECT_EQ(LinkWithRel(*links, "next"), "/a");
  EXPECT_EQ(LinkWithRel(*links, "last"), "/a");
  ASSERT_EQ((*links)[1].rels.size(), 1u);  // only the first rel parameter counts
  EXPECT_EQ((*links)[1].rels[0], "prev");
  auto empty = ParseLinkHeader("  ");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(ServiceNowParse, BadLinkHeadersAreErrors) {
  for (const std::string bad :
       {"https://x/next; rel=next", "</a; rel=next", R"(</a>; rel="next)", "</a> x"}) {
    EXPECT_FALSE(ParseLinkHeader(bad).ok()) << bad;
  }
}

TEST(ServiceNowParse, TotalCount) {
  EXPECT_EQ(ParseTotalCount("1234"), 1234);
  EXPECT_EQ(ParseTotalCount(" 0 "), 0);
  EXPECT_FALSE(ParseTotalCount(""));
  EXPECT_FALSE(ParseTotalCount("-1"));
  EXPECT_FALSE(ParseTotalCount("12a"));
  EXPECT_FALSE(ParseTotalCount("99999999999999999999"));
  EXPECT_FALSE(ParseTotalCount("1000000000001"));
}

TEST(ServiceNowParse, RateLimitResetWait) {
  const double now = 1'800'000'000;
  EXPECT_DOUBLE_EQ(RateLimitResetWait("0", "1800000030", now), 30);
  EXPECT_DOUBLE_EQ(RateLimitResetWait("0", "12", now), 12);         // seconds from now
  EXPECT_DOUBLE_EQ(RateLimitResetWait("0", "1799999990", now), 0);  // already past
  EXPECT_DOUBLE_EQ(RateLimitResetWait("5", "1800000030", now), 0);
  EXPECT_DOUBLE_EQ(RateLimitResetWait("0", "", now), 0);
  EXPECT_DOUBLE_EQ(RateLimitResetWait("", "1800000030", now), 0);
  EXPECT_DOUBLE_EQ(RateLimitResetWait("0", "soon", now), 0);
}

TEST(ServiceNowParse, InstallStatus) {
  const std::vector<std::string> unregistered = {"7", "22"};
  EXPECT_TRUE(ClassifyInstallStatus("1", unregistered).registered);
  EXPECT_TRUE(ClassifyInstallStatus("", unregistered).registered);
  auto retired = ClassifyInstallStatus(" 7", unregistered);
  EXPECT_FALSE(retired.registered);
  EXPECT_EQ(retired.reason, "install_status 7 (Retired)");
  EXPECT_EQ(ClassifyInstallStatus("22", unregistered).reason, "install_status 22 (Cancelled)");
  EXPECT_EQ(ClassifyInstallStatus("9", {"9"}).reason, "install_status 9");
  EXPECT_EQ(ClassifyInstallStatus("", {""}).reason, "install_status empty");
  EXPECT_EQ(InstallStatusName("0"), "Implementing");
  EXPECT_EQ(InstallStatusName("2"), "Pilot");
  EXPECT_EQ(InstallStatusName("4"), "Limited Service");
  EXPECT_EQ(InstallStatusName("21"), "Archived");
  EXPECT_EQ(InstallStatusName("3"), "");
}

TEST(ServiceNowParse, CodesAndHostKeys) {
  EXPECT_EQ(NormaliseCode("  XyZ\t"), "xyz");
  EXPECT_EQ(HostKeys("HV01.Example.COM"), (std::vector<std::string>{"hv01.example.com", "hv01"}));
  EXPECT_EQ(HostKeys("hv02"), (std::vector<std::string>{"hv02"}));
  EXPECT_EQ(HostKeys("10.0.0.1"), (std::vector<std::string>{"10.0.0.1"}));
  EXPECT_TRUE(HostKeys(" ").empty());
}

TEST(ServiceNowParse, OrderedQueryReplacesAnyOrderBy) {
  EXPECT_EQ(OrderedQuery(""), "ORDERBYsys_id");
  EXPECT_EQ(OrderedQuery("install_status=1"), "install_status=1^ORDERBYsys_id");
  EXPECT_EQ(OrderedQuery("ORDERBYname^active=true^ORDERBYDESCsys_created_on"), "active=true^ORDERBYsys_id");
  EXPECT_EQ(OrderedQuery("a=1^ORb=2"), "a=1^ORb=2^ORDERBYsys_id");
}

TEST(ServiceNowParse, NamesThatGoIntoUrls) {
  EXPECT_TRUE(ValidTableName("cmdb_ci_business_app"));
  EXPECT_FALSE(ValidTableName("cmdb_ci/../sys_user"));
  EXPECT_FALSE(ValidTableName(""));
  EXPECT_TRUE(ValidFieldName("owned_by.user_name"));
  EXPECT_FALSE(ValidFieldName("owned_by,name"));
  EXPECT_FALSE(ValidFieldName(".x"));
}

// The recorded ServiceNow material: the table names and the encoded-query operators a real client builds
// sysparm_query from. Every operator survives OrderedQuery and percent-encoding into a URL unchanged.
TEST(ServiceNowParse, FixtureTablesAndFilterOperators) {
  const std::string sub = "registry/servicenow/snow-shell-servicenow-powershell/main.json";
  if (!estate::testing::HaveFixtures(sub)) GTEST_SKIP() << "no fixtures at " << sub;
  auto doc =
      nlohmann::json::parse(estate::testing::ReadFileOrDie(estate::testing::FixturesDir() + "/" + sub));
  int tables = 0;
  for (const auto& table : doc.at("Tables")) {
    EXPECT_TRUE(ValidTableName(table.at("Name").get<std::string>())) << table.at("Name");
    ++tables;
  }
  EXPECT_GE(tables, 10);
  int operators = 0;
  for (const auto& op : doc.at("FilterOperators")) {
    const std::string query_operator = op.at("QueryOperator").get<std::string>();
    const std::string clause =
        "u_app_code" + query_operator + (op.at("NumValues").get<int>() > 0 ? "XYZ" : "");
    const std::string ordered = OrderedQuery(clause + "^ORDERBYname");
    EXPECT_EQ(ordered, clause + "^ORDERBYsys_id") << query_operator;
    auto u = url::Parse("https://x.service-now.com/api/now/table/cmdb_ci?sysparm_query=" +
                        url::EncodeComponent(ordered));
    ASSERT_TRUE(u.ok()) << query_operator << ": " << u.error();
    EXPECT_EQ(u->query.substr(u->query.find('=') + 1).find_first_of("^=!<> &"), std::string::npos)
        << u->query;
    ++operators;
  }
  EXPECT_GE(operators, 10);
}

}  // namespace
}  // namespace estate::registry
