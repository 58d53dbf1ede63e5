#include "gocd_client.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <set>
#include <thread>
#include <unordered_set>
#include <utility>

#include "estate/log.h"
#include "estate/url.h"
#include "gocd_parse.h"

namespace estate::registry {

namespace {

constexpr const char* kDashboardAccept = "application/vnd.go.cd.v4+json";
constexpr const char* kHistoryAccept = "application/vnd.go.cd.v1+json";
constexpr int kMaxErrorLines = 20;
constexpr const char* kLatestAccept = "application/vnd.go.cd+json";  // unpinned: whatever the server has

// "https://ci/", "https://ci/go" and "https://ci/go/" -> "https://ci": the /go prefix is ours to add.
std::string ApiBase(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/go") == 0) url.resize(url.size() - 3);
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string HistoryPath(const std::string& name) {
  return "/go/api/pipelines/" + url::EncodeComponent(name) + "/history";
}

bool Ok2xx(long status) { return status >= 200 && status < 300; }

std::string BudgetReason(const Budget& budget) {
  return budget.cancel.Cancelled() ? "cancelled" : "deadline exceeded";
}

void PruneWindow(std::vector<PipelineRun>& runs, double cutoff_unix) {
  std::erase_if(runs, [&](const PipelineRun& r) { return r.scheduled_unix < cutoff_unix; });
}

}  // namespace

struct GocdClient::Fetched {
  std::vector<PipelineRun> runs;  // new runs inside the window, in the order fetched (newest first)
  std::int64_t max_counter = 0;   // the highest counter seen on any page
  std::string error;              // "" when the history was read down to where it had to stop
  std::string note;               // a complete read that still left something out (the runs cap)
};

GocdClient::GocdClient(http::HttpClient& http, GocdOptions options)
    : http_(http), options_(std::move(options)) {
  options_.url = ApiBase(options_.url);
  options_.page_size = std::clamp(options_.page_size, 10, 100);
  options_.concurrency = std::clamp(options_.concurrency, 1, 32);
  if (options_.max_runs_per_pipeline <= 0) options_.max_runs_per_pipeline = 1000000;
  for (const auto& p : options_.pipeline_patterns) {
    try {
      patterns_.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      if (pattern_error_.empty()) pattern_error_ = "pipeline pattern \"" + p + "\": " + e.what();
    }
  }
}

double GocdClient::Now() const {
  if (options_.now_unix) return options_.now_unix();
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

Result<http::Response> GocdClient::Get(const std::string& url, const char* accept, const Budget& budget) {
  http::Request req;
  req.url = url;
  req.headers = {{"Accept", accept}};
  ++requests_;
  return http_.Do(req, options_.http, budget);
}

GocdClient::Fetched GocdClient::FetchHistory(const std::string& name, std::int64_t held_counter,
                                             double cutoff_unix, const Budget& budget) {
  Fetched out;
  const std::string path = HistoryPath(name);
  const std::string first = options_.url + path + "?page_size=" + std::to_string(options_.page_size);
  // Our own history path behind the configured base (its path prefix included): links elsewhere on the same
  // origin are not followed either, only their cursor.
  auto own = url::Parse(first);
  const std::string own_path = own ? own->path : std::string();
  const int max_pages = options_.max_runs_per_pipeline / options_.page_size + 10;

  std::unordered_set<std::string> requested;
  std::string next = first;
  for (int page_no = 0; !next.empty(); ++page_no) {
    if (budget.Expired()) {
      out.error = "GET " + path + ": " + BudgetReason(budget);
      return out;
    }
    if (page_no >= max_pages) {
      out.error = "GET " + path + ": more than " + std::to_string(max_pages) + " pages";
      return out;
    }
    requested.insert(next);
    auto resp = Get(next, kHistoryAccept, budget);
    if (!resp) {
      out.error = "GET " + path + ": " + resp.error();
      return out;
    }
    if (!Ok2xx(resp->status)) {
      out.error = "GET " + path + ": HTTP " + std::to_string(resp->status);
      return out;
    }
    auto page = gocd::ParseHistoryPage(resp->body);
    if (!page) {
      out.error = "GET " + path + ": " + page.error();
      return out;
    }
    bool stop = false;
    for (auto& run : page->runs) {
      out.max_counter = std::max(out.max_counter, run.counter);
      if (run.counter <= held_counter) {
        stop = true;  // held already, and so is everything older
      } else if (run.scheduled_unix > 0 && run.scheduled_unix < cutoff_unix) {
        stop = true;  // older than the window, and so is everything after it
      } else if (run.scheduled_unix > 0) {
        if (static_cast<int>(out.runs.size()) >= options_.max_runs_per_pipeline) {
          out.note =
              path + ": stopped after " + std::to_string(out.runs.size()) + " runs (max_runs_per_pipeline)";
          stop = true;
          break;
        }
        out.runs.push_back(std::move(run));
      }
      // A run without a scheduled_date cannot be placed in the window: left out, and paging goes on.
    }
    if (stop || page->next_link.empty() || page->runs.empty()) return out;

    // The next page: the link itself when it stays on our origin and our path, else its cursor on our URL.
    std::string link_url;
    if (auto u = url::Resolve(options_.url, page->next_link); u && u->path == own_path) {
      link_url = u->ToString();
      // GoCD's links may leave page_size out, and its default is 10.
      if (("&" + u->query).find("&page_size=") == std::string::npos) {
        link_url += (u->has_query ? "&page_size=" : "?page_size=") + std::to_string(options_.page_size);
      }
    } else {
      std::string cursor = gocd::CursorOf(page->next_link);
      if (cursor.empty()) {
        out.error =
            "GET " + path + ": next link refused and without a cursor: " + url::Describe(page->next_link);
        return out;
      }
      link_url = first + "&after=" + cursor;
    }
    if (requested.count(link_url) != 0) {
      out.error = "GET " + path + ": the next page repeats a page already read (cursor loop)";
      return out;
    }
    next = std::move(link_url);
  }
  return out;
}

Result<GocdCollect> GocdClient::Collect(const Budget& budget) {
  requests_ = 0;
  if (!pattern_error_.empty()) return MakeError(pattern_error_);
  if (!url::Parse(options_.url)) return MakeError("gocd url: " + url::Parse(options_.url).error());

  // 1. The dashboard.
  const std::string dashboard_url = options_.url + "/go/api/dashboard";
  auto resp = Get(dashboard_url, kDashboardAccept, budget);
  if (resp && (resp->status == 404 || resp->status == 406)) resp = Get(dashboard_url, kLatestAccept, budget);
  if (!resp) return MakeError("GET /go/api/dashboard: " + resp.error());
  if (!Ok2xx(resp->status)) return MakeError("GET /go/api/dashboard: HTTP " + std::to_string(resp->status));
  auto dashboard = gocd::ParseDashboard(resp->body);
  if (!dashboard) return MakeError("GET /go/api/dashboard: " + dashboard.error());

  const double now = Now();
  const double cutoff = now - options_.window_days * 86400;

  // 2. The pipelines of interest and what each needs.
  struct Task {
    gocd::DashboardPipeline pipeline;
    Pipeline held;
    bool fetch = false;
    Fetched fetched;
  };
  std::vector<Task> tasks;
  for (auto& dp : *dashboard) {
    bool wanted = patterns_.empty();
    for (const auto& re : patterns_) {
      if (std::regex_search(dp.name, re) || (!dp.group.empty() && std::regex_search(dp.group, re))) {
        wanted = true;
        break;
      }
    }
    if (!wanted) continue;
    Task t;
    if (auto it = state_.find(dp.name); it != state_.end()) t.held = std::move(it->second);
    t.held.name = dp.name;
    t.held.group = dp.group;
    if (dp.latest_counter > 0 && dp.latest_counter < t.held.last_counter) {
      log::Info("GoCD pipeline counter went back: re-created, read again",
                {{"pipeline", dp.name}, {"held", std::to_string(t.held.last_counter)}});
      t.held.runs.clear();
      t.held.last_counter = 0;
    }
    t.fetch = dp.latest_counter == 0 || dp.latest_counter > t.held.last_counter;
    t.pipeline = std::move(dp);
    tasks.push_back(std::move(t));
  }
  state_.clear();  // what is not on the dashboard (or no longer matches) is dropped

  // 3. Histories, `concurrency` pipelines at a time.
  std::vector<std::size_t> todo;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    if (tasks[i].fetch) todo.push_back(i);
  }
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t k = next++; k < todo.size(); k = next++) {
      Task& t = tasks[todo[k]];
      try {
        t.fetched = FetchHistory(t.pipeline.name, t.held.last_counter, cutoff, budget);
      } catch (const std::exception& e) {  // bad_alloc, regex: nothing leaves a worker thread
        t.fetched.error = "GET " + HistoryPath(t.pipeline.name) + ": " + e.what();
      }
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(todo.size(), static_cast<std::size_t>(options_.concurrency));
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }

  // 4. Merge into the state and the snapshot.
  GocdCollect result;
  int failed = 0;
  auto add_error = [&](std::string line) {
    result.partial = true;
    // A GoCD that is down answers every pipeline the same way: a few lines say it, the count says the rest.
    if (++failed <= kMaxErrorLines) result.errors.push_back(std::move(line));
  };
  for (auto& t : tasks) {
    Pipeline p = std::move(t.held);
    if (t.fetch) {
      Fetched& f = t.fetched;
      if (!f.error.empty()) {
        add_error(std::move(f.error));
      } else {
        p.last_counter = std::max(p.last_counter, f.max_counter);
      }
      if (!f.note.empty()) add_error(std::move(f.note));
      if (!f.runs.empty()) {
        std::unordered_set<std::int64_t> fresh;
        for (const auto& r : f.runs) fresh.insert(r.counter);
        for (auto& r : p.runs) {
          if (fresh.count(r.counter) == 0) f.runs.push_back(std::move(r));
        }
        p.runs = std::move(f.runs);
        std::stable_sort(p.runs.begin(), p.runs.end(),
                         [](const PipelineRun& a, const PipelineRun& b) { return a.counter > b.counter; });
      }
    }
    PruneWindow(p.runs, cutoff);
    std::string name = p.name;
    state_.emplace(std::move(name), std::move(p));
  }
  if (failed > kMaxErrorLines) {
    result.errors.push_back("... and " + std::to_string(failed - kMaxErrorLines) + " more pipelines failed");
  }
  result.snapshot.pipelines.reserve(state_.size());
  for (const auto& [name, p] : state_) result.snapshot.pipelines.push_back(p);
  result.snapshot.collected_unix = now;
  result.snapshot.requests = requests_.load();
  return result;
}

std::vector<UserCount> RankPipelineUsers(const std::vector<const Pipeline*>& pipelines, double since_unix,
                                         int top) {
  std::map<std::string, int> counts;
  std::set<std::string> logins;
  std::set<std::string> people;  // one run's users after merging
  for (const Pipeline* p : pipelines) {
    if (p == nullptr) continue;
    // The GoCD logins seen in this pipeline's runs (whatever their age): display forms without '@' or ' '.
    logins.clear();
    for (const auto& run : p->runs) {
      for (const auto& u : run.users) {
        if (u.find_first_of("@ ") == std::string::npos) logins.insert(u);
      }
    }
    for (const auto& run : p->runs) {
      if (run.scheduled_unix < since_unix) continue;
      people.clear();
      for (const auto& u : run.users) people.insert(gocd::MergeCommitterWithLogin(u, logins));
      for (const auto& u : people) ++counts[u];
    }
  }
  std::vector<UserCount> out;
  out.reserve(counts.size());
  for (auto& [user, n] : counts) out.push_back(UserCount{user, n});
  std::stable_sort(out.begin(), out.end(),
                   [](const UserCount& a, const UserCount& b) { return a.runs > b.runs; });
  if (top > 0 && out.size() > static_cast<std::size_t>(top)) out.resize(static_cast<std::size_t>(top));
  return out;
}

}  // namespace estate::registry
