#include "estate/refresher.h"

#include <malloc.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <utility>
#include <mutex>
#include <random>
#include <thread>

#include "estate/http_server.h"
#include "estate/log.h"

namespace estate {
namespace {

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

Clock::duration FromSeconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// One job's data, rendered once when the refresh finished: per family, its header and its sample lines.
struct RenderedFamily {
  std::string name;
  std::string header;
  std::string samples;
};
using Rendered = std::vector<RenderedFamily>;

std::shared_ptr<const Rendered> RenderJobData(const metrics::Families& families) {
  auto out = std::make_shared<Rendered>();
  std::map<std::string, std::size_t> index;
  for (const auto& f : families) {
    auto [it, inserted] = index.emplace(f.name, out->size());
    if (inserted) {
      RenderedFamily rf;
      rf.name = f.name;
      metrics::RenderHeader(f, rf.header);
      out->push_back(std::move(rf));
    }
    metrics::RenderSamples(f, (*out)[it->second].samples);
  }
  return out;
}

// The same from a job's pre-rendered text. Each family's samples are copied out of data.samples (the one
// string is released when data goes out of scope); a family named twice gets both slices, in order.
std::shared_ptr<const Rendered> RenderJobData(RenderedData data) {
  auto out = std::make_shared<Rendered>();
  std::map<std::string, std::size_t> index;
  for (const auto& f : data.families) {
    auto [it, inserted] = index.emplace(f.name, out->size());
    if (inserted) {
      RenderedFamily rf;
      rf.name = f.name;
      rf.header.append("# HELP ").append(f.name).append(" ").append(metrics::EscapeHelp(f.help)).append("\n");
      rf.header.append("# TYPE ").append(f.name).append(" ").append(f.type).append("\n");
      out->push_back(std::move(rf));
    }
    if (f.offset >= data.samples.size()) continue;
    (*out)[it->second].samples.append(data.samples, f.offset, f.length);
  }
  return out;
}

// Runs on_remove hooks (e.g. Redfish session logouts, one HTTP request each) on up to 32 threads, and returns
// after at most `deadline`: with 1,000 BMCs at 100 ms each a serial logout would take 100 s, longer than
// systemd waits. Hooks still running then are left to finish on detached threads until the process exits.
void RunRemovals(std::vector<std::function<void()>> removals, std::chrono::milliseconds deadline) {
  if (removals.empty()) return;
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::function<void()>> todo;
    std::size_t next = 0;
    std::size_t done = 0;
  };
  auto shared = std::make_shared<Shared>();
  shared->todo = std::move(removals);
  const std::size_t n = shared->todo.size();
  const std::size_t threads = std::min<std::size_t>(32, n);
  std::vector<std::thread> pool;
  for (std::size_t i = 0; i < threads; ++i) {
    pool.emplace_back([shared] {
      for (;;) {
        std::function<void()> fn;
        {
          std::lock_guard<std::mutex> lock(shared->mu);
          if (shared->next >= shared->todo.size()) return;
          fn = std::move(shared->todo[shared->next++]);
        }
        try {
          fn();
        } catch (...) {
          // A failing logout must not stop the others.
        }
        std::lock_guard<std::mutex> lock(shared->mu);
        ++shared->done;
        shared->cv.notify_all();
      }
    });
  }
  bool finished;
  {
    std::unique_lock<std::mutex> lock(shared->mu);
    finished = shared->cv.wait_for(lock, deadline, [&] { return shared->done == n; });
  }
  for (auto& t : pool) {
    if (finished) t.join();
    else t.detach();
  }
  if (!finished) log::Warn("shutdown: some sources did not finish logging out in time");
}

}  // namespace

struct Job {
  JobSpec spec;
  double max_age = 0;
  double timeout = 0;
  Clock::time_point next_run;
  bool running = false;
  bool removed = false;
  bool attempted = false;
  bool up = false;
  double last_success_unix = 0;
  Clock::time_point last_success_mono{};
  double last_duration = 0;
  double failures = 0;
  std::string last_error;
  std::shared_ptr<const Rendered> data;
  CancelToken cancel;
};

struct Refresher::Impl {
  Options options;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::map<std::pair<std::string, std::string>, std::shared_ptr<Job>> jobs;
  std::vector<std::thread> workers;
  bool started = false;
  bool stopping = false;
  std::uint64_t version = 1;  // bumped whenever any job's published data or the job set changes
  std::mt19937_64 rng{std::random_device{}()};

