// The join: the latest snapshot of every OpenStack cloud and every Pure FlashArray turned into one immutable
// Mapping of rows (storage_model.h VolumeRow), with lookup indexes and per-cloud / per-array counts.
//
// Rules (each has a test in tests/join_test.cpp):
//
// Array name of a Cinder volume. The candidates are tried in this order and the first one that names a volume
// on some array wins; `match` records which:
//   1. provider_id                         "cinder-pod::volume-7d0c…-cinder"          match="provider_id"
//   2. metadata array_volume_name          "volume-7d0c…-cinder"                      match="metadata"
//   3. "volume-<name_id>-cinder"           a migrated/retyped volume: another UUID      match="name_id"
//   4. "volume-<id>-cinder"                only when name_id is unset (Cinder names the backend volume after
//                                          name_id whenever it is set, never after id)  match="id"
//
// Name tolerance. An array name and a Cinder name match when they are equal after removing, on both sides,
//   - a "<pod>::" prefix (ActiveCluster / sync-replicated volumes, e.g. "cinder-pod::volume-…-cinder"), and
//   - a "-unmanaged" suffix (volumes unmanaged from Cinder),
// or when the array name (without its pod) is exactly 56 characters long, i.e. left-truncated, and is the
// rightmost part of the Cinder name (with or without "-unmanaged"). Examples, all joined to
// "volume-0b7e…-cinder": "volume-0b7e…-cinder", "cinder-pod::volume-0b7e…-cinder",
// "volume-0b7e…-cinder-unmanaged", "me-0b7e…-cinder-unmanaged" (60 chars left-truncated to 56).
// Array volumes are indexed by a hash of the rightmost 46 characters of the stripped name (what survives any
// truncation) in one sorted vector, so each candidate is one binary search plus a check of the few names with
// that hash: 100k volumes join (rows and lookup index included) in about 0.2 s on one core.
//
// Rows.
//   - A Cinder volume found on arrays gives one row per (array that has it) × (attachment); a detached volume
//     has one row with empty server fields. An ActiveCluster volume (pod stretched over two arrays, same
//     serial) therefore has a "current" row on each array. Boot-from-volume is not special (device /dev/vda).
//   - Server fields come from the Nova server of attachment.server_id in the same cloud: server_name,
//     host_name (guest), hypervisor (OS-EXT-SRV-ATTR:host). When the server is unknown (or its hypervisor is
//     not visible), hypervisor falls back to the attachment's host_name.
//   - project = Keystone project name of the volume's project, falling back to the id.
//   - wwid = "3624a9370" + lower(serial). Rows of a cloud whose AdminCheck is incomplete have complete=false.
//   - A destroyed array volume (destroyed=true, pending eradication) still joins; its row has destroyed=true.
//
// Orphans. An array volume whose name is Cinder-made —
// ^(?:[^:]+::)?volume-[0-9a-f-]{36}-cinder(-unmanaged)?$, or a left-truncated form of it — that no Cinder
// volume of any cloud joined gets a row with state "orphan" and empty Cinder fields. Destroyed orphans also
// get a row (destroyed=true) but are counted in ArraySummary::destroyed_orphans, not in ArraySummary::orphans
// (they are on their way out, not an alert). A Cinder-made name ending in "-unmanaged" is what Cinder's
// `manage`/`unmanage` leaves on the array when an operator takes a volume out of Cinder on purpose: such a
// volume is not an orphan; its row has state "unmanaged" and it is counted in ArraySummary::unmanaged (a
// destroyed one, like any destroyed orphan, in destroyed_orphans). Array volumes whose names are not Cinder-made and that nothing
// joined are not in the rows; they are counted in ArraySummary::foreign.
//
// Tag cross-check (Pure driver ≥ 2025 writes VmId / ProjectId tags). Cinder stays authoritative: tags never
// change a row Cinder joined. An orphan row whose array volume carries a VmId tag gets server_id = VmId and,
// when a cloud's Nova knows that server, cloud, server_name, host_name and hypervisor from it; project_id /
// project from the ProjectId tag; match = "tag". Its state stays "orphan" (there is still no Cinder record).
//
// Missing. A Cinder volume that no array has, whose status means it should exist on the backend (anything but
// creating, error, error_*, deleting, downloading, uploading… see ExpectedOnArray) and whose backend (the
// part of os-vol-host-attr:host between '@' and '#') is one of the cloud's JoinConfig backends (an empty list
// = every volume; an unknown backend_host with a non-empty list = not expected) gets one row per attachment
// (one when detached) with state "missing_on_array" and empty array fields. Other unjoined Cinder volumes
// (e.g. Ceph volumes) are not in the rows.
//
// Partial data. Orphans are only evaluated when every configured cloud has a snapshot (an orphan might belong
// to a cloud not yet read), and missing volumes only when every configured array has one; otherwise the
// mapping says so in `warnings` and the summaries (orphans_evaluated / missing_evaluated = false).
// Hidden fields. A cloud whose listings lack admin-only fields (name_id, provider_id, the backend host, ...)
// cannot establish where its volumes live on the arrays. What it cannot establish is "unknown", never a fact:
// a would-be orphan (any cloud incomplete) and a would-be missing volume of that cloud get rows in state
// "unknown", are counted in the summaries' `unknown`, get no "since" time, and the orphan / missing counts
// they would change are not published (orphans_established(), CloudSummary::complete()).
//
// Lookup. Rows are indexed by Cinder id, its first 20 characters (the serial a guest sees on a virtio-blk
// disk, as Nova sets the volume id as the disk serial), array volume name (with and without "<pod>::"),
// serial and WWID, all case-insensitive; see NormalizeLookupId for the accepted spellings.
//
// Thread-safety: Join() is a pure function. A Mapping is built once, then shared read-only
// (std::shared_ptr<const Mapping>); its const methods are thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage_model.h"

