#include "estate/refresher.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <random>
#include <thread>
#include <tuple>
#include <utility>

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

// A family's HELP/TYPE lines. Every job that has the family renders the same ones, so they are interned and
// shared (with 2,000 jobs of ~20 families each, a copy per job would be several MB).
struct Header {
  std::string name;
  std::string text;
};

// One job's data, rendered once when the refresh finished: the sample lines of all its families in one string
// of exactly the needed size (no growth slack), and per family its header and its slice of that string (or,
// for a large family, its deflate piece).
// RenderedData::on_served, fired at most once.
struct ServedHook {
  std::atomic<bool> fired{false};
  std::function<void()> fn;
  void Fire() {
    if (!fired.exchange(true) && fn) fn();
  }
};

struct Rendered {
  struct Family {
    std::shared_ptr<const Header> header;
    std::size_t offset = 0;
    std::size_t length = 0;
    // For a large slice (kOwnMemberBytes or more): the slice as its own deflate piece, compressed once by the
    // job's worker when the data was published, so that merging bodies never compresses it again. Its text
    // is then not kept in `samples` (offset 0; length is still the size of the text).
    std::shared_ptr<const web::DeflatePiece> gzip;
  };
  std::string samples;
  std::vector<Family> families;
  std::shared_ptr<ServedHook> served;  // RenderedData::on_served, if any
};

// A family's samples this large get their own deflate piece (see Rendered::Family::gzip), compressed at a
// higher level: once per publish on the worker, instead of at the fastest level on every rebuild of the body.
// Its text is then dropped: a scrape without gzip (rare: Prometheus always asks for gzip) gets it inflated.

// Compresses the large families of a job's data into their own pieces and keeps only the other families'
// text; otherwise gives back the string's slack when it is large.
void CompressLargeFamilies(Rendered& r) {
  bool any = false;
  for (auto& f : r.families) {
    if (f.gzip || f.length < kOwnMemberBytes) continue;  // given compressed, or small
    auto piece =
        web::DeflateCompress({std::string_view(r.samples).substr(f.offset, f.length)}, kOwnMemberLevel);
    if (!piece) continue;  // zlib failed: kept as text, compressed with the body
    f.gzip = std::make_shared<const web::DeflatePiece>(std::move(*piece));
    any = true;
  }
  if (!any) {
    // Only worth a copy when the slack is large.
    if (r.samples.capacity() - r.samples.size() > r.samples.size() / 8) r.samples.shrink_to_fit();
    return;
  }
  std::size_t keep = 0;
  for (const auto& f : r.families) keep += f.gzip ? 0 : f.length;
  std::string text;
  text.reserve(keep);
  for (auto& f : r.families) {
    if (f.gzip) {
      f.offset = 0;  // length stays the size of its text
      continue;
    }
    const std::size_t offset = text.size();
    text.append(r.samples, f.offset, f.length);
    f.offset = offset;
  }
  r.samples = std::move(text);
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
    if (finished)
      t.join();
    else
      t.detach();
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
  // RunSoon() came while the job was running: that run may have read the upstream before the change it was
  // told of, so the job runs again as soon as it ends (one more run, however many requests came).
  bool rerun = false;
  bool removed = false;
  bool attempted = false;
  bool up = false;
  double last_success_unix = 0;
  Clock::time_point last_success_mono{};
  double last_duration = 0;
  double failures = 0;
  int failures_in_row = 0;
  bool backing_off = false;  // next_run is a backoff retry, not the interval
  std::string last_error;
  std::shared_ptr<const Rendered> data;
  // When Publish() last swapped data in: a refresh that started before it does not replace that data (the
  // publisher built it from newer knowledge than the refresh had).
  Clock::time_point published_mono{};
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
  mutable std::shared_ptr<const DataBody> cache_body;
  mutable Clock::time_point cache_built_at{};
  mutable double cache_build_seconds = 0;
  mutable bool cache_rebuilding = false;
  mutable Clock::time_point cache_last_read{};
  // The keeper thread rebuilds a large body in the background (see KeeperLoop); guarded by cache_mu.
  std::thread keeper;
  bool keeper_stop = false;
  std::condition_variable keeper_cv;

  // Interned family headers, by header text. Entries no job uses any more are dropped on each cache rebuild.
  mutable std::mutex headers_mu;
  mutable std::map<std::string, std::shared_ptr<const Header>, std::less<>> headers;

  double Jittered(double interval) {
    std::uniform_real_distribution<double> d(-options.jitter_fraction, options.jitter_fraction);
    return interval * (1.0 + d(rng));
  }

  void WorkerLoop();
  void RunJob(const std::shared_ptr<Job>& job);
  std::shared_ptr<const Rendered> RenderJobData(const metrics::Families& families);
  // The same from a job's pre-rendered text (JobSpec::collect_rendered).
  std::shared_ptr<const Rendered> RenderJobData(RenderedData data);
  // Builds the /metrics body now, until one includes the data `hook` belongs to (it then fires).
  void ServeNow(ServedHook& hook);
  // The shared Header for this HELP/TYPE text.
  std::shared_ptr<const Header> InternHeader(const std::string& name, const std::string& text);
  // Returns the merged body for a scrape, rebuilding it if the data changed (see the .cpp for throttling).
  std::shared_ptr<const DataBody> Cache() const;
  // Rebuilds the body if it is out of date and nobody else is rebuilding it; returns the current body.
  // A scrape (background false) waits for the very first build and honours the throttle.
  std::shared_ptr<const DataBody> Rebuild(bool background) const;
  void KeeperLoop();
  // Under cache_mu. Bodies that take 10 ms or more to build are "large": the keeper rebuilds them in the
  // background every KeeperInterval() while they are read, and scrapes are served the last one built.
  bool Large() const { return cache_body && cache_build_seconds >= 0.01; }
  double KeeperInterval() const { return std::max(1.0, 10 * cache_build_seconds); }
};

