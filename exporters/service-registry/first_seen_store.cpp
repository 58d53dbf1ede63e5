#include "first_seen_store.h"

#include <sys/stat.h>

#include <cmath>
#include <set>

#include "estate/atomic_file.h"
#include "estate/config.h"
#include "estate/json_util.h"

namespace estate::registry {
namespace {

// last_seen moves with every join; it is written at most this often when nothing else changed.
constexpr double kLastSeenSaveSeconds = 3600;

}  // namespace

std::string FirstSeenStore::Serialise(const std::map<std::string, Entry>& entries) {
  nlohmann::json apps = nlohmann::json::object();
  for (const auto& [tla, e] : entries) {
    apps[tla] = {{"first_seen", std::floor(e.first_seen)}, {"last_seen", std::floor(e.last_seen)}};
  }
  return DumpJson(nlohmann::json{{"version", 1}, {"apps", apps}}, 1) + "\n";
}

Result<std::map<std::string, FirstSeenStore::Entry>> FirstSeenStore::Parse(const std::string& text) {
  auto doc = ParseJsonText(text);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object() || !doc->contains("version") || !(*doc)["version"].is_number_integer() ||
      (*doc)["version"].get<long>() != 1) {
    return MakeError("not a first-seen state file of version 1");
  }
  auto apps = doc->find("apps");
  if (apps == doc->end() || !apps->is_object()) return MakeError("no \"apps\" object");
  std::map<std::string, Entry> out;
  for (auto it = apps->begin(); it != apps->end(); ++it) {
    const auto& v = it.value();
    if (!v.is_object() || !v.contains("first_seen") || !v["first_seen"].is_number()) {
      return MakeError("app \"" + Utf8Excerpt(it.key(), 64) + "\": no first_seen number");
    }
    Entry e;
    e.first_seen = v["first_seen"].get<double>();
    e.last_seen =
        v.contains("last_seen") && v["last_seen"].is_number() ? v["last_seen"].get<double>() : e.first_seen;
    if (!std::isfinite(e.first_seen) || !std::isfinite(e.last_seen) || e.first_seen < 0) {
      return MakeError("app \"" + Utf8Excerpt(it.key(), 64) + "\": bad time");
    }
    out[it.key()] = e;
  }
  return out;
}

Result<Ok> FirstSeenStore::Load() {
  entries_.clear();
  dirty_ = false;
  if (path_.empty()) return Ok{};
  struct stat st {};
  if (::stat(path_.c_str(), &st) != 0 && errno == ENOENT) return Ok{};
  auto text = config::ReadFile(path_);
  if (!text) return MakeError(text.error());
  auto parsed = Parse(*text);
  if (!parsed) return MakeError(path_ + ": " + parsed.error());
  entries_ = std::move(*parsed);
  return Ok{};
}

void FirstSeenStore::Update(std::vector<App>& apps, bool registry_known, double now) {
  now = std::floor(
      now);  // whole seconds, as the state file keeps them: the same value before and after a restart
  std::set<std::string> present;
  for (auto& app : apps) {
    present.insert(app.tla);
    if (registry_known && app.registered) {
      if (entries_.erase(app.tla) > 0) dirty_ = true;
    } else if (registry_known) {
      auto [it, inserted] = entries_.try_emplace(app.tla, Entry{now, now});
      if (inserted) {
        dirty_ = true;
      } else {
        it->second.last_seen = now;
      }
    }
    auto it = entries_.find(app.tla);
    app.first_seen_unregistered_unix = (!app.registered && it != entries_.end()) ? it->second.first_seen : 0;
  }
  if (!registry_known) return;
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (!present.count(it->first) && now - it->second.last_seen > forget_after_) {
      it = entries_.erase(it);
      dirty_ = true;
    } else {
      ++it;
    }
  }
  if (!entries_.empty() && now - last_saved_ >= kLastSeenSaveSeconds) dirty_ = true;
}

Result<Ok> FirstSeenStore::Save() {
  if (path_.empty()) {
    dirty_ = false;
    return Ok{};
  }
  auto written = WriteFileAtomically(path_, Serialise(entries_));
  if (!written) return written;
  dirty_ = false;
  double newest = 0;
  for (const auto& [tla, e] : entries_) newest = std::max(newest, e.last_seen);
  last_saved_ = newest;
  return Ok{};
}

}  // namespace estate::registry