namespace estate::storage {

struct JoinConfig {
  struct Cloud {
    std::string name;
    std::vector<std::string> array_backends;  // Cinder backends expected on an array; empty = every volume
  };
  std::vector<Cloud> clouds;        // configured clouds, in config order
  std::vector<std::string> arrays;  // configured arrays, in config order
};

// One Nova server as published (estate_storage_server_info).
struct ServerRow {
  Text cloud;
  Text id;
  Text name;
  Text status;
  Text host_name;            // guest host name
  Text hypervisor;           // OS-EXT-SRV-ATTR:host
  Text hypervisor_hostname;  // OS-EXT-SRV-ATTR:hypervisor_hostname
  Text project_id;
  Text project;  // name, falls back to the id
};

struct CloudSummary {
  std::string cloud;
  bool has_data = false;  // a snapshot was joined
  // AdminCheck::missing_fields, and "snapshot" when has_data is false.
  std::vector<std::string> missing_fields;
  std::size_t volumes = 0;
  std::size_t servers = 0;
  std::size_t projects = 0;
  std::size_t missing = 0;  // Cinder volumes (not rows) in state missing_on_array
  std::size_t unknown = 0;  // unjoined Cinder volumes an incomplete listing cannot judge (state unknown)
  bool complete() const { return has_data && missing_fields.empty(); }
  // Its listings lacked admin-only fields: what they decide (missing volumes, orphans) is not established.
  bool fields_hidden() const { return has_data && !missing_fields.empty(); }
};

struct ArraySummary {
  std::string array;
  bool has_data = false;
  std::size_t volumes = 0;            // every volume on the array, destroyed ones included
  std::size_t joined = 0;             // array volumes joined to a Cinder volume
  std::size_t orphans = 0;            // Cinder-named, no Cinder record, not destroyed
  std::size_t destroyed_orphans = 0;  // Cinder-named, no Cinder record, destroyed (pending eradication)
  std::size_t unmanaged = 0;          // "-unmanaged" Cinder-made name, no Cinder record, not destroyed
  std::size_t destroyed_joined = 0;   // destroyed (pending eradication) but still claimed by a Cinder volume
  std::size_t unknown = 0;            // Cinder-named, not joined, judged against an incomplete cloud
  std::size_t foreign = 0;            // not Cinder-named and not joined: ignored
};

class Mapping {
 public:
  double generated_unix = 0;
  std::vector<VolumeRow> rows;
  std::vector<ServerRow> servers;
  std::vector<CloudSummary> clouds;   // configured clouds in config order, then unconfigured ones with data
  std::vector<ArraySummary> arrays;   // likewise
  std::vector<std::string> warnings;  // why the mapping is not complete, one sentence each
  bool orphans_evaluated = false;
  bool missing_evaluated = false;
  // First time a current orphan (non-destroyed) / missing volume was seen in that state. The join sets `now`
  // for each; History::Publish replaces them with the persisted times.
  std::map<std::pair<std::string, std::string>, double> orphan_since;   // (array, array_volume)
  std::map<std::pair<std::string, std::string>, double> missing_since;  // (cloud, cinder_id)
  std::size_t history_entries = 0;  // past rows kept by History (0 without history)

