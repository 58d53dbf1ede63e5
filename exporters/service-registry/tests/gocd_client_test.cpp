// The GoCD client (gocd_client.h) against the simulated GoCD (sim_gocd.h) and scripted fake upstreams over
// real HTTP: cursor paging, the window, incremental passes with their request counts (a 100k-run history
// included), garbage, failures that keep the last runs, links that try to leave the configured origin,
// cursor loops, pipelines that come and go, and the users ranking.
#include "gocd_client.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/link_traps.h"
#include "gocd_parse.h"
#include "sim_gocd.h"

namespace estate::registry {
namespace {

using estate::simestate::SimGocd;
using estate::simestate::SimGocdOptions;
using estate::simestate::SimGocdRun;
using estate::testing::Captures;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using Json = nlohmann::json;

constexpr double kNow = 1800000000;  // the clock of every test here
constexpr double kHour = 3600;
constexpr double kDay = 86400;

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

const Pipeline* Find(const GocdSnapshot& s, const std::string& name) {
  for (const auto& p : s.pipelines) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

// Adds `n` runs, one an hour, the newest at `newest`, each forced by `user`.
void AddRuns(SimGocd& sim, const std::string& pipeline, int n, double newest, const std::string& user) {
  for (int i = n - 1; i >= 0; --i) {
    SimGocdRun run;
    run.scheduled_unix = newest - i * kHour;
    run.forced_by = user;
    sim.AddRun(pipeline, run);
  }
}

class GocdClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sim.AddPipeline("abc-deploy", "abc");
    AddRuns(sim, "abc-deploy", 250, kNow - kHour, "alice");
    sim.AddPipeline("abc-build", "abc");
    AddRuns(sim, "abc-build", 5, kNow - 2 * kHour, "bob");
    sim.AddPipeline("deploy-thing", "abc-ops");  // matches by group only
    AddRuns(sim, "deploy-thing", 3, kNow - 3 * kHour, "carol");
    sim.AddPipeline("xyz-deploy", "xyz");  // matches nothing
    AddRuns(sim, "xyz-deploy", 3, kNow, "mallory");
    sim.Install(server);
    ASSERT_TRUE(server.Start().ok());
  }

  GocdOptions Options() {
    GocdOptions o;
    o.url = server.base_url();
    o.pipeline_patterns = {"^abc-"};
    o.window_days = 30;
    o.page_size = 100;
    o.http.source = "gocd";
    o.http.auth.kind = http::Auth::Kind::kBearer;
    o.http.auth.token = "tok";
    o.http.max_retries = 0;
    o.now_unix = [this] { return now; };
    return o;
  }

