#include "report_store.h"

#include <fcntl.h>
#include <glob.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <set>
#include <thread>
#include <tuple>
#include <utility>

#include "estate/config.h"
#include "estate/log.h"
#include "estate/regex.h"
#include "report_parse.h"

namespace estate::compliance {
namespace {

namespace fs = std::filesystem;

double WallNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

bool HasGlob(const std::string& p) { return p.find_first_of("*?[") != std::string::npos; }

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Names that are not result files: hidden and temporary files (writers that rename into place), editor
// backups, OpenSCAP HTML reports.
bool Skipped(const std::string& path) {
  std::string_view name(path);
  if (auto slash = name.rfind('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  if (name.empty() || name.front() == '.') return true;
  for (std::string_view s : {".tmp", ".part", "~", ".html", ".htm", ".swp"}) {
    if (EndsWith(name, s)) return true;
  }
  return false;
}

template <typename Id>
bool StatId(const std::string& path, Id& id, bool follow = true) {
  struct stat st {};
  if ((follow ? ::stat(path.c_str(), &st) : ::lstat(path.c_str(), &st)) != 0) return false;
  if (!S_ISREG(st.st_mode)) return false;
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return true;
}

template <typename Id>
void FromStat(const struct stat& st, Id& id) {
  id.dev = st.st_dev;
  id.ino = st.st_ino;
  id.size = st.st_size;
  id.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

enum class ReadOutcome { kOk, kChanged, kError };

// Reads the whole file into out (one buffer of its size) when it is still the version `expect`, and is the
// same version after the read (by the descriptor and by the path: not rewritten, not replaced).
template <typename Id>
ReadOutcome ReadStable(const std::string& path, const Id& expect, std::size_t max_bytes, std::string& out,
                       std::string& error, const std::function<void(const std::string&)>& after_read) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return ReadOutcome::kChanged;
    error = std::string("cannot open: ") + std::strerror(errno);
    return ReadOutcome::kError;
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = std::string("cannot stat: ") + std::strerror(errno);
    return ReadOutcome::kError;
  }
  Id id;
  FromStat(st, id);
  if (!(id == expect)) return ReadOutcome::kChanged;
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    error = "larger than " + std::to_string(max_bytes) + " bytes (" + std::to_string(st.st_size) + ")";
    return ReadOutcome::kError;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(fd, out.data() + got, out.size() - got, static_cast<off_t>(got));
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::string("read failed: ") + std::strerror(errno);
      return ReadOutcome::kError;
    }
    if (n == 0) return ReadOutcome::kChanged;  // truncated while read
    got += static_cast<std::size_t>(n);
  }
  char extra = 0;
  if (::pread(fd, &extra, 1, static_cast<off_t>(got)) > 0) return ReadOutcome::kChanged;  // grew
  if (after_read) after_read(path);
  struct stat again {};
  if (::fstat(fd, &again) != 0) return ReadOutcome::kChanged;
  Id after;
  FromStat(again, after);
  if (!(after == expect)) return ReadOutcome::kChanged;
  Id by_path;
  if (!StatId(path, by_path) || !(by_path == expect)) return ReadOutcome::kChanged;  // replaced or removed
  return ReadOutcome::kOk;
}

std::string ProfileSetKey(const StoredReport& r) {
  std::vector<std::string> names;
  for (const auto& p : r.report.profiles) names.push_back(p.name);
  if (names.empty()) {
    for (const auto& c : r.counts) names.push_back(c.profile);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string key = r.host;
  key.push_back('\x1f');
  for (const auto& n : names) key.append(n).push_back('\x1e');
  return key;
}

// Newer first: the report's own time, then the file's mtime, then the path (for a stable choice).
bool Newer(const StoredReport& a, const StoredReport& b) {
  return std::tie(a.time_unix, a.file_mtime_unix, b.source_file) >
         std::tie(b.time_unix, b.file_mtime_unix, a.source_file);
}

}  // namespace

StoredReport MakeStored(Report report, const std::string& path, bool pushed, double mtime_unix,
                        const std::regex* host_re, bool slim, SharedTexts* texts) {
  StoredReport s;
  s.source_file = path;
  s.pushed = pushed;
  s.file_mtime_unix = mtime_unix;
  s.time_unix = report.time_unix > 0 ? report.time_unix : mtime_unix;
  if (host_re != nullptr) {
    std::smatch m;
    if (std::regex_search(path, m, *host_re) && m.size() > 1 && m[1].matched && m[1].length() > 0) {
      s.host = m[1].str();
    }
  }
  if (s.host.empty()) s.host = report.host;
  if (s.host.empty()) s.host = fs::path(path).stem().string();
  for (const Control& c : report.controls) {
    auto it = std::find_if(s.counts.begin(), s.counts.end(),
                           [&](const StoredReport::Counts& k) { return k.profile == c.profile; });
    if (it == s.counts.end()) {
      s.counts.push_back({c.profile, {}});
      it = s.counts.end() - 1;
    }
    it->n[static_cast<std::size_t>(c.status)][static_cast<std::size_t>(c.severity)] += 1;
  }
  std::sort(
      s.counts.begin(), s.counts.end(),
      [](const StoredReport::Counts& a, const StoredReport::Counts& b) { return a.profile < b.profile; });
  if (!pushed) {
    std::error_code ec;
    fs::path html = fs::path(path).replace_extension(".html");
    if (fs::is_regular_file(html, ec)) s.html_report_file = html.string();
  }
  if (slim) {
    std::erase_if(report.controls, [](const Control& c) {
      return (c.status == Status::kPassed || c.status == Status::kNotApplicable) &&
             c.waiver_expires_unix <= 0;
    });
    for (Control& c : report.controls) {
      std::string().swap(c.description);
      std::vector<std::string>().swap(c.messages);
      // The ids only serve to fill a doc link from the config's templates: not needed when the control has
      // one.
      if (c.doc_url.view().starts_with("https://") || c.doc_url.view().starts_with("http://")) {
        std::vector<std::pair<std::string, std::string>>().swap(c.ids);
      }
      if (texts != nullptr) {
        c.title = texts->Intern(c.title);
        c.doc_url = texts->Intern(c.doc_url);
      }
    }
    report.controls.shrink_to_fit();
    s.slim = true;
  }
  s.report = std::move(report);
  return s;
}

ReportStore::ReportStore(StoreOptions options, Parser parser) : parser_(std::move(parser)) {
  if (!parser_) {
    parser_ = [](std::string_view body) { return ParseReport(body); };
    default_parser_ = true;
  }
  now_ = options.now;
  max_file_bytes_ = options.max_file_bytes;
  Apply(std::move(options));
  snapshot_ = std::make_shared<StoreSnapshot>();
}

void ReportStore::Configure(StoreOptions options) {
  std::lock_guard<std::mutex> lock(mu_);
  pending_options_ = std::make_unique<StoreOptions>(std::move(options));
  dirty_ = true;
}

void ReportStore::Apply(StoreOptions options) {
  // Hosts may resolve differently, or reports be kept whole: read everything again. Other changes (paths,
  // settle, retention) need no new read.
  const bool reread = options.host_from_path != options_.host_from_path || options.slim != options_.slim;
  options_ = std::move(options);
  host_re_.reset();
  if (!options_.host_from_path.empty()) {
    auto re = CompileRegex(options_.host_from_path);
    if (re) {
      host_re_ = std::make_unique<std::regex>(std::move(*re));
    } else {
      log::Error("scan.host_from_path is not a valid regular expression; ignored", {{"err", re.error()}});
    }
  }
  if (options_.parse_threads < 1) options_.parse_threads = 1;
  if (reread) {
    for (auto& [path, e] : files_) e.id = FileId{};
  }
  dirty_ = true;
}

double ReportStore::Now() const { return now_ ? now_() : WallNow(); }

std::vector<ReportStore::Candidate> ReportStore::Enumerate() const {
  std::vector<Candidate> out;
  std::set<std::string> seen;
  auto add = [&](const std::string& path, bool pushed) {
    if (Skipped(path)) return;
    if (seen.insert(path).second) out.push_back({path, pushed});
  };
  auto walk = [&](const std::string& root, bool pushed) {
    std::error_code ec;
    if (fs::is_regular_file(root, ec)) {
      // A file named directly is read whatever its name.
      if (seen.insert(root).second) out.push_back({root, pushed});
      return;
    }
    if (!fs::is_directory(root, ec)) return;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto& name = it->path().filename().string();
      if (it->is_directory(ec)) {
        if (!name.empty() && name.front() == '.') it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file(ec)) add(it->path().string(), pushed);
    }
  };
  for (const auto& p : options_.paths) {
    if (!HasGlob(p)) {
      walk(p, false);
      continue;
    }
    glob_t g{};
    if (::glob(p.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
      for (std::size_t i = 0; i < g.gl_pathc; ++i) walk(g.gl_pathv[i], false);
    }
    ::globfree(&g);
  }
  if (!options_.spool_dir.empty()) walk(options_.spool_dir, true);
  return out;
}

ScanStats ReportStore::Scan(const Budget& budget) {
  const auto start = std::chrono::steady_clock::now();
  dirty_ = false;
  {
    std::unique_ptr<StoreOptions> pending;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending = std::move(pending_options_);
    }
    if (pending) Apply(std::move(*pending));
  }
  ScanStats stats;
  const double now = Now();
  std::vector<Candidate> found = Enumerate();
  stats.files = found.size();

