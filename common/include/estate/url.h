// URLs built from upstream data. Upstreams hand back links (Redfish @odata.id and Location headers, Keystone
// links.next, ...) that the exporters follow with credentials attached; such a link must never take those
// credentials to a host nobody configured. Everything here is strict on purpose: a link is followed only when
// it is a plain path ("/a/b?c") or an absolute http(s) URL of the very origin (scheme, host, port) it is
// resolved against. Userinfo ("@host", "user@host"), scheme-relative "//host", backslashes, control
// characters and spaces, hosts spelt with percent-encoding, IPv6 zone ids and relative paths are refused, as
// is anything that is not one of those two forms. Hosts compare case-insensitively and a default port equals
// its absence; nothing else is normalised ("127.1" is not "127.0.0.1", "[::1]" is not "[0::1]"): a refusal is
// cheap, a leak is not.
//
// Errors describe the link without its userinfo, so they may be logged. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "estate/result.h"

namespace estate::url {

// An absolute http or https URL, split. The fragment is dropped: it never goes into a request.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-cased; an IPv6 literal keeps its brackets: "[::1]"
  int port = 0;        // as written, else the scheme's default (80, 443)
  std::string path;    // "" or starting with '/', percent-encoding as written
  std::string query;   // after '?'
  bool has_query = false;

  // "https://host" or "https://host:8443": the port only when it is not the scheme's default.
  std::string Origin() const;
  // The request target: the path ("/" when empty) and "?query".
  std::string Target() const;
  // Origin() + Target().
  std::string ToString() const;
};

// Parses an absolute http(s) URL with the rules above (configured base URLs go through it too).
Result<Url> Parse(std::string_view text);

bool SameOrigin(const Url& a, const Url& b);

// The request target ("/redfish/v1/Systems/1?$expand=.") of an upstream-supplied link, when the link is a
// path starting with a single '/' or an absolute URL of the same origin as `base`. base's own path plays no
// part.
Result<std::string> LinkTarget(const Url& base, std::string_view link);

// The URL to request for an upstream-supplied link: the configured base URL's origin and path prefix (as in
// "https://proxy/bmc1", trailing '/' dropped; its query dropped) followed by LinkTarget(Parse(base_url),
// link). An error when base_url does not parse or the link is refused. Request ToString(), report Target().
Result<Url> Resolve(std::string_view base_url, std::string_view link);

// A link shortened for messages (at most 96 bytes, non-printable bytes as '?') with any userinfo left out.
std::string Describe(std::string_view link);

// Percent-encodes everything but the unreserved characters (A-Z a-z 0-9 - _ . ~): a query value or one path
// segment.
std::string EncodeComponent(std::string_view s);

}  // namespace estate::url
