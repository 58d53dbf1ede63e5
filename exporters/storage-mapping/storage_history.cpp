#include "storage_history.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <istream>
#include <nlohmann/json.hpp>
#include <streambuf>
#include <unordered_set>

#include "estate/json_util.h"

namespace estate::storage {
namespace {

constexpr int kSchemaVersion = 1;

std::string Errno(const std::string& what, const std::string& path, int err = errno) {
  return what + " " + path + ": " + std::strerror(err);
}

// Reads a file for std::istream (the JSON parser) through a buffer of its own, remembering a failed read (the
// stream would only see the end of the input). Closes the file.
class FdReader : public std::streambuf {
 public:
  explicit FdReader(int fd) : fd_(fd) {}
  ~FdReader() override { ::close(fd_); }
  FdReader(const FdReader&) = delete;
  FdReader& operator=(const FdReader&) = delete;
  int error() const { return error_; }  // errno of the read that failed

 protected:
  int_type underflow() override {
    if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
    for (;;) {
      ssize_t n = ::read(fd_, buf_.data(), buf_.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (n < 0) error_ = errno;
        return traits_type::eof();
      }
      setg(buf_.data(), buf_.data(), buf_.data() + n);
      return traits_type::to_int_type(*gptr());
    }
  }

 private:
  int fd_;
  int error_ = 0;
  std::array<char, 65536> buf_;
};

// Fields whose change is worth a save; space and last-seen times change on every poll and are not.
bool SameMapping(const VolumeRow& a, const VolumeRow& b) {
  return a.array == b.array && a.array_volume == b.array_volume && a.serial == b.serial && a.pod == b.pod &&
         a.destroyed == b.destroyed && a.cloud == b.cloud && a.cinder_id == b.cinder_id &&
         a.cinder_name == b.cinder_name && a.volume_type == b.volume_type && a.status == b.status &&
         a.project_id == b.project_id && a.project == b.project && a.server_id == b.server_id &&
         a.server_name == b.server_name && a.host_name == b.host_name && a.hypervisor == b.hypervisor &&
         a.device == b.device && a.bootable == b.bootable && a.match == b.match && a.complete == b.complete;
}

void AppendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  int n = v == std::floor(v) && std::fabs(v) < 1e18 ? std::snprintf(buf, sizeof buf, "%.0f", v)
                                                    : std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(buf, static_cast<std::size_t>(n));
}

// Writes "name":value pairs; the first one opens the object.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) { out_.push_back('{'); }
  ~ObjectWriter() { out_.push_back('}'); }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;
  void Str(const char* name, std::string_view v) {
    Name(name);
    AppendJsonString(out_, v);
  }
  void Num(const char* name, double v) {
    Name(name);
    AppendNumber(out_, v);
  }
  void Bool(const char* name, bool v) {
    Name(name);
    out_.append(v ? "true" : "false");
  }

 private:
  void Name(const char* name) {
    if (!first_) out_.push_back(',');
    first_ = false;
    out_.push_back('"');
    out_.append(name);
    out_.append("\":");
  }
  std::string& out_;
  bool first_ = true;
};

void AppendRow(std::string& out, const VolumeRow& r, bool live, double last_seen_unix) {
  ObjectWriter w(out);
  w.Bool("live", live);
  w.Str("array", r.array);
  w.Str("array_volume", r.array_volume);
  w.Str("serial", r.serial);
  w.Str("wwid", r.wwid);
  w.Str("pod", r.pod);
  w.Bool("destroyed", r.destroyed);
  w.Num("provisioned_bytes", r.provisioned_bytes);
  w.Num("used_bytes", r.used_bytes);
  w.Str("cloud", r.cloud);
  w.Str("cinder_id", r.cinder_id);
  w.Str("cinder_name", r.cinder_name);
  w.Str("volume_type", r.volume_type);
  w.Str("status", r.status);
  w.Str("project_id", r.project_id);
  w.Str("project", r.project);
  w.Str("server_id", r.server_id);
  w.Str("server_name", r.server_name);
  w.Str("host_name", r.host_name);
  w.Str("hypervisor", r.hypervisor);
  w.Str("device", r.device);
  w.Bool("bootable", r.bootable);
  w.Str("match", r.match);
  w.Num("last_seen_unix", last_seen_unix);
  w.Bool("complete", r.complete);
}