  struct Work {
    std::string path;
    bool pushed = false;
    FileId id;
    enum { kPending, kOk, kFailed, kDeferred } outcome = kPending;
    std::shared_ptr<const StoredReport> report;
    std::string error;
  };
  std::vector<Work> work;
  std::set<std::string> present;
  double next_settle = 0;  // the earliest time a settling file may be read
  for (auto& c : found) {
    FileId id;
    if (!StatId(c.path, id)) continue;  // gone meanwhile
    present.insert(c.path);
    auto it = files_.find(c.path);
    if (it != files_.end() && it->second.id == id) continue;  // unchanged: not read again
    const double mtime = static_cast<double>(id.mtime_ns) / 1e9;
    const double settle = c.pushed ? 0 : options_.settle_seconds;
    if (now - mtime < settle) {
      ++stats.deferred;
      const double ready = mtime + settle;
      next_settle = next_settle == 0 ? ready : std::min(next_settle, ready);
      continue;
    }
    work.push_back(Work{std::move(c.path), c.pushed, id, Work::kPending, nullptr, {}});
  }

  // Read and parse on parse_threads threads; each item is written by exactly one thread.
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    std::string buffer;
    for (;;) {
      const std::size_t i = next.fetch_add(1);
      if (i >= work.size() || budget.Expired()) return;
      Work& w = work[i];
      std::string error;
      buffer.clear();
      switch (ReadStable(w.path, w.id, options_.max_file_bytes, buffer, error, options_.after_read)) {
        case ReadOutcome::kChanged:
          w.outcome = Work::kDeferred;
          continue;
        case ReadOutcome::kError:
          w.outcome = Work::kFailed;
          w.error = std::move(error);
          continue;
        case ReadOutcome::kOk:
          break;
      }
      Result<Report> parsed = MakeError("not parsed");
      try {
        if (default_parser_) {
          ParseLimits limits;
          limits.keep_text = !options_.slim;
          parsed = ParseReport(buffer, limits);
        } else {
          parsed = parser_(buffer);
        }
      } catch (const std::exception& e) {
        parsed = MakeError(std::string("parser threw: ") + e.what());
      }
      // A 200 MB file's buffer is not kept for the next one.
      if (buffer.capacity() > (std::size_t{8} << 20)) std::string().swap(buffer);
      if (!parsed) {
        w.outcome = Work::kFailed;
        w.error = parsed.error();
        continue;
      }
      w.report = std::make_shared<const StoredReport>(MakeStored(std::move(*parsed), w.path, w.pushed,
                                                                 static_cast<double>(w.id.mtime_ns) / 1e9,
                                                                 host_re_.get(), options_.slim, &texts_));
      w.outcome = Work::kOk;
    }
  };
  const std::size_t threads =
      std::min<std::size_t>(static_cast<std::size_t>(options_.parse_threads), work.size());
  if (threads <= 1) {
    worker();
  } else {
    std::vector<std::jthread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
  }

  bool changed = false;
  for (auto it = files_.begin(); it != files_.end();) {
    if (present.count(it->first) == 0) {
      log::Info("report file gone; its report is dropped", {{"file", it->first}});
      it = files_.erase(it);
      ++stats.removed;
      changed = true;
    } else {
      ++it;
    }
  }
  bool out_of_time = false;
  for (Work& w : work) {
    if (w.outcome == Work::kPending || w.outcome == Work::kDeferred) {
      ++stats.deferred;
      out_of_time = out_of_time || w.outcome == Work::kPending;
      continue;
    }
    ++stats.read;
    changed = true;
    Entry& e = files_[w.path];
    e.id = w.id;
    e.state.path = w.path;
    e.state.pushed = w.pushed;
    if (w.outcome == Work::kOk) {
      if (!e.state.up && !e.state.last_error.empty()) {
        log::Info("report file readable again", {{"file", w.path}});
      }
      e.state.up = true;
      e.state.last_error.clear();
      e.state.last_success_unix = now;
      e.state.report = std::move(w.report);
    } else {
      ++stats.failed;
      e.state.up = false;
      e.state.parse_errors += 1;
      if (w.error != e.state.last_error) {
        log::Warn("report file unreadable; its last good report is kept",
                  {{"file", w.path}, {"err", w.error}, {"last_good", e.state.report ? "yes" : "none"}});
      }
      e.state.last_error = std::move(w.error);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (changed) ++generation_;
    // The next scan an interval after this one ended (a first scan of thousands of files takes a while).
    const double end = Now();
    double due = end + options_.interval_seconds;
    if (stats.deferred > 0) {
      // Changing files and those left for lack of time: look again soon; settling ones when they are ready.
      const double soon = end + std::min(options_.interval_seconds, std::max(1.0, options_.settle_seconds));
      due = std::min(due, next_settle > 0 ? std::max(next_settle, end + 0.5) : soon);
    }
    next_due_unix_ = due;
  }
  if (out_of_time) dirty_ = true;  // carry on at the next tick
  Publish(now, stats.deferred);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // Titles and links of reports replaced or dropped: freed (what an older snapshot still holds goes next
  // time).
  if (stats.read > 0 || stats.removed > 0) texts_.Purge();
  // Parsing 1,000s of reports leaves freed pages in the heap: hand them back.
  if (stats.read > 0) malloc_trim(0);
  return stats;
}

