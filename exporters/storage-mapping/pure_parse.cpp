#include "pure_parse.h"

#include <algorithm>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "estate/openstack/upstream_util.h"
#include "storage_join.h"

namespace estate::storage {

using Json = nlohmann::json;
using openstack::Number;
using openstack::ParseJson;
using openstack::Take;

namespace {

bool IsNumber(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number();
}

Json* Object(Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? &*it : nullptr;
}

// {"name": ..., "id": ...} references such as pod and host.
std::string RefName(Json& object, const char* key) {
  Json* ref = Object(object, key);
  return ref == nullptr ? std::string() : Take(*ref, "name");
}

// The items array of a REST 2.x listing, and where the next page starts.
Result<Json*> Items(Json& doc, PureContinuation& next) {
  if (!doc.is_object()) return MakeError("body is not a JSON object");
  auto items = doc.find("items");
  if (items == doc.end() || !items->is_array()) return MakeError("no \"items\" array");
  next.token = Take(doc, "continuation_token");
  auto more = doc.find("more_items_remaining");
  if (more != doc.end() && more->is_boolean()) next.more_items_remaining = more->get<bool>();
  return &*items;
}

// "2.15" -> {2, 15}; {-1, -1} when not "<major>.<minor>".
std::pair<long, long> VersionNumbers(const std::string& v) {
  char* end = nullptr;
  const long major = std::strtol(v.c_str(), &end, 10);
  if (end == v.c_str() || *end != '.') return {-1, -1};
  const char* minor_start = end + 1;
  const long minor = std::strtol(minor_start, &end, 10);
  if (end == minor_start || *end != '\0') return {-1, -1};
  return {major, minor};
}

// Index of each volume by id and by name, for attaching connections and tags.
struct VolumeIndex {
  std::unordered_map<std::string_view, std::size_t> by_id;
  std::unordered_map<std::string_view, std::size_t> by_name;
  explicit VolumeIndex(const std::vector<PureVolume>& volumes) {
    by_id.reserve(volumes.size());
    by_name.reserve(volumes.size());
    for (std::size_t i = 0; i < volumes.size(); ++i) {
      if (!volumes[i].id.empty()) by_id.emplace(volumes[i].id, i);
      by_name.emplace(volumes[i].name, i);
    }
  }
  const std::size_t* Find(const std::string& id, const std::string& name) const {
    if (!id.empty()) {
      if (auto it = by_id.find(id); it != by_id.end()) return &it->second;
    }
    if (auto it = by_name.find(name); it != by_name.end()) return &it->second;
    return nullptr;
  }
};

}  // namespace

Result<std::vector<std::string>> ParsePureApiVersions(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("body is not a JSON object");
  auto versions = doc->find("version");
  if (versions == doc->end() || !versions->is_array()) return MakeError("no \"version\" array");
  std::vector<std::string> out;
  out.reserve(versions->size());
  for (auto& v : *versions) {
    if (v.is_string()) out.push_back(std::move(v.get_ref<std::string&>()));
  }
  return out;
}

Result<std::string> PickPureApiVersion(const std::vector<std::string>& offered) {
  const std::string* best = nullptr;
  std::pair<long, long> best_numbers{-1, -1};
  for (const auto& v : offered) {
    const auto numbers = VersionNumbers(v);
    if (numbers.first != 2) continue;
    if (best == nullptr || numbers > best_numbers) {
      best = &v;
      best_numbers = numbers;
    }
  }
  if (best == nullptr) return MakeError("the array offers no REST 2.x API version");
  return *best;
}

Result<PureVolumesPage> ParsePureVolumesPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  PureVolumesPage page;
  auto items = Items(*doc, page.next);
  if (!items) return MakeError(items.error());
  page.volumes.reserve((*items)->size());
  std::size_t index = 0;
  for (auto& item : **items) {
    if (!item.is_object()) return MakeError("items[" + std::to_string(index) + "] is not an object");
    PureVolume v;
    v.name = Take(item, "name");
    if (v.name.empty()) return MakeError("items[" + std::to_string(index) + "] has no name");
    v.id = Take(item, "id");
    v.serial = Take(item, "serial");
    v.wwid = WwidFromSerial(v.serial);
    v.pod = RefName(item, "pod");
    v.provisioned_bytes = Number(item, "provisioned");
    if (Json* space = Object(item, "space")) {
      if (v.provisioned_bytes == 0) v.provisioned_bytes = Number(*space, "total_provisioned");
      v.used_bytes = IsNumber(*space, "total_physical")
                         ? Number(*space, "total_physical")
                         : Number(*space, "unique") + Number(*space, "snapshots");
    }
    v.created_unix = Number(item, "created") / 1000.0;
    auto destroyed = item.find("destroyed");
    v.destroyed = destroyed != item.end() && destroyed->is_boolean() && destroyed->get<bool>();
    v.time_remaining_seconds = Number(item, "time_remaining") / 1000.0;
    page.volumes.push_back(std::move(v));
    ++index;
  }
  return page;
}

