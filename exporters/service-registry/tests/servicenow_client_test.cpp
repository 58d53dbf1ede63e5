// ServiceNowClient against a fake Table API (FakeUpstream routes): paging by offset in sys_id order while
// records are inserted and deleted between pages, the stop rules (X-Total-Count, Link rel=next, short pages),
// paging loops, 429 storms, Retry-After, X-RateLimit-*, HTML login pages on 200, garbage bodies, Link headers
// that point elsewhere, install_status, and the hypervisor support groups from cmdb_ci_server.
#include "servicenow_client.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "estate/http_client.h"
#include "estate/testing/fake_upstream.h"
#include "estate/testing/link_traps.h"

namespace estate::registry {
namespace {

using estate::testing::Captures;
using estate::testing::EvilLinkForms;
using estate::testing::FakeRequest;
using estate::testing::FakeResponse;
using estate::testing::FakeUpstream;
using estate::testing::Fault;
using estate::testing::FillLinkForm;
using estate::testing::SmallUpstream;
using Json = nlohmann::json;

constexpr char kApps[] = "/api/now/table/cmdb_ci_business_app";

Budget Seconds(double s) {
  Budget b;
  b.deadline = Clock::now() + std::chrono::milliseconds(static_cast<long>(s * 1000));
  return b;
}

long Param(const std::string& query, const std::string& name, long fallback) {
  const std::string key = name + "=";
  for (std::size_t at = query.find(key); at != std::string::npos; at = query.find(key, at + 1)) {
    if (at != 0 && query[at - 1] != '&') continue;
    return std::stol(query.substr(at + key.size()));
  }
  return fallback;
}

std::string Id(int n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%032d", n);
  return buf;
}

Json App(const std::string& code, const std::string& status) {
  return {{"name", "App " + code},
          {"u_app_code", code},
          {"install_status", status},
          {"owned_by.user_name", "owner-" + code},
          {"support_group.name", "Group " + code}};
}

// A table served in sys_id order with offset paging, as an instance does with ORDERBYsys_id. Hooks change the
// records between pages and bend the headers.
class FakeTable {
 public:
  std::map<std::string, Json> records;                     // sys_id -> fields (sys_id added when served)
  std::function<void(int request_no, FakeTable&)> before;  // runs under the lock before each page
  bool send_total = true;
  bool send_link = true;
  long total_override = -1;
  std::string next_link;  // {O} = the next offset; "" = the request's own URL
  bool ignore_offset = false;
  std::vector<std::string> queries;
  std::vector<Clock::time_point> times;

  void Install(FakeUpstream& fake, const std::string& path) {
    fake.Route("GET", path, [this, path](const FakeRequest& req) { return Serve(req, path); });
  }

  FakeResponse Serve(const FakeRequest& req, const std::string& path) {
    std::lock_guard lock(mu_);
    if (before) before(static_cast<int>(queries.size()), *this);
    queries.push_back(req.query);
    times.push_back(Clock::now());
    const long limit = Param(req.query, "sysparm_limit", 10000);
    const long offset = ignore_offset ? 0 : Param(req.query, "sysparm_offset", 0);
    Json result = Json::array();
    long i = 0;
    for (const auto& [sys_id, fields] : records) {
      if (i >= offset && i < offset + limit) {
        Json r = fields;
        r["sys_id"] = sys_id;
        result.push_back(r);
      }
      ++i;
    }
    const long total = static_cast<long>(records.size());
    FakeResponse resp;
    resp.body = Json{{"result", result}}.dump();
    if (send_total)
      resp.headers.emplace_back("X-Total-Count",
                                std::to_string(total_override >= 0 ? total_override : total));
    if (send_link) {
      std::string link = "<http://" + req.headers.at("host") + path + "?sysparm_offset=0>;rel=\"first\"";
      if (offset + limit < total) {
        std::string next =
            next_link.empty() ? "http://" + req.headers.at("host") + path + "?sysparm_offset={O}" : next_link;
        next.replace(next.find("{O}") == std::string::npos ? next.size() : next.find("{O}"),
                     next.find("{O}") == std::string::npos ? 0 : 3, std::to_string(offset + limit));
        link += ",<" + next + ">;rel=\"next\"";
      }
      resp.headers.emplace_back("Link", link);
    }
    return resp;
  }

