#include "openstack_client.h"

#include <algorithm>
#include <chrono>
#include <unordered_set>
#include <utility>

#include "estate/log.h"
#include "estate/url.h"
#include "upstream_util.h"

namespace estate::storage {

namespace {

// Keystone's default token lifetime, assumed when a token body has no usable expires_at.
constexpr double kDefaultTokenLifetimeSeconds = 3600;

std::string StripTrailingSlashes(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

// "https://host:5000/identity/v3/" -> "https://host:5000/identity".
std::string IdentityBase(const std::string& auth_url) {
  std::string url = StripTrailingSlashes(auth_url);
  if (url.size() >= 3 && url.compare(url.size() - 3, 3, "/v3") == 0) url.resize(url.size() - 3);
  return StripTrailingSlashes(url);
}

// "https://host:5000/identity" -> "https://host:5000"; the URL itself when it does not parse (every request
// to it then fails with the reason).
std::string Origin(const std::string& url) {
  auto u = url::Parse(url);
  return u ? u->Origin() : url;
}

// The URL to request: `path_query` (a path of ours, or a link from the upstream) on `base`, or why not. A
// link that leaves base's origin is refused and logged: the token goes nowhere else.
Result<url::Url> UrlFor(const std::string& base, const std::string& path_query, const std::string& cloud) {
  auto u = url::Resolve(base, path_query);
  if (!u) log::Warn("refused a link from OpenStack", {{"source", cloud}, {"err", u.error()}});
  return u;
}

}  // namespace

OpenStackClient::OpenStackClient(http::HttpClient& http, OpenStackOptions options)
    : http_(http),
      options_(std::move(options)),
      identity_url_(IdentityBase(options_.auth_url)),
      identity_origin_(Origin(identity_url_)) {
  if (options_.page_size <= 0) options_.page_size = 1000;
  if (options_.cinder_microversion.empty()) options_.cinder_microversion = "3.21";
  if (options_.nova_microversion.empty()) options_.nova_microversion = "2.47";
}

int OpenStackClient::MaxPages() const {
  // One page more than the item cap allows, plus slack for pages the server filled only partly.
  return std::max(1, options_.max_items / options_.page_size) + 10;
}

Result<OpenStackClient::Session> OpenStackClient::Authenticate(const Budget& budget) {
  auto target = UrlFor(identity_url_, "/v3/auth/tokens", options_.cloud);
  if (!target) return MakeError("POST /v3/auth/tokens: " + target.error());
  const std::string what = "POST " + target->Target();
  http::Request req;
  req.method = "POST";
  req.url = target->ToString();
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = BuildKeystoneAuthRequest(options_.auth);
  http::ClientOptions http_options = options_.http;
  http_options.auth = http::Auth{};
  ++requests_;
  ++authentications_;
  auto resp = http_.Do(req, http_options, budget);
  if (!resp) return MakeError(what + ": " + resp.error());
  if (resp->status == 401 || resp->status == 403) {
    return MakeError(what + ": HTTP " + std::to_string(resp->status) + " (credentials refused)");
  }
  if (!Ok2xx(*resp)) return MakeError(StatusError(what, *resp));
  Session session;
  session.token = resp->Header("x-subject-token");
  if (session.token.empty()) return MakeError(what + ": no X-Subject-Token header in the response");
  auto token = ParseKeystoneToken(resp->body);
  if (!token) return MakeError(what + ": " + token.error());
  session.collect = collects_.load();
  const double now = NowUnix();
  session.expires_unix = token->expires_unix > 0 ? token->expires_unix : now + kDefaultTokenLifetimeSeconds;
  // Renew at the margin before expiry, but never sooner than half-way through the token's life: a token that
  // lives shorter than the margin is still used for the whole collect (a 401 renews it if it does expire).
  const double lifetime = std::max(0.0, session.expires_unix - now);
  session.refresh_unix = session.expires_unix - std::min(options_.token_refresh_margin_seconds, lifetime / 2);
  auto volume = SelectEndpoint(token->catalog, kVolumeServiceTypes, options_.interface, options_.region);
  if (!volume) return MakeError(what + ": " + volume.error());
  auto compute = SelectEndpoint(token->catalog, kComputeServiceTypes, options_.interface, options_.region);
  if (!compute) return MakeError(what + ": " + compute.error());
  // The catalog Keystone gives with the token decides where the token goes (Cinder and Nova usually live on
  // other hosts), but only endpoints of the configured interface and region are used, and only well-formed
  // http(s) URLs without userinfo.
  for (const std::string* endpoint : {&*volume, &*compute}) {
    if (auto u = url::Parse(*endpoint); !u) {
      log::Warn("refused a catalog endpoint", {{"source", options_.cloud}, {"err", u.error()}});
      return MakeError(what + ": catalog endpoint refused: " + u.error());
    }
  }
  session.volume_url = std::move(*volume);
  session.compute_url = std::move(*compute);
  std::lock_guard<std::mutex> lock(mu_);
  session_ = session;
  return session;
}

Result<OpenStackClient::Session> OpenStackClient::CurrentSession(const Budget& budget) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A token obtained during this collect is kept for the rest of it even when its expires_at looks near
    // (clock skew): otherwise every request would authenticate again. Only a 401 renews it then.
    if (!session_.token.empty() &&
        (session_.collect == collects_.load() || NowUnix() < session_.refresh_unix)) {
      return session_;
    }
  }
  return Authenticate(budget);
}

