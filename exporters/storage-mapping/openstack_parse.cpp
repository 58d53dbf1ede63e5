#include "openstack_parse.h"

#include <cctype>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "estate/json_util.h"
#include "upstream_util.h"

namespace estate::storage {

using Json = nlohmann::json;

namespace {

bool Has(const Json& object, const char* key) { return object.find(key) != object.end(); }

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

double Number(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

Json* Member(Json& object, const char* key, Json::value_t type) {
  auto it = object.find(key);
  return it != object.end() && it->type() == type ? &*it : nullptr;
}

// The "next" link of an OpenStack "<resource>_links" array: whether there is one, and its marker.
void NextLink(Json& body, const char* links_key, bool& has_next, std::string& marker) {
  Json* links = Member(body, links_key, Json::value_t::array);
  if (links == nullptr) return;
  for (auto& link : *links) {
    if (!link.is_object() || Take(link, "rel") != "next") continue;
    has_next = true;
    marker = QueryParam(Take(link, "href"), "marker");
    return;
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string Copy(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

// ---- Keystone
// ----------------------------------------------------------------------------------------------

std::string BuildKeystoneAuthRequest(const OpenStackAuth& auth) {
  Json identity;
  Json scope;
  if (auth.method == "application_credential") {
    Json cred;
    if (!auth.application_credential_id.empty()) {
      cred["id"] = auth.application_credential_id;
    } else {
      cred["name"] = auth.application_credential_name;
      cred["user"] = {{"name", auth.username}, {"domain", {{"name", auth.user_domain_name}}}};
    }
    cred["secret"] = auth.application_credential_secret;
    identity = {{"methods", {"application_credential"}}, {"application_credential", std::move(cred)}};
  } else {
    Json user = {
        {"name", auth.username}, {"domain", {{"name", auth.user_domain_name}}}, {"password", auth.password}};
    identity = {{"methods", {"password"}}, {"password", {{"user", std::move(user)}}}};
    if (!auth.project_id.empty()) {
      scope = {{"project", {{"id", auth.project_id}}}};
    } else if (!auth.project_name.empty()) {
      scope = {{"project", {{"name", auth.project_name}, {"domain", {{"name", auth.project_domain_name}}}}}};
    }
  }
  Json body = {{"auth", {{"identity", std::move(identity)}}}};
  if (!scope.is_null()) body["auth"]["scope"] = std::move(scope);
  return DumpJson(body);  // user names and passwords from the config: not necessarily UTF-8
}

Result<double> ParseIsoTimestamp(std::string_view text) {
  std::string s(text);
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, used = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &year, &month, &day, &hour, &minute, &second,
                  &used) != 6 ||
      month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return MakeError("not an ISO 8601 timestamp");
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  double unix = static_cast<double>(timegm(&tm));
  std::size_t i = static_cast<std::size_t>(used);
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    for (++i; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i, scale /= 10) {
      unix += (s[i] - '0') * scale;
    }
  }
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    int oh = 0, om = 0, n = 0;
    if (std::sscanf(s.c_str() + i + 1, "%2d:%2d%n", &oh, &om, &n) != 2 &&
        std::sscanf(s.c_str() + i + 1, "%2d%2d%n", &oh, &om, &n) != 2) {
      return MakeError("bad UTC offset in timestamp");
    }
    const double offset = oh * 3600.0 + om * 60.0;
    unix += s[i] == '+' ? -offset : offset;
    i += 1 + static_cast<std::size_t>(n);
  } else if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
    ++i;
  }
  if (i != s.size()) return MakeError("trailing characters in timestamp");
  return unix;
}

Result<KeystoneToken> ParseKeystoneToken(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  Json* token = Member(*doc, "token", Json::value_t::object);
  if (token == nullptr) return MakeError("no \"token\" object");
  KeystoneToken out;
  out.expires_at = Take(*token, "expires_at");
  if (!out.expires_at.empty()) {
    auto when = ParseIsoTimestamp(out.expires_at);
    if (when) out.expires_unix = *when;
  }
  if (Json* project = Member(*token, "project", Json::value_t::object)) out.project_id = Take(*project, "id");
  if (Json* roles = Member(*token, "roles", Json::value_t::array)) {
    for (auto& role : *roles) {
      if (role.is_object()) out.roles.push_back(Take(role, "name"));
    }
  }
  if (Json* catalog = Member(*token, "catalog", Json::value_t::array)) {
    for (auto& service : *catalog) {
      if (!service.is_object()) continue;
      const std::string type = Copy(service, "type");
      Json* endpoints = Member(service, "endpoints", Json::value_t::array);
      if (endpoints == nullptr) continue;
      for (auto& e : *endpoints) {
        if (!e.is_object()) continue;
        CatalogEndpoint ep;
        ep.type = type;
        ep.interface = Take(e, "interface");
        ep.region = Take(e, "region_id");
        if (ep.region.empty()) ep.region = Take(e, "region");
        ep.url = Take(e, "url");
        out.catalog.push_back(std::move(ep));
      }
    }
  }
  return out;
}

Result<std::string> SelectEndpoint(const std::vector<CatalogEndpoint>& catalog,
                                   const std::vector<std::string>& types, const std::string& interface,
                                   const std::string& region) {
  std::string want = interface.empty() ? std::string("public") : interface;
  if (want.size() > 3 && want.compare(want.size() - 3, 3, "URL") == 0) want.resize(want.size() - 3);
  for (const auto& type : types) {
    for (const auto& ep : catalog) {
      if (ep.type != type || ep.interface != want || ep.url.empty()) continue;
      if (!region.empty() && ep.region != region) continue;
      std::string url = ep.url;
      while (!url.empty() && url.back() == '/') url.pop_back();
      return url;
    }
  }
  std::string names;
  for (const auto& type : types) names += (names.empty() ? "" : "/") + type;
  return MakeError("no " + names + " endpoint with interface " + want +
                   (region.empty() ? std::string() : " in region " + region) + " in the catalog");
}

// ---- Listings
// ----------------------------------------------------------------------------------------------

void CinderKeyCounts::Add(const CinderKeyCounts& o) {
  volumes += o.volumes;
  with_backend_host += o.with_backend_host;
  with_provider_id += o.with_provider_id;
  with_name_id += o.with_name_id;
  attachments += o.attachments;
  attachments_with_host_name += o.attachments_with_host_name;
}

void NovaKeyCounts::Add(const NovaKeyCounts& o) {
  servers += o.servers;
  with_host += o.with_host;
  with_hypervisor_hostname += o.with_hypervisor_hostname;
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

Result<NovaServersPage> ParseNovaServersPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("body is not a JSON object");
  Json* servers = Member(*doc, "servers", Json::value_t::array);
  if (servers == nullptr) return MakeError("no \"servers\" array");
  NovaServersPage page;
  page.servers.reserve(servers->size());
  TextPool pool;  // statuses, projects and hypervisors repeat
  std::size_t index = 0;
  for (auto& item : *servers) {
    if (!item.is_object()) return MakeError("servers[" + std::to_string(index) + "] is not an object");
    NovaServer s;
    s.id = Take(item, "id");
    if (s.id.empty()) return MakeError("servers[" + std::to_string(index) + "] has no id");
    s.name = Take(item, "name");
    s.status = pool.Intern(Take(item, "status"));
    s.project_id = pool.Intern(Take(item, "tenant_id"));
    s.host_name = Take(item, "OS-EXT-SRV-ATTR:hostname");
    if (s.host_name.empty()) s.host_name = s.name;
    if (Has(item, "OS-EXT-SRV-ATTR:host")) {
      ++page.keys.with_host;
      s.hypervisor = pool.Intern(Take(item, "OS-EXT-SRV-ATTR:host"));
    }
    if (Has(item, "OS-EXT-SRV-ATTR:hypervisor_hostname")) {
      ++page.keys.with_hypervisor_hostname;
      s.hypervisor_hostname = pool.Intern(Take(item, "OS-EXT-SRV-ATTR:hypervisor_hostname"));
    }
    page.servers.push_back(std::move(s));
    ++index;
  }
  page.keys.servers = page.servers.size();
  NextLink(*doc, "servers_links", page.has_next, page.next_marker);
  if (page.has_next && page.next_marker.empty() && !page.servers.empty()) {
    page.next_marker = page.servers.back().id.str();
  }
  return page;
}

Result<ProjectsPage> ParseProjectsPage(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("body is not a JSON object");
  Json* projects = Member(*doc, "projects", Json::value_t::array);
  if (projects == nullptr) return MakeError("no \"projects\" array");
  ProjectsPage page;
  page.projects.reserve(projects->size());
  for (auto& p : *projects) {
    if (!p.is_object()) continue;
    std::string id = Take(p, "id");
    if (id.empty()) continue;
    page.projects.emplace_back(std::move(id), Take(p, "name"));
  }
  if (Json* links = Member(*doc, "links", Json::value_t::object)) page.next = Take(*links, "next");
  return page;
}

AdminCheck CheckAdminFields(const CinderKeyCounts& cinder, const NovaKeyCounts& nova) {
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
  }
  return check;
}

std::string QueryParam(std::string_view url, std::string_view name) {
  std::size_t q = url.find('?');
  if (q == std::string_view::npos && url.find('/') != std::string_view::npos) return {};
  std::string_view query = q == std::string_view::npos ? url : url.substr(q + 1);
  if (auto hash = query.find('#'); hash != std::string_view::npos) query = query.substr(0, hash);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace estate::storage
