#include "storage_metrics.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <memory>
#include <numeric>
#include <string_view>
#include <tuple>
#include <unordered_set>
#include <utility>

#include "estate/http_server.h"
#include "estate/rendered_writer.h"

namespace estate::storage {
namespace {

enum Id {
  kVolumeInfo,
  kVolumeSpace,
  kVolumeDestroyed,
  kVolumeLastSeen,
  kServerInfo,
  kMappingRows,
  kOrphanVolumes,
  kOrphanSince,
  kMissingVolumes,
  kMissingSince,
  kDestroyedVolumes,
  kUnmanagedVolumes,
  kMappingComplete,
  kMissingField,
  kHistoryEntries,
  kOpenstackVolumes,
  kOpenstackServers,
  kOpenstackProjects,
  kArrayInfo,
  kArrayVolumes,
  kArrayConnections,
  kFamilyCount
};

struct Def {
  Id id;
  const char* name;
  const char* labels;  // comma-separated, in series order
  const char* help;
};

// The one table of every family this exporter produces.
constexpr std::array<Def, kFamilyCount> kDefs = {{
    {kVolumeInfo, "estate_storage_volume_info",
     "cloud,array,array_volume,wwid,cinder_id,cinder_name,server_id,server_name,host_name,hypervisor,"
     "device,project,volume_type,status,state",
     "One mapped row, always 1: a Pure array volume, its Cinder volume and one attachment's Nova server. "
     "state: current (joined now), orphan (Cinder-named array volume without a Cinder record), unmanaged "
     "(the same with a name ending in -unmanaged: taken out of Cinder on purpose, not an orphan), "
     "missing_on_array (Cinder volume on an array backend that no array has), unknown (one of those two that "
     "a listing lacking admin-only fields cannot establish), past (last known mapping of a "
     "volume that lost its Cinder record or attachment, kept for the history retention). wwid is the Linux "
     "multipath WWID, 3624a9370 + the array's volume serial in lower case (search a serial with "
     "wwid=~\"(?i).*<serial>\"). Ordered by hypervisor and server."},
    {kVolumeSpace, "estate_storage_volume_space_bytes", "array,array_volume,space",
     "Space of an array volume that is in the mapping, in bytes: space=\"provisioned\" is its size, "
     "space=\"used\" the physical space it takes on the array (as purefa_volume_space_bytes{space})."},
    {kVolumeDestroyed, "estate_storage_volume_destroyed", "array,array_volume",
     "1 for each array volume in the mapping that is destroyed on the array (pending eradication), whether a "
     "Cinder volume still claims it (e.g. status deleting) or not; no series for the others. The lookup "
     "page and the API show the same as destroyed=true."},
    {kVolumeLastSeen, "estate_storage_volume_last_seen_timestamp_seconds",
     "array,array_volume,cinder_id,server_id",
     "When a past mapping (state=\"past\" in estate_storage_volume_info) was last seen current, Unix time."},
    {kServerInfo, "estate_storage_server_info",
     "cloud,server_id,server_name,host_name,hypervisor,hypervisor_hostname,project,status",
     "One Nova server, always 1. host_name is the guest host name; hypervisor the compute host "
     "(OS-EXT-SRV-ATTR:host, the hardware exporter's host name); hypervisor_hostname its FQDN."},
    {kMappingRows, "estate_storage_mapping_rows", "state",
     "Rows of the published mapping by state (current, orphan, unmanaged, missing_on_array, unknown, past)."},
    {kOrphanVolumes, "estate_storage_orphan_volumes", "array",
     "Array volumes with a Cinder-made name and no Cinder record in any cloud, not destroyed. 0 while "
     "orphans cannot be evaluated (a configured cloud has no data yet); not published while a cloud's "
     "listings lack admin-only fields (then such volumes are rows in state unknown)."},
    {kOrphanSince, "estate_storage_orphan_volume_since_timestamp_seconds", "array,array_volume",
     "When a current orphan volume was first seen orphaned (kept across restarts), Unix time."},
    {kMissingVolumes, "estate_storage_missing_volumes", "cloud",
     "Cinder volumes on a backend expected on an array, in a status that needs the backend volume, that no "
     "array has. 0 while missing volumes cannot be evaluated (a configured array has no data yet); not "
     "published for a cloud whose listings lack admin-only fields (then such volumes are rows in state "
     "unknown)."},
    {kMissingSince, "estate_storage_missing_volume_since_timestamp_seconds", "cloud,cinder_id",
     "When a Cinder volume was first seen missing on the arrays (kept across restarts), Unix time."},
    {kDestroyedVolumes, "estate_storage_destroyed_volumes", "array",
     "Array volumes in the mapping that are destroyed on the array, pending eradication: those a Cinder "
     "volume "
     "still claims (e.g. status deleting) and Cinder-made ones without a Cinder record (which are not "
     "counted "
     "as orphans)."},
    {kUnmanagedVolumes, "estate_storage_unmanaged_volumes", "array",
     "Array volumes Cinder's unmanage left behind (a Cinder-made name ending in -unmanaged, no Cinder "
     "record, "
     "not destroyed): taken out of Cinder on purpose, not orphans. 0 while orphans cannot be evaluated."},
    {kMappingComplete, "estate_storage_mapping_complete", "cloud",
     "1 when the cloud's listings carried every admin-only field the mapping needs, 0 when not or when the "
     "cloud has no data yet (see estate_storage_mapping_missing_field_info)."},
    {kMissingField, "estate_storage_mapping_missing_field_info", "cloud,field",
     "An admin-only API field a cloud's listings lacked (e.g. provider_id, OS-EXT-SRV-ATTR:host), always 1; "
     "field=\"snapshot\" while the cloud has no data yet."},
    {kHistoryEntries, "estate_storage_history_entries", "",
     "Past mappings kept by the history (rows with state=\"past\")."},
    {kOpenstackVolumes, "estate_storage_openstack_volumes", "cloud", "Cinder volumes listed in the cloud."},
    {kOpenstackServers, "estate_storage_openstack_servers", "cloud", "Nova servers listed in the cloud."},
    {kOpenstackProjects, "estate_storage_openstack_projects", "cloud",
     "Keystone projects listed in the cloud."},
    {kArrayInfo, "estate_storage_array_info", "array,array_name,api_version",
     "A Pure FlashArray, always 1: its name as the array reports it and the REST API version used."},
    {kArrayVolumes, "estate_storage_array_volumes", "array",
     "Volumes on the array, destroyed ones pending eradication included."},
    {kArrayConnections, "estate_storage_array_connections", "array",
     "Volume-to-host connections on the array."},
}};

metrics::Family Make(Id id, std::size_t reserve = 0) {
  metrics::Family f = metrics::Gauge(kDefs[id].name, kDefs[id].help);
  f.metric.reserve(reserve);
  return f;
}

// Adds a sample without the intermediate Labels vector that metrics::Add copies from: 100k info rows of 16
// labels each make the difference noticeable.
using LabelList = std::initializer_list<std::pair<const char*, std::string_view>>;

// The labels of estate_storage_volume_info, in exposition order: one definition for both renderers.
template <typename Emit>
void VolumeInfoLabels(const VolumeRow& r, Emit&& emit) {
  emit({{"cloud", r.cloud},
        {"array", r.array},
        {"array_volume", r.array_volume},
        {"wwid", r.wwid},
        {"cinder_id", r.cinder_id},
        {"cinder_name", r.cinder_name},
        {"server_id", r.server_id},
        {"server_name", r.server_name},
        {"host_name", r.host_name},
        {"hypervisor", r.hypervisor},
        {"device", r.device},
        {"project", r.project},
        {"volume_type", r.volume_type},
        {"status", r.status},
        {"state", r.state}});
}

void AddSample(metrics::Family& f, std::initializer_list<std::pair<const char*, std::string_view>> labels,
               double value) {
  prometheus::ClientMetric m;
  m.label.reserve(labels.size());
  for (const auto& [name, v] : labels) m.label.push_back({name, std::string(v)});
  m.gauge.value = value;
  f.metric.push_back(std::move(m));
}

const std::array<std::string, 6> kStates = {"current", "orphan",  "unmanaged",
                                            "missing_on_array", "unknown", "past"};

// The mapping's families written straight to text (estate::RenderedWriter), opened by table id.
class Writer : public RenderedWriter {
 public:
  using RenderedWriter::RenderedWriter;
  void Begin(Id id) { RenderedWriter::Begin(kDefs[id].name, kDefs[id].help); }
};

// The order of the info series: by hypervisor, then server, so that a hypervisor's guests and a server's
// volumes are next to each other. That is what a reader of /metrics looks for, and label values repeated on
// nearby lines cost gzip almost nothing (at 100k volumes the gzip body is ~20% smaller). Ties keep the
// mapping's order. Both renderers use it.
template <typename Row, typename Key>
std::vector<std::uint32_t> OrderBy(const std::vector<Row>& rows, Key key) {
  std::vector<std::uint32_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::uint32_t a, std::uint32_t b) { return key(rows[a]) < key(rows[b]); });
  return order;
}