  int requests() {
    std::lock_guard lock(mu_);
    return static_cast<int>(queries.size());
  }

 private:
  std::mutex mu_;
};

class ServiceNowClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fake.Start().ok());
    table.Install(fake, kApps);
    options.url = fake.base_url();
    options.page_size = 10;
    options.http.timeout_seconds = 5;
    options.http.backoff_initial_seconds = 0.01;
    options.http.max_retries = 2;
  }

  void Fill(int n, int step = 2) {
    for (int i = 0; i < n; ++i) {
      table.records[Id(i * step + step)] = App("a" + std::to_string(i), i % 7 == 3   ? "7"
                                                                        : i % 7 == 5 ? "22"
                                                                                     : "1");
    }
  }

  Result<CmdbSnapshot> Collect(double seconds = 10) {
    ServiceNowClient client(http, options);
    auto r = client.Collect(Seconds(seconds));
    requests = client.last_requests();
    rate_limited = client.rate_limited();
    by_status = client.requests_by_status();
    return r;
  }

  static std::set<std::string> Ids(const CmdbSnapshot& s) {
    std::set<std::string> ids;
    for (const auto& r : s.records) ids.insert(r.sys_id);
    return ids;
  }

  FakeUpstream fake{SmallUpstream()};
  FakeTable table;
  http::CurlHttpClient http;
  ServiceNowOptions options;
  int requests = 0;
  long rate_limited = 0;
  std::map<std::string, long> by_status;
};

TEST_F(ServiceNowClientTest, PagesEveryRecordInSysIdOrderWithTheFieldsAndInstallStatus) {
  Fill(25);
  options.query = "operational_status=1^ORDERBYname";
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  ASSERT_EQ(snap->records.size(), 25u);
  EXPECT_EQ(requests, 3);  // offsets 0, 9, 18: the last reaches X-Total-Count
  const std::string& first = table.queries.at(0);
  EXPECT_NE(first.find("sysparm_query=operational_status%3D1%5EORDERBYsys_id&"), std::string::npos) << first;
  EXPECT_NE(first.find("sysparm_fields=sys_id%2Cname%2Cu_app_code%2Cinstall_status%2Cowned_by.user_name%2C"
                       "support_group.name"),
            std::string::npos)
      << first;
  EXPECT_NE(first.find("sysparm_exclude_reference_link=true"), std::string::npos);
  EXPECT_NE(first.find("sysparm_limit=10"), std::string::npos);
  EXPECT_EQ(Param(table.queries.at(1), "sysparm_offset", -1), 9);  // one early: the anchor
  EXPECT_EQ(Param(table.queries.at(2), "sysparm_offset", -1), 18);

  int retired = 0, cancelled = 0;
  for (std::size_t i = 0; i < snap->records.size(); ++i) {
    const CmdbRecord& r = snap->records[i];
    EXPECT_EQ(r.table, "cmdb_ci_business_app");
    EXPECT_EQ(r.sys_id, Id(static_cast<int>(i) * 2 + 2));
    EXPECT_EQ(r.app_code, "a" + std::to_string(i));
    EXPECT_EQ(r.name, "App a" + std::to_string(i));
    EXPECT_EQ(r.owner, "owner-a" + std::to_string(i));
    EXPECT_EQ(r.support_group, "Group a" + std::to_string(i));
    if (r.install_status == "7") {
      ++retired;
      EXPECT_FALSE(r.registered);
      EXPECT_EQ(r.not_registered_reason, "install_status 7 (Retired)");
    } else if (r.install_status == "22") {
      ++cancelled;
      EXPECT_FALSE(r.registered);
      EXPECT_EQ(r.not_registered_reason, "install_status 22 (Cancelled)");
    } else {
      EXPECT_TRUE(r.registered);
      EXPECT_EQ(r.not_registered_reason, "");
    }
  }
  EXPECT_EQ(retired, 4);
  EXPECT_EQ(cancelled, 3);
  EXPECT_GT(snap->collected_unix, 0);
  EXPECT_EQ(by_status["200"], 3);
}