std::shared_ptr<const Header> Refresher::Impl::InternHeader(const std::string& name,
                                                            const std::string& text) {
  std::lock_guard<std::mutex> lock(headers_mu);
  auto it = headers.find(text);
  if (it == headers.end())
    it = headers.emplace(text, std::make_shared<const Header>(Header{name, text})).first;
  return it->second;
}

// When every family appears once, the job's string is kept as it is (moved, not copied: at 100k volumes it is
// ~90 MB) and the slices point into it; a family given in several slices is gathered into a new string.
std::shared_ptr<const Rendered> Refresher::Impl::RenderJobData(RenderedData data) {
  std::shared_ptr<ServedHook> served;
  if (data.on_served) {
    served = std::make_shared<ServedHook>();
    served->fn = std::move(data.on_served);
  }
  std::map<std::string_view, std::size_t> index;
  std::vector<std::vector<const RenderedData::Family*>> order;
  for (const auto& f : data.families) {
    auto [it, inserted] = index.emplace(f.name, order.size());
    if (inserted) order.emplace_back();
    order[it->second].push_back(&f);
  }
  auto clamp = [&data](const RenderedData::Family& f) {
    std::size_t offset = std::min(f.offset, data.samples.size());
    return std::pair<std::size_t, std::size_t>{offset, std::min(f.length, data.samples.size() - offset)};
  };
  auto out = std::make_shared<Rendered>();
  out->served = std::move(served);
  std::string header;
  for (const auto& group : order) {
    const RenderedData::Family& first = *group.front();
    header.clear();
    header.append("# HELP ").append(first.name).push_back(' ');
    header.append(metrics::EscapeHelp(first.help)).push_back('\n');
    header.append("# TYPE ").append(first.name).push_back(' ');
    header.append(first.type).push_back('\n');
    Rendered::Family rf;
    rf.header = InternHeader(first.name, header);
    if (order.size() == data.families.size() && first.gzip) {
      rf.gzip = first.gzip;  // given compressed: no text in samples
      rf.length = first.length;
    } else if (order.size() == data.families.size()) {
      std::tie(rf.offset, rf.length) = clamp(first);
    } else {
      rf.offset = out->samples.size();
      for (const auto* f : group) {
        if (f->gzip) {
          // A compressed family given in several slices (which it should not be): joined as text.
          web::InflatePieceTo(*f->gzip, [&out](std::string_view p) {
            out->samples.append(p);
            return true;
          });
          continue;
        }
        auto [offset, length] = clamp(*f);
        out->samples.append(data.samples, offset, length);
      }
      rf.length = out->samples.size() - rf.offset;
    }
    out->families.push_back(std::move(rf));
  }
  if (order.size() == data.families.size()) out->samples = std::move(data.samples);
  out->families.shrink_to_fit();
  CompressLargeFamilies(*out);
  return out;
}

