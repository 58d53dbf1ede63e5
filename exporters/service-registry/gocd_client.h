// GoCD client of the service-registry exporter: the pipelines (GET /go/api/dashboard, v4) whose name or group
// matches an app's pattern, and their history (GET /go/api/pipelines/<name>/history, v1), paged by cursor.
// After the first pass only new runs are fetched: the client keeps, per pipeline, the runs inside the window
// and the highest counter seen, and stops paging a history at the first counter it already has.
//
// Who ran a pipeline: "Forced by <user>" / build_cause.approver (not "changes"), stages[].approved_by, and
// the committers of the material revisions (user_name "Name <email>"); gocd_parse.h says who counts and how
// a user is spelt (RankPipelineUsers below counts them).
//
// Links (_links.next) are followed only on the configured scheme, host and port (estate/url.h). A pipeline
// whose history fails keeps its previous runs and makes the collect partial (partial = true in the result),
// never silently empty.
//
// How a Collect goes (gocd_client.cpp):
//   1. GET /go/api/dashboard (v4; on 404/406 once more with the unpinned application/vnd.go.cd+json). The
//      pipelines whose name or group matches a pattern are kept; the others, and pipelines no longer on the
//      dashboard, leave the state.
//   2. Per pipeline, up to `concurrency` at once: when the dashboard's latest instance counter is at most the
//      counter already held, no request at all; else history pages newest first (page_size), each run with a
//      counter above the one held and scheduled inside the window kept, until a run already held, a run older
//      than the window, the last page, or max_runs_per_pipeline. The next page is _links.next when it stays
//      on the configured origin, else the same cursor (its ?after=) on the configured URL; a cursor seen
//      twice in one pass is a loop and ends that pipeline with an error. A run without a scheduled_date
//      cannot be placed in the window and is left out (paging goes on past it).
//   3. Merge: new runs before the ones held, runs older than the window dropped. A pipeline whose history
//      failed keeps the runs it had plus those fetched before the failure, and its last counter stays where
//      it was, so that the next pass fetches the gap again. A dashboard counter below the one held means the
//      pipeline was deleted and re-created: its state starts over.
//
// Thread-safety: Collect must not run concurrently with itself on one instance; last_requests() may be read
// from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "registry_model.h"

namespace estate::registry {

struct GocdOptions {
  std::string url;  // https://gocd.example.com (the /go prefix is added)
  // Patterns (ECMAScript regex) matched against pipeline names and group names; only matching pipelines are
  // fetched. "" = every pipeline on the dashboard.
  std::vector<std::string> pipeline_patterns;
  double window_days = 30;
  int page_size = 100;                  // 10..100
  int max_runs_per_pipeline = 1000000;  // safety cap per refresh
  http::ClientOptions http;
  int concurrency = 4;  // pipelines whose history is fetched at once (1..32)
  // The clock the window is measured against (Unix seconds); the system clock when empty. For tests.
  std::function<double()> now_unix;
};

struct GocdCollect {
  GocdSnapshot snapshot;
  bool partial = false;             // some pipeline histories failed and kept their previous runs
  std::vector<std::string> errors;  // one line per failed pipeline (at most 20, then "... and N more")
};

class GocdClient {
 public:
  GocdClient(http::HttpClient& http, GocdOptions options);
  GocdClient(const GocdClient&) = delete;
  GocdClient& operator=(const GocdClient&) = delete;

  // An Error when the dashboard itself fails (the caller keeps its last snapshot).
  Result<GocdCollect> Collect(const Budget& budget);

  int last_requests() const { return requests_.load(); }

 private:
  struct Fetched;
  Fetched FetchHistory(const std::string& name, std::int64_t held_counter, double cutoff_unix,
                       const Budget& budget);
  Result<http::Response> Get(const std::string& url, const char* accept, const Budget& budget);
  double Now() const;

  http::HttpClient& http_;
  GocdOptions options_;
  std::map<std::string, Pipeline> state_;  // per pipeline: runs in the window, last counter
  std::atomic<int> requests_{0};
  std::vector<std::regex> patterns_;
  std::string pattern_error_;  // why a pattern does not compile; Collect then fails with it
};

// The users of the runs of `pipelines` scheduled at or after since_unix, most frequent first (runs they took
// part in), ties by name; at most top (0 = all). Within each pipeline a committer e-mail whose local part is
// a GoCD login seen in that pipeline's runs counts as that login (gocd::MergeCommitterWithLogin), and a
// person counts once per run however many roles they had in it.
std::vector<UserCount> RankPipelineUsers(const std::vector<const Pipeline*>& pipelines, double since_unix,
                                         int top);

}  // namespace estate::registry