  // True when every cloud's mapping is complete and orphans and missing volumes were evaluated.
  bool complete() const;
  // False while a cloud's listings lack admin-only fields: would-be orphans are then rows in state "unknown"
  // and the orphan counts are not published. (While a cloud has no data yet, orphans are not evaluated and
  // the counts are 0, as documented.)
  bool orphans_established() const;
  const CloudSummary* Cloud(std::string_view name) const;
  const ArraySummary* Array(std::string_view name) const;

  // Every row the identifier names (a multi-attach or ActiveCluster volume has several), in row order.
  // Accepts a Cinder id or its first 20 characters (a virtio disk serial), an array volume name (with or
  // without "<pod>::"), a serial or a WWID; empty when none.
  std::vector<const VolumeRow*> Lookup(std::string_view id) const;

  // Adds rows [from, rows.size()) to the lookup index. Join() indexes its rows; whoever appends rows to a
  // Mapping before publishing it (History::Publish) calls this for the new ones.
  void IndexRows(std::size_t from);

 private:
  // (hash of a normalized key, row), sorted: compact and cache-friendly for 100k+ rows; a hit is verified
  // against the row's own keys, so hash collisions cannot return a wrong row.
  std::vector<std::pair<std::uint64_t, std::uint32_t>> index_;
};

// Joins the latest snapshots. Null snapshots are skipped. Never fails: what it could not evaluate is in
// Mapping::warnings and the summaries.
Mapping Join(const std::vector<std::shared_ptr<const CloudSnapshot>>& clouds,
             const std::vector<std::shared_ptr<const ArraySnapshot>>& arrays, const JoinConfig& config,
             double now);

// ---- Building blocks (exposed for tests and for the API)
// ---------------------------------------------------

// "3624a9370" + lower(serial); empty for an empty serial.
std::string WwidFromSerial(std::string_view serial);
// The backend of "host@backend#pool" ("" when there is no '@').
std::string CinderBackend(std::string_view backend_host);
// Whether a Cinder volume in this status should exist on its backend (available, in-use, maintenance,
// reserved, attaching, detaching, backing-up, restoring-backup, retyping, extending, awaiting-transfer, …):
// false for creating, downloading, uploading, deleting, error and error_*.
bool ExpectedOnArray(std::string_view status);
// Whether an array volume name is Cinder-made (see the header comment), tolerating pod, "-unmanaged" and
// left-truncation to 56 characters.
bool LooksCinderMade(std::string_view array_volume_name);
// Whether array_name (as on the array) is the volume Cinder calls cinder_name, with the tolerances above.
bool ArrayNameMatches(std::string_view array_name, std::string_view cinder_name);
// The lookup key of an identifier: lower-cased and trimmed; a "/dev/disk/by-id/" path, "dm-uuid-mpath-",
// "virtio-", "scsi-", "0QEMU_QEMU_HARDDISK_" (virtio-scsi), "wwn-0x" and "naa." prefixes are removed, and a
// 32-hex-digit WWID without its leading NAA-type "3" ("624a9370…") gets it back. Array volume names, serials
// and Cinder ids only lose case and blanks.
std::string NormalizeLookupId(std::string_view id);

}  // namespace estate::storage