  double now = kNow;
  SimGocd sim{SimGocdOptions{"tok", "", "", "", true}};
  FakeUpstream server{FakeUpstream::Options{}};
  http::CurlHttpClient http;
};

TEST_F(GocdClientTest, FirstPassPagesByCursorThroughTheMatchingPipelines) {
  GocdClient client(http, Options());
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_FALSE(got->partial);
  EXPECT_TRUE(got->errors.empty());
  const GocdSnapshot& s = got->snapshot;
  ASSERT_EQ(s.pipelines.size(), 3u);
  EXPECT_EQ(Find(s, "xyz-deploy"), nullptr);
  const Pipeline* deploy = Find(s, "abc-deploy");
  ASSERT_NE(deploy, nullptr);
  EXPECT_EQ(deploy->group, "abc");
  EXPECT_EQ(deploy->last_counter, 250);
  ASSERT_EQ(deploy->runs.size(), 250u);
  for (std::size_t i = 0; i < deploy->runs.size(); ++i) {
    EXPECT_EQ(deploy->runs[i].counter, 250 - static_cast<std::int64_t>(i));
  }
  EXPECT_EQ(deploy->runs[0].users, std::vector<std::string>{"alice"});
  ASSERT_NE(Find(s, "deploy-thing"), nullptr);
  EXPECT_EQ(Find(s, "deploy-thing")->group, "abc-ops");
  // The dashboard, three pages of abc-deploy, one each for the other two.
  EXPECT_EQ(s.requests, 1 + 3 + 1 + 1);
  EXPECT_EQ(client.last_requests(), s.requests);
  EXPECT_EQ(s.collected_unix, kNow);
  for (const auto& req : server.Requests()) {
    EXPECT_EQ(req.path.find("xyz"), std::string::npos) << req.path;
    if (req.path != "/go/api/dashboard") {
      EXPECT_NE(req.query.find("page_size=100"), std::string::npos) << req.query;
    }
    EXPECT_EQ(req.headers.at("authorization"), "Bearer tok");
  }
}

TEST_F(GocdClientTest, LaterPassesFetchOnlyNewRuns) {
  GocdClient client(http, Options());
  ASSERT_TRUE(client.Collect(Seconds(30)).ok());

  // Nothing new: the dashboard's latest counters say so, and no history is read.
  auto same = client.Collect(Seconds(30));
  ASSERT_TRUE(same.ok()) << same.error();
  EXPECT_EQ(same->snapshot.requests, 1);
  EXPECT_EQ(Find(same->snapshot, "abc-deploy")->runs.size(), 250u);

  // Three new runs of one pipeline: one history page, holding them and then a run already held.
  AddRuns(sim, "abc-deploy", 3, kNow, "dave");
  server.ClearRequests();
  auto more = client.Collect(Seconds(30));
  ASSERT_TRUE(more.ok()) << more.error();
  EXPECT_EQ(more->snapshot.requests, 2);
  ASSERT_EQ(server.RequestCount(), 2u);
  EXPECT_EQ(server.Requests()[1].path, "/go/api/pipelines/abc-deploy/history");
  const Pipeline* deploy = Find(more->snapshot, "abc-deploy");
  ASSERT_EQ(deploy->runs.size(), 253u);
  EXPECT_EQ(deploy->last_counter, 253);
  EXPECT_EQ(deploy->runs[0].counter, 253);
  EXPECT_EQ(deploy->runs[0].users, std::vector<std::string>{"dave"});
  EXPECT_EQ(deploy->runs[3].counter, 250);
}

TEST_F(GocdClientTest, WithoutDashboardCountersEachPipelineCostsOnePage) {
  SimGocd old{SimGocdOptions{"tok", "", "", "", false}};
  old.AddPipeline("abc-one", "abc");
  AddRuns(old, "abc-one", 150, kNow, "alice");
  old.AddPipeline("abc-two", "abc");
  AddRuns(old, "abc-two", 5, kNow, "bob");
  FakeUpstream old_server{estate::testing::SmallUpstream()};
  old.Install(old_server);
  ASSERT_TRUE(old_server.Start().ok());
  GocdOptions o = Options();
  o.url = old_server.base_url();
  GocdClient client(http, o);
  auto first = client.Collect(Seconds(30));
  ASSERT_TRUE(first.ok()) << first.error();
  EXPECT_EQ(first->snapshot.requests, 1 + 2 + 1);
  AddRuns(old, "abc-two", 1, kNow + 1, "carol");
  auto second = client.Collect(Seconds(30));
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(second->snapshot.requests, 1 + 1 + 1);  // the first page of each: it starts at a run held
  EXPECT_EQ(Find(second->snapshot, "abc-one")->runs.size(), 150u);
  EXPECT_EQ(Find(second->snapshot, "abc-two")->runs.size(), 6u);
}

// Issue #12: a pipeline with 100k history entries, fetched incrementally. The first pass reads down to the
// window's edge only; later passes read one page.
TEST_F(GocdClientTest, OneHundredThousandRunsAreReadIncrementally) {
  sim.GeneratePipeline("abc-big", "abc", 100000, kNow, 600, {"erin", "frank", "grace"});
  GocdOptions o = Options();
  o.pipeline_patterns = {"^abc-big$"};
  GocdClient client(http, o);
  auto first = client.Collect(Seconds(60));
  ASSERT_TRUE(first.ok()) << first.error();
  const Pipeline* big = Find(first->snapshot, "abc-big");
  ASSERT_NE(big, nullptr);
  // One run every 10 minutes: 30 days hold 4320 intervals, so 4321 runs (both edges).
  EXPECT_EQ(big->runs.size(), 4321u);
  EXPECT_EQ(big->last_counter, 100000);
  EXPECT_EQ(big->runs.back().counter, 100000 - 4320);
  EXPECT_EQ(first->snapshot.requests, 1 + 44);  // 44 pages of 100 reach the first run outside the window
  EXPECT_FALSE(first->partial);

  SimGocdRun run;
  run.scheduled_unix = kNow + 60;
  run.forced_by = "heidi";
  sim.AddRun("abc-big", run);
  auto second = client.Collect(Seconds(30));
  ASSERT_TRUE(second.ok()) << second.error();
  EXPECT_EQ(second->snapshot.requests, 2);
  big = Find(second->snapshot, "abc-big");
  EXPECT_EQ(big->runs.front().counter, 100001);
  EXPECT_EQ(big->last_counter, 100001);
  EXPECT_EQ(big->runs.size(), 4322u);

  // A day later with nothing new: no history request, and the day's oldest runs have left the window.
  now = kNow + kDay;
  auto third = client.Collect(Seconds(30));
  ASSERT_TRUE(third.ok()) << third.error();
  EXPECT_EQ(third->snapshot.requests, 1);
  big = Find(third->snapshot, "abc-big");
  EXPECT_EQ(big->runs.size(), 4322u - 144u);
  for (const auto& r : big->runs) EXPECT_GE(r.scheduled_unix, now - 30 * kDay);
}

TEST_F(GocdClientTest, WindowBoundsTheFirstPass) {
  sim.AddPipeline("abc-old", "abc");
  AddRuns(sim, "abc-old", 200, kNow - 35 * kDay, "olga");  // all older than the window
  AddRuns(sim, "abc-old", 2, kNow, "new");
  GocdOptions o = Options();
  o.pipeline_patterns = {"^abc-old$"};
  GocdClient client(http, o);
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(got->snapshot.requests, 2);
  const Pipeline* old = Find(got->snapshot, "abc-old");
  ASSERT_EQ(old->runs.size(), 2u);
  EXPECT_EQ(old->last_counter, 202);
}

TEST_F(GocdClientTest, GarbageKeepsWhatWasThere) {
  GocdClient client(http, Options());
  ASSERT_TRUE(client.Collect(Seconds(30)).ok());
  AddRuns(sim, "abc-deploy", 2, kNow, "dave");
  AddRuns(sim, "abc-build", 2, kNow, "dave");

  // A garbage history page: that pipeline keeps its runs, the collect is partial, the body is not echoed.
  Fault garbage;
  garbage.kind = Fault::Kind::kGarbage;
  garbage.path_prefix = "/go/api/pipelines/abc-deploy/";
  garbage.remaining = 1;
  server.AddFault(garbage);
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->partial);
  ASSERT_EQ(got->errors.size(), 1u);
  EXPECT_NE(got->errors[0].find("/go/api/pipelines/abc-deploy/history"), std::string::npos) << got->errors[0];
  EXPECT_NE(got->errors[0].find("invalid JSON"), std::string::npos) << got->errors[0];
  EXPECT_EQ(Find(got->snapshot, "abc-deploy")->runs.size(), 250u);
  EXPECT_EQ(Find(got->snapshot, "abc-deploy")->last_counter, 250);
  EXPECT_EQ(Find(got->snapshot, "abc-build")->runs.size(), 7u);