// Throws nlohmann::json exceptions on a wrong type or a missing key; Load() turns them into an Error.
// `pool` interns the values rows repeat (arrays, clouds, projects, hypervisors, types, statuses).
VolumeRow RowFromJson(const nlohmann::json& j, bool* live, TextPool& pool) {
  VolumeRow r;
  *live = j.at("live").get<bool>();
  r.array = pool.Intern(j.at("array").get_ref<const std::string&>());
  r.array_volume = j.at("array_volume").get_ref<const std::string&>();
  r.serial = j.at("serial").get_ref<const std::string&>();
  r.wwid = j.at("wwid").get_ref<const std::string&>();
  r.pod = j.at("pod").get_ref<const std::string&>();
  r.destroyed = j.at("destroyed").get<bool>();
  r.provisioned_bytes = j.at("provisioned_bytes").get<double>();
  r.used_bytes = j.at("used_bytes").get<double>();
  r.cloud = pool.Intern(j.at("cloud").get_ref<const std::string&>());
  r.cinder_id = j.at("cinder_id").get_ref<const std::string&>();
  r.cinder_name = j.at("cinder_name").get_ref<const std::string&>();
  r.volume_type = pool.Intern(j.at("volume_type").get_ref<const std::string&>());
  r.status = pool.Intern(j.at("status").get_ref<const std::string&>());
  r.project_id = pool.Intern(j.at("project_id").get_ref<const std::string&>());
  r.project = pool.Intern(j.at("project").get_ref<const std::string&>());
  r.server_id = j.at("server_id").get_ref<const std::string&>();
  r.server_name = j.at("server_name").get_ref<const std::string&>();
  r.host_name = j.at("host_name").get_ref<const std::string&>();
  r.hypervisor = pool.Intern(j.at("hypervisor").get_ref<const std::string&>());
  r.device = pool.Intern(j.at("device").get_ref<const std::string&>());
  r.bootable = j.at("bootable").get<bool>();
  r.match = pool.Intern(j.at("match").get_ref<const std::string&>());
  r.last_seen_unix = j.at("last_seen_unix").get<double>();
  r.complete = j.at("complete").get<bool>();
  r.state = pool.Intern("current");
  return r;
}

// History::Key(row) in pieces, to hash and compare keys without building (and keeping) the strings.
using KeyPieces = std::array<std::string_view, 7>;

KeyPieces Pieces(const VolumeRow& r) {
  static constexpr std::string_view kSep = "\x1f";
  if (r.array.empty()) return {"c", kSep, r.cloud, kSep, r.cinder_id, kSep, r.server_id};
  return {"a", kSep, r.array, kSep, r.array_volume, kSep, r.server_id};
}

// FNV-1a of the concatenated pieces.
std::uint64_t KeyHash(const VolumeRow& r) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::string_view piece : Pieces(r)) {
    for (char c : piece) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
  }
  return h;
}

// <0, 0, >0 as the concatenated pieces compare as std::string (bytes as unsigned char, like memcmp).
int CompareKeys(const VolumeRow& a, const VolumeRow& b) {
  const KeyPieces pa = Pieces(a), pb = Pieces(b);
  std::size_t i = 0, j = 0;
  std::string_view x = pa[0], y = pb[0];
  for (;;) {
    while (x.empty() && ++i < pa.size()) x = pa[i];
    while (y.empty() && ++j < pb.size()) y = pb[j];
    if (x.empty() || y.empty()) return x.empty() ? (y.empty() ? 0 : -1) : 1;
    const std::size_t n = std::min(x.size(), y.size());
    if (int c = std::memcmp(x.data(), y.data(), n); c != 0) return c;
    x.remove_prefix(n);
    y.remove_prefix(n);
  }
}

}  // namespace

History::History(std::string path, HistoryOptions options) : path_(std::move(path)), options_(options) {}

std::string History::Key(const VolumeRow& r) {
  std::string key;
  for (std::string_view piece : Pieces(r)) key.append(piece);
  return key;
}

const VolumeRow& History::RowOf(const Entry& e, const Mapping* current) const {
  if (e.row) return *e.row;
  if (current != nullptr && e.seen_epoch == epoch_) return current->rows[e.index];
  return published_->rows[e.index];
}

History::Entries::iterator History::Find(std::uint64_t hash, const VolumeRow& row, const Mapping* current) {
  auto [it, end] = entries_.equal_range(hash);
  while (it != end && CompareKeys(RowOf(it->second, current), row) != 0) ++it;
  return it == end ? entries_.end() : it;
}

std::vector<const History::Entry*> History::Sorted(bool past_only) const {
  std::vector<const Entry*> out;
  out.reserve(past_only ? 0 : entries_.size());
  for (const auto& [hash, e] : entries_) {
    if (!past_only || !e.live) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(),
            [this](const Entry* a, const Entry* b) { return CompareKeys(RowOf(*a), RowOf(*b)) < 0; });
  return out;
}

