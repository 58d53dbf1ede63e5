// Cinder: a GET /volumes/detail page, its next marker and the admin-field check; the body also as a URL for
// QueryParam (the marker of a next link).
#include "cinder_parse.h"
#include "estate/openstack/paging.h"
#include "fuzz_common.h"

namespace st = estate::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  (void)estate::openstack::QueryParam(text, "marker");
  if (auto page = st::ParseCinderVolumesPage(text)) {
    st::CinderKeyCounts total;
    total.Add(page->keys);
    (void)st::CheckAdminFields(total, {});
  }
  return 0;
}
