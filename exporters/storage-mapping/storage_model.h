// The storage-mapping data model: what the OpenStack clients and the Pure FlashArray client parse into, and
// what the join (storage_join.h) turns into mapped rows. Plain value types; no I/O, no locking. A snapshot of
// each is built by one worker and then shared read-only (std::shared_ptr<const ...>), so it is thread-safe
// once published.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace estate::storage {

// ---- OpenStack (one cloud) -------------------------------------------------------------------------------

struct CinderAttachment {
  std::string server_id;
  std::string attachment_id;
  std::string host_name;  // compute host; admin only (null otherwise)
  std::string device;     // e.g. /dev/vdb
  std::string attached_at;
};

struct CinderVolume {
  std::string id;
  std::string name;
  std::string status;       // available, in-use, ...
  double size_gb = 0;
  std::string volume_type;
  std::string project_id;   // os-vol-tenant-attr:tenant_id
  std::string backend_host; // os-vol-host-attr:host, "host@backend#pool" (admin only)
  std::string name_id;      // os-vol-mig-status-attr:name_id (admin only; empty when unset)
  std::string provider_id;  // admin + microversion >= 3.21; the Purity name with the Pure driver
  std::string array_volume_name;  // metadata.array_volume_name (Pure driver, 2021+)
  std::string array_name;         // metadata.array_name
  bool bootable = false;
  bool multiattach = false;
  std::vector<CinderAttachment> attachments;  // every attachment, not just the first
};

struct NovaServer {
  std::string id;
  std::string name;
  std::string status;
  std::string project_id;           // tenant_id
  std::string host_name;            // OS-EXT-SRV-ATTR:hostname (guest host name), falls back to name
  std::string hypervisor;           // OS-EXT-SRV-ATTR:host (compute service host), admin only
  std::string hypervisor_hostname;  // OS-EXT-SRV-ATTR:hypervisor_hostname, admin only
  std::vector<std::string> volume_ids;  // os-extended-volumes:volumes_attached[].id
};

// Which admin-only fields a listing lacked, so that an incomplete mapping is never published as complete.
// A field is "missing" when no record in a non-empty listing carried it although records that need it exist
// (e.g. no in-use volume had attachments[].host_name). Each entry is a field name as the API spells it.
struct AdminCheck {
  std::vector<std::string> missing_fields;
  bool complete() const { return missing_fields.empty(); }
};

struct CloudSnapshot {
  std::string cloud;  // config name
  std::vector<CinderVolume> volumes;
  std::vector<NovaServer> servers;
  std::map<std::string, std::string> project_names;  // project id -> name
  AdminCheck admin;
  double collected_unix = 0;
};

// ---- Pure FlashArray (one array) -------------------------------------------------------------------------

struct PureVolume {
  std::string id;
  std::string name;        // as the array shows it, with any "<pod>::" prefix
  std::string serial;      // upper-case hex as the array returns it
  std::string pod;         // pod.name, empty when none
  std::string volume_group;
  double provisioned_bytes = 0;
  double used_bytes = 0;   // space.total_physical, or unique + snapshots when absent
  double created_unix = 0; // created (ms) / 1000
  bool destroyed = false;
  double time_remaining_seconds = 0;  // destroyed volumes: until eradication
  std::vector<std::string> hosts;     // from /connections: hosts the volume is connected to
  std::map<std::string, std::string> tags;  // namespace openstack-integration.purestorage.com: key -> value
};

struct ArraySnapshot {
  std::string array;  // config name
  std::string array_name;  // as the array reports it (/arrays), may be empty
  std::string api_version;
  std::vector<PureVolume> volumes;
  double collected_unix = 0;
};

// ---- The join ----------------------------------------------------------------------------------------------

// One mapped row: one array volume (per array that has it) and one attachment of its Cinder volume. A detached
// volume has one row with empty server fields; a multi-attach volume has one row per attachment; a Cinder volume
// missing on every array has one row with empty array fields (state "missing_on_array"); an array volume with a
// Cinder-style name but no Cinder record has one row with empty Cinder fields (state "orphan").
struct VolumeRow {
  // array side
  std::string array;
  std::string array_volume;  // full name as on the array, including "<pod>::"
  std::string serial;
  std::string wwid;          // "3624a9370" + lower(serial)
  std::string pod;
  bool destroyed = false;
  double provisioned_bytes = 0;
  double used_bytes = 0;
  // cloud side
  std::string cloud;
  std::string cinder_id;
  std::string cinder_name;
  std::string volume_type;
  std::string status;
  std::string project_id;
  std::string project;       // name, falls back to the id
  std::string server_id;
  std::string server_name;
  std::string host_name;     // guest host name
  std::string hypervisor;
  std::string device;
  bool bootable = false;
  std::string match;         // which rule joined it: provider_id, metadata, name_id, id, tag, none
  std::string state;         // "current", "orphan", "missing_on_array", "past"
  double last_seen_unix = 0; // when this mapping was last observed (now for current rows)
  bool complete = true;      // false when the cloud's listing lacked admin fields
};

}  // namespace estate::storage