Result<History> History::Load(const std::string& path, HistoryOptions options) {
  History h(path, options);
  if (path.empty()) return h;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return h;
    return MakeError(Errno("cannot open history state file", path));
  }
  FdReader reader(fd);  // closes fd
  std::istream in(&reader);

  TextPool pool;
  auto add_row = [&h, &pool](const nlohmann::json& j) {
    Entry entry;
    entry.row = std::make_unique<VolumeRow>(RowFromJson(j, &entry.live, pool));
    entry.last_seen_unix = entry.row->last_seen_unix;
    const std::uint64_t hash = KeyHash(*entry.row);
    if (auto it = h.Find(hash, *entry.row, nullptr); it != h.entries_.end()) {
      it->second = std::move(entry);  // a repeated key: the last one counts
    } else {
      h.entries_.emplace(hash, std::move(entry));
    }
  };
  auto add_orphan = [&h](const nlohmann::json& j) {
    h.orphan_since_[{j.at("array").get<std::string>(), j.at("array_volume").get<std::string>()}] =
        j.at("since_unix").get<double>();
  };
  auto add_missing = [&h](const nlohmann::json& j) {
    h.missing_since_[{j.at("cloud").get<std::string>(), j.at("cinder_id").get<std::string>()}] =
        j.at("since_unix").get<double>();
  };

  // Each object of the root's lists is taken as soon as the parser has read it and dropped from the document,
  // which so never holds more than one row (a document of 100k rows would take several hundred MB). Only
  // after "schema_version":1 (Save() writes it first): otherwise the lists stay in the document and are taken
  // (or the file rejected) below, as they come.
  enum class List { kNone, kMappings, kOrphans, kMissing };
  using Event = nlohmann::json::parse_event_t;
  List key = List::kNone;       // the list the current root key names
  List streamed = List::kNone;  // the root list being read and taken object by object
  bool at_version = false;      // the current root key is "schema_version"
  bool version_ok = false;
  nlohmann::json::parser_callback_t take = [&](int depth, Event event, nlohmann::json& parsed) {
    if (depth == 1) {
      if (event == Event::key) {
        at_version = parsed == "schema_version";
        key = parsed == "mappings"        ? List::kMappings
              : parsed == "orphan_since"  ? List::kOrphans
              : parsed == "missing_since" ? List::kMissing
                                          : List::kNone;
        // A repeated key: the last one counts, as in the document.
        if (key == List::kMappings) h.entries_.clear();
        if (key == List::kOrphans) h.orphan_since_.clear();
        if (key == List::kMissing) h.missing_since_.clear();
      } else if (event == Event::value && at_version) {
        version_ok = parsed.is_number_integer() && parsed == kSchemaVersion;
      }
      streamed = event == Event::array_start && version_ok ? key : List::kNone;
      return true;
    }
    if (depth != 2 || event != Event::object_end || streamed == List::kNone) return true;
    switch (streamed) {
      case List::kMappings:
        add_row(parsed);
        break;
      case List::kOrphans:
        add_orphan(parsed);
        break;
      case List::kMissing:
        add_missing(parsed);
        break;
      case List::kNone:
        break;
    }
    return false;
  };

  try {
    const auto j = nlohmann::json::parse(in, take);
    if (reader.error() != 0) return MakeError(Errno("cannot read history state file", path, reader.error()));
    if (!j.is_object()) return MakeError("history state file " + path + ": not a JSON object");
    // As a double: get<int>() of one beyond int's range is undefined behaviour ({"schema_version":1e300}).
    const double version = j.at("schema_version").get<double>();
    if (version != kSchemaVersion) {
      char shown[32];
      std::snprintf(shown, sizeof shown, "%g", version);
      return MakeError("history state file " + path + ": unsupported schema_version " + shown);
    }
    h.last_saved_ = j.at("saved_unix").get<double>();
    h.last_observed_ = h.last_saved_;
    // What the parser did not take (left in the document).
    for (const auto& e : j.at("mappings")) add_row(e);
    for (const auto& e : j.at("orphan_since")) add_orphan(e);
    for (const auto& e : j.at("missing_since")) add_missing(e);
  } catch (const nlohmann::json::exception& e) {
    // A failed read ends the input early: the parser's complaint would be about the truncation.
    if (reader.error() != 0) return MakeError(Errno("cannot read history state file", path, reader.error()));
    return MakeError("history state file " + path + " is corrupt: " + e.what());
  }
  return h;
}

