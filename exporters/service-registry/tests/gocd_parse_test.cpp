// The GoCD parsers (gocd_parse.h): the recorded dashboard and histories in ../shared/fixtures/registry (the
// API docs' examples and gocd-sdk-go's real captures; skipped when absent), shapes of older and newer servers
// written here, who counts as a user and how users are spelt, and bodies that must be errors without being
// echoed.
#include "gocd_parse.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "estate/testing/golden.h"
#include "estate/testing/json_variants.h"

namespace estate::registry::gocd {
namespace {

using estate::testing::FixturesDir;
using estate::testing::HaveFixtures;
using estate::testing::ReadFileOrDie;
using Json = nlohmann::json;
using Users = std::vector<std::string>;

std::string Fixture(const std::string& rel) { return ReadFileOrDie(FixturesDir() + "/registry/" + rel); }

// ---- recorded data ----------------------------------------------------------------------------------------

TEST(GocdFixtures, SdkHistoryForcedByAdmin) {
  if (!HaveFixtures("registry/gocd-sdk-go")) GTEST_SKIP() << "no ../shared/fixtures/registry/gocd-sdk-go";
  auto page = ParseHistoryPage(Fixture("gocd-sdk-go/pipeline_history.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(page->next_link, "");
  EXPECT_EQ(page->skipped, 0);
  ASSERT_EQ(page->runs.size(), 3u);
  EXPECT_EQ(page->runs[0].counter, 3);
  EXPECT_DOUBLE_EQ(page->runs[0].scheduled_unix, 1678470766.332);
  // Forced by admin; the material did not change in this run, so its last committer did not cause it.
  EXPECT_EQ(page->runs[0].users, Users{"admin"});
  // Material-triggered: approver and stage approver are "changes"; the committer ran it.
  EXPECT_EQ(page->runs[1].counter, 2);
  EXPECT_EQ(page->runs[1].users, Users{"nikhilsbhat93@gmail.com"});
  // Forced by admin with a changed material: both.
  EXPECT_EQ(page->runs[2].counter, 1);
  EXPECT_DOUBLE_EQ(page->runs[2].scheduled_unix, 1672544013.154);
  EXPECT_EQ(page->runs[2].users, (Users{"admin", "nikhilsbhat93@gmail.com"}));
}

TEST(GocdFixtures, SdkPagedHistories) {
  if (!HaveFixtures("registry/gocd-sdk-go")) GTEST_SKIP() << "no ../shared/fixtures/registry/gocd-sdk-go";
  std::int64_t expected = 1;
  for (const char* file :
       {"gocd-sdk-go/pipeline_history_one.json", "gocd-sdk-go/pipeline_history_two.json"}) {
    SCOPED_TRACE(file);
    auto page = ParseHistoryPage(Fixture(file));
    ASSERT_TRUE(page.ok()) << page.error();
    EXPECT_EQ(page->next_link, "http://ci.example.com/go/api/pipelines/pipeline1/history?after=35");
    EXPECT_EQ(CursorOf(page->next_link), "35");
    ASSERT_EQ(page->runs.size(), 10u);
    for (const auto& run : page->runs) {
      EXPECT_EQ(run.counter, expected++);
      EXPECT_EQ(run.scheduled_unix, 0);  // these captures carry counters only
      EXPECT_TRUE(run.users.empty());
    }
  }
}

TEST(GocdFixtures, ApiDocsHistory) {
  if (!HaveFixtures("registry/gocd")) GTEST_SKIP() << "no ../shared/fixtures/registry/gocd";
  auto page = ParseHistoryPage(Fixture("gocd/pipeline-history.json"));
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_EQ(CursorOf(page->next_link), "35");
  ASSERT_EQ(page->runs.size(), 1u);
  EXPECT_EQ(page->runs[0].counter, 13);
  EXPECT_DOUBLE_EQ(page->runs[0].scheduled_unix, 1436519914.578);
  // approver "" and stage "changes" are nobody; the material says "changed": false, so no committer either.
  EXPECT_TRUE(page->runs[0].users.empty());
}

TEST(GocdFixtures, ApiDocsDashboard) {
  if (!HaveFixtures("registry/gocd")) GTEST_SKIP() << "no ../shared/fixtures/registry/gocd";
  auto dash = ParseDashboard(Fixture("gocd/dashboard.json"));
  ASSERT_TRUE(dash.ok()) << dash.error();
  ASSERT_EQ(dash->size(), 1u);
  EXPECT_EQ((*dash)[0].name, "up42");
  EXPECT_EQ((*dash)[0].group, "first");  // from pipeline_groups, not from the environment "asd"
  EXPECT_EQ((*dash)[0].latest_counter, 1);
}

TEST(GocdFixtures, OtherDocumentsAreNotHistoriesOrDashboards) {
  if (!HaveFixtures("registry/gocd")) GTEST_SKIP() << "no ../shared/fixtures/registry/gocd";
  for (const char* file : {"gocd/pipeline-instance.json", "gocd/stage-history.json", "gocd/current-user.json",
                           "gocd/users-index.json", "gocd/job-history.as-published-trailing-commas.txt",
                           "gocd/feed-pipelines.xml"}) {
    SCOPED_TRACE(file);
    EXPECT_FALSE(ParseHistoryPage(Fixture(file)).ok());
    EXPECT_FALSE(ParseDashboard(Fixture(file)).ok());
  }
}

// Every value of every recorded document replaced by every other type: no exception, no crash.
TEST(GocdFixtures, WrongTypesNeverThrow) {
  if (!HaveFixtures("registry/gocd") || !HaveFixtures("registry/gocd-sdk-go")) GTEST_SKIP() << "no fixtures";
  for (const char* file : {"gocd/pipeline-history.json", "gocd-sdk-go/pipeline_history.json"}) {
    auto doc = Json::parse(Fixture(file));
    for (const auto& text : estate::testing::WrongTypeVariants(doc)) {
      EXPECT_NO_THROW({ (void)ParseHistoryPage(text); }) << text.substr(0, 200);
    }
  }
  auto dash = Json::parse(Fixture("gocd/dashboard.json"));
  for (const auto& text : estate::testing::WrongTypeVariants(dash)) {
    EXPECT_NO_THROW({ (void)ParseDashboard(text); }) << text.substr(0, 200);
  }
}

// ---- shapes written here ----------------------------------------------------------------------------------

TEST(GocdDashboard, OlderShapeWithEmbeddedPipelineObjects) {
  const std::string body = R"({"_embedded": {"pipeline_groups": [
      {"name": "billing", "_embedded": {"pipelines": [
          {"name": "abc-deploy", "_embedded": {"instances": [{"counter": 7}, {"counter": "9"}]}},
          {"name": "abc-build"}]}},
      {"name": "ops", "pipelines": [{"name": "xyz-deploy"}, "abc-build"]}]}})";
  auto dash = ParseDashboard(body);
  ASSERT_TRUE(dash.ok()) << dash.error();
  ASSERT_EQ(dash->size(), 3u);
  EXPECT_EQ((*dash)[0].name, "abc-deploy");
  EXPECT_EQ((*dash)[0].group, "billing");
  EXPECT_EQ((*dash)[0].latest_counter, 9);
  EXPECT_EQ((*dash)[1].name, "abc-build");
  EXPECT_EQ((*dash)[1].group, "billing");  // listed twice: the first group wins
  EXPECT_EQ((*dash)[2].group, "ops");
}