TEST_F(ServiceNowClientTest, RecordsInsertedAndDeletedBetweenPagesAreNeitherSkippedNorRepeated) {
  Fill(40);                      // sys_ids 2, 4, ..., 80
  std::set<std::string> always;  // present for the whole collect
  for (const auto& [id, f] : table.records) always.insert(id);
  const std::set<std::string> deleted = {Id(4), Id(10), Id(12), Id(40)};
  for (const auto& id : deleted) always.erase(id);
  table.before = [&](int n, FakeTable& t) {
    if (n == 1) {  // before the second page: three gone before the cursor, one after, two new before
      for (const auto& id : deleted) t.records.erase(id);
      t.records[Id(1)] = App("new1", "1");
      t.records[Id(7)] = App("new7", "1");
    }
    if (n == 2) t.records[Id(79)] = App("new79", "1");  // ahead of the cursor: must be read
    if (n == 3) t.records.erase(t.records.begin());     // before the cursor again
  };
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  const std::set<std::string> got = Ids(*snap);
  EXPECT_EQ(got.size(), snap->records.size()) << "a record came twice";
  for (const auto& id : always) {
    if (id == Id(1)) continue;  // inserted and deleted again before the cursor
    EXPECT_TRUE(got.contains(id)) << "skipped " << id;
  }
  EXPECT_TRUE(got.contains(Id(79)));
  // Plain offset paging would have lost the records the deletions moved below the cursor.
  EXPECT_TRUE(got.contains(Id(22)) && got.contains(Id(24)));
  for (std::size_t i = 1; i < snap->records.size(); ++i) {
    EXPECT_LT(snap->records[i - 1].sys_id, snap->records[i].sys_id);
  }
}

TEST_F(ServiceNowClientTest, TheAnchorItselfDeletedStepsBack) {
  Fill(30);
  table.before = [&](int n, FakeTable& t) {
    if (n == 1) {
      t.records.erase(Id(20));  // the last record of page one: the anchor
      t.records.erase(Id(2));
    }
  };
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  std::set<std::string> got = Ids(*snap);
  EXPECT_EQ(got.size(), 30u);  // Id(20) and Id(2) were read before they went away
  for (int i = 1; i <= 30; ++i) EXPECT_TRUE(got.contains(Id(i * 2))) << i;
  EXPECT_GT(requests, 4);  // a step back happened
}

TEST_F(ServiceNowClientTest, AnInstanceIgnoringTheOffsetIsAPagingLoop) {
  Fill(30);
  table.ignore_offset = true;
  table.send_total = false;
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("paging loop"), std::string::npos) << snap.error();
  EXPECT_LE(requests, 5);
}

TEST_F(ServiceNowClientTest, MaxRecordsBoundsTheCollect) {
  Fill(30);
  options.max_records = 15;
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("max_records"), std::string::npos) << snap.error();
}

// A page of one could never move past its anchor: the client refuses it (as the config does) before any
// request, and 2 is enough to page through everything.
TEST_F(ServiceNowClientTest, PageSizeBelowTwoIsRefusedWithoutARequest) {
  Fill(5);
  for (int bad : {1, 0, -5}) {
    options.page_size = bad;
    auto snap = Collect();
    ASSERT_FALSE(snap.ok()) << bad;
    EXPECT_NE(snap.error().find("page_size " + std::to_string(bad) + " is below 2"), std::string::npos)
        << snap.error();
    EXPECT_EQ(requests, 0);
  }
  EXPECT_EQ(fake.RequestCount(), 0u);
  options.page_size = 2;
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 5u);
}

TEST_F(ServiceNowClientTest, RecordsOutOfSysIdOrderAreAnError) {
  fake.Route("GET", kApps, [](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"result":[{"sys_id":"b"},{"sys_id":"a"}]})";
    return r;
  });
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("not in sys_id order"), std::string::npos) << snap.error();
}