void ReportStore::Publish(double now, std::size_t pending) {
  auto snap = std::make_shared<StoreSnapshot>();
  snap->scan_unix = now;
  snap->pending = pending;
  snap->files.reserve(files_.size());
  std::map<std::string, std::shared_ptr<const StoredReport>> newest;
  for (const auto& [path, e] : files_) {
    snap->files.push_back(e.state);
    const auto& r = e.state.report;
    if (!r) continue;
    if (options_.retention_seconds > 0 && r->time_unix < now - options_.retention_seconds) continue;
    auto [it, inserted] = newest.try_emplace(ProfileSetKey(*r), r);
    if (!inserted && Newer(*r, *it->second)) it->second = r;
  }
  snap->reports.reserve(newest.size());
  for (auto& [key, r] : newest) snap->reports.push_back(std::move(r));
  std::sort(snap->reports.begin(), snap->reports.end(), [](const auto& a, const auto& b) {
    if (a->host != b->host) return a->host < b->host;
    return Newer(*a, *b);
  });
  std::lock_guard<std::mutex> lock(mu_);
  // Retention moves with time: a report leaving it changes the data too.
  if (snapshot_ && snapshot_->reports.size() != snap->reports.size()) ++generation_;
  snap->generation = generation_;
  snapshot_ = std::move(snap);
}

std::shared_ptr<const StoreSnapshot> ReportStore::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return snapshot_;
}

std::uint64_t ReportStore::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

void ReportStore::RequestRescan() { dirty_ = true; }

bool ReportStore::ScanDue() const {
  if (dirty_) return true;
  std::lock_guard<std::mutex> lock(mu_);
  return Now() >= next_due_unix_;
}

Result<Report> ReportStore::ReadFull(const std::string& source_file) const {
  config::ReadOptions read;
  read.max_bytes = max_file_bytes_;
  auto body = config::ReadFile(source_file, read);
  if (!body) return MakeError(body.error());
  return parser_(*body);
}

}  // namespace estate::compliance