  // Merged-text cache, rebuilt at most once per change (or when a job's data ages out).
  mutable std::mutex cache_mu;
  mutable std::condition_variable cache_cv;
  mutable std::uint64_t cache_version = 0;
  mutable std::vector<bool> cache_included;
  mutable std::shared_ptr<const std::string> cache_text;
  mutable std::shared_ptr<const std::string> cache_gzip;
  mutable Clock::time_point cache_built_at{};
  mutable double cache_build_seconds = 0;
  mutable bool cache_rebuilding = false;

  double Jittered(double interval) {
    std::uniform_real_distribution<double> d(-options.jitter_fraction, options.jitter_fraction);
    return interval * (1.0 + d(rng));
  }

  void WorkerLoop();
  void RunJob(const std::shared_ptr<Job>& job);
  // Returns the merged text and its gzip, rebuilding them if the data changed (see the .cpp for throttling).
  std::pair<std::shared_ptr<const std::string>, std::shared_ptr<const std::string>> Cache() const;
};

void Refresher::Impl::RunJob(const std::shared_ptr<Job>& job) {
  Budget budget;
  budget.deadline = Clock::now() + FromSeconds(job->timeout);
  budget.cancel = job->cancel;
  auto start = Clock::now();
  Result<metrics::Families> result = MakeError("not run");
  std::shared_ptr<const Rendered> rendered;  // set by collect_rendered
  bool keep_data = false;
  try {
    bool has_data = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      has_data = job->data != nullptr;
    }
    if (has_data && job->spec.unchanged && job->spec.unchanged()) {
      keep_data = true;
      result = metrics::Families{};
    } else if (job->spec.collect_rendered) {
      auto data = job->spec.collect_rendered(budget);
      if (data.ok()) {
        rendered = RenderJobData(std::move(*data));
        result = metrics::Families{};
      } else {
        result = MakeError(data.error());
      }
    } else {
      result = job->spec.collect ? job->spec.collect(budget) : Result<metrics::Families>(MakeError("no collector"));
    }
  } catch (const std::exception& e) {
    result = MakeError(std::string("collector threw: ") + e.what());
  } catch (...) {
    result = MakeError("collector threw an unknown exception");
  }
  auto end = Clock::now();
  if (result.ok() && !keep_data && !rendered) rendered = RenderJobData(*result);

  std::function<void()> on_remove;
  {
    std::lock_guard<std::mutex> lock(mu);
    job->running = false;
    job->attempted = true;
    job->last_duration = Seconds(end - start);
    // Keeping data only changes the merged body when that data had aged out of it.
    bool changes_body = !keep_data || Seconds(end - job->last_success_mono) > job->max_age;
    if (result.ok()) {
      job->up = true;
      job->last_error.clear();
      job->last_success_unix = UnixNow();
      job->last_success_mono = end;
      if (!keep_data) job->data = std::move(rendered);
    } else {
      job->up = false;
      job->failures += 1;
      job->last_error = result.error();
    }
    if (changes_body) ++version;
    job->next_run = end + FromSeconds(Jittered(job->spec.interval_seconds));
    if (job->removed) on_remove = job->spec.on_remove;
  }
  if (!result.ok() && !job->removed) {
    log::Warn("refresh failed", {{options.source_label, job->spec.source},
                                 {"group", job->spec.group},
                                 {"err", result.error()}});
  } else if (result.ok()) {
    log::Debug("refresh done", {{options.source_label, job->spec.source}, {"group", job->spec.group}});
  }
  cv.notify_all();
  if (on_remove) on_remove();
}

void Refresher::Impl::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mu);
  while (!stopping) {
    std::shared_ptr<Job> due;
    Clock::time_point earliest = Clock::time_point::max();
    auto now = Clock::now();
    for (auto& [key, job] : jobs) {
      if (job->running) continue;
      if (job->next_run <= now) {
        if (!due || job->next_run < due->next_run) due = job;
      } else {
        earliest = std::min(earliest, job->next_run);
      }
    }
    if (!due) {
      if (earliest == Clock::time_point::max()) {
        cv.wait(lock);
      } else {
        cv.wait_until(lock, earliest);
      }
      continue;
    }
    due->running = true;
    lock.unlock();
    RunJob(due);
    lock.lock();
  }
}