TEST(GocdDashboard, PipelinesOutsideGroupsAndUnusableNames) {
  const std::string body =
      std::string(R"({"_embedded": {"pipeline_groups": [{"name": "g", "pipelines": ["a"]}],
      "pipelines": [{"name": "a", "_embedded": {"instances": [{"counter": 4}]}}, {"name": "loose"},
                    {"name": ""}, {"name": "bad\u0001name"}, {"name": ")") +
      std::string(300, 'x') + R"("}, {"name": 5}, "str"]}})";
  auto dash = ParseDashboard(body);
  ASSERT_TRUE(dash.ok()) << dash.error();
  ASSERT_EQ(dash->size(), 2u);
  EXPECT_EQ((*dash)[0].name, "a");
  EXPECT_EQ((*dash)[0].group, "g");
  EXPECT_EQ((*dash)[0].latest_counter, 4);
  EXPECT_EQ((*dash)[1].name, "loose");
  EXPECT_EQ((*dash)[1].group, "");
}

TEST(GocdDashboard, EmptyIsExplicit) {
  auto empty = ParseDashboard(R"({"_embedded": {"pipeline_groups": [], "pipelines": []}})");
  ASSERT_TRUE(empty.ok()) << empty.error();
  EXPECT_TRUE(empty->empty());
  for (const char* body : {"", "{}", "[]", "null", R"({"_embedded": {}})",
                           R"({"_embedded": {"pipelines": {}}})", R"({"pipelines": []})"}) {
    EXPECT_FALSE(ParseDashboard(body).ok()) << body;
  }
}