std::shared_ptr<const Rendered> Refresher::Impl::RenderJobData(const metrics::Families& families) {
  // A job may return the same family more than once; its samples are kept together, in first-seen order.
  std::vector<std::pair<const metrics::Family*, std::vector<const metrics::Family*>>> order;
  std::map<std::string_view, std::size_t> index;
  for (const auto& f : families) {
    auto [it, inserted] = index.emplace(f.name, order.size());
    if (inserted) order.push_back({&f, {}});
    order[it->second].second.push_back(&f);
  }
  auto out = std::make_shared<Rendered>();
  std::string header;
  for (const auto& [first, all] : order) {
    Rendered::Family rf;
    header.clear();
    metrics::RenderHeader(*first, header);
    {
      std::lock_guard<std::mutex> lock(headers_mu);
      auto it = headers.find(header);
      if (it == headers.end()) {
        it = headers.emplace(header, std::make_shared<const Header>(Header{first->name, header})).first;
      }
      rf.header = it->second;
    }
    rf.offset = out->samples.size();
    for (const auto* f : all) metrics::RenderSamples(*f, out->samples);
    rf.length = out->samples.size() - rf.offset;
    out->families.push_back(std::move(rf));
  }
  // Kept until the next refresh of this job: give back the slack of the string's growth.
  out->samples.shrink_to_fit();
  out->families.shrink_to_fit();
  CompressLargeFamilies(*out);
  return out;
}

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
      result = job->spec.collect ? job->spec.collect(budget)
                                 : Result<metrics::Families>(MakeError("no collector"));
    }
  } catch (const std::exception& e) {
    result = MakeError(std::string("collector threw: ") + e.what());
  } catch (...) {
    result = MakeError("collector threw an unknown exception");
  }
  auto end = Clock::now();
  if (result.ok() && !keep_data && !rendered) rendered = RenderJobData(*result);
  const std::shared_ptr<ServedHook> hook = rendered ? rendered->served : nullptr;

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
      if (!keep_data && job->published_mono <= start) job->data = std::move(rendered);
    } else {
      job->up = false;
      job->failures += 1;
      job->last_error = result.error();
    }
    if (changes_body) ++version;
    job->failures_in_row = result.ok() ? 0 : job->failures_in_row + 1;
    // Without data to serve, a failure is retried soon, backing off: 1, 2, 4, ... s up to the cap.
    const bool no_data = job->data == nullptr || Seconds(end - job->last_success_mono) > job->max_age;
    job->backing_off = !result.ok() && no_data;
    double wait = job->spec.interval_seconds;
    if (job->backing_off) {
      const double backoff =
          options.retry_initial_seconds * std::ldexp(1.0, std::min(job->failures_in_row - 1, 20));
      wait = std::min({wait, options.retry_max_seconds, backoff});
    }
    job->next_run = end + FromSeconds(Jittered(wait));
    if (job->rerun) {
      job->rerun = false;
      job->next_run = end;
    }
    if (job->removed) on_remove = job->spec.on_remove;
  }
  if (!result.ok() && !job->removed) {
    log::Warn(
        "refresh failed",
        {{options.source_label, job->spec.source}, {"group", job->spec.group}, {"err", result.error()}});
  } else if (result.ok()) {
    log::Debug("refresh done", {{options.source_label, job->spec.source}, {"group", job->spec.group}});
  }
  cv.notify_all();
  if (hook && result.ok() && !keep_data) ServeNow(*hook);
  if (on_remove) on_remove();
}