Result<http::Response> OpenStackClient::Get(Service service, const std::string& path_query,
                                            const std::vector<std::pair<std::string, std::string>>& headers,
                                            const Budget& budget, std::string* requested) {
  Result<Session> session = CurrentSession(budget);
  for (int attempt = 0;; ++attempt) {
    if (!session) return MakeError(session.error());
    std::string base;
    switch (service) {
      case Service::kIdentity:
        base = identity_url_;
        break;
      case Service::kIdentityRoot:
        base = identity_origin_;
        break;
      case Service::kVolume:
        base = session->volume_url;
        break;
      case Service::kCompute:
        base = session->compute_url;
        break;
    }
    auto target = UrlFor(base, path_query, options_.cloud);
    if (requested != nullptr) *requested = "GET " + (target ? target->Target() : url::Describe(path_query));
    if (!target) return MakeError("GET refused: " + target.error());
    http::Request req;
    req.url = target->ToString();
    req.headers = headers;
    req.headers.emplace_back("Accept", "application/json");
    const std::string what = "GET " + target->Target();
    http::ClientOptions http_options = options_.http;
    http_options.auth.kind = http::Auth::Kind::kHeader;
    http_options.auth.header_name = "X-Auth-Token";
    http_options.auth.header_value = session->token;
    ++requests_;
    auto resp = http_.Do(req, http_options, budget);
    if (!resp) return MakeError(what + ": " + resp.error());
    if (resp->status == 401) {
      if (attempt > 0) return MakeError(what + ": HTTP 401 even with a new token");
      // Expired or revoked: authenticate again and repeat this request once. The token is dropped only if it
      // is still the one that was refused (RevokeToken may have run meanwhile).
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (session_.token == session->token) session_ = Session{};
      }
      session = Authenticate(budget);
      continue;
    }
    return resp;
  }
}

namespace {

// Follows a marker-paged OpenStack listing: fetch(marker) returns one parsed page (with has_next and
// next_marker), consume(page) takes its records. Stops with an error on a repeated marker, on more pages than
// max_pages, on a next link that gives no marker, and when the budget runs out between pages.
template <typename Page, typename Fetch, typename Consume>
Result<Ok> FollowMarkers(const std::string& what, int max_pages, const Budget& budget, Fetch fetch,
                         Consume consume) {
  std::unordered_set<std::string> seen;
  std::string marker;
  for (int pages = 0;; ++pages) {
    if (budget.Expired()) {
      return MakeError(what + ": " + BudgetReason(budget) + " after " + std::to_string(pages) + " pages");
    }
    if (pages >= max_pages) {
      return MakeError(what + ": more than " + std::to_string(max_pages) +
                       " pages (paging loop, or more records than max_items)");
    }
    Result<Page> page = fetch(marker);
    if (!page) return MakeError(page.error());
    const bool has_next = page->has_next;
    std::string next = std::move(page->next_marker);
    consume(std::move(*page));
    if (!has_next) return Ok{};
    if (next.empty()) {
      return MakeError(what + ": page " + std::to_string(pages + 1) + " has a next link but no marker");
    }
    if (!seen.insert(next).second) {
      return MakeError(what + ": marker " + next + " returned twice (paging loop)");
    }
    marker = std::move(next);
  }
}

}  // namespace

Result<std::vector<CinderVolume>> OpenStackClient::ListVolumes(CinderKeyCounts& keys, const Budget& budget) {
  Pages<CinderVolume> volumes;
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"OpenStack-API-Version", "volume " + options_.cinder_microversion}};
  const std::string first = "/volumes/detail?all_tenants=1&limit=" + std::to_string(options_.page_size);
  auto fetch = [&](const std::string& marker) -> Result<CinderVolumesPage> {
    const std::string path = marker.empty() ? first : first + "&marker=" + UrlEncode(marker);
    std::string what;
    auto resp = Get(Service::kVolume, path, headers, budget, &what);
    if (!resp) return MakeError("cinder " + resp.error());
    if (!Ok2xx(*resp)) return MakeError(StatusError("cinder " + what, *resp));
    auto page = ParseCinderVolumesPage(resp->body);
    if (!page) return MakeError("cinder " + what + ": " + page.error());
    return page;
  };
  auto consume = [&](CinderVolumesPage&& page) {
    keys.Add(page.keys);
    volumes.Add(std::move(page.volumes));
  };
  auto done = FollowMarkers<CinderVolumesPage>("cinder volumes", MaxPages(), budget, fetch, consume);
  if (!done) return MakeError(done.error());
  return volumes.Take();
}