  // A garbage dashboard fails the collect (the caller keeps its snapshot); no history is asked for.
  garbage.path_prefix = "/go/api/dashboard";
  server.AddFault(garbage);
  server.ClearRequests();
  auto bad = client.Collect(Seconds(30));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("GET /go/api/dashboard"), std::string::npos) << bad.error();
  EXPECT_EQ(server.RequestCount(), 1u);

  // The next good pass picks the missed runs up: the held counter did not move past them.
  auto healed = client.Collect(Seconds(30));
  ASSERT_TRUE(healed.ok()) << healed.error();
  EXPECT_FALSE(healed->partial);
  EXPECT_EQ(Find(healed->snapshot, "abc-deploy")->runs.size(), 252u);
  EXPECT_EQ(Find(healed->snapshot, "abc-build")->runs.size(), 7u);
}

TEST_F(GocdClientTest, FailingPipelineKeepsItsRunsAndMarksPartial) {
  GocdClient client(http, Options());
  ASSERT_TRUE(client.Collect(Seconds(30)).ok());
  AddRuns(sim, "abc-deploy", 1, kNow, "dave");
  AddRuns(sim, "abc-build", 1, kNow, "dave");
  Fault down;
  down.kind = Fault::Kind::kStatus;
  down.status = 503;
  down.path_prefix = "/go/api/pipelines/abc-build/";
  server.AddFault(down);
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->partial);
  ASSERT_EQ(got->errors.size(), 1u);
  EXPECT_EQ(got->errors[0], "GET /go/api/pipelines/abc-build/history: HTTP 503");
  EXPECT_EQ(Find(got->snapshot, "abc-build")->runs.size(), 5u);
  EXPECT_EQ(Find(got->snapshot, "abc-deploy")->runs.size(), 251u);

  server.ClearFaults();
  auto healed = client.Collect(Seconds(30));
  ASSERT_TRUE(healed.ok()) << healed.error();
  EXPECT_FALSE(healed->partial);
  EXPECT_EQ(Find(healed->snapshot, "abc-build")->runs.size(), 6u);
  EXPECT_EQ(healed->snapshot.requests, 2);
}