void Refresher::Impl::ServeNow(ServedHook& hook) {
  // Build the body that includes the new data now rather than at the next scrape. A rebuild already running
  // may have started before the data was swapped in: wait for it and build again (bounded).
  for (int attempt = 0; attempt < 100 && !hook.fired; ++attempt) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stopping) return;
    }
    try {
      Rebuild(true);
    } catch (const std::exception& e) {
      log::Warn("cannot build the metrics body", {{"err", e.what()}});
      return;
    }
    if (hook.fired) return;
    std::unique_lock<std::mutex> lock(cache_mu);
    cache_cv.wait_for(lock, std::chrono::milliseconds(50), [this] { return !cache_rebuilding; });
  }
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
// body can be tens of MB (its gzip ~50 ms of CPU at 1,000 BMCs). Rebuilding it in the scrape made nearly
// every real scrape (every 15-60 s, so the data has always changed) wait for that. So a body that takes 10 ms
// or more to build is rebuilt by the keeper thread, at most every max(1 s, 10 x its cost) and only while
// someone reads it, and scrapes get the last one built: at most about a second behind. Small bodies (a few
// thousand series) are rebuilt by the scrape when they changed, so what it sees is exact.
std::shared_ptr<const DataBody> Refresher::Impl::Cache() const {
  {
    std::lock_guard<std::mutex> lock(cache_mu);
    cache_last_read = Clock::now();
    // Checked before looking at 1,000s of jobs under the job lock, as each of ~1,000 scrapes/s would. The
    // margin covers a keeper that is late (a busy machine) or idle (no reads for a long time).
    if (Large() && (cache_rebuilding || Seconds(Clock::now() - cache_built_at) < 3 * KeeperInterval())) {
      return cache_body;
    }
  }
  return Rebuild(false);
}

void Refresher::Impl::KeeperLoop() {
  std::unique_lock<std::mutex> lock(cache_mu);
  while (!keeper_stop) {
    auto now = Clock::now();
    auto next = now + std::chrono::milliseconds(250);
    if (Large()) next = std::max(next, cache_built_at + FromSeconds(KeeperInterval()));
    keeper_cv.wait_until(lock, next);
    if (keeper_stop) break;
    // Nobody reading for 5 minutes (longer than any scrape interval): stop spending CPU until someone does.
    if (!Large() || cache_rebuilding || Seconds(Clock::now() - cache_last_read) > 300) continue;
    lock.unlock();
    Rebuild(true);
    lock.lock();
  }
}

