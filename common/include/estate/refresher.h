// Background collection: every job (a source or target, and a data group of it) refreshes on its own
// interval with jitter, on a bounded worker pool. Each successful refresh renders its metric families to
// exposition text once and swaps that immutable snapshot in; a scrape only gets the merge of the pre-rendered
// snapshots (views into them, and their gzip; cached until one changes, and for large bodies rebuilt by a
// background thread), so it never waits for an upstream and copies nothing.
// A failed refresh keeps the last good snapshot, which is served until it is older than the job's max age.
// A job that serves no data (it never succeeded, or its data expired) and fails is retried with capped
// exponential backoff (1 s, 2 s, 4 s, ... up to 30 s, never later than its interval), not a whole interval
// later: an upstream that comes up after the exporter has data within seconds.
//
// Per job it exposes, with labels {<source_label>, group}:
//   <ns>_source_up                                 1 when the last refresh succeeded
//   <ns>_source_last_success_timestamp_seconds     Unix time of the last successful refresh
//   <ns>_source_refresh_duration_seconds           duration of the last refresh
//   <ns>_source_refresh_failures_total             failed refreshes since start
//   <ns>_source_data_age_seconds                   age of the data being served (absent when none)
//
// Thread-safe: Apply/Start/Stop from a control thread, everything else from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_server.h"
#include "estate/metrics.h"
#include "estate/result.h"

namespace estate {

// A job's data already rendered to exposition text, for jobs too large to build as metric families first (the
// storage mapping: 350k samples of 16 labels would cost ~250 MB as ClientMetric objects). `samples` holds the
// sample lines of every family back to back; each family names its slice [offset, offset + length), which
// must end on a line boundary. help is unescaped (the refresher escapes it), type is the text format's word
// (gauge, counter, ...). Families are merged with other jobs' by name like collected families are: one
// HELP/TYPE block per name (the first job's, in job order), samples of all jobs after it.
//
// Large families are served from a deflate piece of their own (see DataBody::gzip). A job may give one
// already compressed, so that its text is never held whole: `gzip` then holds exactly its sample lines as one
// piece (web::DeflateWriter), `length` is the size of that text, and the family takes no room in `samples`
// (its offset is where it would have been). Such a family must appear once. Use kOwnMemberBytes and
// kOwnMemberLevel for the same result as the refresher's own compression.
struct RenderedData {
  struct Family {
    std::string name, help, type;
    std::size_t offset = 0, length = 0;
    // The samples compressed, instead of a slice of `samples`.
    std::shared_ptr<const web::DeflatePiece> gzip;
  };
  std::string samples;
  std::vector<Family> families;
  // Optional: called once, as soon as a /metrics body that includes this data has been built, so before any
  // scrape can get it (on a worker or scrape thread, no refresher lock held; must not block long). A job that
  // serves the same data elsewhere (an API) publishes it there from this hook, so that a reader who saw it
  // there and then scrapes gets at least as new a body. The refresher builds that body right after the job
  // publishes the data, scraped or not. Not called for data replaced before it was ever included.
  std::function<void()> on_served;
};

// A family with this many bytes of samples from one job gets a deflate piece of its own, at this level.
inline constexpr std::size_t kOwnMemberBytes = 1u << 20;
inline constexpr int kOwnMemberLevel = 6;

struct JobSpec {
  std::string source;          // e.g. the BMC's name; becomes the source label
  std::string group = "all";   // data group, e.g. "fast" or "slow"
  double interval_seconds = 60;
  double timeout_seconds = 0;  // per refresh; 0 = the interval
  double max_age_seconds = 0;  // data older than this is dropped; 0 = 3 intervals + timeout
  // Identity of the job's configuration: on reload a job with the same source, group and fingerprint keeps
  // running with its data; otherwise the old one is removed and a new one starts.
  std::string fingerprint;
  // Does the upstream I/O and parsing. Must honour the budget (deadline and cancel) and never throw; an
  // exception is caught and counted as a failure.
  std::function<Result<metrics::Families>(const Budget&)> collect;
  // Optional: used instead of collect when set; returns the data pre-rendered (same rules as collect).
  std::function<Result<RenderedData>(const Budget&)> collect_rendered;
  // Optional: when set and it returns true, the refresh counts as a success that keeps the current data,
  // without calling collect or re-rendering (for derived jobs, e.g. a join whose inputs have not changed).
  // Ignored while the job has no data yet.
  std::function<bool()> unchanged;
  // Called once when the job is dropped by a reload or at shutdown (e.g. to log out of a session).
  std::function<void()> on_remove;
};

struct JobStatus {
  std::string source;
  std::string group;
  bool attempted = false;
  bool up = false;
  bool has_data = false;
  bool running = false;
  double last_success_unix = 0;  // 0 = never
  double last_duration_seconds = 0;
  double age_seconds = -1;       // -1 = no data
  double interval_seconds = 0;
  double failures = 0;
  std::string last_error;
  // Seconds until the next attempt of a job retrying with backoff (no data yet, last refresh failed); -1 when
  // the job is on its normal interval.
  double retry_in_seconds = -1;
};

// The merged data of every job: views into the jobs' pre-rendered text, in exposition order (each family's
// HELP/TYPE once, then its samples from every job), plus the same text compressed as deflate pieces of one
// gzip stream. Holding this keeps the viewed text alive. With thousands of sources the text is tens of MB, so
// it is not joined into one copy.
struct DataBody {
  struct Piece {
    // A header or a job's samples of one family, or a large family kept only compressed: its piece (one of
    // DataBody::gzip).
    std::string_view text;
    const web::DeflatePiece* gzip = nullptr;
  };
  std::vector<Piece> pieces;
  std::size_t size = 0;                  // total bytes of the text
  std::vector<std::string_view> views;   // the pieces' text, when every piece is kept as text; else empty
  // The text compressed, as deflate pieces of ONE gzip stream (web::GzipStreamHead, the pieces, then
  // web::GzipStreamTail; HttpResponse::gzip_pieces sends them so): runs of small families compressed
  // together, and each family of 1 MiB or more of one job in its own piece, compressed once when that job
  // published it (so a change elsewhere does not compress the large ones again).
  std::vector<std::shared_ptr<const web::DeflatePiece>> gzip;
  std::vector<std::shared_ptr<const void>> keep;  // what the pieces point into
  // Writes the text in order, inflating the compressed pieces; false when write returned false.
  bool Write(const std::function<bool(std::string_view)>& write) const;
  std::string Join() const;  // one copy of the text (for tests and small bodies)
};

class Refresher {
 public:
  struct Options {
    std::string ns = "estate";          // metric namespace
    std::string source_label = "source";
    int workers = 4;
    double jitter_fraction = 0.1;       // each interval is spread by +/- this fraction
    bool spread_first_run = false;      // start jobs at random points of their first interval
    double retry_initial_seconds = 1;   // first retry of a failed job that has no data
    double retry_max_seconds = 30;      // retries back off up to this (and never beyond the interval)
  };
  explicit Refresher(Options options);
  ~Refresher();
  Refresher(const Refresher&) = delete;
  Refresher& operator=(const Refresher&) = delete;