TEST_F(GocdClientTest, ManyFailuresAreCountedNotListed) {
  for (int i = 0; i < 30; ++i) sim.AddPipeline("abc-f" + std::to_string(i), "abc");
  Fault down;
  down.kind = Fault::Kind::kStatus;
  down.path_prefix = "/go/api/pipelines/";
  server.AddFault(down);
  GocdClient client(http, Options());
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->partial);
  ASSERT_EQ(got->errors.size(), 21u);
  EXPECT_EQ(got->errors.back(), "... and 13 more pipelines failed");
  EXPECT_EQ(got->snapshot.pipelines.size(), 33u);  // each there, without runs
}

TEST_F(GocdClientTest, DashboardRefusedIsAnError) {
  GocdOptions o = Options();
  o.http.auth.token = "wrong";
  GocdClient client(http, o);
  auto got = client.Collect(Seconds(30));
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error(), "GET /go/api/dashboard: HTTP 401");
  EXPECT_EQ(client.last_requests(), 1);
}

TEST_F(GocdClientTest, PipelinesThatLeaveTheDashboardAreDropped) {
  GocdClient client(http, Options());
  ASSERT_TRUE(client.Collect(Seconds(30)).ok());
  sim.RemovePipeline("abc-build");
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(Find(got->snapshot, "abc-build"), nullptr);
  EXPECT_EQ(got->snapshot.pipelines.size(), 2u);
  EXPECT_FALSE(got->partial);

  // Back again (deleted and re-created, counters from 1): read from scratch.
  sim.GeneratePipeline("abc-deploy", "abc", 4, kNow, kHour, {"ivan"});
  auto again = client.Collect(Seconds(30));
  ASSERT_TRUE(again.ok()) << again.error();
  const Pipeline* deploy = Find(again->snapshot, "abc-deploy");
  ASSERT_EQ(deploy->runs.size(), 4u);
  EXPECT_EQ(deploy->last_counter, 4);
  EXPECT_EQ(deploy->runs[0].users, (std::vector<std::string>{"ivan", "ivan@example.com"}));
}

TEST_F(GocdClientTest, BadPatternFailsTheCollect) {
  GocdOptions o = Options();
  o.pipeline_patterns = {"^abc-(", "ok"};
  GocdClient client(http, o);
  auto got = client.Collect(Seconds(5));
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.error().find("^abc-("), std::string::npos) << got.error();
  EXPECT_EQ(server.RequestCount(), 0u);
}

TEST_F(GocdClientTest, EmptyPatternsMeanEveryPipeline) {
  GocdOptions o = Options();
  o.pipeline_patterns.clear();
  GocdClient client(http, o);
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(got->snapshot.pipelines.size(), 4u);
}

TEST_F(GocdClientTest, LinksToAnotherHostAreNotFollowed) {
  Captures captures;
  sim.SetLinkBase(captures.v4.base_url());
  GocdClient client(http, Options());
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_FALSE(got->partial);
  EXPECT_EQ(Find(got->snapshot, "abc-deploy")->runs.size(), 250u);  // paged by the cursor on our URL
  EXPECT_EQ(got->snapshot.requests, 6);
  EXPECT_EQ(captures.Seen(), 0u);
}

