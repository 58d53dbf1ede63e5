// Pure parsers for the two GoCD APIs the service-registry exporter reads (issue #12):
//   GET /go/api/dashboard                   (Accept application/vnd.go.cd.v4+json): pipeline groups and
//   pipelines GET /go/api/pipelines/<name>/history     (Accept application/vnd.go.cd.v1+json): one page of
//   runs, newest
//                                            first, with _links.next.href ("...?after=<cursor>") to the next
//                                            one
//
// Who ran a pipeline (PipelineRun::users, distinct within the run, in this order):
//   1. build_cause.approver, and the <user> of trigger_message "Forced by <user>" (manual triggers);
//   2. stages[].approved_by (manual stage approvals);
//   3. the committers of the material revisions that changed in this run (material_revisions[] with
//      "changed": true, or without "changed" at all in older shapes): modifications[].user_name. Revisions of
//      dependency materials (material.type "Pipeline") name an upstream pipeline, not a person, and are
//      skipped.
// GoCD's pseudo users are not people and are left out (case-insensitive): "changes" (material-triggered),
// "timer" (timer-triggered), "anonymous" (security off), "unknown", and "".
//
// User display form (DisplayUser), stable across runs and refreshes so that counts add up:
//   "Jane Doe <Jane.Doe@Example.com>" -> "jane.doe@example.com"  (the e-mail, lower-cased: the same person
//                                        commits under differently spelt names, rarely under another address)
//   "Jane Doe <>" / "Jane Doe <jd>"   -> "jane doe"               (no usable e-mail: the name part)
//   "JDoe" (a GoCD login)             -> "jdoe"                   (GoCD's user names are case-insensitive)
// Every form is lower-cased (ASCII letters only), so "Forced by JDoe" and approver "jdoe" are one user.
// Control characters become spaces, commas (the metrics join user lists with commas) become spaces, runs of
// spaces collapse, invalid UTF-8 becomes U+FFFD, and the result is cut to at most 128 bytes.
//
// One person, one user (MergeCommitterWithLogin, applied per pipeline by RankPipelineUsers): the same person
// shows up as "dana" (Forced by dana, an approval) and as "dana@estate.example" (a committer). A committer's
// e-mail form counts as the login when its local part (before the '@') equals, exactly, a GoCD login (a
// display form without '@' or space) seen in the same pipeline's runs. Only then: the domain is not checked
// (GoCD logins carry none), and an e-mail whose local part is no login of that pipeline stays as it is (two
// people named "dana" on different pipelines are not merged through a third one).
//
// Tolerated shapes: pipeline_groups[].pipelines as names (v4) or as objects with "name" (older dashboards,
// also under pipeline_groups[]._embedded.pipelines); counters as integers, integral doubles or digit strings;
// pages without _links or without scheduled_date (the run's time is then 0 = unknown). Unknown members are
// ignored. Anything else wrong is an Error naming the member, never the body's content.
//
// Never throws. Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"
#include "registry_model.h"

namespace estate::registry::gocd {

// Longest pipeline name accepted (GoCD's own limit); longer ones are skipped as not GoCD's.
constexpr std::size_t kMaxPipelineNameBytes = 255;
// Longest user display form (bytes).
constexpr std::size_t kMaxUserBytes = 128;

struct DashboardPipeline {
  std::string name;
  std::string group;                // "" when the dashboard lists it in no group
  std::int64_t latest_counter = 0;  // highest counter among _embedded.instances; 0 = not given
};

// Every pipeline on the dashboard, in order of first appearance, each name once. Names that are empty, longer
// than kMaxPipelineNameBytes or hold control characters are skipped. Error when the body is not JSON or is
// not a dashboard (no _embedded.pipeline_groups and no _embedded.pipelines): an empty dashboard must be an
// explicit empty list, never what a login page or a wrong endpoint parses to.
Result<std::vector<DashboardPipeline>> ParseDashboard(std::string_view body);

struct HistoryPage {
  std::vector<PipelineRun> runs;  // in the page's order (newest first from a real server)
  std::string next_link;          // _links.next.href, "" when there is none (the oldest page)
  int skipped = 0;                // entries without a usable counter
};

// One page of GET /go/api/pipelines/<name>/history. Error when the body is not JSON or has no "pipelines"
// array.
Result<HistoryPage> ParseHistoryPage(std::string_view body);

// The users of one history entry (a "pipelines" element), as described above; exposed for tests.
std::vector<std::string> RunUsers(const nlohmann::json& entry);

// "Name <email>" and logins to the display form described above; "" for GoCD's pseudo users.
std::string DisplayUser(std::string_view raw);

// A display form as the pipeline's login when it is an e-mail form whose local part is one of `logins` (the
// GoCD logins seen in the same pipeline's runs); else the display form unchanged. See "One person, one user".
std::string MergeCommitterWithLogin(const std::string& user, const std::set<std::string>& logins);

// The cursor of a next link: the decoded value of its "after" query parameter, when it is 1 to 64 characters
// of [A-Za-z0-9_.-]; "" otherwise (absent, empty, or anything that would need care in a URL).
std::string CursorOf(std::string_view link);

}  // namespace estate::registry::gocd