Result<PureConnectionsPage> ParsePureConnectionsPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  PureConnectionsPage page;
  auto items = Items(*doc, page.next);
  if (!items) return MakeError(items.error());
  page.connections.reserve((*items)->size());
  TextPool hosts;  // a host has many volumes
  for (auto& item : **items) {
    if (!item.is_object()) continue;
    PureConnection c;
    if (Json* volume = Object(item, "volume")) {
      c.volume_name = Take(*volume, "name");
      c.volume_id = Take(*volume, "id");
    }
    if (c.volume_name.empty() && c.volume_id.empty()) continue;
    c.host = hosts.Intern(RefName(item, "host"));
    c.host_group = RefName(item, "host_group");
    page.connections.push_back(std::move(c));
  }
  return page;
}

Result<PureTagsPage> ParsePureTagsPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  PureTagsPage page;
  auto items = Items(*doc, page.next);
  if (!items) return MakeError(items.error());
  page.tags.reserve((*items)->size());
  for (auto& item : **items) {
    if (!item.is_object()) continue;
    PureTag t;
    if (Json* resource = Object(item, "resource")) {
      t.resource_name = Take(*resource, "name");
      t.resource_id = Take(*resource, "id");
    }
    t.key = Take(item, "key");
    if (t.key.empty() || (t.resource_name.empty() && t.resource_id.empty())) continue;
    t.tag_namespace = Take(item, "namespace");
    t.value = Take(item, "value");
    page.tags.push_back(std::move(t));
  }
  return page;
}

Result<std::string> ParsePureArrays(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  PureContinuation ignored;
  auto items = Items(*doc, ignored);
  if (!items) return MakeError(items.error());
  for (auto& item : **items) {
    if (item.is_object()) return Take(item, "name");
  }
  return std::string();
}

void ApplyPureConnections(std::vector<PureVolume>& volumes, const std::vector<PureConnection>& connections) {
  const VolumeIndex index(volumes);
  for (const auto& c : connections) {
    if (c.host.empty()) continue;  // a host-group connection without member hosts
    const std::size_t* i = index.Find(c.volume_id, c.volume_name);
    if (i != nullptr) volumes[*i].hosts.push_back(c.host);
  }
  for (auto& v : volumes) {
    if (v.hosts.size() < 2) continue;
    std::sort(v.hosts.begin(), v.hosts.end());
    v.hosts.erase(std::unique(v.hosts.begin(), v.hosts.end()), v.hosts.end());
  }
}

void ApplyPureTags(std::vector<PureVolume>& volumes, const std::vector<PureTag>& tags,
                   std::string_view tag_namespace) {
  const VolumeIndex index(volumes);
  for (const auto& t : tags) {
    if (!t.tag_namespace.empty() && t.tag_namespace != tag_namespace) continue;
    const std::size_t* i = index.Find(t.resource_id, t.resource_name);
    if (i != nullptr) volumes[*i].tags[t.key] = t.value;
  }
}

}  // namespace estate::storage