TEST(GocdHistory, CountersAndDatesOfEveryShape) {
  const std::string body = R"({"pipelines": [
      {"counter": 12, "scheduled_date": 1700000000000},
      {"counter": 11.0, "scheduled_date": 1699999999000.5},
      {"counter": "10"},
      {"counter": 10},
      {"counter": 0}, {"counter": -3}, {"counter": 2.5}, {"counter": "9x"}, {"counter": null}, {},
      {"counter": 1e300}, {"counter": 8, "scheduled_date": -5}, {"counter": 7, "scheduled_date": 1e300}]})";
  auto page = ParseHistoryPage(body);
  ASSERT_TRUE(page.ok()) << page.error();
  ASSERT_EQ(page->runs.size(), 5u);
  EXPECT_EQ(page->runs[0].counter, 12);
  EXPECT_DOUBLE_EQ(page->runs[0].scheduled_unix, 1700000000);
  EXPECT_EQ(page->runs[1].counter, 11);
  EXPECT_EQ(page->runs[2].counter, 10);
  EXPECT_EQ(page->runs[3].counter, 8);
  EXPECT_EQ(page->runs[3].scheduled_unix, 0);
  EXPECT_EQ(page->runs[4].scheduled_unix, 0);
  EXPECT_EQ(page->skipped, 8);  // the repeated 10 and seven without a usable counter
}

TEST(GocdHistory, WhoRanIt) {
  const Json entry = Json::parse(R"({"counter": 5, "build_cause": {
      "trigger_message": "Forced by Jane", "trigger_forced": true, "approver": "jane",
      "material_revisions": [
        {"changed": true, "material": {"type": "Git"}, "modifications": [
            {"user_name": "Bob Builder <Bob@Example.COM>"}, {"user_name": "Bob B <bob@example.com>"},
            {"user_name": "carol"}, {"user_name": "Unknown"}]},
        {"changed": true, "material": {"type": "Pipeline"}, "modifications": [{"user_name": "upstream/3/x/1"}]},
        {"changed": false, "material": {"type": "Git"}, "modifications": [{"user_name": "old <old@example.com>"}]},
        {"material": {"type": "Perforce"}, "modifications": [{"user_name": "p4dan", "email_address": "Dan@p4.example"}]}
      ]},
      "stages": [{"approved_by": "changes"}, {"approved_by": "ops-lead"}, {"approved_by": "TIMER"},
                 {"approved_by": "anonymous"}, {"approved_by": 7}]})");
  EXPECT_EQ(RunUsers(entry), (Users{"jane", "ops-lead", "bob@example.com", "carol", "dan@p4.example"}));
}

