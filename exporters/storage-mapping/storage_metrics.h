// The storage exporter's metric families, all declared in one table (storage_metrics.cpp) with their HELP
// text. Mapping families come from the published Mapping (current rows + past rows, storage_history.h);
// per-source families from one cloud or array snapshot. Identities live on `_info` series (value 1); counts
// carry only the cloud or array. Every count family has a series for every cloud / array in the mapping
// (configured ones included, with 0 before their first data), so alerts never see an absent series.
//
//   estate_storage_volume_info{cloud,array,array_volume,wwid,cinder_id,cinder_name,server_id,
//       server_name,host_name,hypervisor,device,project,volume_type,status,state} 1: one per row;
//       state: current | orphan | missing_on_array | past
//   estate_storage_volume_space_bytes{array,array_volume,space}: space = provisioned | used, one pair per
//       array volume in a non-past row, sorted by array and volume
//   estate_storage_volume_last_seen_timestamp_seconds{array,array_volume,cinder_id,server_id}: past rows
//   estate_storage_server_info{cloud,server_id,server_name,host_name,hypervisor,hypervisor_hostname,project,
//       status} 1: one per Nova server
//   estate_storage_mapping_rows{state}
//   estate_storage_orphan_volumes{array}
//   estate_storage_orphan_volume_since_timestamp_seconds{array,array_volume}
//   estate_storage_missing_volumes{cloud}
//   estate_storage_missing_volume_since_timestamp_seconds{cloud,cinder_id}
//   estate_storage_destroyed_volumes{array}
//   estate_storage_mapping_complete{cloud}, estate_storage_mapping_missing_field_info{cloud,field} 1
//   estate_storage_history_entries
//   estate_storage_openstack_volumes{cloud}, estate_storage_openstack_servers{cloud},
//   estate_storage_openstack_projects{cloud}
//   estate_storage_array_info{array,array_name,api_version} 1, estate_storage_array_volumes{array},
//   estate_storage_array_connections{array}
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "estate/metrics.h"
#include "estate/refresher.h"
#include "storage_join.h"
#include "storage_model.h"

namespace estate::storage {

// The join/mapping families, in table order.
metrics::Families MappingFamilies(const Mapping& mapping);

// The same families rendered straight to exposition text (sample lines + per-family name/help/type), without
// building ClientMetric objects (350k samples of up to 16 labels at 100k volumes: ~250 MB). Headers +
// samples assembled in family order are byte-identical to metrics::Render(MappingFamilies(mapping)).
RenderedData RenderMapping(const Mapping& mapping);

// Appends one family (e.g. a small one built with metrics::Gauge) to pre-rendered data.
void AppendFamily(RenderedData& data, const metrics::Family& family);

// Per-source families. For a configured source without data yet, pass a snapshot with only its name set: the
// counts are then 0 (and array_info has empty array_name / api_version).
metrics::Families CloudFamilies(const CloudSnapshot& cloud);
metrics::Families ArrayFamilies(const ArraySnapshot& array);

struct FamilyDef {
  std::string name;
  std::string help;
  std::vector<std::string> labels;
};
// Every family this exporter produces, in table order (for docs and tests).
std::vector<FamilyDef> FamilyDefs();

}  // namespace estate::storage