TEST_F(GocdClientTest, PipelinesAreFetchedConcurrently) {
  for (int i = 0; i < 40; ++i) {
    const std::string name = "abc-p" + std::to_string(i);
    sim.AddPipeline(name, "abc");
    AddRuns(sim, name, 2, kNow, "u" + std::to_string(i % 3));
  }
  Fault slow;
  slow.latency_seconds = 0.05;
  slow.path_prefix = "/go/api/pipelines/abc-p";
  server.AddFault(slow);
  GocdOptions o = Options();
  o.pipeline_patterns = {"^abc-p"};
  GocdClient client(http, o);
  const auto start = Clock::now();
  auto got = client.Collect(Seconds(30));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_EQ(got->snapshot.pipelines.size(), 40u);
  EXPECT_EQ(got->snapshot.requests, 41);
  // One at a time this takes 40 x 50 ms = 2 s at least; four at a time about 0.5 s.
  EXPECT_LT(seconds, 1.6);
}

TEST_F(GocdClientTest, DeadlineEndsThePassAsPartial) {
  GocdClient client(http, Options());
  ASSERT_TRUE(client.Collect(Seconds(30)).ok());
  AddRuns(sim, "abc-deploy", 1, kNow, "dave");
  Fault slow;
  slow.latency_seconds = 2;
  slow.path_prefix = "/go/api/pipelines/";
  server.AddFault(slow);
  auto got = client.Collect(Seconds(0.5));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->partial);
  EXPECT_EQ(Find(got->snapshot, "abc-deploy")->runs.size(), 250u);
}

// ---- a scripted GoCD for links, loops and half-read histories
// ------------------------------------------------

class ScriptedGocd {
 public:
  ScriptedGocd() {
    fake.Route("GET", "/go/api/dashboard", [](const FakeRequest&) {
      FakeResponse r;
      r.body = R"({"_embedded": {"pipeline_groups": [{"name": "abc", "pipelines": ["abc-p"]}]}})";
      return r;
    });
    fake.Route("GET", "/go/api/pipelines/abc-p/history",
               [this](const FakeRequest& req) { return history(req); });
  }
  // A page of runs from..to (newest first) with a next link.
  static FakeResponse Page(std::int64_t from, std::int64_t to, const std::string& next) {
    Json runs = Json::array();
    for (std::int64_t c = from; c >= to; --c) {
      runs.push_back({{"counter", c}, {"scheduled_date", static_cast<std::int64_t>(kNow * 1000) - c}});
    }
    Json body = {{"pipelines", runs}};
    if (!next.empty()) body["_links"] = {{"next", {{"href", next}}}};
    FakeResponse r;
    r.body = body.dump();
    return r;
  }
  GocdOptions Options() const {
    GocdOptions o;
    o.url = fake.base_url() + "/go/";
    o.page_size = 10;
    o.http.max_retries = 0;
    o.now_unix = [] { return kNow; };
    return o;
  }

  std::function<FakeResponse(const FakeRequest&)> history;
  FakeUpstream fake{estate::testing::SmallUpstream()};
};

TEST(GocdScripted, CursorLoopEndsThePipeline) {
  ScriptedGocd gocd;
  gocd.history = [&](const FakeRequest& req) {
    // Every page but the first points back at the second one.
    return req.query.find("after=") == std::string::npos
               ? ScriptedGocd::Page(20, 11, "/go/api/pipelines/abc-p/history?after=11")
               : ScriptedGocd::Page(10, 1, "/go/api/pipelines/abc-p/history?after=11");
  };
  ASSERT_TRUE(gocd.fake.Start().ok());
  http::CurlHttpClient http;
  GocdClient client(http, gocd.Options());
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->partial);
  ASSERT_EQ(got->errors.size(), 1u);
  EXPECT_NE(got->errors[0].find("cursor loop"), std::string::npos) << got->errors[0];
  EXPECT_EQ(got->snapshot.requests, 3);
  // What was read is kept, but the held counter stays put so that the next pass reads it all again.
  EXPECT_EQ(got->snapshot.pipelines[0].runs.size(), 20u);
  EXPECT_EQ(got->snapshot.pipelines[0].last_counter, 0);
}

