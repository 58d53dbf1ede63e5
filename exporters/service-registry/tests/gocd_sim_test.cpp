// The simulated GoCD (tools/simestate/sim_gocd.h) over real HTTP: auth, media types, the dashboard, cursor
// paging of listed and generated histories (100k runs answered from arithmetic), and what our own parsers
// make of its answers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "estate/testing/e2e.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/link_traps.h"
#include "gocd_parse.h"
#include "sim_gocd.h"

namespace estate::simestate {
namespace {

using estate::testing::FakeUpstream;
using estate::testing::HttpGet;
using estate::testing::SimpleResponse;
using Json = nlohmann::json;

constexpr double kNow = 1800000000;
const std::vector<std::string> kV1 = {"Accept: application/vnd.go.cd.v1+json", "Authorization: Bearer tok"};
const std::vector<std::string> kV4 = {"Accept: application/vnd.go.cd.v4+json", "Authorization: Bearer tok"};

class SimGocdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim.AddPipeline("abc-deploy", "abc");
    for (int i = 0; i < 25; ++i) {
      SimGocdRun run;
      run.scheduled_unix = kNow - (25 - i) * 3600;
      run.forced_by = i % 2 == 0 ? "alice" : "";
      run.committers = {"Bob <bob@example.com>"};
      run.stage_approver = i == 24 ? "carol" : "";
      sim.AddRun("abc-deploy", run);
    }
    sim.GeneratePipeline("big-build", "ci", 100000, kNow, 60, {"dave", "erin"});
    sim.AddPipeline("xyz-never-ran", "xyz");
    sim.Install(server);
    ASSERT_TRUE(server.Start().ok());
  }
  SimpleResponse Get(const std::string& path_query, const std::vector<std::string>& headers = kV1) {
    return HttpGet(server.base_url() + path_query, 10, headers);
  }

  SimGocd sim{SimGocdOptions{"tok", "admin", "pw", "", true}};
  FakeUpstream server{estate::testing::SmallUpstream()};
};

TEST_F(SimGocdTest, AuthAndMediaTypes) {
  EXPECT_EQ(Get("/go/api/dashboard", {"Accept: application/vnd.go.cd.v4+json"}).status, 401);
  EXPECT_EQ(Get("/go/api/dashboard", {"Accept: application/vnd.go.cd.v4+json", "Authorization: Bearer nope"})
                .status,
            401);
  EXPECT_EQ(Get("/go/api/dashboard", kV4).status, 200);
  EXPECT_EQ(
      Get("/go/api/dashboard", {"Accept: application/vnd.go.cd+json", "Authorization: Basic YWRtaW46cHc="})
          .status,
      200);
  EXPECT_EQ(
      Get("/go/api/dashboard", {"Accept: application/vnd.go.cd.v1+json", "Authorization: Bearer tok"}).status,
      404);
  EXPECT_EQ(Get("/go/api/pipelines/abc-deploy/history", kV4).status, 404);
  EXPECT_EQ(Get("/go/api/pipelines/abc-deploy/history").status, 200);
  EXPECT_EQ(Get("/go/api/pipelines/abc-deploy/history?page_size=5").status, 422);
  EXPECT_EQ(Get("/go/api/pipelines/abc-deploy/history?page_size=101").status, 422);
  EXPECT_EQ(Get("/go/api/pipelines/abc-deploy/history?after=x").status, 400);
  EXPECT_EQ(Get("/go/api/pipelines/nope/history").status, 404);
}

TEST_F(SimGocdTest, DashboardListsGroupsAndLatestInstances) {
  auto resp = Get("/go/api/dashboard", kV4);
  ASSERT_EQ(resp.status, 200);
  auto dash = registry::gocd::ParseDashboard(resp.body);
  ASSERT_TRUE(dash.ok()) << dash.error();
  ASSERT_EQ(dash->size(), 3u);
  EXPECT_EQ((*dash)[0].name, "abc-deploy");
  EXPECT_EQ((*dash)[0].group, "abc");
  EXPECT_EQ((*dash)[0].latest_counter, 25);
  EXPECT_EQ((*dash)[1].name, "big-build");
  EXPECT_EQ((*dash)[1].latest_counter, 100000);
  EXPECT_EQ((*dash)[2].latest_counter, 0);

  sim.RemovePipeline("xyz-never-ran");
  EXPECT_EQ(Get("/go/api/pipelines/xyz-never-ran/history").status, 404);
  dash = registry::gocd::ParseDashboard(Get("/go/api/dashboard", kV4).body);
  ASSERT_TRUE(dash.ok());
  EXPECT_EQ(dash->size(), 2u);
}

