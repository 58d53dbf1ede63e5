// The URL module (common/include/estate/url.h) that every link from an upstream goes through. Besides "no
// crash", it checks the promise the module exists for: a link that resolves stays on the base URL's scheme,
// host and port. The input is a link resolved against fixed bases (IPv4, IPv6, a path prefix, https with a
// port); after a newline, the rest is also tried as a base with the first line as its link.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "estate/url.h"
#include "fuzz_common.h"

namespace {

void Check(std::string_view base_text, std::string_view link) {
  auto base = estate::url::Parse(base_text);
  auto resolved = estate::url::Resolve(base_text, link);
  (void)estate::url::Describe(link);
  if (!resolved) return;
  if (!base) {
    std::fprintf(stderr, "url_fuzz: Resolve succeeded on a base that does not parse\n");
    std::abort();
  }
  // What we would request must parse back to the same origin: no userinfo, host or port smuggled through.
  auto again = estate::url::Parse(resolved->ToString());
  if (!again || !estate::url::SameOrigin(*again, *base) || !estate::url::SameOrigin(*resolved, *base)) {
    std::fprintf(stderr, "url_fuzz: a link left its origin\n");
    std::abort();
  }
  if (auto target = estate::url::LinkTarget(*base, link); !target || target->empty() || (*target)[0] != '/') {
    std::fprintf(stderr, "url_fuzz: Resolve accepted a link LinkTarget refuses\n");
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  for (std::string_view base : {"http://bmc:443", "https://10.0.0.5", "https://[fd00::5]:8443/redfish",
                                "http://keystone.example:5000/v3/"}) {
    Check(base, text);
  }
  if (auto nl = text.find('\n'); nl != std::string_view::npos) {
    Check(text.substr(nl + 1), text.substr(0, nl));
  }
  return 0;
}