TEST(GocdScripted, HalfReadHistoryIsReadAgain) {
  ScriptedGocd gocd;
  std::atomic<bool> fail_second{true};
  gocd.history = [&](const FakeRequest& req) {
    if (req.query.find("after=") == std::string::npos) {
      return ScriptedGocd::Page(20, 11, "/go/api/pipelines/abc-p/history?after=11");
    }
    if (fail_second) return FakeResponse{500, "application/json", {}, "{}"};
    return ScriptedGocd::Page(10, 1, "");
  };
  ASSERT_TRUE(gocd.fake.Start().ok());
  http::CurlHttpClient http;
  GocdClient client(http, gocd.Options());
  auto half = client.Collect(Seconds(30));
  ASSERT_TRUE(half.ok()) << half.error();
  EXPECT_TRUE(half->partial);
  EXPECT_EQ(half->snapshot.pipelines[0].runs.size(), 10u);
  fail_second = false;
  auto whole = client.Collect(Seconds(30));
  ASSERT_TRUE(whole.ok()) << whole.error();
  EXPECT_FALSE(whole->partial);
  const Pipeline& p = whole->snapshot.pipelines[0];
  ASSERT_EQ(p.runs.size(), 20u);  // no run twice
  EXPECT_EQ(p.runs.front().counter, 20);
  EXPECT_EQ(p.runs.back().counter, 1);
  EXPECT_EQ(p.last_counter, 20);
  // The configured URL's "/go/" was not doubled, and same-origin links kept our page size.
  for (const auto& req : gocd.fake.Requests()) {
    EXPECT_EQ(req.path.rfind("/go/api/", 0), 0u) << req.path;
    if (req.path != "/go/api/dashboard") {
      EXPECT_NE(req.query.find("page_size=10"), std::string::npos) << req.query;
    }
  }
}

// A server without dashboard v4 answers 404 to it; the unpinned media type is asked for once, in the same
// pass.
TEST(GocdScripted, DashboardFallsBackToTheUnpinnedMediaType) {
  FakeUpstream fake{estate::testing::SmallUpstream()};
  fake.Route("GET", "/go/api/dashboard", [](const FakeRequest& req) {
    FakeResponse r;
    if (req.headers.at("accept") != "application/vnd.go.cd+json") {
      r.status = 404;
      r.body = R"({"message": "The url you are trying to reach appears to be incorrect."})";
    } else {
      r.body = R"({"_embedded": {"pipelines": []}})";
    }
    return r;
  });
  ASSERT_TRUE(fake.Start().ok());
  http::CurlHttpClient http;
  GocdOptions o;
  o.url = fake.base_url();
  o.http.max_retries = 0;
  GocdClient client(http, o);
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_TRUE(got->snapshot.pipelines.empty());
  EXPECT_EQ(got->snapshot.requests, 2);
  ASSERT_EQ(fake.RequestCount(), 2u);
  EXPECT_EQ(fake.Requests()[0].headers.at("accept"), "application/vnd.go.cd.v4+json");
}

class GocdEvilLink : public ::testing::TestWithParam<int> {};

TEST_P(GocdEvilLink, ElsewhereGetsNothingAndTheCursorIsUsed) {
  Captures captures;
  ScriptedGocd gocd;
  ASSERT_TRUE(gocd.fake.Start().ok());
  const std::string host_port = "127.0.0.1:" + std::to_string(gocd.fake.port());
  const std::string link =
      estate::testing::FillLinkForm(estate::testing::EvilLinkForms("/go/api/pipelines/abc-p/history?after=11")
                                        .at(static_cast<std::size_t>(GetParam())),
                                    host_port, captures);
  gocd.history = [&](const FakeRequest& req) {
    if (req.query.find("after=11") != std::string::npos) return ScriptedGocd::Page(10, 1, "");
    return ScriptedGocd::Page(20, 11, link);
  };
  http::CurlHttpClient http;
  GocdOptions o = gocd.Options();
  o.http.auth.kind = http::Auth::Kind::kBearer;
  o.http.auth.token = "s3cret-token";
  GocdClient client(http, o);
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  EXPECT_FALSE(got->partial) << link << ": " << (got->errors.empty() ? "" : got->errors[0]);
  EXPECT_EQ(got->snapshot.pipelines[0].runs.size(), 20u) << link;
  EXPECT_EQ(captures.Seen(), 0u) << link;
  const std::string capture_port = std::to_string(captures.v4.port());
  for (const auto& req : gocd.fake.Requests()) {
    EXPECT_EQ(req.path.find(capture_port), std::string::npos) << req.path;
    EXPECT_EQ(req.query.find(capture_port), std::string::npos) << req.query;
  }
}

INSTANTIATE_TEST_SUITE_P(EverySpelling, GocdEvilLink,
                         ::testing::Range(0, static_cast<int>(estate::testing::EvilLinkForms("/x").size())));

