#include "storage_join.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <type_traits>
#include <unordered_map>

namespace estate::storage {
namespace {

// A virtio-blk disk's serial holds 20 bytes: the guest sees the first 20 characters of the Cinder volume id
// (lsblk's SERIAL, /dev/disk/by-id/virtio-<serial>).
constexpr std::size_t kVirtioSerialLength = 20;

// Purity volume names; the driver left-truncates longer ones.
constexpr std::size_t kMaxArrayName = 56;
constexpr std::string_view kUnmanaged = "-unmanaged";
// What is left of a truncated name once "-unmanaged" is removed; every spelling of one volume shares it.
constexpr std::size_t kKeyLength = kMaxArrayName - kUnmanaged.size();

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool EndsWithIgnoreCase(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && EqualsIgnoreCase(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view StripPod(std::string_view name) {
  auto pos = name.find("::");
  return pos == std::string_view::npos ? name : name.substr(pos + 2);
}

std::string_view StripUnmanaged(std::string_view name) {
  return EndsWithIgnoreCase(name, kUnmanaged) ? name.substr(0, name.size() - kUnmanaged.size()) : name;
}

std::string_view Stripped(std::string_view name) { return StripUnmanaged(StripPod(name)); }

// FNV-1a over the lower-cased bytes, so keys need no lower-cased copy.
std::uint64_t HashLower(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(std::tolower(static_cast<unsigned char>(c)));
    h *= 1099511628211ull;
  }
  return h;
}

// The hash of the index key shared by every tolerated spelling of one name.
std::uint64_t NameKeyHash(std::string_view name) {
  std::string_view s = Stripped(name);
  if (s.size() > kKeyLength) s = s.substr(s.size() - kKeyLength);
  return HashLower(s);
}

bool IsHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

struct ArrayRef {
  std::uint32_t array;
  std::uint32_t volume;
};

// The values rows share: one buffer each, not one per row.
struct Words {
  Text current{"current"}, orphan{"orphan"}, unmanaged{"unmanaged"}, missing_on_array{"missing_on_array"},
      unknown{"unknown"};
  Text provider_id{"provider_id"}, metadata{"metadata"}, name_id{"name_id"}, id{"id"}, tag{"tag"},
      none{"none"};
};
const Words& Word() {
  static const Words words;
  return words;
}

struct Candidate {
  std::string name;
  const Text* match;
};

std::vector<Candidate> CandidateNames(const CinderVolume& v) {
  std::vector<Candidate> out;
  out.reserve(3);
  auto add = [&](std::string name, const Text& match) {
    if (name.empty()) return;
    for (const auto& c : out) {
      if (c.name == name) return;
    }
    out.push_back({std::move(name), &match});
  };
  add(v.provider_id.str(), Word().provider_id);
  add(v.array_volume_name.str(), Word().metadata);
  if (!v.name_id.empty()) {
    add("volume-" + v.name_id + "-cinder", Word().name_id);
  } else if (!v.id.empty()) {
    add("volume-" + v.id + "-cinder", Word().id);
  }
  return out;
}

template <typename T>
std::size_t IndexOfName(const std::vector<T>& v, std::string_view name) {
  for (std::size_t i = 0; i < v.size(); ++i) {
    if constexpr (std::is_same_v<T, CloudSummary>) {
      if (v[i].cloud == name) return i;
    } else {
      if (v[i].array == name) return i;
    }
  }
  return v.size();
}

CloudSummary NewCloud(std::string_view name) {
  CloudSummary s;
  s.cloud = std::string(name);
  return s;
}

ArraySummary NewArray(std::string_view name) {
  ArraySummary s;
  s.array = std::string(name);
  return s;
}

void FillServer(VolumeRow& row, const NovaServer* s, const Text& attachment_host) {
  if (s != nullptr) {
    row.server_name = s->name;
    row.host_name = s->host_name;
    row.hypervisor = s->hypervisor;
  }
  if (row.hypervisor.empty()) row.hypervisor = attachment_host;
}

void FillArraySide(VolumeRow& row, const ArraySnapshot& a, const PureVolume& v) {
  row.array = a.array;
  row.array_volume = v.name;
  row.serial = v.serial;
  row.wwid = v.wwid.empty() ? Text(WwidFromSerial(v.serial)) : v.wwid;
  row.pod = v.pod;
  row.destroyed = v.destroyed;
  row.provisioned_bytes = v.provisioned_bytes;
  row.used_bytes = v.used_bytes;
}

}  // namespace

std::string WwidFromSerial(std::string_view serial) {
  if (serial.empty()) return {};
  return "3624a9370" + Lower(serial);
}

std::string CinderBackend(std::string_view backend_host) {
  auto at = backend_host.find('@');
  if (at == std::string_view::npos) return {};
  std::string_view rest = backend_host.substr(at + 1);
  return std::string(rest.substr(0, rest.find('#')));
}

bool ExpectedOnArray(std::string_view status) {
  static constexpr std::array<std::string_view, 5> kNot = {"creating", "downloading", "uploading", "deleting",
                                                           "error"};
  if (status.empty()) return false;
  for (auto s : kNot) {
    if (status == s) return false;
  }
  return status.rfind("error", 0) != 0;  // error_deleting, error_extending, error_managing, ...
}

bool LooksCinderMade(std::string_view name) {
  std::string_view p = StripPod(name);
  const bool truncated = p.size() == kMaxArrayName;
  std::string_view s = StripUnmanaged(p);
  constexpr std::string_view kSuffix = "-cinder";
  constexpr std::string_view kPrefix = "volume-";
  if (s.size() < kSuffix.size() + 36 || s.substr(s.size() - kSuffix.size()) != kSuffix) return false;
  std::string_view uuid = s.substr(s.size() - kSuffix.size() - 36, 36);
  for (char c : uuid) {
    if (!IsHex(c) && c != '-') return false;
  }
  std::string_view head = s.substr(0, s.size() - kSuffix.size() - 36);
  if (head == kPrefix) return true;
  // A left-truncated name keeps only the tail of "volume-".
  return truncated && head.size() < kPrefix.size() && kPrefix.substr(kPrefix.size() - head.size()) == head;
}

bool ArrayNameMatches(std::string_view array_name, std::string_view cinder_name) {
  std::string_view na = Stripped(array_name);
  std::string_view nc = Stripped(cinder_name);
  if (EqualsIgnoreCase(na, nc)) return true;
  const bool truncated = StripPod(array_name).size() == kMaxArrayName;
  return truncated && nc.size() > na.size() && EndsWithIgnoreCase(nc, na);
}

std::string NormalizeLookupId(std::string_view id) {
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.front()))) id.remove_prefix(1);
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.remove_suffix(1);
  const std::string lower = Lower(id);
  std::string_view s = lower;
  auto strip = [&s](std::string_view prefix) {
    if (s.starts_with(prefix)) s.remove_prefix(prefix.size());
  };
  // The HTTP server hands over a decoded, normalised path, so "/dev/disk/by-id/x" (or its %2F form) in
  // /api/cvm/v1.0/volumes/<id> arrives without its leading slash.
  strip("/");
  strip("dev/disk/by-id/");
  strip("dm-uuid-mpath-");
  strip("virtio-");
  strip("scsi-");
  strip("0qemu_qemu_harddisk_");
  strip("wwn-0x");
  strip("naa.");
  // A new string built front to back: std::string::insert(0, "3") here made GCC 12 report a bogus
  // -Wrestrict overlap at -O2 (GCC bugs 105329 and 105651), which -Werror turned into a failed Release build.
  std::string out;
  if (s.size() == 32 && s.starts_with("624a9370") && std::all_of(s.begin(), s.end(), IsHex))
    out.push_back('3');
  out.append(s);
  return out;
}