std::vector<std::uint32_t> VolumeOrder(const Mapping& m) {
  return OrderBy(m.rows,
                 [](const VolumeRow& r) { return std::tie(r.hypervisor, r.server_name, r.server_id); });
}

// The space series: one per array volume, sorted by array and volume name. Both kinds of one volume are on
// adjacent lines, so gzip stores its name once (at 100k volumes the family is 4.2 MB of gzip instead of 6.2
// as two families), and sorted names share prefixes.
std::vector<std::uint32_t> SpaceOrder(const Mapping& m) {
  std::vector<std::uint32_t> order;
  order.reserve(m.rows.size());
  for (std::uint32_t i = 0; i < m.rows.size(); ++i) {
    if (m.rows[i].state != "past" && !m.rows[i].array.empty()) order.push_back(i);
  }
  std::stable_sort(order.begin(), order.end(), [&m](std::uint32_t a, std::uint32_t b) {
    return std::tie(m.rows[a].array, m.rows[a].array_volume) <
           std::tie(m.rows[b].array, m.rows[b].array_volume);
  });
  // The first row of each array volume (a multi-attach volume has several).
  order.erase(std::unique(order.begin(), order.end(),
                          [&m](std::uint32_t a, std::uint32_t b) {
                            return m.rows[a].array == m.rows[b].array &&
                                   m.rows[a].array_volume == m.rows[b].array_volume;
                          }),
              order.end());
  return order;
}

