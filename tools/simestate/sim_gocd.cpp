#include "sim_gocd.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <utility>

#include "sim_http.h"

namespace estate::simestate {

namespace {

using json = nlohmann::json;
using testing::FakeRequest;
using testing::FakeResponse;

constexpr const char* kMediaV1 = "application/vnd.go.cd.v1+json";
constexpr const char* kMediaV4 = "application/vnd.go.cd.v4+json";
constexpr const char* kMediaLatest = "application/vnd.go.cd+json";

std::string Header(const FakeRequest& req, const std::string& name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? "" : it->second;
}

std::string Base64(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

// GoCD answers a media type it does not serve with a 404 and this message.
FakeResponse WrongVersion() {
  return Json(404, {{"message", "The url you are trying to reach appears to be incorrect."}});
}

bool Accepts(const FakeRequest& req, const char* pinned) {
  const std::string accept = Header(req, "accept");
  return accept.find(pinned) != std::string::npos || accept.find(kMediaLatest) != std::string::npos;
}

FakeResponse WithMedia(FakeResponse resp, const char* media) {
  resp.content_type = std::string(media) + "; charset=utf-8";
  return resp;
}

// prefix + text by append: GCC 12 at -O3 reports a bogus -Wrestrict overlap for "r" + std::to_string(n)
// (GCC bug 105329), and the release preset builds this with -Werror.
std::string Prefixed(std::string_view prefix, const std::string& text) {
  std::string out;
  out.reserve(prefix.size() + text.size());
  out.append(prefix).append(text);
  return out;
}

json RunJson(const std::string& pipeline, std::int64_t counter, const SimGocdRun& run) {
  const bool forced = !run.forced_by.empty();
  json mods = json::array();
  for (const auto& c : run.committers) {
    mods.push_back({{"revision", Prefixed("r", std::to_string(counter))},
                    {"modified_time", static_cast<std::int64_t>(run.scheduled_unix * 1000) - 60000},
                    {"user_name", c},
                    {"comment", "change for run " + std::to_string(counter)},
                    {"email_address", nullptr}});
  }
  json stage = {
      {"result", "Passed"},
      {"status", "Passed"},
      {"rerun_of_counter", nullptr},
      {"name", "deploy"},
      {"counter", "1"},
      {"scheduled", true},
      {"approval_type", run.stage_approver.empty() ? "success" : "manual"},
      {"approved_by", run.stage_approver.empty() ? "changes" : run.stage_approver},
      {"operate_permission", true},
      {"can_run", true},
      {"jobs", json::array({{{"name", "deploy"},
                             {"scheduled_date", static_cast<std::int64_t>(run.scheduled_unix * 1000)},
                             {"state", "Completed"},
                             {"result", "Passed"}}})}};
  return {
      {"name", pipeline},
      {"counter", counter},
      {"label", std::to_string(counter)},
      {"natural_order", static_cast<double>(counter)},
      {"can_run", true},
      {"preparing_to_schedule", false},
      {"comment", nullptr},
      {"scheduled_date", static_cast<std::int64_t>(run.scheduled_unix * 1000)},
      {"build_cause",
       {{"trigger_message", forced ? "Forced by " + run.forced_by
                                   : (run.committers.empty() ? std::string("triggered by changes")
                                                             : "modified by " + run.committers[0])},
        {"trigger_forced", forced},
        {"approver", forced ? run.forced_by : "changes"},
        {"material_revisions",
         json::array({{{"changed", !mods.empty()},
                       {"material",
                        {{"name", "https://git.example.com/" + pipeline},
                         {"fingerprint", Prefixed("f", std::to_string(std::hash<std::string>{}(pipeline)))},
                         {"type", "Git"},
                         {"description", "URL: https://git.example.com/" + pipeline + ", Branch: main"}}},
                       {"modifications", mods}}})}}},
      {"stages", json::array({stage})}};
}

}  // namespace

SimGocd::SimGocd(SimGocdOptions options) : options_(std::move(options)) {}

SimGocd::SimPipeline& SimGocd::PipelineLocked(const std::string& name) {
  auto [it, inserted] = pipelines_.try_emplace(name);
  if (inserted) {
    it->second.name = name;
    order_.push_back(name);
    RouteLocked(name);
  }
  return it->second;
}

void SimGocd::AddPipeline(const std::string& name, const std::string& group) {
  std::lock_guard lock(mu_);
  SimPipeline& p = PipelineLocked(name);
  p.group = group;
  p.removed = false;
}

void SimGocd::AddRun(const std::string& name, SimGocdRun run) {
  std::lock_guard lock(mu_);
  SimPipeline& p = PipelineLocked(name);
  run.counter = std::max(run.counter, p.Latest() + 1);
  p.listed.push_back(std::move(run));
}

void SimGocd::GeneratePipeline(const std::string& name, const std::string& group, std::int64_t count,
                               double newest_unix, double spacing_seconds, std::vector<std::string> users) {
  std::lock_guard lock(mu_);
  SimPipeline& p = PipelineLocked(name);
  p = SimPipeline{};
  p.name = name;
  p.group = group;
  p.generated = count;
  p.newest_unix = newest_unix;
  p.spacing_seconds = spacing_seconds;
  p.users = users.empty() ? std::vector<std::string>{"builder"} : std::move(users);
}

void SimGocd::RemovePipeline(const std::string& name) {
  std::lock_guard lock(mu_);
  if (auto it = pipelines_.find(name); it != pipelines_.end()) it->second.removed = true;
}

void SimGocd::SetLinkBase(const std::string& link_base) {
  std::lock_guard lock(mu_);
  options_.link_base = link_base;
}

std::int64_t SimGocd::LatestCounter(const std::string& name) const {
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(name);
  return it == pipelines_.end() ? 0 : it->second.Latest();
}

void SimGocd::Install(testing::FakeUpstream& server) {
  std::lock_guard lock(mu_);
  server_ = &server;
  server.Route("GET", "/go/api/dashboard", [this](const FakeRequest& req) { return Dashboard(req); });
  for (const auto& name : order_) RouteLocked(name);
}

void SimGocd::RouteLocked(const std::string& name) {
  if (server_ == nullptr) return;
  // GoCD pipeline names are [A-Za-z0-9_.-]: the path needs no encoding.
  server_->Route("GET", "/go/api/pipelines/" + name + "/history",
                 [this, name](const FakeRequest& req) { return History(name, req); });
}

bool SimGocd::Authorized(const FakeRequest& req) const {
  if (options_.bearer_token.empty() && options_.basic_user.empty()) return true;
  const std::string auth = Header(req, "authorization");
  if (!options_.bearer_token.empty() && auth == "Bearer " + options_.bearer_token) return true;
  return !options_.basic_user.empty() &&
         auth == "Basic " + Base64(options_.basic_user + ":" + options_.basic_password);
}

FakeResponse SimGocd::Dashboard(const FakeRequest& req) {
  ++dashboard_requests_;
  if (!Authorized(req)) return Json(401, {{"message", "You are not authenticated!"}});
  if (!Accepts(req, kMediaV4)) return WrongVersion();
  std::lock_guard lock(mu_);
  const std::string base = options_.link_base.empty()
                               ? (req.tls ? "https://" : "http://") + Header(req, "host")
                               : options_.link_base;
  std::map<std::string, std::vector<std::string>> groups;
  std::vector<std::string> group_order;
  json pipelines = json::array();
  for (const auto& name : order_) {
    const SimPipeline& p = pipelines_.at(name);
    if (p.removed) continue;
    if (groups.find(p.group) == groups.end()) group_order.push_back(p.group);
    groups[p.group].push_back(name);
    json entry = {{"_links", {{"self", {{"href", base + "/go/api/pipelines/" + name + "/history"}}}}},
                  {"name", name},
                  {"last_updated_timestamp", 0},
                  {"locked", false},
                  {"pause_info", {{"paused", false}, {"paused_by", nullptr}, {"pause_reason", nullptr}}},
                  {"can_operate", true},
                  {"from_config_repo", false}};
    if (options_.dashboard_instances) {
      json instances = json::array();
      if (p.Latest() > 0) {
        instances.push_back({{"label", std::to_string(p.Latest())},
                             {"counter", p.Latest()},
                             {"triggered_by", "Triggered by changes"},
                             {"_embedded", {{"stages", json::array()}}}});
      }
      entry["_embedded"] = {{"instances", instances}};
    }
    pipelines.push_back(std::move(entry));
  }
  json group_list = json::array();
  for (const auto& g : group_order) {
    group_list.push_back({{"name", g}, {"pipelines", groups[g]}, {"can_administer", true}});
  }
  return WithMedia(
      Json(200,
           {{"_links", {{"self", {{"href", base + "/go/api/dashboard"}}}}},
            {"_personalization", "sim"},
            {"_embedded",
             {{"pipeline_groups", group_list}, {"environments", json::array()}, {"pipelines", pipelines}}}}),
      kMediaV4);
}

FakeResponse SimGocd::History(const std::string& name, const FakeRequest& req) {
  ++history_requests_;
  if (!Authorized(req)) return Json(401, {{"message", "You are not authenticated!"}});
  if (!Accepts(req, kMediaV1)) return WrongVersion();
  int page_size = 10;
  if (HasQueryParam(req.query, "page_size")) {
    const std::string v = QueryParam(req.query, "page_size");
    char* end = nullptr;
    long n = std::strtol(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || n < 10 || n > 100) {
      return Json(422,
                  {{"message",
                    "The query parameter 'page_size', if specified must be a number between 10 and 100."}});
    }
    page_size = static_cast<int>(n);
  }
  std::lock_guard lock(mu_);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end() || it->second.removed) {
    return Json(404, {{"message",
                       "Either the resource you requested was not found, or you are not authorized "
                       "to perform this action."}});
  }
  const SimPipeline& p = it->second;
  std::int64_t start = p.Latest();  // the newest counter on this page
  if (HasQueryParam(req.query, "after")) {
    const std::string v = QueryParam(req.query, "after");
    char* end = nullptr;
    long long cursor = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || cursor < 1) return Json(400, {{"message", "Bad cursor 'after'."}});
    start = std::min<std::int64_t>(start, cursor - 1);
  }
  json runs = json::array();
  std::int64_t c = start;
  for (; c >= 1 && static_cast<int>(runs.size()) < page_size; --c) {
    if (c > p.generated) {
      runs.push_back(RunJson(name, c, p.listed[static_cast<std::size_t>(c - p.generated - 1)]));
    } else {
      const std::string& user = p.users[static_cast<std::size_t>(c) % p.users.size()];
      SimGocdRun run;
      run.scheduled_unix = p.newest_unix - static_cast<double>(p.generated - c) * p.spacing_seconds;
      run.forced_by = user;
      run.committers = {user + " <" + user + "@example.com>"};
      runs.push_back(RunJson(name, c, run));
    }
  }
  const std::string base = options_.link_base.empty()
                               ? (req.tls ? "https://" : "http://") + Header(req, "host")
                               : options_.link_base;
  const std::string self = base + "/go/api/pipelines/" + name + "/history";
  json links = json::object();
  if (c >= 1) links["next"] = {{"href", self + "?after=" + std::to_string(c + 1)}};
  if (start < p.Latest()) links["previous"] = {{"href", self + "?before=" + std::to_string(start)}};
  return WithMedia(Json(200, {{"_links", links}, {"pipelines", runs}}), kMediaV1);
}

}  // namespace estate::simestate
