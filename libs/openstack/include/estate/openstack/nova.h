// Nova (compute) for any exporter: the server listing of all projects (marker-paged, GET
// {compute}/servers/detail?all_tenants=1) and the host aggregates (GET {compute}/os-aggregates) with their
// metadata, as pure parsers of one response body plus the listings over a Session (session.h).
//
// Parsers take the raw body and return a Result: an error names what was wrong (invalid JSON and at which
// byte, a missing array, a record without an id) but never echoes the body; null reads as absent. The
// listings name the request in their errors and return everything or an error, never a partial listing.
//
// Thread-safety: the parsers are pure functions. A listing uses its Session as Session::Get does (one at a
// time per Session).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "estate/cancel.h"
#include "estate/openstack/paging.h"
#include "estate/openstack/session.h"
#include "estate/openstack/text.h"
#include "estate/result.h"

namespace estate::openstack {

// ---- servers ----------------------------------------------------------------------------------------------

// Strings are Text: statuses, projects and hypervisors are interned per page, and a storage mapping's rows
// share them (storage_model.h).
struct NovaServer {
  Text id;
  Text name;
  Text status;
  Text project_id;           // tenant_id
  Text host_name;            // OS-EXT-SRV-ATTR:hostname (guest host name), falls back to name
  Text hypervisor;           // OS-EXT-SRV-ATTR:host (compute service host), admin only
  Text hypervisor_hostname;  // OS-EXT-SRV-ATTR:hypervisor_hostname, admin only
};

// How many servers carried each admin-only key: a listing where none did was made without admin rights.
struct NovaKeyCounts {
  std::size_t servers = 0;
  std::size_t with_host = 0;                 // key "OS-EXT-SRV-ATTR:host" present
  std::size_t with_hypervisor_hostname = 0;  // key "OS-EXT-SRV-ATTR:hypervisor_hostname" present
  std::size_t with_hostname = 0;             // key "OS-EXT-SRV-ATTR:hostname" present (else host_name = name)
  void Add(const NovaKeyCounts& other);
};

// One page of GET /servers/detail. has_next is true when the page carried a rel="next" link; next_marker is
// the link's "marker" query parameter, or the last server's id when the link has none (empty when the page
// was empty too: FollowMarkers treats that as an error).
struct NovaServersPage {
  std::vector<NovaServer> servers;
  NovaKeyCounts keys;
  bool has_next = false;
  std::string next_marker;
};

// Fails on invalid JSON, a missing "servers" array, or a server that is not an object or has no id.
Result<NovaServersPage> ParseNovaServersPage(std::string_view body);

struct NovaOptions {
  Paging paging;
  std::string microversion = "2.47";  // OpenStack-API-Version: compute <microversion>
};

// Every server of every project (all_tenants=1; admin rights needed to see other projects and the
// OS-EXT-SRV-ATTR fields), page by page. *keys (optional) gets the admin-key counts of the whole listing.
// Errors ("nova GET /servers/detail?...: ...") for a failed request, a non-2xx status, an invalid page, a
// paging loop, more pages than paging.max_items allows, or the budget running out between pages.
Result<std::vector<NovaServer>> ListServers(Session& session, const NovaOptions& options,
                                            const Budget& budget, NovaKeyCounts* keys = nullptr);

// ---- host aggregates --------------------------------------------------------------------------------------

// One host aggregate. Hosts are compute service hosts as Nova names them (a server's OS-EXT-SRV-ATTR:host,
// which may be the short form of its hypervisor_hostname).
struct NovaAggregate {
  std::string id;    // the integer id, as text
  std::string uuid;  // microversion >= 2.41; "" before
  std::string name;
  std::string availability_zone;  // "" when none
  std::vector<std::string> hosts;
  std::map<std::string, std::string> metadata;  // string values; numbers and booleans as JSON text
};

// GET /os-aggregates. Fails on invalid JSON, a missing "aggregates" array or an aggregate that is not an
// object or has neither a name nor an id. Hosts that are not strings and metadata that are null, arrays or
// objects are skipped.
Result<std::vector<NovaAggregate>> ParseNovaAggregates(std::string_view body);

// Every host aggregate (one request; Nova does not page it). Errors as ListServers'.
Result<std::vector<NovaAggregate>> ListAggregates(Session& session, const NovaOptions& options,
                                                  const Budget& budget);

// The value of metadata `key` for each host of the aggregates that set it, with the aggregate's name: host ->
// [{value, aggregate}], in aggregate order, one entry per distinct value. E.g. key "team" gives each
// hypervisor's owning team(s).
struct AggregateValue {
  std::string value;
  std::string aggregate;  // name of the (first) aggregate that gave it
};
std::map<std::string, std::vector<AggregateValue>, std::less<>> MetadataByHost(
    const std::vector<NovaAggregate>& aggregates, std::string_view key);

}  // namespace estate::openstack