TEST_F(ServiceNowClientTest, TotalCountMismatchEndsWithWhatWasDelivered) {
  Fill(15);
  table.total_override = 40;  // claims more than there is
  table.send_link = false;
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 15u);
  EXPECT_EQ(requests, 3);  // 0 (10), 9 (6: short, but the total says more), 14 (only the anchor: done)
}

TEST_F(ServiceNowClientTest, NoLinkNextStopsEvenWhenTheTotalSaysMore) {
  Fill(15);
  table.total_override = 40;
  table.next_link = "http://unused.invalid/x?o={O}";  // present on full pages only (offset+limit < total)
  table.records.erase(Id(30));
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 14u);
}

TEST_F(ServiceNowClientTest, WithoutHeadersAShortPageEnds) {
  Fill(20);
  table.send_total = false;
  table.send_link = false;
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 20u);
  EXPECT_EQ(requests, 3);  // 0 (10), 9 (10), 18 (2: short)
}

TEST_F(ServiceNowClientTest, EmptyTable) {
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_TRUE(snap->records.empty());
  EXPECT_EQ(requests, 1);
}

TEST_F(ServiceNowClientTest, LinkNextToAnotherOriginIsNeverRequested) {
  Captures captures;
  Fill(25);
  const std::string host_port = "127.0.0.1:" + std::to_string(fake.port());
  for (const std::string& form : EvilLinkForms(std::string(kApps) + "?sysparm_offset={O}")) {
    table.next_link = FillLinkForm(form, host_port, captures);
    if (table.next_link.find("{O}") == std::string::npos) table.next_link += "&o={O}";
    auto snap = Collect();
    ASSERT_TRUE(snap.ok()) << table.next_link << ": " << snap.error();
    EXPECT_EQ(snap->records.size(), 25u) << table.next_link;
  }
  EXPECT_EQ(captures.Seen(), 0u);
  for (const auto& req : fake.Requests()) EXPECT_EQ(req.path, kApps);
}

TEST_F(ServiceNowClientTest, HtmlLoginPageOn200IsAnError) {
  fake.Route("GET", kApps, [](const FakeRequest&) {
    FakeResponse r;
    r.content_type = "text/html; charset=UTF-8";
    r.body = "<html><title>Log in | ServiceNow</title><input name=sysparm_ck value=secret-ck></html>";
    return r;
  });
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("ServiceNow answered with an HTML page (SSO login?)"), std::string::npos)
      << snap.error();
  EXPECT_EQ(snap.error().find("secret-ck"), std::string::npos);
  EXPECT_EQ(requests, 1);
}

TEST_F(ServiceNowClientTest, GarbageBodyIsAnErrorWithoutTheBody) {
  Fill(5);
  fake.AddFault({.kind = Fault::Kind::kGarbage});
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("invalid JSON"), std::string::npos) << snap.error();
  EXPECT_NE(snap.error().find("GET /api/now/table/cmdb_ci_business_app (offset 0)"), std::string::npos)
      << snap.error();
}

TEST_F(ServiceNowClientTest, RefusalNamesTheStatusAndServiceNowsMessage) {
  fake.Route("GET", kApps, [](const FakeRequest&) {
    FakeResponse r;
    r.status = 401;
    r.body = R"({"error":{"message":"User Not Authenticated","detail":"x"},"status":"failure"})";
    return r;
  });
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(snap.error(),
            "GET /api/now/table/cmdb_ci_business_app (offset 0): HTTP 401: User Not Authenticated");
}

TEST_F(ServiceNowClientTest, BearerTokenIsSent) {
  Fill(3);
  options.http.auth.kind = http::Auth::Kind::kBearer;
  options.http.auth.token = "tok-123";
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  ASSERT_FALSE(fake.Requests().empty());
  EXPECT_EQ(fake.Requests().back().headers.at("authorization"), "Bearer tok-123");
}