std::shared_ptr<const Mapping> History::Publish(Mapping current, double now) {
  last_observed_ = now;
  std::unordered_set<std::string_view> authoritative_clouds;
  std::unordered_set<std::string_view> clouds_with_data;
  std::unordered_set<std::string_view> arrays_with_data;
  std::unordered_set<std::string_view> known_clouds;
  std::unordered_set<std::string_view> known_arrays;
  for (const auto& c : current.clouds) {
    known_clouds.insert(c.cloud);
    if (c.has_data) clouds_with_data.insert(c.cloud);
    if (c.complete()) authoritative_clouds.insert(c.cloud);
  }
  for (const auto& a : current.arrays) {
    known_arrays.insert(a.array);
    if (a.has_data) arrays_with_data.insert(a.array);
  }

  // Remember every current mapping; seen_epoch marks the entries this mapping shows, and they refer to its
  // rows from now on (no copy: 100k rows per join). A changed mapping is compared with the row the entry had
  // (in the previous published mapping, still held here).
  ++epoch_;
  for (std::size_t i = 0; i < current.rows.size(); ++i) {
    const VolumeRow& row = current.rows[i];
    if (row.state != "current" || row.cinder_id.empty()) continue;
    const std::uint64_t hash = KeyHash(row);
    auto it = Find(hash, row, &current);
    if (it == entries_.end()) {
      it = entries_.emplace(hash, Entry{});
      changed_ = true;
    } else if (!it->second.live || !SameMapping(RowOf(it->second, &current), row)) {
      changed_ = true;
    }
    Entry& e = it->second;
    e.row.reset();
    e.index = static_cast<std::uint32_t>(i);
    // When the cloud last confirmed it (its snapshot's time), not when we joined: during a cloud outage the
    // arrays keep triggering joins on the cloud's old data.
    e.last_seen_unix = row.last_seen_unix > 0 ? std::min(row.last_seen_unix, now) : now;
    e.live = true;
    e.seen_epoch = epoch_;
  }

  // Whether the volume of a (detached) past row is in the mapping in another way.
  auto volume_in_mapping = [&current](const VolumeRow& r) {
    for (const VolumeRow* c : current.Lookup(r.array.empty() ? r.cinder_id : r.array_volume)) {
      if (c->state == "past") continue;
      if (r.array.empty() ? (c->array.empty() && c->cloud == r.cloud && c->cinder_id == r.cinder_id)
                          : (c->array == r.array && c->array_volume == r.array_volume)) {
        return true;
      }
    }
    return false;
  };
  for (auto it = entries_.begin(); it != entries_.end();) {
    Entry& e = it->second;
    const bool seen = e.seen_epoch == epoch_;
    if (e.live && !seen) {
      // Its row is in the previous published mapping, which is about to go: copy it, whether it turns past or
      // stays current (its cloud could not show it).
      if (!e.row) {
        e.row = std::make_unique<VolumeRow>(published_->rows[e.index]);
        e.row->last_seen_unix = e.last_seen_unix;
      }
      const VolumeRow& r = *e.row;
      const bool could_show =
          authoritative_clouds.contains(r.cloud) && (r.array.empty() || arrays_with_data.contains(r.array));
      if (could_show) {
        e.live = false;
        changed_ = true;
      }
    }
    const VolumeRow& r = RowOf(e, &current);
    const bool detached_and_back = !e.live && r.server_id.empty() && volume_in_mapping(r);
    const bool expired = !seen && now - e.last_seen_unix > options_.retention_seconds;
    if (detached_and_back || expired) {
      it = entries_.erase(it);
      changed_ = true;
    } else {
      ++it;
    }
  }

  // First-seen times: add new ones, drop ended ones only where the mapping could tell, and forget sources
  // that are no longer configured.
  auto update_since = [&](SinceMap& since, const SinceMap& now_set, bool evaluated,
                          const std::unordered_set<std::string_view>& with_data,
                          const std::unordered_set<std::string_view>& known) {
    if (evaluated) {
      for (const auto& [k, t] : now_set) {
        if (since.emplace(k, now).second) changed_ = true;
      }
    }
    for (auto it = since.begin(); it != since.end();) {
      const std::string& source = it->first.first;
      const bool ended = evaluated && with_data.contains(source) && !now_set.contains(it->first);
      if (ended || !known.contains(source)) {
        it = since.erase(it);
        changed_ = true;
      } else {
        ++it;
      }
    }
  };
  update_since(orphan_since_, current.orphan_since, current.orphans_evaluated, arrays_with_data,
               known_arrays);
  update_since(missing_since_, current.missing_since, current.missing_evaluated, clouds_with_data,
               known_clouds);

  // The past rows go after the current ones, so the entries' indexes stay valid.
  std::vector<VolumeRow> past = PastRows();
  const std::size_t from = current.rows.size();
  current.rows.reserve(from + past.size());
  for (auto& r : past) current.rows.push_back(std::move(r));
  current.IndexRows(from);
  for (auto& [k, t] : current.orphan_since) {
    if (auto it = orphan_since_.find(k); it != orphan_since_.end()) t = it->second;
  }
  for (auto& [k, t] : current.missing_since) {
    if (auto it = missing_since_.find(k); it != missing_since_.end()) t = it->second;
  }
  current.history_entries = size();
  published_ = std::make_shared<const Mapping>(std::move(current));
  return published_;
}