// ---- Mapping ---------------------------------------------------------------------------------------------

bool Mapping::orphans_established() const {
  return std::none_of(clouds.begin(), clouds.end(), [](const CloudSummary& c) { return c.fields_hidden(); });
}

bool Mapping::complete() const {
  if (!orphans_evaluated || !missing_evaluated) return false;
  for (const auto& c : clouds) {
    if (!c.complete()) return false;
  }
  for (const auto& a : arrays) {
    if (!a.has_data) return false;
  }
  return true;
}

const CloudSummary* Mapping::Cloud(std::string_view name) const {
  auto i = IndexOfName(clouds, name);
  return i < clouds.size() ? &clouds[i] : nullptr;
}

const ArraySummary* Mapping::Array(std::string_view name) const {
  auto i = IndexOfName(arrays, name);
  return i < arrays.size() ? &arrays[i] : nullptr;
}

void Mapping::IndexRows(std::size_t from) {
  const std::size_t old_size = index_.size();
  index_.reserve(old_size + (rows.size() - from) * 6);
  for (std::size_t i = from; i < rows.size(); ++i) {
    const VolumeRow& r = rows[i];
    auto n = static_cast<std::uint32_t>(i);
    auto add = [&](std::string_view key) {
      if (!key.empty()) index_.emplace_back(HashLower(key), n);
    };
    add(r.cinder_id);
    if (r.cinder_id.size() > kVirtioSerialLength) add(r.cinder_id.view().substr(0, kVirtioSerialLength));
    if (!r.array_volume.empty()) {
      add(r.array_volume);
      if (StripPod(r.array_volume).size() != r.array_volume.size()) add(StripPod(r.array_volume));
    }
    add(r.serial);
    add(r.wwid);
    add(r.expected_array_volume);
  }
  auto mid = index_.begin() + static_cast<std::ptrdiff_t>(old_size);
  std::sort(mid, index_.end());
  std::inplace_merge(index_.begin(), mid, index_.end());
  index_.erase(std::unique(index_.begin(), index_.end()), index_.end());
}