// With many sources, data changes many times a second (1,000 BMCs finish a poll every ~60 ms), and the merged
// body can be tens of MB. So: one scrape rebuilds while the others keep serving the previous body, and under
// churn a rebuild happens at most every min(1 s, 10 x its own cost) when it costs over 10 ms — small bodies
// stay exact, large ones are at most a second behind.
std::pair<std::shared_ptr<const std::string>, std::shared_ptr<const std::string>> Refresher::Impl::Cache() const {
  std::vector<std::shared_ptr<const Rendered>> parts;
  std::vector<bool> included;
  std::uint64_t v;
  {
    std::lock_guard<std::mutex> lock(mu);
    v = version;
    auto now = Clock::now();
    // Data past its max age is dropped rather than served as fresh.
    for (const auto& [key, job] : jobs) {
      bool fresh = job->data && Seconds(now - job->last_success_mono) <= job->max_age;
      included.push_back(fresh);
      if (fresh) parts.push_back(job->data);
    }
  }
  std::unique_lock<std::mutex> lock(cache_mu);
  for (;;) {
    bool current = cache_text && v == cache_version && included == cache_included;
    if (current) return {cache_text, cache_gzip};
    if (cache_text) {
      double since = Seconds(Clock::now() - cache_built_at);
      // Builds under 10 ms (a few thousand series) are never throttled: what a scrape sees is exact.
      double throttle = cache_build_seconds < 0.01 ? 0 : std::min(1.0, 10 * cache_build_seconds);
      if (cache_rebuilding || since < throttle) return {cache_text, cache_gzip};
    }
    if (!cache_rebuilding) break;
    cache_cv.wait(lock);  // the very first build: wait for it rather than serve nothing
  }
  cache_rebuilding = true;
  lock.unlock();

  auto start = Clock::now();
  // Merge by family name so each family has one HELP/TYPE block, families sorted by name, jobs in order.
  std::map<std::string, std::pair<const std::string*, std::vector<const std::string*>>> merged;
  std::size_t total = 0;
  for (const auto& p : parts) {
    for (const auto& rf : *p) {
      auto& slot = merged[rf.name];
      if (slot.first == nullptr) {
        slot.first = &rf.header;
        total += rf.header.size();
      }
      slot.second.push_back(&rf.samples);
      total += rf.samples.size();
    }
  }
  auto text = std::make_shared<std::string>();
  text->reserve(total);
  for (const auto& [name, slot] : merged) {
    text->append(*slot.first);
    for (const auto* s : slot.second) text->append(*s);
  }
  auto gzip = std::make_shared<const std::string>(web::GzipCompress(*text));

  lock.lock();
  cache_text = std::move(text);
  cache_gzip = std::move(gzip);
  cache_version = v;
  cache_included = std::move(included);
  cache_built_at = Clock::now();
  cache_build_seconds = Seconds(cache_built_at - start);
  cache_rebuilding = false;
  cache_cv.notify_all();
  auto result = std::make_pair(cache_text, cache_gzip);
  bool large = cache_text->size() > (4u << 20);
  lock.unlock();
  // Large bodies come and go every second under churn; hand the freed pages back rather than let the heap
  // keep a copy of each generation.
  if (large) malloc_trim(0);
  return result;
}

Refresher::Refresher(Options options) : impl_(std::make_shared<Impl>()) { impl_->options = std::move(options); }

Refresher::~Refresher() { Stop(); }

void Refresher::Apply(std::vector<JobSpec> specs) {
  std::vector<std::function<void()>> removals;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Job>> next;
    auto now = Clock::now();
    for (auto& spec : specs) {
      auto key = std::make_pair(spec.source, spec.group);
      auto it = impl_->jobs.find(key);
      if (it != impl_->jobs.end() && it->second->spec.fingerprint == spec.fingerprint && !spec.fingerprint.empty()) {
        next[key] = it->second;
        impl_->jobs.erase(it);
        continue;
      }
      auto job = std::make_shared<Job>();
      job->timeout = spec.timeout_seconds > 0 ? spec.timeout_seconds : spec.interval_seconds;
      job->max_age = spec.max_age_seconds > 0 ? spec.max_age_seconds : 3 * spec.interval_seconds + job->timeout;
      job->next_run = now;
      if (impl_->options.spread_first_run) {
        std::uniform_real_distribution<double> d(0, spec.interval_seconds);
        job->next_run = now + FromSeconds(d(impl_->rng));
      }
      job->spec = std::move(spec);
      next[key] = std::move(job);
    }
    // Whatever is left in the old map is gone from the config.
    for (auto& [key, job] : impl_->jobs) {
      job->removed = true;
      job->cancel.Cancel();
      if (!job->running && job->spec.on_remove) removals.push_back(job->spec.on_remove);
    }
    impl_->jobs = std::move(next);
    ++impl_->version;
  }
  impl_->cv.notify_all();
  for (auto& r : removals) r();
}