std::shared_ptr<const DataBody> Refresher::Impl::Rebuild(bool background) const {
  std::vector<std::shared_ptr<const Rendered>> parts;
  std::vector<bool> included;
  std::uint64_t v;
  {
    std::lock_guard<std::mutex> lock(mu);
    v = version;
    auto now = Clock::now();
    included.reserve(jobs.size());
    parts.reserve(jobs.size());
    // Data past its max age is dropped rather than served as fresh.
    for (const auto& [key, job] : jobs) {
      bool fresh = job->data && Seconds(now - job->last_success_mono) <= job->max_age;
      included.push_back(fresh);
      if (fresh) parts.push_back(job->data);
    }
  }
  std::unique_lock<std::mutex> lock(cache_mu);
  for (;;) {
    // A body built from a newer version than this snapshot (by a rebuild this one waited for) is served,
    // never replaced by an older one: what a scrape sees does not go back in time.
    bool current = cache_body && (v < cache_version || (v == cache_version && included == cache_included));
    if (current) return cache_body;
    if (!cache_rebuilding) break;
    // Someone else is rebuilding: serve the previous body meanwhile. Only the very first build is waited for
    // (by scrapes) rather than serve nothing.
    if (cache_body || background) return cache_body;
    cache_cv.wait(lock);
  }
  cache_rebuilding = true;
  lock.unlock();

  auto start = Clock::now();
  // A failed build (out of memory) must not leave the flag set, or every later scrape would wait or be served
  // the old body for good.
  struct Unflag {
    const Impl* impl;
    bool armed = true;
    ~Unflag() {
      if (!armed) return;
      std::lock_guard<std::mutex> l(impl->cache_mu);
      impl->cache_rebuilding = false;
      impl->cache_cv.notify_all();
    }
  } unflag{this};
  // Merge by family name so each family has one HELP/TYPE block, families sorted by name, jobs in order. The
  // body only points into the jobs' snapshots (which it keeps alive): no merged copy of the text is made.
  struct Slice {
    std::string_view text;  // empty for a family kept only as its own deflate piece
    const std::shared_ptr<const web::DeflatePiece>* gzip;  // the family's own piece, if it has one
    std::size_t size;                                      // of the text
  };
  std::map<std::string_view, std::pair<const Header*, std::vector<Slice>>> merged;
  std::size_t count = 0;
  for (const auto& p : parts) {
    for (const auto& rf : p->families) {
      auto& slot = merged[rf.header->name];
      if (slot.first == nullptr) {
        slot.first = rf.header.get();
        ++count;
      }
      std::string_view text =
          rf.gzip ? std::string_view() : std::string_view(p->samples).substr(rf.offset, rf.length);
      slot.second.push_back({text, &rf.gzip, rf.length});
      ++count;
    }
  }
  auto body = std::make_shared<DataBody>();
  body->pieces.reserve(count);
  // The gzip stream's pieces: runs of text compressed here as one piece each, and the large families' own.
  std::vector<std::string_view> run;
  auto end_run = [&] {
    if (run.empty()) return;
    auto piece = web::DeflateCompress(run);
    // zlib fails only for memory: the scrape gets a 500 and the rebuilding flag is reset.
    if (!piece) throw std::bad_alloc();
    body->gzip.push_back(std::make_shared<const web::DeflatePiece>(std::move(*piece)));
    run.clear();
  };
  bool all_text = true;
  for (const auto& [name, slot] : merged) {
    body->pieces.push_back({slot.first->text, nullptr});
    body->size += slot.first->text.size();
    run.emplace_back(slot.first->text);
    for (const auto& slice : slot.second) {
      body->size += slice.size;
      if (*slice.gzip) {
        body->pieces.push_back({{}, slice.gzip->get()});
        all_text = false;
        end_run();
        body->gzip.push_back(*slice.gzip);
      } else {
        body->pieces.push_back({slice.text, nullptr});
        run.push_back(slice.text);
      }
    }
  }
  end_run();
  if (all_text) {
    body->views.reserve(body->pieces.size());
    for (const auto& piece : body->pieces) body->views.push_back(piece.text);
  }
  body->keep.assign(parts.begin(), parts.end());
  // Headers are owned by the snapshots' families, so the parts keep them alive too.
  const bool large = body->size > (4u << 20);
  std::vector<std::shared_ptr<ServedHook>> served;
  for (const auto& p : parts) {
    if (p->served && !p->served->fired) served.push_back(p->served);
  }
  parts.clear();

  lock.lock();
  unflag.armed = false;
  cache_body = std::move(body);
  cache_version = v;
  cache_included = std::move(included);
  cache_built_at = Clock::now();
  cache_build_seconds = Seconds(cache_built_at - start);
  cache_rebuilding = false;
  cache_cv.notify_all();
  auto result = cache_body;
  lock.unlock();
  // The body is in place: what it includes may now be published elsewhere (RenderedData::on_served).
  for (const auto& hook : served) hook->Fire();
  {
    // Forget headers no snapshot uses any more (a family that disappeared, or whose HELP changed).
    std::lock_guard<std::mutex> hl(headers_mu);
    for (auto it = headers.begin(); it != headers.end();) {
      it = it->second.use_count() == 1 ? headers.erase(it) : std::next(it);
    }
  }
  // Under churn the previous body's snapshots and gzip are freed about once a second; hand freed pages back
  // rather than let the heap keep each generation (on the keeper thread, off the scrape path).
  if (large) malloc_trim(0);
  return result;
}

bool DataBody::Write(const std::function<bool(std::string_view)>& write) const {
  for (const auto& p : pieces) {
    if (p.gzip != nullptr ? !web::InflatePieceTo(*p.gzip, write) : !write(p.text)) return false;
  }
  return true;
}

