#include "estate/openstack/session.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "estate/log.h"
#include "estate/openstack/upstream_util.h"
#include "estate/url.h"

namespace estate::openstack {

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

Session::Session(http::HttpClient& http, SessionOptions options)
    : http_(http),
      options_(std::move(options)),
      identity_url_(IdentityBase(options_.auth_url)),
      identity_origin_(Origin(identity_url_)) {}

void Session::BeginCollect() {
  requests_ = 0;
  ++collects_;
}

Result<Session::Token> Session::Authenticate(const Budget& budget) {
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
  Token session;
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
  for (const CatalogService& service : options_.services) {
    auto endpoint = SelectEndpoint(token->catalog, service.types, options_.interface, options_.region);
    if (!endpoint) return MakeError(what + ": " + endpoint.error());
    // The catalog Keystone gives with the token decides where the token goes (Nova and Cinder usually live
    // on other hosts), but only endpoints of the configured interface and region are used, and only
    // well-formed http(s) URLs without userinfo.
    if (auto u = url::Parse(*endpoint); !u) {
      log::Warn("refused a catalog endpoint", {{"source", options_.cloud}, {"err", u.error()}});
      return MakeError(what + ": catalog endpoint refused: " + u.error());
    }
    session.endpoints[service.name] = std::move(*endpoint);
  }
  std::lock_guard<std::mutex> lock(mu_);
  token_ = session;
  return session;
}

Result<Session::Token> Session::Current(const Budget& budget) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A token obtained during this collect is kept for the rest of it even when its expires_at looks near
    // (clock skew): otherwise every request would authenticate again. Only a 401 renews it then.
    if (!token_.token.empty() && (token_.collect == collects_.load() || NowUnix() < token_.refresh_unix)) {
      return token_;
    }
  }
  return Authenticate(budget);
}

Result<http::Response> Session::Get(std::string_view service, const std::string& path_query,
                                    const Headers& headers, const Budget& budget, std::string* requested) {
  Result<Token> session = Current(budget);
  for (int attempt = 0;; ++attempt) {
    if (!session) return MakeError(session.error());
    std::string base;
    if (service == kIdentity) {
      base = identity_url_;
    } else if (service == kIdentityRoot) {
      base = identity_origin_;
    } else if (auto it = session->endpoints.find(service); it != session->endpoints.end()) {
      base = it->second;
    } else {
      return MakeError("GET " + url::Describe(path_query) + ": service " + std::string(service) +
                       " was not requested from the catalog");
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
        if (token_.token == session->token) token_ = Token{};
      }
      session = Authenticate(budget);
      continue;
    }
    return resp;
  }
}

void Session::RevokeToken(const Budget& budget) {
  std::string token;
  {
    std::lock_guard<std::mutex> lock(mu_);
    token = std::move(token_.token);
    token_ = Token{};
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

Result<std::map<std::string, Text, std::less<>>> ListProjects(Session& session, const Paging& paging,
                                                              const Budget& budget, bool* forbidden) {
  std::map<std::string, Text, std::less<>> names;
  std::unordered_set<std::string> seen;
  std::string_view service = kIdentity;
  std::string path = "/v3/projects";
  if (forbidden != nullptr) *forbidden = false;
  const int max_pages = paging.MaxPages();
  for (int pages = 0;; ++pages) {
    if (budget.Expired()) {
      return MakeError("keystone projects: " + BudgetReason(budget) + " after " + std::to_string(pages) +
                       " pages");
    }
    if (pages >= max_pages)
      return MakeError("keystone projects: more than " + std::to_string(max_pages) + " pages (paging loop)");
    std::string what;
    auto resp = session.Get(service, path, {}, budget, &what);
    if (!resp) return MakeError("keystone " + resp.error());
    if (resp->status == 403 && pages == 0) {
      // Not allowed to list projects (no admin or reader role): callers fall back to project ids.
      if (forbidden != nullptr) *forbidden = true;
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
    service = kIdentityRoot;
    path = std::move(next);
  }
}

}  // namespace estate::openstack
