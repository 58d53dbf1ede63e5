// Pure parsers for the Pure FlashArray REST 2.x responses the storage exporter reads: API versions, volumes,
// host connections, volume tags and the array itself. No I/O; every function is a pure function of its
// arguments and thread-safe.
//
// Parsers take the raw response body and return a Result: an error names what was wrong (invalid JSON and at
// which byte, a missing "items" array, a volume without a name) but never echoes the body. null is treated
// like an absent value (an empty string, false or 0).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "estate/result.h"
#include "storage_model.h"

namespace estate::storage {

// The tag namespace the Cinder Pure driver writes (VmId, ProjectId, VolType, DataStoreType).
inline constexpr const char* kPureOpenStackTagNamespace = "openstack-integration.purestorage.com";

// GET /api/api_version: {"version": ["1.0", ..., "2.15"]}. Fails on invalid JSON or no "version" array.
Result<std::vector<std::string>> ParsePureApiVersions(std::string_view body);
// The highest 2.x version offered (compared numerically: 2.15 > 2.9). Fails when there is none.
Result<std::string> PickPureApiVersion(const std::vector<std::string>& offered);

// Where the next page of a REST 2.x listing starts: the body's continuation_token (the caller falls back to
// the x-next-token header), and more_items_remaining when the body says.
struct PureContinuation {
  std::string token;
  std::optional<bool> more_items_remaining;
};

struct PureVolumesPage {
  std::vector<PureVolume> volumes;  // hosts and tags are left empty
  PureContinuation next;
};

struct PureConnection {
  Text host;
  std::string host_group;
  std::string volume_name;
  std::string volume_id;
};

struct PureConnectionsPage {
  std::vector<PureConnection> connections;
  PureContinuation next;
};

struct PureTag {
  std::string resource_name;
  std::string resource_id;
  std::string tag_namespace;
  std::string key;
  std::string value;
};

struct PureTagsPage {
  std::vector<PureTag> tags;
  PureContinuation next;
};

// GET /api/2.x/volumes. Fails on invalid JSON, no "items" array, or an item without a name.
Result<PureVolumesPage> ParsePureVolumesPage(std::string_view body);
// GET /api/2.x/connections. Items without a volume name are skipped.
Result<PureConnectionsPage> ParsePureConnectionsPage(std::string_view body);
// GET /api/2.x/volumes/tags. Items without a key or resource are skipped.
Result<PureTagsPage> ParsePureTagsPage(std::string_view body);
// GET /api/2.x/arrays: the name of the (first) array, "" when the list is empty.
Result<std::string> ParsePureArrays(std::string_view body);

// Adds each connection's host to the volume it names (by id when both have one, else by name), once per host,
// sorted. Connections to unknown volumes are ignored.
void ApplyPureConnections(std::vector<PureVolume>& volumes, const std::vector<PureConnection>& connections);
// Puts the tags of namespace `tag_namespace` into the volumes they name (by id when both have one, else by
// name). Tags of other namespaces and unknown volumes are ignored.
void ApplyPureTags(std::vector<PureVolume>& volumes, const std::vector<PureTag>& tags,
                   std::string_view tag_namespace = kPureOpenStackTagNamespace);

}  // namespace estate::storage
