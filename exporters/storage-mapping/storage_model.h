// The storage-mapping data model: what the OpenStack clients and the Pure FlashArray client parse into, and
// what the join (storage_join.h) turns into mapped rows. Plain value types; no I/O, no locking. A snapshot of
// each is built by one worker and then shared read-only (std::shared_ptr<const ...>), so it is thread-safe
// once published.
//
// Strings are Text (estate/openstack/text.h): one pointer, shared on copy. A row copies its fields from the
// snapshots it was joined from without copying their bytes, and the parsers intern the values a listing
// repeats.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "estate/openstack/nova.h"
#include "estate/openstack/text.h"

namespace estate::storage {

using openstack::NovaServer;  // the Nova listing is the estate::openstack library's (nova.h)
using openstack::Text;
using openstack::TextPool;

// ---- OpenStack (one cloud) -------------------------------------------------------------------------------

struct CinderAttachment {
  Text server_id;
  Text host_name;  // compute host; admin only (null otherwise)
  Text device;     // e.g. /dev/vdb
};

struct CinderVolume {
  Text id;
  Text name;
  Text status;  // available, in-use, ...
  double size_gb = 0;
  Text volume_type;
  Text project_id;         // os-vol-tenant-attr:tenant_id
  Text backend_host;       // os-vol-host-attr:host, "host@backend#pool" (admin only)
  Text name_id;            // os-vol-mig-status-attr:name_id (admin only; empty when unset)
  Text provider_id;        // admin + microversion >= 3.21; the Purity name with the Pure driver
  Text array_volume_name;  // metadata.array_volume_name (Pure driver, 2021+)
  Text array_name;         // metadata.array_name
  bool bootable = false;
  bool multiattach = false;
  std::vector<CinderAttachment> attachments;  // every attachment, not just the first
};

// Which admin-only fields a listing lacked, so that an incomplete mapping is never published as complete.
// A field is "missing" when no record in a non-empty listing carried it although records that need it exist
// (e.g. no in-use volume had attachments[].host_name). Each entry is a field name as the API spells it.
struct AdminCheck {
  std::vector<std::string> missing_fields;
  bool complete() const { return missing_fields.empty(); }
};

struct CloudSnapshot {
  Text cloud;  // config name
  std::vector<CinderVolume> volumes;
  std::vector<NovaServer> servers;
  std::map<std::string, Text, std::less<>> project_names;  // project id -> name
  AdminCheck admin;
  double collected_unix = 0;
};

// ---- Pure FlashArray (one array) -------------------------------------------------------------------------

struct PureVolume {
  Text id;
  Text name;    // as the array shows it, with any "<pod>::" prefix
  Text serial;  // upper-case hex as the array returns it
  Text wwid;    // "3624a9370" + lower(serial), set by the parser (the join computes it when empty)
  Text pod;     // pod.name, empty when none
  double provisioned_bytes = 0;
  double used_bytes = 0;   // space.total_physical, or unique + snapshots when absent
  double created_unix = 0; // created (ms) / 1000
  bool destroyed = false;
  double time_remaining_seconds = 0;  // destroyed volumes: until eradication
  std::vector<Text> hosts;            // from /connections: hosts the volume is connected to
  std::map<std::string, std::string> tags;  // namespace openstack-integration.purestorage.com: key -> value
};

struct ArraySnapshot {
  Text array;       // config name
  Text array_name;  // as the array reports it (/arrays), may be empty
  Text api_version;
  std::vector<PureVolume> volumes;
  double collected_unix = 0;
};

// ---- The join ----------------------------------------------------------------------------------------------

// One mapped row: one array volume (per array that has it) and one attachment of its Cinder volume. A detached
// volume has one row with empty server fields; a multi-attach volume has one row per attachment; a Cinder volume
// missing on every array has one row with empty array fields (state "missing_on_array"); an array volume with a
// Cinder-style name but no Cinder record has one row with empty Cinder fields (state "orphan", or "unmanaged"
// when the name ends in "-unmanaged": taken out of Cinder on purpose).
struct VolumeRow {
  // array side
  Text array;
  Text array_volume;  // full name as on the array, including "<pod>::"
  Text serial;
  Text wwid;  // "3624a9370" + lower(serial)
  Text pod;
  bool destroyed = false;
  double provisioned_bytes = 0;
  double used_bytes = 0;
  // cloud side
  Text cloud;
  Text cinder_id;
  Text cinder_name;
  Text volume_type;
  Text status;
  Text project_id;
  Text project;  // name, falls back to the id
  Text server_id;
  Text server_name;
  Text host_name;  // guest host name
  Text hypervisor;
  Text device;
  bool bootable = false;
  Text match;                // which rule joined it: provider_id, metadata, name_id, id, tag, none
  Text state;                // "current", "orphan", "unmanaged", "missing_on_array", "unknown", "past"
  // For a missing_on_array row: the array volume name it should have (provider_id, else the metadata name,
  // else volume-<id or name_id>-cinder), so a lookup by that name finds it. Not a column of the API.
  Text expected_array_volume;
  double last_seen_unix = 0; // when this mapping was last observed (now for current rows)
  bool complete = true;      // false when the cloud's listing lacked admin fields
};

}  // namespace estate::storage