TEST(GocdHistory, DisplayForms) {
  EXPECT_EQ(DisplayUser("Jane Doe <Jane.Doe@Example.com>"), "jane.doe@example.com");
  EXPECT_EQ(DisplayUser("  JDoe  "), "jdoe");
  EXPECT_EQ(DisplayUser("Jane Doe <>"), "jane doe");
  EXPECT_EQ(DisplayUser("Jane Doe <jd>"), "jane doe");
  EXPECT_EQ(DisplayUser("<jd>"), "jd");
  EXPECT_EQ(DisplayUser("Doe, Jane"), "doe jane");  // commas separate users in the metrics
  EXPECT_EQ(DisplayUser("a\tb\r\nc"), "a b c");
  EXPECT_EQ(DisplayUser("bad \xff byte"), "bad \xEF\xBF\xBD byte");
  EXPECT_EQ(DisplayUser("changes"), "");
  EXPECT_EQ(DisplayUser("Changes"), "");
  EXPECT_EQ(DisplayUser("anonymous"), "");
  EXPECT_EQ(DisplayUser(""), "");
  EXPECT_EQ(DisplayUser(std::string(1000, 'u')).size(), kMaxUserBytes);
  // A multi-byte character is never cut in half.
  std::string long_utf8;
  for (int i = 0; i < 100; ++i) long_utf8 += "\xC3\xA9";  // é
  EXPECT_EQ(DisplayUser(long_utf8).size(), kMaxUserBytes);
  EXPECT_EQ(DisplayUser("x" + long_utf8).size(), kMaxUserBytes - 1);
}

TEST(GocdHistory, Cursors) {
  EXPECT_EQ(CursorOf("https://ci/go/api/pipelines/p/history?after=35"), "35");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?page_size=100&after=abc-1_2.3"), "abc-1_2.3");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?after=35#frag"), "35");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?before=9"), "");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?after="), "");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?after=1%26x=2"), "");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?after=1/../x"), "");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history?after=" + std::string(65, '1')), "");
  EXPECT_EQ(CursorOf("/go/api/pipelines/p/history"), "");
  EXPECT_EQ(CursorOf("/x?safter=1&after=2"), "2");
}

TEST(GocdHistory, ErrorsNameTheProblemNotTheBody) {
  const std::string secret = "s3cr3t-session-cookie";
  for (const std::string& body :
       {std::string(""), "<html><form action=/login>" + secret + "</form></html>", std::string("{}"),
        std::string("[]"), R"({"pipelines": {"x": ")" + secret + R"("}})", std::string("\xff\xfe garbage"),
        std::string(200, '['), std::string(R"({"pipelines": [1e400]})")}) {
    auto page = ParseHistoryPage(body);
    ASSERT_FALSE(page.ok()) << body;
    EXPECT_EQ(page.error().find(secret), std::string::npos) << page.error();
    auto dash = ParseDashboard(body);
    ASSERT_FALSE(dash.ok()) << body;
    EXPECT_EQ(dash.error().find(secret), std::string::npos) << dash.error();
  }
}

TEST(GocdHistory, EmptyPageIsAPage) {
  auto page = ParseHistoryPage(R"({"_links": {}, "pipelines": []})");
  ASSERT_TRUE(page.ok()) << page.error();
  EXPECT_TRUE(page->runs.empty());
  EXPECT_EQ(page->next_link, "");
  auto odd_links = ParseHistoryPage(R"({"_links": {"next": "x"}, "pipelines": [{"counter": 1, "stages": 3,
      "build_cause": {"material_revisions": [{"modifications": [null, 5, {"user_name": ["a"]}]}]}}]})");
  ASSERT_TRUE(odd_links.ok()) << odd_links.error();
  EXPECT_EQ(odd_links->next_link, "");
  EXPECT_TRUE(odd_links->runs[0].users.empty());
}

}  // namespace
}  // namespace estate::registry::gocd