TEST_F(SimGocdTest, CursorPagingOfListedRuns) {
  std::vector<std::int64_t> counters;
  std::string target = "/go/api/pipelines/abc-deploy/history";
  int pages = 0;
  while (!target.empty() && pages < 10) {
    auto resp = Get(target);
    ASSERT_EQ(resp.status, 200) << target;
    auto page = registry::gocd::ParseHistoryPage(resp.body);
    ASSERT_TRUE(page.ok()) << page.error();
    ++pages;
    for (const auto& r : page->runs) counters.push_back(r.counter);
    if (pages == 1) {
      // Counter 25: forced by alice, approved by carol, committed by bob.
      EXPECT_EQ(page->runs[0].users, (std::vector<std::string>{"alice", "carol", "bob@example.com"}));
      EXPECT_DOUBLE_EQ(page->runs[0].scheduled_unix, kNow - 3600);
      EXPECT_EQ(page->runs[1].users, (std::vector<std::string>{"bob@example.com"}));
    }
    target.clear();
    if (!page->next_link.empty()) {
      ASSERT_EQ(page->next_link.rfind(server.base_url(), 0), 0u) << page->next_link;
      target = page->next_link.substr(server.base_url().size());
    }
  }
  EXPECT_EQ(pages, 3);  // 10 + 10 + 5 at the default page size
  ASSERT_EQ(counters.size(), 25u);
  for (std::size_t i = 0; i < counters.size(); ++i) EXPECT_EQ(counters[i], 25 - static_cast<std::int64_t>(i));
}

TEST_F(SimGocdTest, GeneratedHistoryOfOneHundredThousandRuns) {
  auto first =
      registry::gocd::ParseHistoryPage(Get("/go/api/pipelines/big-build/history?page_size=100").body);
  ASSERT_TRUE(first.ok()) << first.error();
  ASSERT_EQ(first->runs.size(), 100u);
  EXPECT_EQ(first->runs.front().counter, 100000);
  EXPECT_EQ(first->runs.back().counter, 99901);
  EXPECT_DOUBLE_EQ(first->runs.front().scheduled_unix, kNow);
  EXPECT_DOUBLE_EQ(first->runs[1].scheduled_unix, kNow - 60);
  EXPECT_EQ(first->runs.front().users, (std::vector<std::string>{"dave", "dave@example.com"}));
  EXPECT_EQ(registry::gocd::CursorOf(first->next_link), "99901");

  auto last = registry::gocd::ParseHistoryPage(Get("/go/api/pipelines/big-build/history?after=31").body);
  ASSERT_TRUE(last.ok()) << last.error();
  ASSERT_EQ(last->runs.size(), 10u);
  EXPECT_EQ(last->runs.front().counter, 30);
  EXPECT_EQ(last->runs.back().counter, 21);
  auto oldest = registry::gocd::ParseHistoryPage(Get("/go/api/pipelines/big-build/history?after=4").body);
  ASSERT_TRUE(oldest.ok()) << oldest.error();
  EXPECT_EQ(oldest->runs.size(), 3u);
  EXPECT_EQ(oldest->next_link, "");

  // Listed runs go on from the generated ones.
  SimGocdRun run;
  run.scheduled_unix = kNow + 60;
  run.forced_by = "frank";
  sim.AddRun("big-build", run);
  EXPECT_EQ(sim.LatestCounter("big-build"), 100001);
  auto top = registry::gocd::ParseHistoryPage(Get("/go/api/pipelines/big-build/history?page_size=10").body);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->runs[0].counter, 100001);
  EXPECT_EQ(top->runs[0].users, std::vector<std::string>{"frank"});
  EXPECT_EQ(top->runs[1].counter, 100000);
}

TEST_F(SimGocdTest, LinkBaseNamesAnotherHost) {
  sim.SetLinkBase("http://gocd-internal.invalid:8153");
  auto page = registry::gocd::ParseHistoryPage(Get("/go/api/pipelines/abc-deploy/history").body);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->next_link,
            "http://gocd-internal.invalid:8153/go/api/pipelines/abc-deploy/history?after=16");
  EXPECT_GE(sim.history_requests(), 1);
}

}  // namespace
}  // namespace estate::simestate
