#include "estate/openstack/nova.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "estate/openstack/upstream_util.h"

namespace estate::openstack {

using Json = nlohmann::json;

void NovaKeyCounts::Add(const NovaKeyCounts& o) {
  servers += o.servers;
  with_host += o.with_host;
  with_hypervisor_hostname += o.with_hypervisor_hostname;
  with_hostname += o.with_hostname;
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
    if (Has(item, "OS-EXT-SRV-ATTR:hostname")) ++page.keys.with_hostname;
    s.host_name = Take(item, "OS-EXT-SRV-ATTR:hostname");
    if (s.host_name.empty()) s.host_name = s.name;  // substituted: CheckAdminFields lists the hidden field
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

Result<std::vector<NovaServer>> ListServers(Session& session, const NovaOptions& options,
                                            const Budget& budget, NovaKeyCounts* keys) {
  Pages<NovaServer> servers;
  NovaKeyCounts counts;
  const Headers headers = {{"OpenStack-API-Version", "compute " + options.microversion}};
  const std::string first = "/servers/detail?all_tenants=1&limit=" + std::to_string(options.paging.page_size);
  auto consume = [&](NovaServersPage&& page) {
    counts.Add(page.keys);
    servers.Add(std::move(page.servers));
  };
  auto done = ListMarkerPaged<NovaServersPage>(session, kCompute.name, "nova", "nova servers", first, headers,
                                               options.paging, budget, ParseNovaServersPage, consume);
  if (!done) return MakeError(done.error());
  if (keys != nullptr) *keys = counts;
  return servers.Take();
}

// ---- host aggregates --------------------------------------------------------------------------------------

Result<std::vector<NovaAggregate>> ParseNovaAggregates(std::string_view body) {
  auto doc = ParseJson(body);
  if (!doc) return MakeError(doc.error());
  if (!doc->is_object()) return MakeError("body is not a JSON object");
  Json* aggregates = Member(*doc, "aggregates", Json::value_t::array);
  if (aggregates == nullptr) return MakeError("no \"aggregates\" array");
  std::vector<NovaAggregate> out;
  out.reserve(aggregates->size());
  std::size_t index = 0;
  for (auto& item : *aggregates) {
    const std::string where = "aggregates[" + std::to_string(index++) + "]";
    if (!item.is_object()) return MakeError(where + " is not an object");
    NovaAggregate a;
    if (auto id = item.find("id"); id != item.end() && id->is_number_integer()) {
      a.id = id->dump();
    } else {
      a.id = Take(item, "id");  // some deployments and proxies send it as a string
    }
    a.uuid = Take(item, "uuid");
    a.name = Take(item, "name");
    if (a.name.empty() && a.id.empty()) return MakeError(where + " has neither a name nor an id");
    a.availability_zone = Take(item, "availability_zone");
    if (Json* hosts = Member(item, "hosts", Json::value_t::array)) {
      a.hosts.reserve(hosts->size());
      for (auto& h : *hosts) {
        if (h.is_string() && !h.get_ref<const std::string&>().empty()) {
          a.hosts.push_back(std::move(h.get_ref<std::string&>()));
        }
      }
    }
    if (Json* metadata = Member(item, "metadata", Json::value_t::object)) {
      for (auto& [key, value] : metadata->items()) {
        if (value.is_string()) {
          a.metadata[key] = std::move(value.get_ref<std::string&>());
        } else if (value.is_number() || value.is_boolean()) {
          a.metadata[key] = value.dump();
        }
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

Result<std::vector<NovaAggregate>> ListAggregates(Session& session, const NovaOptions& options,
                                                  const Budget& budget) {
  const Headers headers = {{"OpenStack-API-Version", "compute " + options.microversion}};
  return GetParsed(session, kCompute.name, "nova", "/os-aggregates", headers, budget, ParseNovaAggregates);
}

std::map<std::string, std::vector<AggregateValue>, std::less<>> MetadataByHost(
    const std::vector<NovaAggregate>& aggregates, std::string_view key) {
  std::map<std::string, std::vector<AggregateValue>, std::less<>> out;
  for (const auto& a : aggregates) {
    auto it = a.metadata.find(std::string(key));
    if (it == a.metadata.end() || it->second.empty()) continue;
    for (const auto& host : a.hosts) {
      auto& values = out[host];
      const bool known = std::any_of(values.begin(), values.end(),
                                     [&](const AggregateValue& v) { return v.value == it->second; });
      if (!known) values.push_back({it->second, a.name});
    }
  }
  return out;
}

}  // namespace estate::openstack
