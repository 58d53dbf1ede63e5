// Pure parsers for the Cinder listing the storage exporter reads (GET {volume}/volumes/detail), and the
// admin-field check over what the Cinder and Nova listings carried. Keystone, the Nova server listing and
// marker paging are in the estate::openstack library (libs/openstack). No I/O; every function is a pure
// function of its arguments and thread-safe.
//
// Parsers take the raw response body and return a Result: an error names what was wrong with the body
// (invalid JSON and at which byte, a missing array, a record without an id) but never echoes the body. The
// caller adds the request it came from. null is treated like an absent value (an empty string, false or 0).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "estate/openstack/nova.h"
#include "estate/result.h"
#include "storage_model.h"

namespace estate::storage {

// How many records of a listing carried each admin-only key, for CheckAdminFields.
struct CinderKeyCounts {
  std::size_t volumes = 0;
  std::size_t with_backend_host = 0;  // key "os-vol-host-attr:host" present
  std::size_t with_provider_id = 0;   // key "provider_id" present
  std::size_t with_name_id = 0;       // key "os-vol-mig-status-attr:name_id" present
  std::size_t attachments = 0;
  std::size_t attachments_with_host_name = 0;  // host_name non-empty (non-admin views send null, not nothing)
  void Add(const CinderKeyCounts& other);
};

// One page of the marker-paged listing. has_next is true when the page carried a rel="next" link;
// next_marker is the link's "marker" query parameter, or the last record's id when the link has none (empty
// when the page was empty too: openstack::FollowMarkers treats that as an error).
struct CinderVolumesPage {
  std::vector<CinderVolume> volumes;
  CinderKeyCounts keys;
  bool has_next = false;
  std::string next_marker;
};

// GET {volume}/volumes/detail. Fails on invalid JSON, a missing "volumes" array, or a volume without an id.
Result<CinderVolumesPage> ParseCinderVolumesPage(std::string_view body);

// Which admin-only fields the listings lacked (names as the API spells them). Key-based for fields non-admin
// views omit (os-vol-host-attr:host, os-vol-mig-status-attr:name_id, provider_id, OS-EXT-SRV-ATTR:host,
// OS-EXT-SRV-ATTR:hypervisor_hostname): missing when the listing is non-empty and no record had the key.
// Value-based for attachments[].host_name, which non-admin views send as null: missing when there are
// attachments and none names a host. An empty listing lacks nothing.
AdminCheck CheckAdminFields(const CinderKeyCounts& cinder, const openstack::NovaKeyCounts& nova);

}  // namespace estate::storage
