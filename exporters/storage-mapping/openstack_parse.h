// Pure parsers for the OpenStack APIs the storage exporter reads: Keystone v3 tokens and catalogs, Cinder
// volume listings, Nova server listings and Keystone project listings, plus the admin-field check over what
// the listings carried. No I/O; every function is a pure function of its arguments and thread-safe.
//
// Parsers take the raw response body and return a Result: an error names what was wrong with the body
// (invalid JSON and at which byte, a missing array, a record without an id) but never echoes the body. The
// caller adds the request it came from. null is treated like an absent value (an empty string, false or 0).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estate/result.h"
#include "storage_config.h"
#include "storage_model.h"

namespace estate::storage {

// ---- Keystone
// ----------------------------------------------------------------------------------------------

// How the exporter authenticates: the cloud's `auth` config section as it is (method "password" or
// "application_credential").
using OpenStackAuth = CloudAuthConfig;

// The JSON body of POST /v3/auth/tokens for these credentials. Password auth is scoped to project_id when
// set, else to project_name in project_domain_name, else unscoped; an application credential carries its own
// scope and is named by id, or by name plus its user (username in user_domain_name).
std::string BuildKeystoneAuthRequest(const OpenStackAuth& auth);

struct CatalogEndpoint {
  std::string type;       // service type, e.g. "compute", "volumev3"
  std::string interface;  // public | internal | admin
  std::string region;     // region_id (or the older "region")
  std::string url;
};

// The body of a token response. The token itself travels in the X-Subject-Token header.
struct KeystoneToken {
  std::string expires_at;   // as Keystone wrote it
  double expires_unix = 0;  // 0 when the body had no parseable expires_at
  std::string project_id;
  std::vector<std::string> roles;
  std::vector<CatalogEndpoint> catalog;
};

// Fails on invalid JSON or a body without a "token" object. A missing catalog is not an error here.
Result<KeystoneToken> ParseKeystoneToken(std::string_view body);

// ISO 8601 "2015-11-07T02:58:43.578887Z" (fraction and offset optional; no offset = UTC) to Unix seconds.
Result<double> ParseIsoTimestamp(std::string_view text);

// Catalog service types in order of preference.
inline const std::vector<std::string> kComputeServiceTypes = {"compute"};
inline const std::vector<std::string> kVolumeServiceTypes = {"volumev3", "block-storage", "volume"};

// The URL (without a trailing '/') of the first service type in `types` that has an endpoint with this
// interface ("public", "internal", "admin"; a "publicURL" spelling is accepted) in `region` ("" = any). Fails
// naming the types, interface and region when none matches.
Result<std::string> SelectEndpoint(const std::vector<CatalogEndpoint>& catalog,
                                   const std::vector<std::string>& types, const std::string& interface,
                                   const std::string& region);

// ---- Cinder and Nova listings
// ------------------------------------------------------------------------------

// How many records of a listing carried each admin-only key, for CheckAdminFields.
struct CinderKeyCounts {
  std::size_t volumes = 0;
  std::size_t with_backend_host = 0;  // key "os-vol-host-attr:host" present
  std::size_t with_provider_id = 0;   // key "provider_id" present
  std::size_t with_name_id = 0;       // key "os-vol-mig-status-attr:name_id" present
  std::size_t attachments = 0;
  std::size_t attachments_with_host_name = 0;  // host_name non-empty (non-admin views send null, not nothing)
  void Add(const CinderKeyCounts& other);
};

struct NovaKeyCounts {
  std::size_t servers = 0;
  std::size_t with_host = 0;                 // key "OS-EXT-SRV-ATTR:host" present
  std::size_t with_hypervisor_hostname = 0;  // key "OS-EXT-SRV-ATTR:hypervisor_hostname" present
  void Add(const NovaKeyCounts& other);
};

// One page of a marker-paged listing. has_next is true when the page carried a rel="next" link; next_marker
// is the link's "marker" query parameter, or the last record's id when the link has none (empty when the page
// was empty too: the caller must treat that as an error).
struct CinderVolumesPage {
  std::vector<CinderVolume> volumes;
  CinderKeyCounts keys;
  bool has_next = false;
  std::string next_marker;
};

struct NovaServersPage {
  std::vector<NovaServer> servers;
  NovaKeyCounts keys;
  bool has_next = false;
  std::string next_marker;
};

// GET {volume}/volumes/detail. Fails on invalid JSON, a missing "volumes" array, or a volume without an id.
Result<CinderVolumesPage> ParseCinderVolumesPage(std::string_view body);
// GET {compute}/servers/detail. Fails on invalid JSON, a missing "servers" array, or a server without an id.
Result<NovaServersPage> ParseNovaServersPage(std::string_view body);

struct ProjectsPage {
  std::vector<std::pair<std::string, std::string>> projects;  // id, name
  std::string next;                                           // links.next, "" when absent or null
};

// GET /v3/projects. Fails on invalid JSON or a missing "projects" array.
Result<ProjectsPage> ParseProjectsPage(std::string_view body);

// Which admin-only fields the listings lacked (names as the API spells them). Key-based for fields non-admin
// views omit (os-vol-host-attr:host, os-vol-mig-status-attr:name_id, provider_id, OS-EXT-SRV-ATTR:host,
// OS-EXT-SRV-ATTR:hypervisor_hostname): missing when the listing is non-empty and no record had the key.
// Value-based for attachments[].host_name, which non-admin views send as null: missing when there are
// attachments and none names a host. An empty listing lacks nothing.
AdminCheck CheckAdminFields(const CinderKeyCounts& cinder, const NovaKeyCounts& nova);

// The value of query parameter `name` in a URL or query string (percent-decoded), "" when absent.
std::string QueryParam(std::string_view url, std::string_view name);

}  // namespace estate::storage
