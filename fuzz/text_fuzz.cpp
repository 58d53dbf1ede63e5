// The small text parsers fed from upstream answers, user input or config values: Retry-After, durations,
// timestamps, lookup ids and WWIDs, URL encoding and query parameters (links: url_fuzz.cpp).
#include <string>

#include "estate/config.h"
#include "estate/http_client.h"
#include "estate/openstack/paging.h"
#include "estate/openstack/upstream_util.h"
#include "estate/time_util.h"
#include "fuzz_common.h"
#include "hardware_model.h"
#include "redfish_parse.h"
#include "storage_join.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  const std::string s(text);
  (void)estate::http::ParseRetryAfter(s);
  double seconds = 0;
  if (estate::config::ParseDuration(s, &seconds)) (void)estate::config::FormatDuration(seconds);
  (void)estate::hardware::ParseTimestamp(text);
  (void)estate::hardware::ParseHealth(text);
  (void)estate::hardware::NormaliseRaid(text);
  (void)estate::ParseIsoTimestamp(text);
  (void)estate::ParseIsoPrefix(text);
  (void)estate::storage::NormalizeLookupId(text);
  (void)estate::storage::WwidFromSerial(text);
  (void)estate::storage::CinderBackend(text);
  (void)estate::storage::LooksCinderMade(text);
  (void)estate::storage::ArrayNameMatches(text.substr(0, size / 2), text.substr(size / 2));
  (void)estate::openstack::UrlEncode(s);
  (void)estate::openstack::QueryParam(text, "marker");
  return 0;
}
