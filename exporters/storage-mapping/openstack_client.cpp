#include "openstack_client.h"

#include <utility>

#include "estate/openstack/nova.h"
#include "estate/openstack/upstream_util.h"

namespace estate::storage {

namespace {

OpenStackOptions Defaults(OpenStackOptions options) {
  if (options.page_size <= 0) options.page_size = 1000;
  if (options.cinder_microversion.empty()) options.cinder_microversion = "3.21";
  if (options.nova_microversion.empty()) options.nova_microversion = "2.47";
  return options;
}

openstack::SessionOptions SessionOptionsFor(const OpenStackOptions& o) {
  openstack::SessionOptions s;
  s.cloud = o.cloud;
  s.auth_url = o.auth_url;
  s.region = o.region;
  s.interface = o.interface;
  s.auth = o.auth;
  s.services = {openstack::kVolume, openstack::kCompute};
  s.token_refresh_margin_seconds = o.token_refresh_margin_seconds;
  s.http = o.http;
  return s;
}

}  // namespace

OpenStackClient::OpenStackClient(http::HttpClient& http, OpenStackOptions options)
    : options_(Defaults(std::move(options))),
      paging_{options_.page_size, options_.max_items},
      session_(http, SessionOptionsFor(options_)) {}

Result<std::vector<CinderVolume>> OpenStackClient::ListVolumes(CinderKeyCounts& keys, const Budget& budget) {
  openstack::Pages<CinderVolume> volumes;
  const openstack::Headers headers = {{"OpenStack-API-Version", "volume " + options_.cinder_microversion}};
  const std::string first = "/volumes/detail?all_tenants=1&limit=" + std::to_string(options_.page_size);
  auto consume = [&](CinderVolumesPage&& page) {
    keys.Add(page.keys);
    volumes.Add(std::move(page.volumes));
  };
  auto done = openstack::ListMarkerPaged<CinderVolumesPage>(session_, openstack::kVolume.name, "cinder",
                                                            "cinder volumes", first, headers, paging_, budget,
                                                            ParseCinderVolumesPage, consume);
  if (!done) return MakeError(done.error());
  return volumes.Take();
}

Result<CloudSnapshot> OpenStackClient::Collect(const Budget& budget) {
  session_.BeginCollect();
  CinderKeyCounts cinder_keys;
  openstack::NovaKeyCounts nova_keys;
  auto volumes = ListVolumes(cinder_keys, budget);
  if (!volumes) return MakeError(volumes.error());
  auto servers = openstack::ListServers(session_, {paging_, options_.nova_microversion}, budget, &nova_keys);
  if (!servers) return MakeError(servers.error());
  bool projects_forbidden = false;
  auto projects = openstack::ListProjects(session_, paging_, budget, &projects_forbidden);
  if (!projects) return MakeError(projects.error());

  CloudSnapshot snapshot;
  snapshot.cloud = options_.cloud;
  snapshot.volumes = std::move(*volumes);
  snapshot.servers = std::move(*servers);
  snapshot.project_names = std::move(*projects);
  snapshot.admin = CheckAdminFields(cinder_keys, nova_keys);
  if (projects_forbidden) snapshot.admin.missing_fields.emplace_back("projects[].name");
  snapshot.collected_unix = openstack::NowUnix();
  return snapshot;
}

}  // namespace estate::storage
