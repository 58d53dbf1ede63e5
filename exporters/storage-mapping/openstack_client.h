// The OpenStack side of the storage exporter for one cloud: every Cinder volume and Nova server of all
// projects (marker-paged) and the Keystone project names, into one CloudSnapshot, over a Keystone session of
// the estate::openstack library (libs/openstack: authentication, token reuse until shortly before it expires,
// catalog endpoints, the Nova listing and the project listing). The Cinder listing is this exporter's own.
//
// A 401 from Cinder, Nova or Keystone re-authenticates once and repeats that request, so a token that expires
// in the middle of a collect does not fail it. Paging stops with an error when a marker repeats or the page
// count exceeds what max_items allows, and between pages when the Budget runs out. Collect returns a complete
// snapshot or an Error (the caller keeps its last good one); it never returns a partial listing.
//
// Where the token goes: to the configured auth_url, and to the Cinder and Nova endpoints of the catalog that
// Keystone returns with the token, for the configured interface (and region), which must be well-formed
// http(s) URLs without userinfo. Keystone's links.next is followed only on the auth_url's scheme, host and
// port; a link anywhere else is refused (estate/url.h) and logged, and fails the collect.
//
// Thread-safety: Collect must not run concurrently with itself on one instance (the refresher never does);
// RevokeToken and last_requests may be called from any thread at any time.
#pragma once

#include <string>

#include "cinder_parse.h"
#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/openstack/keystone.h"
#include "estate/openstack/session.h"
#include "estate/result.h"
#include "storage_model.h"

namespace estate::storage {

struct OpenStackOptions {
  std::string cloud;                 // config name, copied into the snapshot
  std::string auth_url;              // Keystone, with or without a trailing /v3
  std::string region;                // "" = any region in the catalog
  std::string interface = "public";  // public | internal | admin
  openstack::KeystoneAuth auth;
  int page_size = 1000;
  std::string cinder_microversion = "3.21";  // >= 3.21 so that admins get provider_id
  std::string nova_microversion = "2.47";
  double token_refresh_margin_seconds = 300;
  int max_items = 1000000;   // per listing; more pages than this needs is taken for a paging loop
  http::ClientOptions http;  // TLS, timeouts, source label; auth is set per request
};

class OpenStackClient {
 public:
  OpenStackClient(http::HttpClient& http, OpenStackOptions options);
  OpenStackClient(const OpenStackClient&) = delete;
  OpenStackClient& operator=(const OpenStackClient&) = delete;

  // Volumes, servers, project names and the admin-field check of the whole cloud. Errors name the request
  // (method and path) and what went wrong: transport, HTTP status, invalid body, paging loop, budget.
  Result<CloudSnapshot> Collect(const Budget& budget);
  // Revokes the current token (DELETE /v3/auth/tokens), best effort; the next Collect authenticates again.
  void RevokeToken(const Budget& budget) { session_.RevokeToken(budget); }

  // Requests sent by the most recent (or the running) Collect, including authentication and retries of 401s.
  int last_requests() const { return session_.requests(); }
  // Authentications since construction.
  int authentications() const { return session_.authentications(); }

 private:
  Result<std::vector<CinderVolume>> ListVolumes(CinderKeyCounts& keys, const Budget& budget);

  OpenStackOptions options_;
  openstack::Paging paging_;
  openstack::Session session_;
};

}  // namespace estate::storage