  // Replaces the job set atomically. Unchanged jobs (same source, group, fingerprint) keep state and data.
  void Apply(std::vector<JobSpec> jobs);
  void Start();
  // Cancels in-flight refreshes, waits for the workers, runs on_remove of every job.
  void Stop();

  // True once every current job has finished at least one refresh (success or failure).
  bool Ready() const;
  // Pre-rendered data of every job, merged by family, sorted by family name, and its gzip. Cached until data
  // changes (large bodies are rebuilt at most about once a second under churn).
  std::shared_ptr<const DataBody> Data() const;
  // The text of Data() joined into one string: a copy, for tests and small uses.
  std::shared_ptr<const std::string> DataText() const;
  // Data()->gzip as one gzip stream (a copy, for tests).
  std::shared_ptr<const std::string> DataGzip() const;
  // The per-job status families, computed now (ages move).
  metrics::Families StatusFamilies() const;
  std::vector<JobStatus> Statuses() const;
  // Runs every job once now, on the calling thread, and waits (for tests and --once style use).
  void RunAllNow();

  // Out-of-schedule updates, e.g. when an upstream pushes an event. Both leave the job's schedule alone.
  // Publish swaps in `families` as the current data of the job (source, group), as if a refresh had just
  // succeeded; false (and nothing changes) when no such job exists or it was removed.
  bool Publish(const std::string& source, const std::string& group, const metrics::Families& families);
  // Makes the job due now (a worker picks it up as soon as one is free). A running job runs once more as soon
  // as it ends: it may have read the upstream before what RunSoon was told of. False when no such job exists.
  bool RunSoon(const std::string& source, const std::string& group);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace estate