std::vector<std::uint32_t> ServerOrder(const Mapping& m) {
  return OrderBy(m.servers, [](const ServerRow& s) { return std::tie(s.hypervisor, s.name, s.id); });
}

}  // namespace

std::vector<FamilyDef> FamilyDefs() {
  std::vector<FamilyDef> out;
  for (const auto& d : kDefs) {
    FamilyDef f{d.name, d.help, {}};
    std::string_view l = d.labels;
    while (!l.empty()) {
      auto comma = l.find(',');
      f.labels.emplace_back(l.substr(0, comma));
      l = comma == std::string_view::npos ? std::string_view() : l.substr(comma + 1);
    }
    out.push_back(std::move(f));
  }
  return out;
}

metrics::Families MappingFamilies(const Mapping& m) {
  metrics::Family info = Make(kVolumeInfo, m.rows.size());
  metrics::Family space = Make(kVolumeSpace, 2 * m.rows.size());
  metrics::Family last_seen = Make(kVolumeLastSeen, m.history_entries);
  std::array<std::size_t, kStates.size()> by_state{};

  for (std::uint32_t i : VolumeOrder(m)) {
    VolumeInfoLabels(m.rows[i], [&](LabelList labels) { AddSample(info, labels, 1); });
  }
  for (const VolumeRow& r : m.rows) {
    for (std::size_t i = 0; i < kStates.size(); ++i) {
      if (r.state == kStates[i]) ++by_state[i];
    }
    if (r.state == "past") {
      AddSample(last_seen,
                {{"array", r.array},
                 {"array_volume", r.array_volume},
                 {"cinder_id", r.cinder_id},
                 {"server_id", r.server_id}},
                r.last_seen_unix);
    }
  }
  for (std::uint32_t i : SpaceOrder(m)) {
    const VolumeRow& r = m.rows[i];
    AddSample(space, {{"array", r.array}, {"array_volume", r.array_volume}, {"space", "provisioned"}},
              r.provisioned_bytes);
    AddSample(space, {{"array", r.array}, {"array_volume", r.array_volume}, {"space", "used"}}, r.used_bytes);
  }
  metrics::Family destroyed_volumes = Make(kVolumeDestroyed);
  for (std::uint32_t i : SpaceOrder(m)) {
    const VolumeRow& r = m.rows[i];
    if (r.destroyed) AddSample(destroyed_volumes, {{"array", r.array}, {"array_volume", r.array_volume}}, 1);
  }

  metrics::Family servers = Make(kServerInfo, m.servers.size());
  for (std::uint32_t i : ServerOrder(m)) {
    const ServerRow& s = m.servers[i];
    AddSample(servers,
              {{"cloud", s.cloud},
               {"server_id", s.id},
               {"server_name", s.name},
               {"host_name", s.host_name},
               {"hypervisor", s.hypervisor},
               {"hypervisor_hostname", s.hypervisor_hostname},
               {"project", s.project},
               {"status", s.status}},
              1);
  }

  metrics::Family rows = Make(kMappingRows, kStates.size());
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    AddSample(rows, {{"state", kStates[i]}}, static_cast<double>(by_state[i]));
  }

  metrics::Family orphans = Make(kOrphanVolumes, m.arrays.size());
  metrics::Family destroyed = Make(kDestroyedVolumes, m.arrays.size());
  metrics::Family unmanaged = Make(kUnmanagedVolumes, m.arrays.size());
  for (const ArraySummary& a : m.arrays) {
    if (m.orphans_established()) AddSample(orphans, {{"array", a.array}}, static_cast<double>(a.orphans));
    AddSample(destroyed, {{"array", a.array}}, static_cast<double>(a.destroyed_orphans + a.destroyed_joined));
    AddSample(unmanaged, {{"array", a.array}}, static_cast<double>(a.unmanaged));
  }
  metrics::Family orphan_since = Make(kOrphanSince, m.orphan_since.size());
  for (const auto& [k, t] : m.orphan_since) {
    AddSample(orphan_since, {{"array", k.first}, {"array_volume", k.second}}, t);
  }

  metrics::Family missing = Make(kMissingVolumes, m.clouds.size());
  metrics::Family complete = Make(kMappingComplete, m.clouds.size());
  metrics::Family fields = Make(kMissingField);
  for (const CloudSummary& c : m.clouds) {
    if (!c.fields_hidden()) AddSample(missing, {{"cloud", c.cloud}}, static_cast<double>(c.missing));
    AddSample(complete, {{"cloud", c.cloud}}, c.complete() ? 1 : 0);
    for (const auto& f : c.missing_fields) AddSample(fields, {{"cloud", c.cloud}, {"field", f}}, 1);
  }
  metrics::Family missing_since = Make(kMissingSince, m.missing_since.size());
  for (const auto& [k, t] : m.missing_since) {
    AddSample(missing_since, {{"cloud", k.first}, {"cinder_id", k.second}}, t);
  }

  metrics::Family history = Make(kHistoryEntries, 1);
  AddSample(history, {}, static_cast<double>(m.history_entries));

  metrics::Families out;
  out.reserve(kOpenstackVolumes);
  out.push_back(std::move(info));
  out.push_back(std::move(space));
  out.push_back(std::move(destroyed_volumes));
  out.push_back(std::move(last_seen));
  out.push_back(std::move(servers));
  out.push_back(std::move(rows));
  out.push_back(std::move(orphans));
  out.push_back(std::move(orphan_since));
  out.push_back(std::move(missing));
  out.push_back(std::move(missing_since));
  out.push_back(std::move(destroyed));
  out.push_back(std::move(unmanaged));
  out.push_back(std::move(complete));
  out.push_back(std::move(fields));
  out.push_back(std::move(history));
  return out;
}