std::vector<VolumeRow> History::PastRows() const {
  std::vector<const Entry*> past = Sorted(/*past_only=*/true);
  std::vector<VolumeRow> out;
  out.reserve(past.size());
  for (const Entry* e : past) {
    out.push_back(*e->row);
    out.back().state = "past";
  }
  return out;
}

double History::OrphanSince(const std::string& array, const std::string& array_volume) const {
  auto it = orphan_since_.find({array, array_volume});
  return it == orphan_since_.end() ? 0 : it->second;
}

double History::MissingSince(const std::string& cloud, const std::string& cinder_id) const {
  auto it = missing_since_.find({cloud, cinder_id});
  return it == missing_since_.end() ? 0 : it->second;
}

bool History::dirty() const {
  if (changed_) return true;
  if (entries_.empty() || last_observed_ - last_saved_ < options_.refresh_seconds) return false;
  return std::any_of(entries_.begin(), entries_.end(), [](const auto& kv) { return kv.second.live; });
}

std::size_t History::size() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.live; }));
}

Result<Ok> History::Save() {
  if (path_.empty()) {
    changed_ = false;
    return Ok{};
  }
  std::vector<const Entry*> sorted = Sorted(/*past_only=*/false);
  // Written by hand (nlohmann::json takes seconds to build and dump 100k rows), one mapping per line, and
  // streamed to the file in pieces as it is built.
  auto written = WriteFileAtomically(path_, [&](FileSink& sink) {
    std::string& out = sink.buffer();
    out.append("{\"schema_version\":");
    AppendNumber(out, kSchemaVersion);
    out.append(",\"saved_unix\":");
    AppendNumber(out, last_observed_);
    out.append(",\"retention_seconds\":");
    AppendNumber(out, options_.retention_seconds);
    out.append(",\n\"mappings\":[");
    for (std::size_t i = 0; i < sorted.size(); ++i) {
      out.append(i == 0 ? "\n" : ",\n");
      const Entry& e = *sorted[i];
      AppendRow(out, RowOf(e), e.live, e.last_seen_unix);
      if (!sink.MaybeFlush()) return false;
    }
    auto append_since = [&](const char* list, const SinceMap& since, const char* source, const char* volume) {
      out.append(list);
      bool first = true;
      for (const auto& [k, t] : since) {
        out.append(first ? "\n" : ",\n");
        first = false;
        {
          ObjectWriter w(out);
          w.Str(source, k.first);
          w.Str(volume, k.second);
          w.Num("since_unix", t);
        }
        if (!sink.MaybeFlush()) return false;
      }
      return true;
    };
    if (!append_since("],\n\"orphan_since\":[", orphan_since_, "array", "array_volume") ||
        !append_since("],\n\"missing_since\":[", missing_since_, "cloud", "cinder_id")) {
      return false;
    }
    out.append("]}\n");
    return true;
  });
  if (!written.ok()) return written;
  changed_ = false;
  last_saved_ = last_observed_;
  return Ok{};
}

History LoadOrStartEmpty(const std::string& path, HistoryOptions options, double now, std::string* warning) {
  if (warning != nullptr) warning->clear();
  auto loaded = History::Load(path, options);
  if (loaded.ok()) return std::move(loaded).value();
  std::string msg = loaded.error() + "; starting with an empty history";
  auto aside = SetAsideCorruptFile(path, now);
  msg += aside.ok() ? " (bad file kept as " + aside.value() + ")" : " (" + aside.error() + ")";
  if (warning != nullptr) *warning = msg;
  return History(path, options);
}

}  // namespace estate::storage
