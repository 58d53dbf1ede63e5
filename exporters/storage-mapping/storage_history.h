// History of the mapping across joins and restarts: the last known mapping of a volume that lost its Cinder
// record or its attachment (a redeploy), shown as a row with state "past" and last_seen_unix for a retention
// period, and the time each orphaned array volume / missing Cinder volume was first seen so (so alerts can
// say "orphaned for more than N days" across restarts).
//
// What is remembered. Every row with state "current" and a Cinder id, keyed by
//   - array + array_volume + server_id for rows with an array side (one key per array of an ActiveCluster
//     volume),
//   - cloud + cinder_id + server_id for rows without one.
// A remembered mapping that is no longer current becomes past, with the last time it was seen. It turns
// current again (and its past row disappears) when the same key is current again; it is dropped after
// `retention` seconds without being seen. A past row with an empty server_id (a detached volume) is dropped
// as soon as its volume is in the mapping in any other way (it says nothing the current row does not).
// A mapping only turns past when its sources could have shown it: its cloud has complete data and, if it has
// an array side, that array has data. Orphan "since" times are only updated when the mapping evaluated
// orphans, missing "since" times only when it evaluated missing volumes, so a restart with one source still
// loading loses nothing.
//
// Persistence. Save() writes the whole state as JSON to a temporary file in the state file's directory,
// fsyncs it, renames it over the state file and fsyncs the directory: after a crash at any point the file
// holds either the old or the new state. The JSON goes to the file in pieces of FileSink::kPieceBytes as it
// is written (100k rows make 60-85 MB), and Load() turns each row into an entry as soon as the parser has
// read it: neither holds the whole file, nor Load() a JSON document of it. Save() is only needed when
// dirty(): something other than a current row's last-seen time or space changed, or `refresh_seconds` passed
// since the last save while rows are current (so the last-seen time of a mapping that goes away during a
// downtime stays close).
//
// Memory. The history keeps the last mapping it published (shared with its readers) and refers to the current
// rows in it by index: it holds a copy only of past rows, and of current rows it cannot refer to (loaded from
// the state file and not joined since, or not in the last mapping because their cloud has no data). Entries
// are keyed by a 64-bit hash of Key(row), compared on the key itself, so no key string is kept either.
//
// Use (the join job): Join → published = history.Publish(std::move(mapping), now) → hand `published` to the
// readers → if (history.dirty()) history.Save().
//
// Not thread-safe: one owner (the join job) calls everything. The published mapping is immutable and may be
// read by any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "estate/atomic_file.h"
#include "estate/result.h"
#include "storage_join.h"
#include "storage_model.h"

namespace estate::storage {

struct HistoryOptions {
  double retention_seconds = 7 * 86400;  // how long a past row is kept after it was last seen
  double refresh_seconds = 3600;         // dirty() again after this long with current rows and no save
};

class History {
 public:
  // An empty history; path "" keeps it in memory only (Save() does nothing).
  explicit History(std::string path = "", HistoryOptions options = {});

  // Reads the state file. A missing file is an empty history; an unreadable or corrupt file is an Error that
  // names the file and the problem (see LoadOrStartEmpty for what to do then).
  static Result<History> Load(const std::string& path, HistoryOptions options = {});

  // Folds one joined mapping into the history, expires old entries, and returns the mapping to publish:
  // `current` (its rows first, in their order) plus the past rows (state "past", indexed for lookup), its
  // orphan_since / missing_since replaced by the remembered first-seen times, and history_entries set. The
  // history keeps the returned mapping until the next Publish (its current rows are the history's).
  std::shared_ptr<const Mapping> Publish(Mapping current, double now);

  // Past rows, state "past", sorted by key.
  std::vector<VolumeRow> PastRows() const;
  // First time the array volume was seen orphaned / the Cinder volume seen missing on the array; 0 if it is
  // not.
  double OrphanSince(const std::string& array, const std::string& array_volume) const;
  double MissingSince(const std::string& cloud, const std::string& cinder_id) const;

  bool dirty() const;
  // Writes the state file atomically (see above). On failure the old file is intact, the temporary file is
  // removed and the history stays dirty.
  Result<Ok> Save();

  // Past rows kept.
  std::size_t size() const;
  std::size_t remembered() const { return entries_.size(); }  // current and past
  const std::string& path() const { return path_; }

  // The key a row is remembered under.
  static std::string Key(const VolumeRow& row);

 private:
  // A remembered mapping. Its row is published_->rows[index] when it was current in the last Publish(),
  // else *row (always for past entries).
  struct Entry {
    std::unique_ptr<VolumeRow> row;  // last_seen_unix == this->last_seen_unix
    double last_seen_unix = 0;       // last time seen current
    std::uint64_t seen_epoch = 0;    // == epoch_ when the last Publish() saw it
    std::uint32_t index = 0;
    bool live = false;
  };
  using Entries = std::unordered_multimap<std::uint64_t, Entry>;  // by KeyHash(row)
  using SinceMap = std::map<std::pair<std::string, std::string>, double>;

  // The entry's row; `current` is the mapping being published (entries seen in it index its rows).
  const VolumeRow& RowOf(const Entry& e, const Mapping* current = nullptr) const;
  Entries::iterator Find(std::uint64_t hash, const VolumeRow& row, const Mapping* current);
  // Entries in Key() order; past ones only with past_only.
  std::vector<const Entry*> Sorted(bool past_only) const;

  std::string path_;
  HistoryOptions options_;
  Entries entries_;
  std::shared_ptr<const Mapping> published_;  // the last Publish()
  SinceMap orphan_since_;                     // (array, array_volume)
  SinceMap missing_since_;                    // (cloud, cinder_id)
  std::uint64_t epoch_ = 0;                   // Publish() calls
  bool changed_ = false;
  double last_observed_ = 0;
  double last_saved_ = 0;
};

// FileSink, WriteFileAtomically and SetAsideCorruptFile live in common (estate/atomic_file.h).
using estate::FileSink;
using estate::SetAsideCorruptFile;
using estate::WriteFileAtomically;

// Load(), and on failure: set the bad file aside, start empty, and describe both in *warning for the caller
// to log (warning is cleared on success).
History LoadOrStartEmpty(const std::string& path, HistoryOptions options, double now, std::string* warning);

}  // namespace estate::storage