void Refresher::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->started) return;
  impl_->started = true;
  impl_->stopping = false;
  for (int i = 0; i < std::max(1, impl_->options.workers); ++i) {
    impl_->workers.emplace_back([impl = impl_] { impl->WorkerLoop(); });
  }
}

void Refresher::Stop() {
  std::vector<std::function<void()>> removals;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    for (auto& [key, job] : impl_->jobs) job->cancel.Cancel();
  }
  impl_->cv.notify_all();
  for (auto& t : impl_->workers) {
    if (t.joinable()) t.join();
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->workers.clear();
    impl_->started = false;
    for (auto& [key, job] : impl_->jobs) {
      if (job->spec.on_remove) removals.push_back(job->spec.on_remove);
      job->spec.on_remove = nullptr;
    }
  }
  RunRemovals(std::move(removals), std::chrono::seconds(4));
}

bool Refresher::Ready() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  for (const auto& [key, job] : impl_->jobs) {
    if (!job->attempted) return false;
  }
  return true;
}

std::shared_ptr<const std::string> Refresher::DataText() const { return impl_->Cache().first; }

std::shared_ptr<const std::string> Refresher::DataGzip() const { return impl_->Cache().second; }

std::vector<JobStatus> Refresher::Statuses() const {
  std::vector<JobStatus> out;
  std::lock_guard<std::mutex> lock(impl_->mu);
  auto now = Clock::now();
  for (const auto& [key, job] : impl_->jobs) {
    JobStatus s;
    s.source = job->spec.source;
    s.group = job->spec.group;
    s.attempted = job->attempted;
    s.up = job->up;
    s.running = job->running;
    s.has_data = job->data && Seconds(now - job->last_success_mono) <= job->max_age;
    s.last_success_unix = job->last_success_unix;
    s.last_duration_seconds = job->last_duration;
    s.age_seconds = s.has_data ? Seconds(now - job->last_success_mono) : -1;
    s.interval_seconds = job->spec.interval_seconds;
    s.failures = job->failures;
    s.last_error = job->last_error;
    out.push_back(std::move(s));
  }
  return out;
}

metrics::Families Refresher::StatusFamilies() const {
  const std::string& ns = impl_->options.ns;
  const std::string& sl = impl_->options.source_label;
  auto up = metrics::Gauge(ns + "_source_up", "1 when the last background refresh of this source succeeded, else 0.");
  auto last = metrics::Gauge(ns + "_source_last_success_timestamp_seconds",
                             "Unix time of the last successful refresh of this source (0 = never).");
  auto dur = metrics::Gauge(ns + "_source_refresh_duration_seconds", "Duration of the last refresh of this source.");
  auto fail = metrics::Counter(ns + "_source_refresh_failures_total", "Failed refreshes of this source since start.");
  auto age = metrics::Gauge(ns + "_source_data_age_seconds",
                            "Age of the data served for this source; absent when there is none or it is too old.");
  for (const auto& s : Statuses()) {
    metrics::Labels l = {{sl, s.source}, {"group", s.group}};
    metrics::Add(up, l, s.up ? 1 : 0);
    metrics::Add(last, l, s.last_success_unix);
    metrics::Add(dur, l, s.last_duration_seconds);
    metrics::Add(fail, l, s.failures);
    if (s.has_data) metrics::Add(age, l, s.age_seconds);
  }
  return {std::move(age), std::move(last), std::move(dur), std::move(fail), std::move(up)};
}

void Refresher::RunAllNow() {
  std::vector<std::shared_ptr<Job>> todo;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& [key, job] : impl_->jobs) {
      if (!job->running) {
        job->running = true;
        todo.push_back(job);
      }
    }
  }
  for (auto& job : todo) impl_->RunJob(job);
}

}  // namespace estate