std::string DataBody::Join() const {
  std::string out;
  out.reserve(size);
  Write([&out](std::string_view p) {
    out.append(p);
    return true;
  });
  return out;
}

Refresher::Refresher(Options options) : impl_(std::make_shared<Impl>()) {
  impl_->options = std::move(options);
}

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
      if (it != impl_->jobs.end() && it->second->spec.fingerprint == spec.fingerprint &&
          !spec.fingerprint.empty()) {
        next[key] = it->second;
        impl_->jobs.erase(it);
        continue;
      }
      auto job = std::make_shared<Job>();
      job->timeout = spec.timeout_seconds > 0 ? spec.timeout_seconds : spec.interval_seconds;
      job->max_age =
          spec.max_age_seconds > 0 ? spec.max_age_seconds : 3 * spec.interval_seconds + job->timeout;
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
  {
    std::lock_guard<std::mutex> cache_lock(impl_->cache_mu);
    impl_->keeper_stop = false;
  }
  impl_->keeper = std::thread([impl = impl_] { impl->KeeperLoop(); });
}

void Refresher::Stop() {
  std::vector<std::function<void()>> removals;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
    for (auto& [key, job] : impl_->jobs) job->cancel.Cancel();
  }
  impl_->cv.notify_all();
  {
    std::lock_guard<std::mutex> lock(impl_->cache_mu);
    impl_->keeper_stop = true;
  }
  impl_->keeper_cv.notify_all();
  if (impl_->keeper.joinable()) impl_->keeper.join();
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

std::shared_ptr<const DataBody> Refresher::Data() const { return impl_->Cache(); }

std::shared_ptr<const std::string> Refresher::DataText() const {
  return std::make_shared<const std::string>(impl_->Cache()->Join());
}

std::shared_ptr<const std::string> Refresher::DataGzip() const {
  auto body = impl_->Cache();
  std::vector<const web::DeflatePiece*> pieces;
  for (const auto& p : body->gzip) pieces.push_back(p.get());
  return std::make_shared<const std::string>(web::GzipStream(pieces));
}

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
    if (job->backing_off && !job->running) s.retry_in_seconds = std::max(0.0, Seconds(job->next_run - now));
    out.push_back(std::move(s));
  }
  return out;
}

metrics::Families Refresher::StatusFamilies() const {
  const std::string& ns = impl_->options.ns;
  const std::string& sl = impl_->options.source_label;
  auto up = metrics::Gauge(ns + "_source_up",
                           "1 when the last background refresh of this source succeeded, else 0.");
  auto last = metrics::Gauge(ns + "_source_last_success_timestamp_seconds",
                             "Unix time of the last successful refresh of this source (0 = never).");
  auto dur =
      metrics::Gauge(ns + "_source_refresh_duration_seconds", "Duration of the last refresh of this source.");
  auto fail =
      metrics::Counter(ns + "_source_refresh_failures_total", "Failed refreshes of this source since start.");
  auto age =
      metrics::Gauge(ns + "_source_data_age_seconds",
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

bool Refresher::Publish(const std::string& source, const std::string& group,
                        const metrics::Families& families) {
  std::shared_ptr<Job> job;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->jobs.find({source, group});
    if (it == impl_->jobs.end() || it->second->removed) return false;
    job = it->second;
  }
  auto rendered = impl_->RenderJobData(families);  // outside the lock: rendering may take a while
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (job->removed) return false;
    job->data = std::move(rendered);
    job->up = true;
    job->attempted = true;
    job->last_success_unix = UnixNow();
    job->last_success_mono = Clock::now();
    job->published_mono = job->last_success_mono;
    ++impl_->version;
  }
  return true;
}

bool Refresher::RunSoon(const std::string& source, const std::string& group) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    auto it = impl_->jobs.find({source, group});
    if (it == impl_->jobs.end() || it->second->removed) return false;
    if (it->second->running) {
      it->second->rerun = true;
    } else {
      it->second->next_run = Clock::now();
    }
  }
  impl_->cv.notify_all();
  return true;
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
