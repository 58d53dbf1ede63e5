// Pure parsers and builders for Keystone v3: the authentication request body, the token response and its
// service catalog, endpoint selection, and project listings. No I/O (the session that sends these is
// session.h); every function is a pure function of its arguments and thread-safe.
//
// Parsers take the raw response body and return a Result: an error names what was wrong with the body
// (invalid JSON and at which byte, a missing object) but never echoes the body. The caller adds the request
// it came from. null is treated like an absent value.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estate/result.h"

namespace estate::openstack {

// How to authenticate: a cloud's `auth` config section as it is (method "password" or
// "application_credential"). Exporters map their YAML onto it.
struct KeystoneAuth {
  std::string method = "password";  // password | application_credential
  std::string username;
  std::string user_domain_name = "Default";
  std::string password;  // secret
  std::string project_name;
  std::string project_id;
  std::string project_domain_name = "Default";
  std::string application_credential_id;
  std::string application_credential_name;
  std::string application_credential_secret;  // secret
};

// The JSON body of POST /v3/auth/tokens for these credentials. Password auth is scoped to project_id when
// set, else to project_name in project_domain_name, else unscoped; an application credential carries its own
// scope and is named by id, or by name plus its user (username in user_domain_name).
std::string BuildKeystoneAuthRequest(const KeystoneAuth& auth);

struct CatalogEndpoint {
  std::string type;       // service type, e.g. "compute", "volumev3"
  std::string interface;  // public | internal | admin
  std::string region;     // region_id (or the older "region")
  std::string url;
};

// The body of a token response. The token itself travels in the X-Subject-Token header.
struct KeystoneToken {
  std::string expires_at;   // as Keystone wrote it
  double expires_unix = 0;  // 0 when the body had no parseable expires_at (estate::ParseIsoTimestamp)
  std::string project_id;
  std::vector<std::string> roles;
  std::vector<CatalogEndpoint> catalog;
};

// Fails on invalid JSON or a body without a "token" object. A missing catalog is not an error here.
Result<KeystoneToken> ParseKeystoneToken(std::string_view body);

// Catalog service types in order of preference.
inline const std::vector<std::string> kComputeServiceTypes = {"compute"};
inline const std::vector<std::string> kVolumeServiceTypes = {"volumev3", "block-storage", "volume"};

// The URL (without a trailing '/') of the first service type in `types` that has an endpoint with this
// interface ("public", "internal", "admin"; a "publicURL" spelling is accepted) in `region` ("" = any). Fails
// naming the types, interface and region when none matches.
Result<std::string> SelectEndpoint(const std::vector<CatalogEndpoint>& catalog,
                                   const std::vector<std::string>& types, const std::string& interface,
                                   const std::string& region);

struct ProjectsPage {
  std::vector<std::pair<std::string, std::string>> projects;  // id, name
  std::string next;                                           // links.next, "" when absent or null
};

// GET /v3/projects. Fails on invalid JSON or a missing "projects" array.
Result<ProjectsPage> ParseProjectsPage(std::string_view body);

}  // namespace estate::openstack