TEST_F(ServiceNowClientTest, ServerErrorsAreRetriedOnceEach) {
  Fill(5);
  fake.AddFault({.kind = Fault::Kind::kStatus, .status = 503, .remaining = 2});
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 5u);
  EXPECT_EQ(requests, 3);
  EXPECT_EQ(by_status["503"], 2);
  EXPECT_EQ(fake.RequestCount(), 3u);  // the HTTP client did not retry on its own as well
}

TEST_F(ServiceNowClientTest, A429StormEndsInAnErrorAfterMaxWaits) {
  Fill(5);
  options.max_rate_limit_waits = 4;
  fake.AddFault({.kind = Fault::Kind::kStatus, .status = 429, .headers = {{"Retry-After", "0"}}});
  const auto start = Clock::now();
  auto snap = Collect(30);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("rate limited (HTTP 429, Retry-After 0.0 s) 5 times in a row"),
            std::string::npos)
      << snap.error();
  EXPECT_EQ(requests, 5);
  EXPECT_EQ(rate_limited, 5);
  EXPECT_EQ(by_status["429"], 5);
  EXPECT_EQ(fake.RequestCount(), 5u);  // one request per 429: no second layer of retries underneath
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 5);
}

TEST_F(ServiceNowClientTest, RetryAfterBeyondTheCapOrTheBudgetFailsAtOnce) {
  Fill(5);
  options.max_retry_after_seconds = 60;
  fake.AddFault({.kind = Fault::Kind::kStatus, .status = 429, .headers = {{"Retry-After", "3600"}}});
  auto snap = Collect(30);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("longer than max_retry_after_seconds 60.0"), std::string::npos) << snap.error();
  EXPECT_EQ(requests, 1);

  fake.ClearFaults();
  fake.AddFault({.kind = Fault::Kind::kStatus, .status = 429, .headers = {{"Retry-After", "30"}}});
  const auto start = Clock::now();
  snap = Collect(2);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("longer than the time left"), std::string::npos) << snap.error();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 1);
}

TEST_F(ServiceNowClientTest, RetryAfterIsWaitedOut) {
  Fill(5);
  fake.AddFault(
      {.kind = Fault::Kind::kStatus, .status = 429, .headers = {{"Retry-After", "1"}}, .remaining = 1});
  const auto start = Clock::now();
  auto snap = Collect(10);
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(snap->records.size(), 5u);
  EXPECT_GE(std::chrono::duration<double>(Clock::now() - start).count(), 0.95);
  EXPECT_EQ(rate_limited, 1);
  EXPECT_EQ(requests, 2);
}

TEST_F(ServiceNowClientTest, RetryAfterAsAnHttpDate) {
  Fill(5);
  fake.AddFault({.kind = Fault::Kind::kStatus,
                 .status = 429,
                 .headers = {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}},  // in the past: no wait
                 .remaining = 2});
  auto snap = Collect(10);
  ASSERT_TRUE(snap.ok()) << snap.error();
  EXPECT_EQ(rate_limited, 2);
}

TEST_F(ServiceNowClientTest, UsedUpQuotaWaitsForTheResetBeforeTheNextRequest) {
  Fill(15);
  fake.Route("GET", kApps, [this](const FakeRequest& req) {
    FakeResponse r = table.Serve(req, kApps);
    r.headers.emplace_back("X-RateLimit-Limit", "100");
    r.headers.emplace_back("X-RateLimit-Remaining", table.requests() == 1 ? "0" : "50");
    r.headers.emplace_back("X-RateLimit-Reset", "1");  // seconds from now
    return r;
  });
  auto snap = Collect(10);
  ASSERT_TRUE(snap.ok()) << snap.error();
  ASSERT_EQ(table.times.size(), 2u);
  EXPECT_GE(std::chrono::duration<double>(table.times[1] - table.times[0]).count(), 0.95);
  EXPECT_EQ(rate_limited, 0);
}

TEST_F(ServiceNowClientTest, UsedUpQuotaBeyondTheBudgetIsAnError) {
  Fill(15);
  fake.Route("GET", kApps, [this](const FakeRequest& req) {
    FakeResponse r = table.Serve(req, kApps);
    r.headers.emplace_back("X-RateLimit-Remaining", "0");
    r.headers.emplace_back("X-RateLimit-Reset", "30");
    return r;
  });
  const auto start = Clock::now();
  auto snap = Collect(2);
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("rate-limit quota is used up"), std::string::npos) << snap.error();
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - start).count(), 1);
}

