// GoCD client of the service-registry exporter: the pipelines (GET /go/api/dashboard, v4) whose name or group
// matches an app's pattern, and their history (GET /go/api/pipelines/<name>/history, v1), paged by cursor.
// After the first pass only new runs are fetched: the client keeps, per pipeline, the runs inside the window
// and the highest counter seen, and stops paging a history at the first counter it already has.
//
// Who ran a pipeline: "Forced by <user>" / build_cause.approver (not "changes"), stages[].approved_by, and
// the committers of the material revisions (user_name "Name <email>").
//
// Links (_links.next) are followed only on the configured scheme, host and port (estate/url.h). A pipeline
// whose history fails keeps its previous runs and makes the collect partial (partial = true in the result),
// never silently empty. Thread-safety: Collect must not run concurrently with itself on one instance.
#pragma once

#include <atomic>
#include <map>
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
};

struct GocdCollect {
  GocdSnapshot snapshot;
  bool partial = false;             // some pipeline histories failed and kept their previous runs
  std::vector<std::string> errors;  // one line per failed request
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
  http::HttpClient& http_;
  GocdOptions options_;
  std::map<std::string, Pipeline> state_;  // per pipeline: runs in the window, last counter
  std::atomic<int> requests_{0};
};

}  // namespace estate::registry
