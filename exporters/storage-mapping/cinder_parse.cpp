#include "cinder_parse.h"

#include <nlohmann/json.hpp>

#include "estate/openstack/paging.h"
#include "estate/openstack/upstream_util.h"

namespace estate::storage {

using Json = nlohmann::json;

using openstack::Has;
using openstack::Member;
using openstack::NextLink;
using openstack::Number;
using openstack::ParseJson;
using openstack::Take;

namespace {

// Cinder sends "bootable" as the string "true"/"false"; accept a JSON boolean too.
bool Bool(const Json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) {
    const auto& s = it->get_ref<const std::string&>();
    return s == "true" || s == "True" || s == "TRUE" || s == "1";
  }
  return false;
}

}  // namespace

void CinderKeyCounts::Add(const CinderKeyCounts& o) {
  volumes += o.volumes;
  with_backend_host += o.with_backend_host;
  with_provider_id += o.with_provider_id;
  with_name_id += o.with_name_id;
  attachments += o.attachments;
  attachments_with_host_name += o.attachments_with_host_name;
}

Result<CinderVolumesPage> ParseCinderVolumesPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("body is not a JSON object");
  Json* volumes = Member(*doc, "volumes", Json::value_t::array);
  if (volumes == nullptr) return MakeError("no \"volumes\" array");
  CinderVolumesPage page;
  page.volumes.reserve(volumes->size());
  TextPool pool;  // statuses, types, projects, backends, hypervisors and devices repeat
  std::size_t index = 0;
  for (auto& item : *volumes) {
    if (!item.is_object()) return MakeError("volumes[" + std::to_string(index) + "] is not an object");
    CinderVolume v;
    v.id = Take(item, "id");
    if (v.id.empty()) return MakeError("volumes[" + std::to_string(index) + "] has no id");
    v.name = Take(item, "name");
    v.status = pool.Intern(Take(item, "status"));
    v.size_gb = Number(item, "size");
    v.volume_type = pool.Intern(Take(item, "volume_type"));
    v.project_id = pool.Intern(Take(item, "os-vol-tenant-attr:tenant_id"));
    if (Has(item, "os-vol-host-attr:host")) {
      ++page.keys.with_backend_host;
      v.backend_host = pool.Intern(Take(item, "os-vol-host-attr:host"));
    }
    if (Has(item, "os-vol-mig-status-attr:name_id")) {
      ++page.keys.with_name_id;
      v.name_id = Take(item, "os-vol-mig-status-attr:name_id");
    }
    if (Has(item, "provider_id")) {
      ++page.keys.with_provider_id;
      v.provider_id = Take(item, "provider_id");
    }
    if (Json* metadata = Member(item, "metadata", Json::value_t::object)) {
      v.array_volume_name = Take(*metadata, "array_volume_name");
      v.array_name = pool.Intern(Take(*metadata, "array_name"));
    }
    v.bootable = Bool(item, "bootable");
    v.multiattach = Bool(item, "multiattach");
    if (Json* attachments = Member(item, "attachments", Json::value_t::array)) {
      v.attachments.reserve(attachments->size());
      for (auto& a : *attachments) {
        if (!a.is_object()) continue;
        CinderAttachment att;
        att.server_id = Take(a, "server_id");
        att.host_name = pool.Intern(Take(a, "host_name"));
        att.device = pool.Intern(Take(a, "device"));
        ++page.keys.attachments;
        if (!att.host_name.empty()) ++page.keys.attachments_with_host_name;
        v.attachments.push_back(std::move(att));
      }
    }
    page.volumes.push_back(std::move(v));
    ++index;
  }
  page.keys.volumes = page.volumes.size();
  NextLink(*doc, "volumes_links", page.has_next, page.next_marker);
  if (page.has_next && page.next_marker.empty() && !page.volumes.empty()) {
    page.next_marker = page.volumes.back().id.str();
  }
  return page;
}

AdminCheck CheckAdminFields(const CinderKeyCounts& cinder, const openstack::NovaKeyCounts& nova) {
  AdminCheck check;
  if (cinder.volumes > 0) {
    if (cinder.with_backend_host == 0) check.missing_fields.emplace_back("os-vol-host-attr:host");
    if (cinder.with_name_id == 0) check.missing_fields.emplace_back("os-vol-mig-status-attr:name_id");
    if (cinder.with_provider_id == 0) check.missing_fields.emplace_back("provider_id");
  }
  if (cinder.attachments > 0 && cinder.attachments_with_host_name == 0) {
    check.missing_fields.emplace_back("attachments[].host_name");
  }
  if (nova.servers > 0) {
    if (nova.with_host == 0) check.missing_fields.emplace_back("OS-EXT-SRV-ATTR:host");
    if (nova.with_hypervisor_hostname == 0) {
      check.missing_fields.emplace_back("OS-EXT-SRV-ATTR:hypervisor_hostname");
    }
    // host_name is then the server name: a substitute, so the field is listed as missing.
    if (nova.with_hostname == 0) check.missing_fields.emplace_back("OS-EXT-SRV-ATTR:hostname");
  }
  return check;
}

}  // namespace estate::storage