// ---- users ------------------------------------------------------------------------------------------------

TEST(GocdUsers, MostFrequentFirstWithinTheWindow) {
  Pipeline a;
  a.runs = {{3, kNow, {"alice", "bob@example.com"}},
            {2, kNow - kDay, {"bob@example.com"}},
            {1, kNow - 40 * kDay, {"old@example.com", "alice"}}};
  Pipeline b;
  b.runs = {{9, kNow, {"carol", "bob@example.com"}}, {8, kNow, {"alice"}}, {7, kNow, {"dave"}}};
  auto ranked = RankPipelineUsers({&a, &b, nullptr}, kNow - 30 * kDay, 0);
  ASSERT_EQ(ranked.size(), 4u);
  EXPECT_EQ(ranked[0].user, "bob@example.com");
  EXPECT_EQ(ranked[0].runs, 3);
  EXPECT_EQ(ranked[1].user, "alice");
  EXPECT_EQ(ranked[1].runs, 2);
  EXPECT_EQ(ranked[2].user, "carol");  // ties by name
  EXPECT_EQ(ranked[3].user, "dave");
  auto top2 = RankPipelineUsers({&a, &b}, kNow - 30 * kDay, 2);
  ASSERT_EQ(top2.size(), 2u);
  EXPECT_EQ(top2[1].user, "alice");
}

// "Forced by dana" and the committer "Dana Scully <dana@estate.example>" are one person on a pipeline where
// dana is a login; elsewhere the e-mail stays an e-mail.
TEST(GocdUsers, CommitterEmailCountsAsTheLoginOfTheSamePipeline) {
  Pipeline a;
  a.runs = {
      {3, kNow, {"dana", "dana@estate.example"}},  // both roles in one run: one person, once
      {2, kNow - kDay, {"dana@estate.example"}},
      {1, kNow - 40 * kDay, {"erin"}},  // outside the window, but erin is still a login of this pipeline
      {4, kNow, {"erin@other.example", "frank@estate.example"}}};
  Pipeline b;  // no login "dana" here: the e-mail is not merged through pipeline a
  b.runs = {{7, kNow, {"dana@estate.example"}}, {6, kNow, {"dana smith"}}};
  auto ranked = RankPipelineUsers({&a, &b}, kNow - 30 * kDay, 0);
  std::map<std::string, int> got;
  for (const auto& u : ranked) got[u.user] = u.runs;
  const std::map<std::string, int> want = {
      {"dana", 2}, {"dana@estate.example", 1}, {"dana smith", 1}, {"erin", 1}, {"frank@estate.example", 1}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(ranked[0].user, "dana");

  std::set<std::string> logins = {"dana"};
  EXPECT_EQ(gocd::MergeCommitterWithLogin("dana@estate.example", logins), "dana");
  EXPECT_EQ(gocd::MergeCommitterWithLogin("dana@", logins), "dana");
  EXPECT_EQ(gocd::MergeCommitterWithLogin("danas@estate.example", logins), "danas@estate.example");
  EXPECT_EQ(gocd::MergeCommitterWithLogin("@dana", logins), "@dana");
  EXPECT_EQ(gocd::MergeCommitterWithLogin("dana", logins), "dana");
  EXPECT_EQ(gocd::MergeCommitterWithLogin("dana@estate.example", {}), "dana@estate.example");
}

TEST_F(GocdClientTest, UsersOfTheSimulatedPipelinesRankTheirRunners) {
  AddRuns(sim, "abc-build", 10, kNow, "bob");
  GocdClient client(http, Options());
  auto got = client.Collect(Seconds(30));
  ASSERT_TRUE(got.ok()) << got.error();
  std::vector<const Pipeline*> app;
  for (const auto& p : got->snapshot.pipelines) app.push_back(&p);
  auto ranked = RankPipelineUsers(app, kNow - 30 * kDay, 5);
  ASSERT_EQ(ranked.size(), 3u);
  EXPECT_EQ(ranked[0].user, "alice");
  EXPECT_EQ(ranked[0].runs, 250);
  EXPECT_EQ(ranked[1].user, "bob");
  EXPECT_EQ(ranked[1].runs, 15);
  EXPECT_EQ(ranked[2].user, "carol");
}

}  // namespace
}  // namespace estate::registry