RenderedData RenderMapping(const Mapping& m) {
  RenderedData data;
  // Large families are compressed as they are written (see Writer), so the text held at once is the small
  // families plus under 1 MiB of a large one.
  data.samples.reserve(std::min<std::size_t>(kOwnMemberBytes + (256 << 10), 64 * 1024 + 600 * m.rows.size()));
  data.families.reserve(kOpenstackVolumes);
  Writer w(data);

  std::array<std::size_t, kStates.size()> by_state{};
  for (const VolumeRow& r : m.rows) {
    for (std::size_t k = 0; k < kStates.size(); ++k) {
      if (r.state == kStates[k]) ++by_state[k];
    }
  }

  w.Begin(kVolumeInfo);
  for (std::uint32_t i : VolumeOrder(m)) {
    VolumeInfoLabels(m.rows[i], [&](LabelList labels) { w.Sample(labels, 1); });
  }
  w.Begin(kVolumeSpace);
  for (std::uint32_t i : SpaceOrder(m)) {
    const VolumeRow& r = m.rows[i];
    w.Sample({{"array", r.array}, {"array_volume", r.array_volume}, {"space", "provisioned"}},
             r.provisioned_bytes);
    w.Sample({{"array", r.array}, {"array_volume", r.array_volume}, {"space", "used"}}, r.used_bytes);
  }
  w.Begin(kVolumeDestroyed);
  for (std::uint32_t i : SpaceOrder(m)) {
    const VolumeRow& r = m.rows[i];
    if (r.destroyed) w.Sample({{"array", r.array}, {"array_volume", r.array_volume}}, 1);
  }
  w.Begin(kVolumeLastSeen);
  for (const VolumeRow& r : m.rows) {
    if (r.state != "past") continue;
    w.Sample({{"array", r.array},
              {"array_volume", r.array_volume},
              {"cinder_id", r.cinder_id},
              {"server_id", r.server_id}},
             r.last_seen_unix);
  }

  w.Begin(kServerInfo);
  for (std::uint32_t i : ServerOrder(m)) {
    const ServerRow& s = m.servers[i];
    w.Sample({{"cloud", s.cloud},
              {"server_id", s.id},
              {"server_name", s.name},
              {"host_name", s.host_name},
              {"hypervisor", s.hypervisor},
              {"hypervisor_hostname", s.hypervisor_hostname},
              {"project", s.project},
              {"status", s.status}},
             1);
  }

  w.Begin(kMappingRows);
  for (std::size_t i = 0; i < kStates.size(); ++i) {
    w.Sample({{"state", kStates[i]}}, static_cast<double>(by_state[i]));
  }
  w.Begin(kOrphanVolumes);
  for (const ArraySummary& a : m.arrays) {
    if (m.orphans_established()) w.Sample({{"array", a.array}}, static_cast<double>(a.orphans));
  }
  w.Begin(kOrphanSince);
  for (const auto& [k, t] : m.orphan_since) w.Sample({{"array", k.first}, {"array_volume", k.second}}, t);
  w.Begin(kMissingVolumes);
  for (const CloudSummary& c : m.clouds) {
    if (!c.fields_hidden()) w.Sample({{"cloud", c.cloud}}, static_cast<double>(c.missing));
  }
  w.Begin(kMissingSince);
  for (const auto& [k, t] : m.missing_since) w.Sample({{"cloud", k.first}, {"cinder_id", k.second}}, t);
  w.Begin(kDestroyedVolumes);
  for (const ArraySummary& a : m.arrays) {
    w.Sample({{"array", a.array}}, static_cast<double>(a.destroyed_orphans + a.destroyed_joined));
  }
  w.Begin(kUnmanagedVolumes);
  for (const ArraySummary& a : m.arrays) w.Sample({{"array", a.array}}, static_cast<double>(a.unmanaged));
  w.Begin(kMappingComplete);
  for (const CloudSummary& c : m.clouds) w.Sample({{"cloud", c.cloud}}, c.complete() ? 1 : 0);
  w.Begin(kMissingField);
  for (const CloudSummary& c : m.clouds) {
    for (const auto& f : c.missing_fields) w.Sample({{"cloud", c.cloud}, {"field", f}}, 1);
  }
  w.Begin(kHistoryEntries);
  w.Sample({}, static_cast<double>(m.history_entries));
  w.Finish();
  return data;
}

