// A Keystone v3 session with one cloud: authentication (password or application credential), the token
// reused until shortly before it expires, the catalog endpoints of the services the caller needs, and an
// authenticated GET against any of them. Nova (nova.h), the Keystone project listing (below) and the storage
// exporter's Cinder listing are built on Get.
//
// A 401 re-authenticates once and repeats that request, so a token that expires in the middle of a collect
// does not fail it.
//
// Where the token goes: to the configured auth_url, and to the endpoints of the requested services in the
// catalog Keystone returns with the token, for the configured interface (and region), which must be
// well-formed http(s) URLs without userinfo. A path or link handed to Get (Keystone's links.next, say) is
// requested only on its service's scheme, host and port; a link anywhere else is refused (estate/url.h) and
// logged, and the request fails.
//
// Thread-safety: BeginCollect, Get and the listings built on it must not run concurrently on one Session (one
// refresh at a time uses it); RevokeToken, requests and authentications may be called from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "estate/cancel.h"
#include "estate/http_client.h"
#include "estate/openstack/keystone.h"
#include "estate/openstack/paging.h"
#include "estate/openstack/text.h"
#include "estate/openstack/upstream_util.h"
#include "estate/result.h"

namespace estate::openstack {

using Headers = std::vector<std::pair<std::string, std::string>>;

// A catalog service the session looks up when it authenticates.
struct CatalogService {
  std::string name;                // how Get names it
  std::vector<std::string> types;  // catalog service types, in order of preference
};
inline const CatalogService kCompute{"compute", kComputeServiceTypes};
inline const CatalogService kVolume{"volume", kVolumeServiceTypes};
// Services that are not looked up in the catalog: the configured Keystone (auth_url without /v3), and its
// origin (scheme://host[:port]) for links Keystone returns as absolute URLs.
inline constexpr std::string_view kIdentity = "identity";
inline constexpr std::string_view kIdentityRoot = "identity-root";

struct SessionOptions {
  std::string cloud;                 // config name, for logs
  std::string auth_url;              // Keystone, with or without a trailing /v3
  std::string region;                // "" = any region in the catalog
  std::string interface = "public";  // public | internal | admin
  KeystoneAuth auth;
  // Every one of these must have an endpoint in the catalog, or authentication fails.
  std::vector<CatalogService> services = {kCompute};
  double token_refresh_margin_seconds = 300;
  http::ClientOptions http;  // TLS, timeouts, source label; auth is set per request
};

class Session {
 public:
  Session(http::HttpClient& http, SessionOptions options);
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Starts a collect (a refresh): resets requests(). A token obtained from here on is kept until the next
  // BeginCollect even when its expires_at looks near (clock skew), so that it is not renewed per request.
  void BeginCollect();

  // GET of the service's base URL + path_query (a path of ours, or an absolute link from the upstream, which
  // must stay on that base's origin) with the token and Accept: application/json; authenticates when the
  // token is missing or due for renewal, and once more on a 401. Returns the response whatever its status,
  // but a 401 with a fresh token, a refused link, an unknown service or a transport failure is an error
  // naming the request. *requested (optional) gets "GET <path>" for the caller's messages.
  Result<http::Response> Get(std::string_view service, const std::string& path_query, const Headers& headers,
                             const Budget& budget, std::string* requested = nullptr);

  // Revokes the current token (DELETE /v3/auth/tokens), best effort; the next Get authenticates again.
  void RevokeToken(const Budget& budget);

  // Requests sent since BeginCollect, including authentication and retries of 401s.
  int requests() const { return requests_.load(); }
  // Authentications since construction.
  int authentications() const { return authentications_.load(); }
  const SessionOptions& options() const { return options_; }

 private:
  struct Token {
    std::string token;
    double expires_unix = 0;
    double refresh_unix = 0;                                    // when to authenticate again before using it
    int collect = 0;                                            // the BeginCollect it was obtained in
    std::map<std::string, std::string, std::less<>> endpoints;  // service name -> URL, from the catalog
  };

  // A token valid for at least the refresh margin (authenticating when needed), or the reason there is none.
  Result<Token> Current(const Budget& budget);
  Result<Token> Authenticate(const Budget& budget);

  http::HttpClient& http_;
  SessionOptions options_;
  std::string identity_url_;     // auth_url without /v3 and trailing '/'
  std::string identity_origin_;  // its scheme://host[:port], where Keystone's links.next must stay

  mutable std::mutex mu_;  // guards token_
  Token token_;

  std::atomic<int> requests_{0};
  std::atomic<int> authentications_{0};
  std::atomic<int> collects_{0};
};

// GET through the session, then parse(body) of a 2xx answer: the parsed Result, or an error that starts with
// `prefix` (e.g. "nova") and names the request: the transport or token failure, "HTTP <status>: <excerpt>",
// or the parser's error.
template <typename Parse>
auto GetParsed(Session& session, std::string_view service, const std::string& prefix,
               const std::string& path_query, const Headers& headers, const Budget& budget, Parse parse)
    -> decltype(parse(std::string_view())) {
  std::string what;
  auto resp = session.Get(service, path_query, headers, budget, &what);
  if (!resp) return MakeError(prefix + " " + resp.error());
  if (!Ok2xx(*resp)) return MakeError(StatusError(prefix + " " + what, *resp));
  auto parsed = parse(std::string_view(resp->body));
  if (!parsed) return MakeError(prefix + " " + what + ": " + parsed.error());
  return parsed;
}

// A marker-paged listing through the session: GET `first` (a path with its query, e.g.
// "/servers/detail?all_tenants=1&limit=1000"), then first + "&marker=<marker>" for each next page; every page
// is parsed by parse(body) -> Result<Page> (GetParsed) and handed to consume(Page&&). FollowMarkers' checks
// (repeated marker, paging.MaxPages(), the budget between pages) name the listing by `what`.
template <typename Page, typename Parse, typename Consume>
Result<Ok> ListMarkerPaged(Session& session, std::string_view service, const std::string& prefix,
                           const std::string& what, const std::string& first, const Headers& headers,
                           const Paging& paging, const Budget& budget, Parse parse, Consume consume) {
  auto fetch = [&](const std::string& marker) -> Result<Page> {
    const std::string path = marker.empty() ? first : first + "&marker=" + UrlEncode(marker);
    return GetParsed(session, service, prefix, path, headers, budget, parse);
  };
  return FollowMarkers<Page>(what, paging.MaxPages(), budget, fetch, consume);
}

// GET /v3/projects, every page (links.next followed on the Keystone origin only): project id -> name. When
// the first page is refused with 403 (no admin or reader role) *forbidden is set and the map is empty; any
// other failure, a paging loop or the budget running out is an error.
Result<std::map<std::string, Text, std::less<>>> ListProjects(Session& session, const Paging& paging,
                                                              const Budget& budget, bool* forbidden);

}  // namespace estate::openstack
