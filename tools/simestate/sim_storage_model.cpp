#include "sim_storage_model.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <utility>

#include "estate/config.h"

namespace estate::simestate {
namespace {

constexpr std::int64_t kGiB = std::int64_t{1} << 30;
constexpr double kEradicationDelaySeconds = 86400;

std::uint64_t SplitMix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

int HexValueOr0(char c) { return c >= 'a' ? c - 'a' + 10 : c - '0'; }

std::string Iso(int day_offset, int second_of_day) {
  // Days after 2025-01-01; good enough for creation stamps (months of 28 days keep it simple and valid).
  int month = 1 + (day_offset / 28) % 12;
  int day = 1 + day_offset % 28;
  char buf[40];
  std::snprintf(buf, sizeof buf, "2025-%02d-%02dT%02d:%02d:%02d.000000", month, day,
                (second_of_day / 3600) % 24, (second_of_day / 60) % 60, second_of_day % 60);
  return buf;
}

}  // namespace

std::uint64_t Hash64(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return SplitMix(h);
}

std::string HexFrom(const std::string& seed, int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  std::uint64_t h = Hash64(seed);
  for (int i = 0; i < n; ++i) {
    if (i > 0 && i % 16 == 0) h = SplitMix(h + static_cast<std::uint64_t>(i));
    out += kHex[(h >> ((i % 16) * 4)) & 0xf];
  }
  return out;
}

std::string UuidFrom(const std::string& seed) {
  std::string h = HexFrom(seed, 32);
  h[12] = '4';
  h[16] = "89ab"[HexValueOr0(h[16]) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" +
         h.substr(20, 12);
}

std::string GenerateSpec::Key() const {
  std::string key = "generate:" + std::to_string(servers) + "/" + std::to_string(volumes) + "/" +
                    std::to_string(arrays) + "/" + std::to_string(projects) + "/" + std::to_string(seed);
  for (const auto& h : hypervisors) key += "/" + h;
  return key;
}

std::string StorageModel::PureHostName(const std::string& hypervisor) {
  // The driver uses the connector host (at most 23 characters, sanitised) and the host's system UUID.
  std::string host;
  for (char c : hypervisor.substr(0, 23)) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    host += ok ? c : '-';
  }
  return host + "-" + HexFrom("system-uuid:" + hypervisor, 32) + "-cinder";
}

std::string StorageModel::PurityName(const std::string& pod, const std::string& base) {
  std::string name = pod.empty() ? base : pod + "::" + base;
  if (name.size() > 56) name = name.substr(name.size() - 56);
  return name + "-cinder";
}

const SimProject* StorageModel::FindProject(const std::string& id_or_name) const {
  for (const auto& p : projects) {
    if (p.id == id_or_name || p.name == id_or_name) return &p;
  }
  return nullptr;
}

void StorageModel::Rebuild() {
  server_index.clear();
  volume_index.clear();
  for (std::size_t i = 0; i < servers.size(); ++i) server_index[servers[i].id] = i;
  server_volumes.clear();
  for (std::size_t i = 0; i < volumes.size(); ++i) {
    volume_index[volumes[i].id] = i;
    for (const auto& att : volumes[i].attachments) server_volumes[att.server_id].push_back(i);
  }

  array_views.clear();
  for (const auto& name : array_names) {
    PureArrayView& view = array_views[name];
    view.name = name;
    view.id = UuidFrom("array:" + name);
    for (const auto& hv : hypervisors)
      view.hosts.push_back({PureHostName(hv), "iqn.2010-08.org.example:" + hv, 0});
  }
  std::map<std::string, std::map<std::string, int>> next_lun;  // array -> host -> next lun
  auto host_of = [&](PureArrayView& view, const std::string& host) -> PureHostView& {
    for (auto& h : view.hosts) {
      if (h.name == host) return h;
    }
    view.hosts.push_back({host, "iqn.2010-08.org.example:" + host, 0});
    return view.hosts.back();
  };
  auto connect = [&](PureArrayView& view, PureVolumeView& vol, const std::string& host) {
    for (const auto& [h, lun] : vol.connections) {
      if (h == host) return;
    }
    int& lun = next_lun[view.name][host];
    if (lun == 0) lun = 1;
    vol.connections.emplace_back(host, lun++);
    ++host_of(view, host).connection_count;
  };
  auto base_view = [&](const std::string& array, const std::string& name, const std::string& pod,
                       std::int64_t size_gb, const std::string& home_array) {
    // An ActiveCluster pod's volume is one volume on both arrays: same id and serial.
    const std::string key = pod.empty() ? array + "/" + name : "pod/" + name;
    PureVolumeView v;
    v.id = UuidFrom("purevol:" + key);
    v.name = name;
    // As on a real array: 16 hex digits that identify the array the volume was created on, then 8 of a
    // volume number (e.g. 6C1B16CE1C034D1C 00024C6F).
    v.serial = HexFrom("array-serial:" + home_array, 16) + HexFrom("serial:" + key, 8);
    std::transform(v.serial.begin(), v.serial.end(), v.serial.begin(),
                   [](char c) { return static_cast<char>(c >= 'a' && c <= 'f' ? c - 'a' + 'A' : c); });
    v.pod = pod;
    v.provisioned = size_gb * kGiB;
    const std::uint64_t h = Hash64("fill:" + key);
    v.virtual_bytes = v.provisioned / 100 * static_cast<std::int64_t>(5 + h % 80);
    v.data_reduction = 1.5 + static_cast<double>((h >> 8) % 40) / 10.0;
    v.unique = static_cast<std::int64_t>(static_cast<double>(v.virtual_bytes) / v.data_reduction);
    v.snapshots = v.unique / 100 * static_cast<std::int64_t>((h >> 16) % 20);
    v.created_ms = 1735689600000LL + static_cast<std::int64_t>((h >> 24) % (300LL * 86400)) * 1000;
    return v;
  };

  for (auto& vol : volumes) {
    if (vol.status.empty() || vol.status == "in-use" || vol.status == "available") {
      vol.status = vol.attachments.empty() ? "available" : "in-use";
    }
    for (const auto& array : vol.arrays) {
      auto it = array_views.find(array);
      if (it == array_views.end()) continue;
      PureVolumeView v = base_view(array, vol.array_volume, vol.pod, vol.size_gb,
                                   vol.pod.empty() ? array : vol.arrays.front());
      v.destroyed = vol.array_destroyed;
      if (v.destroyed)
        v.time_remaining_ms = static_cast<std::int64_t>(kEradicationDelaySeconds * 1000) - 3600000;
      if (!v.destroyed) {
        for (const auto& att : vol.attachments) {
          auto s = server_index.find(att.server_id);
          if (s != server_index.end()) connect(it->second, v, PureHostName(servers[s->second].hypervisor));
        }
      }
      if (vol.tags) {
        if (!vol.attachments.empty()) v.tags.emplace_back("VmId", vol.attachments.front().server_id);
        v.tags.emplace_back("ProjectId", vol.project_id);
        v.tags.emplace_back("VolType", vol.volume_type);
      }
      it->second.volumes.push_back(std::move(v));
    }
  }
  for (const auto& only : array_only) {
    for (const auto& array : only.arrays) {
      auto it = array_views.find(array);
      if (it == array_views.end()) continue;
      PureVolumeView v =
          base_view(array, only.name, only.pod, only.size_gb, only.pod.empty() ? array : only.arrays.front());
      v.destroyed = only.destroyed;
      if (v.destroyed) v.time_remaining_ms = static_cast<std::int64_t>(only.time_remaining_seconds * 1000);
      if (!v.destroyed) {
        for (const auto& host : only.hosts) connect(it->second, v, host);
      }
      it->second.volumes.push_back(std::move(v));
    }
  }
  // Arrays list volumes by name.
  for (auto& [name, view] : array_views) {
    std::sort(view.volumes.begin(), view.volumes.end(),
              [](const PureVolumeView& a, const PureVolumeView& b) { return a.name < b.name; });
    std::sort(view.hosts.begin(), view.hosts.end(),
              [](const PureHostView& a, const PureHostView& b) { return a.name < b.name; });
  }
}

Result<StorageModel::RedeployResult> StorageModel::Redeploy(const std::string& name) {
  auto it = std::find_if(servers.begin(), servers.end(), [&](const SimServer& s) { return s.name == name; });
  if (it == servers.end()) return MakeError("no server named " + name);
  ++redeploys_;
  RedeployResult result;
  result.old_id = it->id;
  const std::string generation = name + "#" + std::to_string(redeploys_) + "#" + it->id;
  it->id = UuidFrom("server:" + generation);
  it->created = Iso(200 + redeploys_, 3600);
  result.new_id = it->id;

  std::vector<SimVolume> created;
  for (auto vol_it = volumes.begin(); vol_it != volumes.end();) {
    SimVolume& vol = *vol_it;
    bool mine = false, shared = false;
    for (const auto& att : vol.attachments) {
      (att.server_id == result.old_id ? mine : shared) = true;
    }
    if (!mine) {
      ++vol_it;
      continue;
    }
    if (shared) {  // a multi-attach volume stays; its attachment moves to the new server
      for (auto& att : vol.attachments) {
        if (att.server_id == result.old_id) {
          att.server_id = result.new_id;
          att.attachment_id = UuidFrom("attachment:" + generation + vol.id);
        }
      }
      ++vol_it;
      continue;
    }
    // Deleted in Cinder: the driver destroys the array volume, which lingers until eradication.
    if (!vol.arrays.empty() && !vol.array_destroyed) {
      array_only.push_back(
          {vol.array_volume, vol.pod, vol.arrays, {}, vol.size_gb, true, kEradicationDelaySeconds});
    }
    SimVolume fresh = vol;
    fresh.id = UuidFrom("volume:" + generation + vol.id);
    fresh.name_id.clear();
    fresh.created_at = it->created;
    fresh.array_volume = PurityName(vol.pod, "volume-" + fresh.id);
    fresh.array_destroyed = false;
    if (!vol.provider_id.empty()) fresh.provider_id = fresh.array_volume;
    if (fresh.metadata.count("array_volume_name") != 0)
      fresh.metadata["array_volume_name"] = fresh.array_volume;
    for (auto& att : fresh.attachments) {
      att.server_id = result.new_id;
      att.attachment_id = UuidFrom("attachment:" + generation + fresh.id);
      att.attached_at = it->created;
    }
    result.deleted_volumes.push_back(vol.id);
    result.created_volumes.push_back(fresh.id);
    created.push_back(std::move(fresh));
    vol_it = volumes.erase(vol_it);
  }
  for (auto& v : created) volumes.push_back(std::move(v));
  Rebuild();
  return result;
}

namespace {

// Reads the model file format documented in data/storage-demo/model.yml.
void ReadModel(config::MapReader& root, StorageModel& model) {
  root.Get("domain", model.domain);
  root.Get("arrays", model.array_names);
  root.Get("hypervisors", model.hypervisors);
  std::set<std::string> arrays(model.array_names.begin(), model.array_names.end());
  std::set<std::string> hypervisors(model.hypervisors.begin(), model.hypervisors.end());
  for (auto& r : root.List("projects")) {
    SimProject p;
    r.Require("id", p.id);
    r.Require("name", p.name);
    r.Finish();
    model.projects.push_back(p);
  }
  auto project_id = [&](config::MapReader& r) {
    std::string p;
    r.Require("project", p);
    const SimProject* found = model.FindProject(p);
    if (found == nullptr && !p.empty()) r.Error("project", "no project " + p);
    return found ? found->id : p;
  };
  std::map<std::string, std::string> server_ids;  // name -> id
  int instance = 0;
  for (auto& r : root.List("servers")) {
    SimServer s;
    r.Require("id", s.id);
    r.Require("name", s.name);
    s.host_name = s.name;
    r.Get("hostname", s.host_name);
    s.project_id = project_id(r);
    r.Require("hypervisor", s.hypervisor);
    if (!s.hypervisor.empty() && hypervisors.count(s.hypervisor) == 0) {
      r.Error("hypervisor", "not in the model's hypervisors: " + s.hypervisor);
    }
    r.Get("status", s.status);
    s.created = Iso(instance, 36000 + instance * 97);
    r.Get("created", s.created);
    s.user_id = HexFrom("user:" + s.project_id, 32);
    s.instance_number = ++instance;
    r.Finish();
    if (!server_ids.emplace(s.name, s.id).second) r.Error("name", "duplicate server name " + s.name);
    model.servers.push_back(s);
  }
  int n = 0;
  for (auto& r : root.List("volumes")) {
    SimVolume v;
    r.Require("id", v.id);
    r.Get("name", v.name);
    v.project_id = project_id(r);
    v.user_id = HexFrom("user:" + v.project_id, 32);
    r.Get("status", v.status);
    r.Get("type", v.volume_type);
    r.Get("backend", v.backend_host);
    r.Get("size", v.size_gb);
    r.Get("bootable", v.bootable);
    r.Get("multiattach", v.multiattach);
    r.Get("name_id", v.name_id);
    r.Get("metadata", v.metadata);
    v.created_at = Iso(n, 40000 + n * 131);
    r.Get("created_at", v.created_at);
    r.Get("arrays", v.arrays);
    for (const auto& a : v.arrays) {
      if (arrays.count(a) == 0) r.Error("arrays", "not in the model's arrays: " + a);
    }
    r.Get("pod", v.pod);
    std::string base = "volume-" + (v.name_id.empty() ? v.id : v.name_id);
    r.Get("purity_base", base);
    v.array_volume = StorageModel::PurityName(v.pod, base);
    r.Get("array_volume", v.array_volume);
    r.Get("array_destroyed", v.array_destroyed);
    r.Get("tags", v.tags);
    r.Get("provider_id", v.provider_id);
    if (v.provider_id == "auto") v.provider_id = v.array_volume;
    bool array_metadata = false;
    r.Get("array_metadata", array_metadata);
    if (array_metadata) {
      v.metadata["array_volume_name"] = v.array_volume;
      if (!v.arrays.empty()) v.metadata["array_name"] = v.arrays.front();
    }
    int a = 0;
    for (auto& ar : r.List("attachments")) {
      SimAttachment att;
      std::string server;
      ar.Require("server", server);
      ar.Require("device", att.device);
      ar.Finish();
      auto it = server_ids.find(server);
      if (it == server_ids.end()) {
        if (!server.empty()) ar.Error("server", "no server named " + server);
        continue;
      }
      att.server_id = it->second;
      att.attachment_id = UuidFrom("attachment:" + v.id + ":" + std::to_string(a++));
      att.attached_at = v.created_at;
      v.attachments.push_back(att);
    }
    if (v.attachments.size() > 1 && !v.multiattach)
      r.Error("attachments", "more than one needs multiattach: true");
    r.Finish();
    ++n;
    model.volumes.push_back(std::move(v));
  }
  for (auto& r : root.List("array_volumes")) {
    SimArrayOnlyVolume v;
    r.Require("name", v.name);
    r.Get("pod", v.pod);
    r.Require("arrays", v.arrays);
    for (const auto& a : v.arrays) {
      if (arrays.count(a) == 0) r.Error("arrays", "not in the model's arrays: " + a);
    }
    std::vector<std::string> hosts;
    r.Get("hosts", hosts);
    for (const auto& h : hosts) {
      v.hosts.push_back(hypervisors.count(h) != 0 ? StorageModel::PureHostName(h) : h);
    }
    long size = v.size_gb;
    r.Get("size", size);
    v.size_gb = size;
    r.Get("destroyed", v.destroyed);
    v.time_remaining_seconds = v.destroyed ? 43200 : 0;
    r.GetDuration("time_remaining", v.time_remaining_seconds, /*allow_zero=*/true);
    r.Finish();
    model.array_only.push_back(std::move(v));
  }
  root.Finish();
}

}  // namespace

Result<std::shared_ptr<StorageModel>> LoadStorageModel(const std::string& path) {
  auto node = config::LoadYamlFile(path);
  if (!node) return MakeError(node.error());
  config::ConfigErrors errors(path);
  config::MapReader root(*node, "", errors);
  auto model = std::make_shared<StorageModel>();
  ReadModel(root, *model);
  if (!errors.empty()) return MakeError(errors.Text());
  model->Rebuild();
  return model;
}

std::shared_ptr<StorageModel> GenerateStorageModel(const GenerateSpec& spec) {
  auto model = std::make_shared<StorageModel>();
  const std::string seed = "gen" + std::to_string(spec.seed) + ":";
  model->hypervisors = spec.hypervisors;
  if (model->hypervisors.empty()) {
    for (int i = 1; i <= 100; ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "hv-gen-%03d", i);
      model->hypervisors.push_back(buf);
    }
  }
  for (int i = 1; i <= spec.arrays; ++i) model->array_names.push_back("pure-gen-" + std::to_string(i));
  model->projects.push_back({HexFrom(seed + "project:admin", 32), "admin"});
  for (int i = 1; i <= spec.projects; ++i) {
    model->projects.push_back(
        {HexFrom(seed + "project:" + std::to_string(i), 32), "project-" + std::to_string(i)});
  }
  const int nproj = std::max(1, spec.projects);
  model->servers.reserve(static_cast<std::size_t>(spec.servers));
  for (int i = 0; i < spec.servers; ++i) {
    SimServer s;
    const std::string idx = std::to_string(i);
    s.id = UuidFrom(seed + "server:" + idx);
    const SimProject& p = model->projects[1 + static_cast<std::size_t>(i % nproj)];
    char buf[64];
    std::snprintf(buf, sizeof buf, "gen-%s-%06d", p.name.c_str(), i);
    s.name = buf;
    s.host_name = s.name;
    s.project_id = p.id;
    s.user_id = HexFrom(seed + "user:" + p.id, 32);
    s.hypervisor = model->hypervisors[static_cast<std::size_t>(i) % model->hypervisors.size()];
    s.created = Iso(i % 336, i % 86400);
    s.instance_number = i + 1;
    model->servers.push_back(std::move(s));
  }
  model->volumes.reserve(static_cast<std::size_t>(spec.volumes));
  for (int j = 0; j < spec.volumes; ++j) {
    SimVolume v;
    const std::string idx = std::to_string(j);
    v.id = UuidFrom(seed + "volume:" + idx);
    v.name = "gen-vol-" + idx;
    v.size_gb = 10 + static_cast<int>(Hash64(seed + "size:" + idx) % 500);
    v.created_at = Iso(j % 336, (j * 7) % 86400);
    const std::string array =
        model->array_names.empty()
            ? ""
            : model->array_names[static_cast<std::size_t>(j) % model->array_names.size()];
    v.volume_type = array.empty() ? "standard" : array;
    v.backend_host = "cinder-volume@" + (array.empty() ? std::string("lvm") : array) + "#" + v.volume_type;
    if (!array.empty()) v.arrays.push_back(array);
    if (spec.servers > 0 && j % 20 != 19) {  // every 20th volume is detached
      const SimServer& s = model->servers[static_cast<std::size_t>(j % spec.servers)];
      const int slot = j / spec.servers;
      v.bootable = slot == 0;
      v.attachments.push_back({s.id, UuidFrom(seed + "attachment:" + idx),
                               std::string("/dev/vd") + static_cast<char>('a' + std::min(slot, 24)),
                               v.created_at});
      v.project_id = s.project_id;
    } else {
      v.project_id = model->projects[1 + static_cast<std::size_t>(j % nproj)].id;
    }
    v.user_id = HexFrom(seed + "user:" + v.project_id, 32);
    if (j % 97 == 3) v.name_id = UuidFrom(seed + "name_id:" + idx);
    v.array_volume = StorageModel::PurityName("", "volume-" + (v.name_id.empty() ? v.id : v.name_id));
    if (j % 50 == 7) {
      v.metadata["array_volume_name"] = v.array_volume;  // an older driver: metadata only
      v.metadata["array_name"] = array;
    } else {
      v.provider_id = v.array_volume;
    }
    v.tags = j % 10 == 0;
    model->volumes.push_back(std::move(v));
  }
  model->Rebuild();
  return model;
}

}  // namespace estate::simestate