Result<std::vector<NovaServer>> OpenStackClient::ListServers(NovaKeyCounts& keys, const Budget& budget) {
  Pages<NovaServer> servers;
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"OpenStack-API-Version", "compute " + options_.nova_microversion}};
  const std::string first = "/servers/detail?all_tenants=1&limit=" + std::to_string(options_.page_size);
  auto fetch = [&](const std::string& marker) -> Result<NovaServersPage> {
    const std::string path = marker.empty() ? first : first + "&marker=" + UrlEncode(marker);
    std::string what;
    auto resp = Get(Service::kCompute, path, headers, budget, &what);
    if (!resp) return MakeError("nova " + resp.error());
    if (!Ok2xx(*resp)) return MakeError(StatusError("nova " + what, *resp));
    auto page = ParseNovaServersPage(resp->body);
    if (!page) return MakeError("nova " + what + ": " + page.error());
    return page;
  };
  auto consume = [&](NovaServersPage&& page) {
    keys.Add(page.keys);
    servers.Add(std::move(page.servers));
  };
  auto done = FollowMarkers<NovaServersPage>("nova servers", MaxPages(), budget, fetch, consume);
  if (!done) return MakeError(done.error());
  return servers.Take();
}

Result<std::map<std::string, Text, std::less<>>> OpenStackClient::ListProjects(bool& forbidden,
                                                                               const Budget& budget) {
  std::map<std::string, Text, std::less<>> names;
  std::unordered_set<std::string> seen;
  Service service = Service::kIdentity;
  std::string path = "/v3/projects";
  forbidden = false;
  for (int pages = 0;; ++pages) {
    if (budget.Expired()) {
      return MakeError("keystone projects: " + BudgetReason(budget) + " after " + std::to_string(pages) +
                       " pages");
    }
    if (pages >= MaxPages())
      return MakeError("keystone projects: more than " + std::to_string(MaxPages()) + " pages (paging loop)");
    std::string what;
    auto resp = Get(service, path, {}, budget, &what);
    if (!resp) return MakeError("keystone " + resp.error());
    if (resp->status == 403 && pages == 0) {
      // Not allowed to list projects (no admin or reader role): the join falls back to project ids.
      forbidden = true;
      return names;
    }
    if (!Ok2xx(*resp)) return MakeError(StatusError("keystone " + what, *resp));
    auto page = ParseProjectsPage(resp->body);
    if (!page) return MakeError("keystone " + what + ": " + page.error());
    for (auto& [id, name] : page->projects) names[std::move(id)] = std::move(name);
    if (page->next.empty()) return names;
    // The link is followed only on the origin of the Keystone we authenticated against (Get refuses any
    // other).
    std::string next = std::move(page->next);
    if (!seen.insert(next).second) {
      return MakeError("keystone projects: next link " + url::Describe(next) +
                       " returned twice (paging loop)");
    }
    service = Service::kIdentityRoot;
    path = std::move(next);
  }
}

Result<CloudSnapshot> OpenStackClient::Collect(const Budget& budget) {
  requests_ = 0;
  ++collects_;
  CinderKeyCounts cinder_keys;
  NovaKeyCounts nova_keys;
  auto volumes = ListVolumes(cinder_keys, budget);
  if (!volumes) return MakeError(volumes.error());
  auto servers = ListServers(nova_keys, budget);
  if (!servers) return MakeError(servers.error());
  bool projects_forbidden = false;
  auto projects = ListProjects(projects_forbidden, budget);
  if (!projects) return MakeError(projects.error());

  CloudSnapshot snapshot;
  snapshot.cloud = options_.cloud;
  snapshot.volumes = std::move(*volumes);
  snapshot.servers = std::move(*servers);
  snapshot.project_names = std::move(*projects);
  snapshot.admin = CheckAdminFields(cinder_keys, nova_keys);
  if (projects_forbidden) snapshot.admin.missing_fields.emplace_back("projects[].name");
  snapshot.collected_unix = NowUnix();
  return snapshot;
}

void OpenStackClient::RevokeToken(const Budget& budget) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = std::move(session_.token);
    session_ = Session{};
  }
  if (token.empty()) return;
  auto target = UrlFor(identity_url_, "/v3/auth/tokens", options_.cloud);
  if (!target) return;
  http::Request req;
  req.method = "DELETE";
  req.url = target->ToString();
  req.headers = {{"X-Subject-Token", token}};
  http::ClientOptions http_options = options_.http;
  http_options.auth.kind = http::Auth::Kind::kHeader;
  http_options.auth.header_name = "X-Auth-Token";
  http_options.auth.header_value = token;
  http_options.max_retries = 0;  // shutting down: one try is enough
  ++requests_;
  (void)http_.Do(req, http_options, budget);  // best effort: an expired token is gone anyway
}

}  // namespace estate::storage
