// The simulated storage estate behind the "openstack" and "pure" upstream kinds: one OpenStack cloud
// (projects, hypervisors, Nova servers, Cinder volumes with their attachments) and the Pure FlashArrays that
// hold those volumes, described once so that the cloud and every array agree. Loaded from a model YAML file
// (see data/storage-demo/model.yml for the format) or generated deterministically for benchmarks.
//
// The array side is derived from the cloud side the way the Cinder Pure driver names things: a Cinder volume
// becomes "volume-<name_id or id>-cinder" (with "<pod>::" for replicated types, left-truncated to 56
// characters before "-cinder"), hypervisors become Pure hosts "<hypervisor>-<32 hex>-cinder", attachments
// become connections. Volumes that exist only on arrays (orphans, datastores, destroyed leftovers) are listed
// apart.
//
// Thread-safe: readers take Read() (a shared lock) for as long as they use the data; Redeploy() changes the
// model under the exclusive lock. Upstreams of one SimEstate that name the same model file share one object.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "estate/result.h"

namespace estate::simestate {

// The `generate:` block of an upstream: a large deterministic model instead of a file.
struct GenerateSpec {
  int servers = 1000;
  int volumes = 2000;
  int arrays = 2;  // named pure-gen-1 .. pure-gen-K
  int projects = 10;
  std::uint64_t seed = 1;
  std::vector<std::string> hypervisors;  // default: hv-gen-001 .. hv-gen-100
  std::string Key() const;               // identifies the generated model (for sharing between upstreams)
};

struct SimProject {
  std::string id;
  std::string name;
};

struct SimServer {
  std::string id;
  std::string name;
  std::string host_name;  // OS-EXT-SRV-ATTR:hostname (guest host name)
  std::string project_id;
  std::string user_id;
  std::string hypervisor;  // OS-EXT-SRV-ATTR:host; hypervisor_hostname is "<hypervisor>.<domain>"
  std::string status = "ACTIVE";
  std::string created;      // ISO 8601
  int instance_number = 1;  // instance-%08x
};

struct SimAttachment {
  std::string server_id;
  std::string attachment_id;
  std::string device;
  std::string attached_at;
};

// One Cinder volume and, on the array side, where it lives and under which name.
struct SimVolume {
  std::string id;
  std::string name;
  std::string project_id;
  std::string user_id;
  std::string status;  // derived (in-use / available) unless set in the model
  std::string volume_type;
  std::string backend_host;  // os-vol-host-attr:host
  std::string name_id;       // os-vol-mig-status-attr:name_id, "" = null
  std::string provider_id;   // "" = null
  std::map<std::string, std::string> metadata;
  int size_gb = 10;
  bool bootable = false;
  bool multiattach = false;
  std::string created_at;
  std::vector<SimAttachment> attachments;
  // array side
  std::vector<std::string> arrays;  // arrays holding it; empty = missing on every array
  std::string array_volume;         // full Purity name, "<pod>::..." included
  std::string pod;
  bool array_destroyed = false;
  bool tags = false;  // the array carries openstack-integration.purestorage.com tags for it
};

// A volume that exists only on arrays: not (or no longer) known to Cinder.
struct SimArrayOnlyVolume {
  std::string name;  // full Purity name
  std::string pod;
  std::vector<std::string> arrays;
  std::vector<std::string> hosts;  // Pure host names it is connected to
  std::int64_t size_gb = 10;
  bool destroyed = false;
  double time_remaining_seconds = 0;
};

// One array volume as /api/2.x/volumes shows it (derived).
struct PureVolumeView {
  std::string id;
  std::string name;
  std::string serial;  // 24 upper-case hex
  std::string pod;
  std::string volume_group;
  std::int64_t provisioned = 0;
  std::int64_t unique = 0;
  std::int64_t snapshots = 0;
  std::int64_t virtual_bytes = 0;
  double data_reduction = 1;
  std::int64_t created_ms = 0;
  bool destroyed = false;
  std::int64_t time_remaining_ms = 0;
  std::vector<std::pair<std::string, int>> connections;   // host name, lun
  std::vector<std::pair<std::string, std::string>> tags;  // key, value
};

struct PureHostView {
  std::string name;
  std::string iqn;
  int connection_count = 0;
};

struct PureArrayView {
  std::string name;
  std::string id;
  std::vector<PureVolumeView> volumes;
  std::vector<PureHostView> hosts;
};

class StorageModel {
 public:
  std::string domain = "estate.example";  // hypervisor_hostname = "<hypervisor>.<domain>"
  std::string admin_user_id = "5e1a7d0c4b2f4e8a9c3d6f1b2a4c8e01";
  std::vector<SimProject> projects;
  std::vector<std::string> hypervisors;
  std::vector<std::string> array_names;
  std::vector<SimServer> servers;
  std::vector<SimVolume> volumes;
  std::vector<SimArrayOnlyVolume> array_only;

  // Index of servers/volumes by id (rebuilt by Rebuild()).
  std::unordered_map<std::string, std::size_t> server_index;
  std::unordered_map<std::string, std::size_t> volume_index;
  std::unordered_map<std::string, std::vector<std::size_t>> server_volumes;  // server id -> volume indexes
  std::map<std::string, PureArrayView> array_views;  // by array name (rebuilt by Rebuild())

  // Derives statuses, array names, the indexes and the array views. Called after loading and every change.
  void Rebuild();
  // Pure host name of a hypervisor, "<hypervisor>-<32 hex>-cinder" (stable per hypervisor).
  static std::string PureHostName(const std::string& hypervisor);
  // The Purity name the Cinder driver gives a volume ("" pod = none; base is "volume-<name_id or id>").
  static std::string PurityName(const std::string& pod, const std::string& base);
  const SimProject* FindProject(const std::string& id_or_name) const;

  struct RedeployResult {
    std::string old_id;
    std::string new_id;
    std::vector<std::string> deleted_volumes;  // Cinder ids
    std::vector<std::string> created_volumes;
  };
  // Replaces the server named `name` by a new one (new id; same name, host name, hypervisor and project). Its
  // volumes attached to it alone are deleted (their array copies become destroyed, pending eradication) and
  // recreated with new ids; shared (multi-attach) volumes move to the new server. Error when there is no such
  // server. Caller holds the exclusive lock.
  Result<RedeployResult> Redeploy(const std::string& name);

  std::shared_mutex& mutex() const { return mu_; }

 private:
  mutable std::shared_mutex mu_;
  int redeploys_ = 0;
};

// Loads a model file; the error names the file, line and path of every problem.
Result<std::shared_ptr<StorageModel>> LoadStorageModel(const std::string& path);
// Builds a model from a generate spec (deterministic for one spec).
std::shared_ptr<StorageModel> GenerateStorageModel(const GenerateSpec& spec);

// Deterministic helpers shared by the model and the upstreams.
std::uint64_t Hash64(const std::string& text);
std::string UuidFrom(const std::string& seed);        // a v4-shaped UUID derived from seed
std::string HexFrom(const std::string& seed, int n);  // n lower-case hex digits derived from seed

}  // namespace estate::simestate
