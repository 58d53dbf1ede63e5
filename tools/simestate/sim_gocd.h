// kind "gocd" (issue #12): a simulated GoCD server for the service-registry exporter, on the simulated
// estate's FakeUpstream. It answers
//   GET /go/api/dashboard                  (Accept application/vnd.go.cd.v4+json or the unpinned
//                                           application/vnd.go.cd+json; anything else 404 as GoCD does):
//                                           _embedded.pipeline_groups[] {name, pipelines: [names]} and
//                                           _embedded.pipelines[] {name, _embedded.instances: [the latest
//                                           run]}
//   GET /go/api/pipelines/<name>/history   (Accept ...v1+json or unpinned): newest first, ?page_size=10..100
//                                           (default 10; anything else 422), ?after=<cursor> for older pages;
//                                           _links.next.href on every page but the oldest
// with the runs of the pipelines built through the C++ API below. The cursor is the counter of the last run
// on the page (opaque to clients, as GoCD's is). Links are absolute, on the address the client used (Host
// header), or on `link_base` when set (to play a GoCD that names its own internal host).
//
// Runs are either listed (AddRun) or generated: a pipeline with N generated runs (GeneratePipeline) answers
// every page from arithmetic, counter c scheduled at newest - (N - c) * spacing, so 100k-run histories cost
// nothing until read. Listed runs may be appended on top of generated ones (the counter goes on).
//
// Auth: a bearer token, basic credentials, both, or none (any request without a match is 401).
// Thread-safety: handlers run on civetweb threads; the pipelines are behind a mutex and the API may be used
// while requests are served.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "estate/testing/fake_upstream.h"

namespace estate::simestate {

struct SimGocdRun {
  std::int64_t counter = 0;  // 0 = the next counter of its pipeline
  double scheduled_unix = 0;
  std::string forced_by;                // "" = triggered by changes
  std::vector<std::string> committers;  // "Name <email>", the changed material's modifications
  std::string stage_approver;           // a manual stage's approved_by; "" = "changes"
};

struct SimGocdOptions {
  std::string bearer_token;  // "" = no bearer auth
  std::string basic_user;    // "" = no basic auth
  std::string basic_password;
  std::string link_base;            // "" = the client's Host
  bool dashboard_instances = true;  // false: pipelines without _embedded.instances (older dashboards)
};

class SimGocd {
 public:
  explicit SimGocd(SimGocdOptions options = {});
  SimGocd(const SimGocd&) = delete;
  SimGocd& operator=(const SimGocd&) = delete;

  // Adds an empty pipeline (or moves an existing one to `group`). Its routes exist once Install ran.
  void AddPipeline(const std::string& name, const std::string& group);
  // Appends a run (counter = the next one when 0); the pipeline is created in group "" when missing.
  void AddRun(const std::string& name, SimGocdRun run);
  // A pipeline of `count` generated runs, the newest at newest_unix, one every spacing_seconds, each forced
  // by users[counter % users.size()] and committed by the same user as "<user> <user@example.com>".
  void GeneratePipeline(const std::string& name, const std::string& group, std::int64_t count,
                        double newest_unix, double spacing_seconds, std::vector<std::string> users);
  // Takes the pipeline off the dashboard; its history answers 404.
  void RemovePipeline(const std::string& name);
  void SetLinkBase(const std::string& link_base);

  // Registers the routes on server (the dashboard and the history of every pipeline, now and added later).
  // The server must outlive this object's use of it.
  void Install(testing::FakeUpstream& server);

  std::int64_t LatestCounter(const std::string& name) const;
  long dashboard_requests() const { return dashboard_requests_.load(); }
  long history_requests() const { return history_requests_.load(); }

 private:
  struct SimPipeline {
    std::string name;
    std::string group;
    bool removed = false;
    // Generated runs 1..generated, then the listed ones (counters generated+1 ...).
    std::int64_t generated = 0;
    double newest_unix = 0;
    double spacing_seconds = 0;
    std::vector<std::string> users;
    std::vector<SimGocdRun> listed;
    std::int64_t Latest() const { return listed.empty() ? generated : listed.back().counter; }
  };
  testing::FakeResponse Dashboard(const testing::FakeRequest& req);
  testing::FakeResponse History(const std::string& name, const testing::FakeRequest& req);
  bool Authorized(const testing::FakeRequest& req) const;
  void RouteLocked(const std::string& name);
  SimPipeline& PipelineLocked(const std::string& name);  // created (and routed) when missing

  SimGocdOptions options_;
  mutable std::mutex mu_;
  std::vector<std::string> order_;  // pipeline names in the order added
  std::map<std::string, SimPipeline> pipelines_;
  testing::FakeUpstream* server_ = nullptr;
  std::atomic<long> dashboard_requests_{0};
  std::atomic<long> history_requests_{0};
};

}  // namespace estate::simestate