void AppendFamily(RenderedData& data, const metrics::Family& family) {
  RenderedData::Family f;
  f.name = family.name;
  f.help = family.help;
  std::string header;
  metrics::RenderHeader(family, header);
  // "# HELP <name> <help>\n# TYPE <name> <type>\n": the type is the last word of the header.
  header.pop_back();
  f.type = header.substr(header.rfind(' ') + 1);
  f.offset = data.samples.size();
  metrics::RenderSamples(family, data.samples);
  f.length = data.samples.size() - f.offset;
  data.families.push_back(std::move(f));
}

metrics::Families CloudFamilies(const CloudSnapshot& c) {
  metrics::Families out;
  out.reserve(3);
  out.push_back(Make(kOpenstackVolumes, 1));
  AddSample(out.back(), {{"cloud", c.cloud}}, static_cast<double>(c.volumes.size()));
  out.push_back(Make(kOpenstackServers, 1));
  AddSample(out.back(), {{"cloud", c.cloud}}, static_cast<double>(c.servers.size()));
  out.push_back(Make(kOpenstackProjects, 1));
  AddSample(out.back(), {{"cloud", c.cloud}}, static_cast<double>(c.project_names.size()));
  return out;
}

metrics::Families ArrayFamilies(const ArraySnapshot& a) {
  std::size_t connections = 0;
  for (const auto& v : a.volumes) connections += v.hosts.size();
  metrics::Families out;
  out.reserve(3);
  out.push_back(Make(kArrayInfo, 1));
  AddSample(out.back(), {{"array", a.array}, {"array_name", a.array_name}, {"api_version", a.api_version}},
            1);
  out.push_back(Make(kArrayVolumes, 1));
  AddSample(out.back(), {{"array", a.array}}, static_cast<double>(a.volumes.size()));
  out.push_back(Make(kArrayConnections, 1));
  AddSample(out.back(), {{"array", a.array}}, static_cast<double>(connections));
  return out;
}

}  // namespace estate::storage
