// Nova: a GET /servers/detail page, its next marker and the admin-field check.
#include "fuzz_common.h"
#include "openstack_parse.h"

namespace st = estate::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  if (auto page = st::ParseNovaServersPage(estate::fuzz::AsText(data, size))) {
    st::NovaKeyCounts total;
    total.Add(page->keys);
    (void)st::CheckAdminFields({}, total);
  }
  return 0;
}
