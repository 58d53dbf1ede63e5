// The data model of the service-registry exporter (issue #12): what each source delivers, and the joined view
// the metrics, the JSON API and the /report page are rendered from. Plain values; no I/O.
//
// Sources, each refreshed in the background on its own interval and published as a whole snapshot (a source
// whose refresh fails keeps its last good snapshot and is reported down/partial; never an empty one in its
// place):
//   - inventory: VMs, from Nova (all tenants, paged; estate_openstack) and/or a static inventory file;
//   - cmdb: application records from the ServiceNow Table API, plus the support group of hypervisor servers;
//   - gocd: pipeline runs from GoCD (dashboard + cursor-paged history, fetched incrementally);
//   - teams: hypervisor -> owning team (mapping file, Nova aggregate metadata, ServiceNow cmdb_ci_server).
// The join (registry_join.h) folds VMs into apps through the naming rule, matches apps to CMDB records and
// pipelines, and keeps the first-seen time of each unregistered app (persisted by first_seen_store.h).
//
// Thread-safety: values; a snapshot is immutable once published (shared_ptr<const ...>).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace estate::registry {

// ---- inventory
// ------------------------------------------------------------------------------------------------

struct Vm {
  std::string id;  // Nova server id, or the inventory file's name when it has no id
  std::string
      name;  // the host name the naming rule is applied to (Nova: OS-EXT-SRV-ATTR:hostname, else name)
  std::string hypervisor;  // OS-EXT-SRV-ATTR:hypervisor_hostname (or the file's value); "" when unknown
  std::string project;     // Keystone project name or id; "" when unknown
  std::string status;      // Nova status (ACTIVE, SHUTOFF, ...); "" from a file
  std::string source;      // "nova:<cloud>" or "file:<path>"
};

struct InventorySnapshot {
  std::vector<Vm> vms;
  double collected_unix = 0;
};

// ---- ServiceNow
// -----------------------------------------------------------------------------------------------

// One record of a configured CMDB table (cmdb_ci_business_app by default).
struct CmdbRecord {
  std::string table;  // which table it came from
  std::string sys_id;
  std::string name;
  std::string app_code;        // the value of the configured app-code field, lower-cased and trimmed
  std::string install_status;  // as sent ("1", "7", ...); "" when absent
  std::string owner;           // dot-walked owner field (e.g. owned_by.user_name)
  std::string support_group;   // dot-walked support group (e.g. support_group.name)
  bool registered =
      false;  // install_status counts as registered (not retired 7 / cancelled 22 / configurable)
  std::string not_registered_reason;  // e.g. "install_status 7 (Retired)" when registered is false
};

struct CmdbSnapshot {
  std::vector<CmdbRecord> records;
  // hypervisor host name (lower-case, short and FQDN both present) -> support group of its cmdb_ci_server
  // record; empty when that lookup is not configured.
  std::map<std::string, std::string> server_support_groups;
  double collected_unix = 0;
};

// ---- GoCD
// -----------------------------------------------------------------------------------------------------

// Who took part in one pipeline run: the user behind "Forced by <user>" / build_cause.approver (when not
// "changes"), stage approvers (stages[].approved_by when not "changes"), and the committers of the material
// revisions (modifications[].user_name, "Name <email>" reduced to a stable display form).
struct PipelineRun {
  std::int64_t counter = 0;
  double scheduled_unix = 0;       // scheduled_date (ms) / 1000
  std::vector<std::string> users;  // distinct within the run
};

struct Pipeline {
  std::string name;
  std::string group;              // pipeline group from the dashboard
  std::vector<PipelineRun> runs;  // within the configured window (last N days), newest first
  std::int64_t last_counter = 0;  // the highest counter fetched so far (incremental fetch resumes after it)
};

struct GocdSnapshot {
  std::vector<Pipeline> pipelines;
  double collected_unix = 0;
  int requests = 0;  // requests the refresh that produced this snapshot sent (for the benchmark)
};

// ---- hypervisor teams
// -----------------------------------------------------------------------------------------

struct TeamHint {
  std::string team;
  std::string source;  // "file", "aggregate:<name>", "servicenow"
};

// ---- the joined view
// ------------------------------------------------------------------------------------------

struct UserCount {
  std::string user;
  int runs = 0;  // runs in the window this user took part in
};

struct App {
  std::string tla;                                 // lower-case acronym
  std::map<std::string, std::vector<Vm>> colours;  // "a", "b", or "" (no colour in the name) -> VMs
  bool registered = false;
  const CmdbRecord* record = nullptr;         // the matching record (registered or not), if any; points
                                              // into the CmdbSnapshot the view holds
  std::string not_registered_reason;          // "no record", or the record's reason
  std::vector<std::string> hypervisor_teams;  // distinct, in configured source order; "unknown" if none
  std::vector<std::string> pipelines;         // names of matching pipelines
  std::vector<UserCount> pipeline_users;      // most frequent first, at most top_users
  double first_seen_unregistered_unix = 0;    // 0 when registered
};

}  // namespace estate::registry