TEST_F(ServiceNowClientTest, HypervisorSupportGroupsFromServerRecords) {
  Fill(3);
  FakeTable servers;
  servers.records[Id(1)] = {
      {"name", "hv01"}, {"fqdn", "hv01.dc1.example.com"}, {"support_group.name", "Compute A"}};
  servers.records[Id(2)] = {
      {"name", "HV02.dc1.example.com"}, {"fqdn", ""}, {"support_group.name", "Compute B"}};
  servers.records[Id(3)] = {{"name", "hv03"}, {"support_group.name", ""}};
  servers.records[Id(4)] = {{"name", "hv01"}, {"support_group.name", "Later duplicate"}};
  servers.Install(fake, "/api/now/table/cmdb_ci_server");
  options.server_table = "cmdb_ci_server";
  options.query = "install_status=1";
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  const std::map<std::string, std::string> want = {{"hv01", "Compute A"},
                                                   {"hv01.dc1.example.com", "Compute A"},
                                                   {"hv02", "Compute B"},
                                                   {"hv02.dc1.example.com", "Compute B"}};
  EXPECT_EQ(snap->server_support_groups, want);
  ASSERT_EQ(servers.queries.size(), 1u);
  // The app query is not applied to the server table.
  EXPECT_NE(servers.queries[0].find("sysparm_query=ORDERBYsys_id&"), std::string::npos) << servers.queries[0];
  EXPECT_NE(servers.queries[0].find("sysparm_fields=sys_id%2Cname%2Csupport_group.name%2Cfqdn"),
            std::string::npos);
}

TEST_F(ServiceNowClientTest, DisplayValueAllGivesNamesAndRawInstallStatus) {
  fake.Route("GET", kApps, [](const FakeRequest&) {
    FakeResponse r;
    r.body = R"({"result":[{"sys_id":{"display_value":"x1","value":"x1"},
      "name":{"display_value":"Billing","value":"Billing"},"u_app_code":{"display_value":"BIL","value":"BIL"},
      "install_status":{"display_value":"Retired","value":"7"},
      "owned_by.user_name":{"display_value":"carol","value":"carol"},
      "support_group.name":{"display_value":"","value":""}}]})";
    return r;
  });
  options.display_value = "all";
  auto snap = Collect();
  ASSERT_TRUE(snap.ok()) << snap.error();
  ASSERT_EQ(snap->records.size(), 1u);
  EXPECT_EQ(snap->records[0].app_code, "bil");
  EXPECT_EQ(snap->records[0].install_status, "7");
  EXPECT_FALSE(snap->records[0].registered);
  EXPECT_EQ(snap->records[0].owner, "carol");
  EXPECT_EQ(snap->records[0].support_group, "");
}

TEST_F(ServiceNowClientTest, BadConfigurationIsAnErrorBeforeAnyRequest) {
  options.tables = {"cmdb_ci_business_app", "../sys_user"};
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("invalid table name"), std::string::npos);
  options.tables = {"cmdb_ci_business_app"};
  options.owner_field = "owned_by,password";
  snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("invalid field name"), std::string::npos);
  options.owner_field = "owned_by.user_name";
  options.url = "ftp://x";
  snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_EQ(fake.RequestCount(), 0u);
}

TEST_F(ServiceNowClientTest, ATableThatFailsFailsTheCollect) {
  Fill(3);
  options.tables = {"cmdb_ci_business_app", "cmdb_ci_service_auto"};  // the second is not served: 404
  auto snap = Collect();
  ASSERT_FALSE(snap.ok());
  EXPECT_NE(snap.error().find("GET /api/now/table/cmdb_ci_service_auto (offset 0): HTTP 404"),
            std::string::npos)
      << snap.error();
}

}  // namespace
}  // namespace estate::registry