std::vector<const VolumeRow*> Mapping::Lookup(std::string_view id) const {
  std::vector<const VolumeRow*> out;
  std::string key = NormalizeLookupId(id);
  if (key.empty()) return out;
  auto names = [](const VolumeRow& r, std::string_view k) {
    return EqualsIgnoreCase(r.cinder_id, k) || EqualsIgnoreCase(r.serial, k) || EqualsIgnoreCase(r.wwid, k) ||
           (k.size() == kVirtioSerialLength && r.cinder_id.size() > k.size() &&
            EqualsIgnoreCase(r.cinder_id.view().substr(0, k.size()), k)) ||
           (!r.array_volume.empty() &&
            (EqualsIgnoreCase(r.array_volume, k) || EqualsIgnoreCase(StripPod(r.array_volume), k))) ||
           (!r.expected_array_volume.empty() && EqualsIgnoreCase(r.expected_array_volume, k));
  };
  auto find = [&](std::string_view k) {
    const std::uint64_t h = HashLower(k);
    auto it = std::lower_bound(index_.begin(), index_.end(), std::make_pair(h, std::uint32_t{0}));
    for (; it != index_.end() && it->first == h; ++it) {
      const VolumeRow& r = rows[it->second];
      if (names(r, k) && (out.empty() || out.back() != &r)) out.push_back(&r);
    }
  };
  find(key);
  if (out.empty() && StripPod(key).size() != key.size()) find(StripPod(key));
  // Rows come out in index order; keep row order (a row can carry the key twice, e.g. serial == id).
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- Join ------------------------------------------------------------------------------------------------

Mapping Join(const std::vector<std::shared_ptr<const CloudSnapshot>>& cloud_snaps,
             const std::vector<std::shared_ptr<const ArraySnapshot>>& array_snaps, const JoinConfig& config,
             double now) {
  Mapping m;
  m.generated_unix = now;

  // Summaries: configured sources first (config order), then sources that have data but are not configured.
  for (const auto& c : config.clouds) m.clouds.push_back(NewCloud(c.name));
  for (const auto& a : config.arrays) m.arrays.push_back(NewArray(a));
  std::vector<const CloudSnapshot*> clouds;
  std::vector<std::size_t> cloud_summary;  // snapshot index -> summary index
  for (const auto& c : cloud_snaps) {
    if (!c) continue;
    auto i = IndexOfName(m.clouds, c->cloud);
    if (i == m.clouds.size()) m.clouds.push_back(NewCloud(c->cloud));
    m.clouds[i].has_data = true;
    clouds.push_back(c.get());
    cloud_summary.push_back(i);
  }
  std::vector<const ArraySnapshot*> arrays;
  std::vector<std::size_t> array_summary;
  std::size_t array_volumes = 0;
  for (const auto& a : array_snaps) {
    if (!a) continue;
    auto i = IndexOfName(m.arrays, a->array);
    if (i == m.arrays.size()) m.arrays.push_back(NewArray(a->array));
    m.arrays[i].has_data = true;
    m.arrays[i].volumes = a->volumes.size();
    arrays.push_back(a.get());
    array_summary.push_back(i);
    array_volumes += a->volumes.size();
  }

  bool all_clouds = !clouds.empty();
  for (auto& c : m.clouds) {
    if (!c.has_data) {
      all_clouds = false;
      c.missing_fields.push_back("snapshot");
      m.warnings.push_back("cloud " + c.cloud + ": no data yet");
    }
  }
  bool all_arrays = !arrays.empty();
  for (const auto& a : m.arrays) {
    if (!a.has_data) {
      all_arrays = false;
      m.warnings.push_back("array " + a.array + ": no data yet");
    }
  }
  m.orphans_evaluated = all_clouds;
  m.missing_evaluated = all_arrays;
  if (!all_clouds) m.warnings.push_back("orphan volumes not evaluated: not every configured cloud has data");
  if (!all_arrays) m.warnings.push_back("missing volumes not evaluated: not every configured array has data");

  // Array volumes by name key; candidates sharing a key are told apart by ArrayNameMatches.
  std::vector<std::pair<std::uint64_t, ArrayRef>> by_key;
  by_key.reserve(array_volumes);
  std::vector<std::vector<char>> joined(arrays.size());
  for (std::uint32_t ai = 0; ai < arrays.size(); ++ai) {
    const auto& vols = arrays[ai]->volumes;
    joined[ai].assign(vols.size(), 0);
    for (std::uint32_t vi = 0; vi < vols.size(); ++vi)
      by_key.push_back({NameKeyHash(vols[vi].name), {ai, vi}});
  }
  auto by_hash = [](const auto& a, const auto& b) { return a.first < b.first; };
  std::sort(by_key.begin(), by_key.end(), by_hash);
  // Every array volume the name denotes: per array, exact spellings win over tolerated ones.
  auto find_on_arrays = [&](const std::string& name) {
    std::vector<ArrayRef> out;
    const std::pair<std::uint64_t, ArrayRef> probe{NameKeyHash(name), {0, 0}};
    for (auto it = std::lower_bound(by_key.begin(), by_key.end(), probe, by_hash);
         it != by_key.end() && it->first == probe.first; ++it) {
      const ArrayRef& ref = it->second;
      const auto& vname = arrays[ref.array]->volumes[ref.volume].name;
      if (ArrayNameMatches(vname, name)) out.push_back(ref);
    }
    if (out.size() > 1) {
      std::vector<ArrayRef> exact;
      for (const auto& ref : out) {
        if (EqualsIgnoreCase(arrays[ref.array]->volumes[ref.volume].name, name)) exact.push_back(ref);
      }
      for (const auto& ref : exact) {
        std::erase_if(out, [&](const ArrayRef& r) {
          return r.array == ref.array && !EqualsIgnoreCase(arrays[r.array]->volumes[r.volume].name, name);
        });
      }
    }
    return out;
  };

  std::size_t total_volumes = 0;
  std::size_t total_servers = 0;
  for (const auto* c : clouds) {
    total_volumes += c->volumes.size();
    total_servers += c->servers.size();
  }
  m.rows.reserve(total_volumes + total_volumes / 8 + 16);
  m.servers.reserve(total_servers);

  // Servers of every cloud by id, for the tag cross-check.
  std::unordered_map<std::string_view, std::pair<const CloudSnapshot*, const NovaServer*>> all_servers;
  all_servers.reserve(total_servers);

  auto project_name = [](const CloudSnapshot& c, const Text& id) -> const Text& {
    auto it = c.project_names.find(id.view());
    return it != c.project_names.end() && !it->second.empty() ? it->second : id;
  };

  for (std::size_t ci = 0; ci < clouds.size(); ++ci) {
    const CloudSnapshot& cloud = *clouds[ci];
    CloudSummary& summary = m.clouds[cloud_summary[ci]];
    summary.missing_fields = cloud.admin.missing_fields;
    summary.volumes = cloud.volumes.size();
    summary.servers = cloud.servers.size();
    summary.projects = cloud.project_names.size();
    const bool complete = summary.complete();
    if (!cloud.admin.complete()) {
      std::string fields;
      for (const auto& f : cloud.admin.missing_fields) fields += (fields.empty() ? "" : ", ") + f;
      m.warnings.push_back("cloud " + cloud.cloud + ": listings lacked admin-only fields (" + fields +
                           "); its rows are marked incomplete");
    }

    std::unordered_map<std::string_view, const NovaServer*> servers;
    servers.reserve(cloud.servers.size());
    for (const auto& s : cloud.servers) {
      servers.emplace(s.id, &s);
      all_servers.emplace(s.id, std::make_pair(&cloud, &s));
      m.servers.push_back(ServerRow{.cloud = cloud.cloud,
                                    .id = s.id,
                                    .name = s.name,
                                    .status = s.status,
                                    .host_name = s.host_name,
                                    .hypervisor = s.hypervisor,
                                    .hypervisor_hostname = s.hypervisor_hostname,
                                    .project_id = s.project_id,
                                    .project = project_name(cloud, s.project_id)});
    }

    const std::vector<std::string>* backends = nullptr;
    for (const auto& c : config.clouds) {
      if (c.name == cloud.cloud && !c.array_backends.empty()) backends = &c.array_backends;
    }

    for (const CinderVolume& v : cloud.volumes) {
      VolumeRow base;
      base.cloud = cloud.cloud;
      base.cinder_id = v.id;
      base.cinder_name = v.name;
      base.volume_type = v.volume_type;
      base.status = v.status;
      base.project_id = v.project_id;
      base.project = project_name(cloud, v.project_id);
      base.bootable = v.bootable;
      // Seen as of the cloud's listing, which may be older than this join (a failing cloud keeps its last
      // data).
      base.last_seen_unix = cloud.collected_unix > 0 ? cloud.collected_unix : now;
      base.complete = complete;

      std::vector<ArrayRef> refs;
      const auto candidates = CandidateNames(v);
      for (const auto& cand : candidates) {
        refs = find_on_arrays(cand.name);
        if (!refs.empty()) {
          base.match = *cand.match;
          break;
        }
      }

      if (refs.empty()) {
        if (!m.missing_evaluated || !ExpectedOnArray(v.status)) continue;
        // With admin-only fields hidden (name_id, provider_id, the backend host), neither the array name nor
        // whether the volume belongs on an array is known: it is "unknown", never "missing".
        bool unknown = !complete && v.backend_host.empty();
        if (backends != nullptr && !unknown) {
          std::string backend = CinderBackend(v.backend_host);
          if (std::find(backends->begin(), backends->end(), backend) == backends->end()) continue;
        }
        unknown = unknown || !complete;
        base.match = Word().none;
        base.state = unknown ? Word().unknown : Word().missing_on_array;
        // The name it should have on the array, so that it can be looked up by that name too.
        if (!candidates.empty()) base.expected_array_volume = Text(candidates.front().name);
        if (unknown) {
          ++summary.unknown;
        } else {
          ++summary.missing;
          m.missing_since.emplace(std::make_pair(cloud.cloud, v.id), now);
        }
      } else {
        base.state = Word().current;
      }

      // One row per (array volume) x (attachment); refs is empty for a missing volume.
      const std::size_t sides = refs.empty() ? 1 : refs.size();
      for (std::size_t si = 0; si < sides; ++si) {
        VolumeRow side = si + 1 < sides ? base : std::move(base);
        if (!refs.empty()) {
          const ArrayRef& ref = refs[si];
          FillArraySide(side, *arrays[ref.array], arrays[ref.array]->volumes[ref.volume]);
          if (!joined[ref.array][ref.volume]) {
            joined[ref.array][ref.volume] = 1;
            ++m.arrays[array_summary[ref.array]].joined;
            if (arrays[ref.array]->volumes[ref.volume].destroyed)
              ++m.arrays[array_summary[ref.array]].destroyed_joined;
          }
        }
        if (v.attachments.empty()) {
          m.rows.push_back(std::move(side));
          continue;
        }
        for (std::size_t k = 0; k < v.attachments.size(); ++k) {
          const CinderAttachment& att = v.attachments[k];
          VolumeRow row = k + 1 < v.attachments.size() ? side : std::move(side);
          row.server_id = att.server_id;
          row.device = att.device;
          auto it = servers.find(att.server_id);
          FillServer(row, it == servers.end() ? nullptr : it->second, att.host_name);
          m.rows.push_back(std::move(row));
        }
      }
    }
  }

  // Array volumes nothing joined: orphans when Cinder-made, ignored otherwise.
  const bool clouds_complete =
      std::all_of(m.clouds.begin(), m.clouds.end(), [](const CloudSummary& c) { return c.complete(); });
  for (std::size_t ai = 0; ai < arrays.size(); ++ai) {
    const ArraySnapshot& a = *arrays[ai];
    ArraySummary& summary = m.arrays[array_summary[ai]];
    for (std::size_t vi = 0; vi < a.volumes.size(); ++vi) {
      if (joined[ai][vi]) continue;
      const PureVolume& v = a.volumes[vi];
      if (!LooksCinderMade(v.name)) {
        ++summary.foreign;
        continue;
      }
      if (!m.orphans_evaluated) continue;
      VolumeRow row;
      FillArraySide(row, a, v);
      // "-unmanaged" is what Cinder's unmanage leaves on the array: taken out of Cinder on purpose. Any other
      // is an orphan only if every cloud's listing was complete: a hidden name_id or provider_id could be the
      // name a Cinder volume has it under, so against an incomplete cloud it is "unknown".
      const bool unmanaged = EndsWithIgnoreCase(StripPod(v.name), kUnmanaged);
      const bool unknown = !unmanaged && !clouds_complete;
      row.state = unmanaged ? Word().unmanaged : (unknown ? Word().unknown : Word().orphan);
      row.match = Word().none;
      row.last_seen_unix = now;
      row.complete = clouds_complete;
      if (auto vm = v.tags.find("VmId"); vm != v.tags.end() && !vm->second.empty()) {
        row.match = Word().tag;
        row.server_id = vm->second;
        if (auto it = all_servers.find(row.server_id); it != all_servers.end()) {
          const auto& [cloud, server] = it->second;
          row.cloud = cloud->cloud;
          FillServer(row, server, Text());
        }
        if (auto p = v.tags.find("ProjectId"); p != v.tags.end() && !p->second.empty()) {
          row.project_id = p->second;
          row.project = p->second;
          for (const auto* c : clouds) {
            if (auto n = c->project_names.find(std::string_view(p->second));
                n != c->project_names.end() && !n->second.empty()) {
              row.project = n->second;
              break;
            }
          }
        }
      }
      if (v.destroyed) {
        ++summary.destroyed_orphans;
      } else if (unmanaged) {
        ++summary.unmanaged;
      } else if (unknown) {
        ++summary.unknown;
      } else {
        ++summary.orphans;
        m.orphan_since.emplace(std::make_pair(a.array, v.name), now);
      }
      m.rows.push_back(std::move(row));
    }
  }

  m.IndexRows(0);
  return m;
}

}  // namespace estate::storage
