// The OpenStack side of the storage exporter for one cloud: Keystone v3 authentication (password or
// application credential) with the token reused until shortly before it expires, then every Cinder volume and
// Nova server of all projects (marker-paged) and the Keystone project names, into one CloudSnapshot.
//
// Requests go through estate::http::HttpClient. A 401 from Cinder, Nova or Keystone re-authenticates once and
// repeats that request, so a token that expires in the middle of a collect does not fail it. Paging stops
// with an error when a marker repeats or the page count exceeds what max_items allows, and between pages when
// the Budget runs out. Collect returns a complete snapshot or an Error (the caller keeps its last good one);
// it never returns a partial listing.
//
// Where the token goes: to the configured auth_url, and to the Cinder and Nova endpoints of the catalog that
// Keystone returns with the token, for the configured interface (and region), which must be well-formed
// http(s) URLs without userinfo. Keystone's links.next is followed only on the auth_url's scheme, host and
// port; a link anywhere else is refused (estate/url.h) and logged, and fails the collect.
//
// Thread-safety: Collect must not run concurrently with itself on one instance (the refresher never does);
// RevokeToken and last_requests may be called from any thread at any time.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/result.h"
#include "openstack_parse.h"
#include "storage_model.h"

namespace estate::storage {

struct OpenStackOptions {
  std::string cloud;                 // config name, copied into the snapshot
  std::string auth_url;              // Keystone, with or without a trailing /v3
  std::string region;                // "" = any region in the catalog
  std::string interface = "public";  // public | internal | admin
  OpenStackAuth auth;
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
  void RevokeToken(const Budget& budget);

  // Requests sent by the most recent (or the running) Collect, including authentication and retries of 401s.
  int last_requests() const { return requests_.load(); }
  // Authentications since construction.
  int authentications() const { return authentications_.load(); }

 private:
  enum class Service { kIdentity, kIdentityRoot, kVolume, kCompute };  // kIdentityRoot: scheme://host only
  struct Session {
    std::string token;
    double expires_unix = 0;
    double refresh_unix = 0;  // when to authenticate again before using it
    int collect = 0;          // the Collect that obtained it
    std::string volume_url;   // from the catalog
    std::string compute_url;
  };

  // A token valid for at least the refresh margin (authenticating when needed), or the reason there is none.
  Result<Session> CurrentSession(const Budget& budget);
  Result<Session> Authenticate(const Budget& budget);
  // GET of base(service) + path_query with the token; re-authenticates once on 401 and repeats the request.
  // Returns the response whatever its status (but a 401 with a fresh token is an error); *requested gets
  // "GET <path>" for messages.
  Result<http::Response> Get(Service service, const std::string& path_query,
                             const std::vector<std::pair<std::string, std::string>>& headers,
                             const Budget& budget, std::string* requested);
  Result<std::vector<CinderVolume>> ListVolumes(CinderKeyCounts& keys, const Budget& budget);
  Result<std::vector<NovaServer>> ListServers(NovaKeyCounts& keys, const Budget& budget);
  Result<std::map<std::string, Text, std::less<>>> ListProjects(bool& forbidden, const Budget& budget);
  int MaxPages() const;

  http::HttpClient& http_;
  OpenStackOptions options_;
  std::string identity_url_;     // auth_url without /v3 and trailing '/'
  std::string identity_origin_;  // its scheme://host[:port], where Keystone's links.next must stay

  mutable std::mutex mu_;  // guards session_
  Session session_;

  std::atomic<int> requests_{0};
  std::atomic<int> authentications_{0};
  std::atomic<int> collects_{0};
};

}  // namespace estate::storage
