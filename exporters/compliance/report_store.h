// The store of compliance reports: scans the configured directories (recursively) and glob patterns, plus the
// push spool, and keeps the newest report per (host, profile set).
//
// - A rescan stats every file; a file whose size, mtime and inode are unchanged since it was last read is not
//   read again. A file modified within `settle` (a writer still at it), or whose size or mtime changes while
//   it is read, or that is replaced (renamed over) while it is read, is left for the next scan: a file is
//   never parsed half-way. Spool files are written atomically by the push handler: no settle for them.
// - Each file is read into one buffer and parsed through the injected parser (default ParseReport), on
//   `parse_threads` threads of the scan.
// - Per file: the last good report stays when a newer version fails to parse (file_up 0, its age keeps
//   growing), with an error count and the last error, logged once per change with the reason.
// - Across files: the newest report (its own time, then the file mtime) per (host, profile set) wins; a
// deleted
//   file drops its report; reports older than `retention` are dropped.
// - Host: the first capture group of `host_from_path` over the file's path, else the report's host, else the
//   file name without its last extension.
// - Skipped names: starting with '.', ending with .tmp, .part, ~, .html or .htm (an OpenSCAP HTML report next
// to
//   <stem>.xml is noted on the report instead).
//
// Thread-safety: Scan() and Configure() from one thread at a time (the scan job); Snapshot(),
// RequestRescan(), ScanDue(), generation() and ReadFull() from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "compliance_model.h"
#include "estate/cancel.h"
#include "estate/result.h"

namespace estate::compliance {

// One result file as last read.
struct FileState {
  std::string path;
  bool pushed = false;           // in the push spool
  bool up = false;               // its last read parsed
  double parse_errors = 0;       // failed reads (one per failing version of the file) since start
  double last_success_unix = 0;  // when a read of it last parsed (0 = never)
  std::string last_error;        // "" after a good read
  std::shared_ptr<const StoredReport> report;  // the last good report (kept when a newer read fails)
};

struct StoreSnapshot {
  std::uint64_t generation = 0;  // changes when reports or file states change (not with scan_unix alone)
  double scan_unix = 0;          // when the last scan ended: the "as of" of report ages
  // Newest per (host, profile set), within retention; sorted by host, then newest first, then path.
  ReportSet reports;
  std::vector<FileState> files;  // every file read at least once, sorted by path
  std::size_t pending = 0;       // files seen but not read yet (settling, changing)
};

struct StoreOptions {
  std::vector<std::string> paths;  // directories (recursive), files or glob patterns
  std::string spool_dir;           // "" = none; scanned recursively, reports marked pushed
  double interval_seconds = 30;
  double settle_seconds = 2;
  std::string host_from_path;  // regex; "" = none (ParseConfig validated it)
  double retention_seconds = 14 * 86400.0;
  int parse_threads = 2;
  std::size_t max_file_bytes = std::size_t{512} << 20;
  bool slim = true;  // see StoredReport::slim
  // Tests: called after a file's bytes were read, before it is checked again (to change it meanwhile).
  std::function<void(const std::string& path)> after_read;
  // Tests: the wall clock (Unix seconds) for settle, retention and ages.
  std::function<double()> now;
};

using Parser = std::function<Result<Report>(std::string_view body)>;

struct ScanStats {
  std::size_t files = 0;     // result files found
  std::size_t read = 0;      // read and parsed or failed
  std::size_t failed = 0;    // of those, failed
  std::size_t deferred = 0;  // settling, changing while read, or left for lack of time
  std::size_t removed = 0;   // gone since the last scan
  double seconds = 0;
};

class ReportStore {
 public:
  explicit ReportStore(StoreOptions options, Parser parser = {});
  ReportStore(const ReportStore&) = delete;
  ReportStore& operator=(const ReportStore&) = delete;

  // New options after a reload (any thread), applied at the start of the next scan; file states of files
  // still found are kept (and read again: the host may resolve differently). The next ScanDue() is true.
  void Configure(StoreOptions options);
  // One scan. Honours the budget between files (what was not read waits for the next scan, what was read
  // counts). Publishes a new snapshot.
  ScanStats Scan(const Budget& budget = {});

  std::shared_ptr<const StoreSnapshot> Snapshot() const;
  std::uint64_t generation() const;
  // Asks for a scan at the next occasion (the push handler after spooling a report).
  void RequestRescan();
  // True when a scan is due: requested, the interval has passed since the last one, or a deferred file's
  // settle time has passed.
  bool ScanDue() const;
  // Reads and parses a result file again, whole (not slimmed), for the host page.
  Result<Report> ReadFull(const std::string& source_file) const;

 private:
  struct FileId {
    std::uint64_t dev = 0, ino = 0;
    std::int64_t size = -1, mtime_ns = 0;
    bool operator==(const FileId&) const = default;
  };
  struct Entry {
    FileId id;  // the version last read (parsed or failed)
    FileState state;
  };
  struct Candidate {
    std::string path;
    bool pushed = false;
  };
  std::vector<Candidate> Enumerate() const;
  double Now() const;
  void Apply(StoreOptions options);
  void Publish(double now, std::size_t pending);

  StoreOptions options_;         // scan thread only (set by Apply)
  std::function<double()> now_;  // fixed at construction
  std::size_t max_file_bytes_ = 0;
  Parser parser_;
  bool default_parser_ = false;  // ParseReport: scans parse slim (ParseLimits::keep_text) when options_.slim
  std::unique_ptr<std::regex> host_re_;
  std::map<std::string, Entry> files_;  // scan thread only

  mutable std::mutex mu_;  // guards below
  std::shared_ptr<const StoreSnapshot> snapshot_;
  std::unique_ptr<StoreOptions> pending_options_;
  std::uint64_t generation_ = 1;
  double next_due_unix_ = 0;
  std::atomic<bool> dirty_{true};
};

// What the store does to a parsed report (exposed for tests and the push path): resolves the host, counts
// controls per profile, status and severity, and slims it when asked.
StoredReport MakeStored(Report report, const std::string& path, bool pushed, double mtime_unix,
                        const std::regex* host_re, bool slim);

}  // namespace estate::compliance
