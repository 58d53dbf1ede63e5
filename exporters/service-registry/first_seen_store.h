// The first-seen times of unregistered apps, so that "new since yesterday" stays exact across restarts.
//
// Update() is given each join's apps:
//   - an unregistered app not yet known gets first_seen = now; a known one keeps its time (never reset);
//   - a registered app is dropped (if it becomes unregistered again later, that is a new first-seen);
//   - an app absent from the join (its VMs gone, or its source down and kept stale) is kept, and forgotten
//   only
//     after `forget_after` seconds without being seen: a source that fails or lists nothing for a while never
//     makes an app reappear as new;
//   - with registry_known false (ServiceNow configured but never collected) nothing changes: the apps only
//   get
//     their stored times.
// Each app's first_seen_unregistered_unix is set from the store (0 for registered apps).
//
// Persistence: Save() writes {"version":1,"apps":{"<tla>":{"first_seen":<unix>,"last_seen":<unix>}}} with
// estate/atomic_file.h (temporary file, fsync, rename, directory fsync). Load() reads it back; a missing file
// is an empty store, an unreadable or corrupt one an error (the caller sets it aside and starts empty).
// An empty path keeps everything in memory.
//
// Not thread-safe: one owner (the join job).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "estate/result.h"
#include "registry_model.h"

namespace estate::registry {

class FirstSeenStore {
 public:
  struct Entry {
    double first_seen = 0;
    double last_seen = 0;
  };

  explicit FirstSeenStore(std::string path = "", double forget_after_seconds = 30 * 86400.0)
      : path_(std::move(path)), forget_after_(forget_after_seconds) {}

  Result<Ok> Load();
  void Update(std::vector<App>& apps, bool registry_known, double now);
  bool dirty() const { return dirty_; }
  Result<Ok> Save();

  const std::map<std::string, Entry>& entries() const { return entries_; }
  const std::string& path() const { return path_; }

  // The file's content for the given entries (exposed for tests).
  static std::string Serialise(const std::map<std::string, Entry>& entries);
  static Result<std::map<std::string, Entry>> Parse(const std::string& text);

 private:
  std::string path_;
  double forget_after_;
  std::map<std::string, Entry> entries_;
  bool dirty_ = false;
  double last_saved_ = 0;
};

}  // namespace estate::registry
