// Nova (libs/openstack): a GET /servers/detail page, its next marker and its admin-key counts.
#include "estate/openstack/nova.h"
#include "fuzz_common.h"

namespace os = estate::openstack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  if (auto page = os::ParseNovaServersPage(estate::fuzz::AsText(data, size))) {
    os::NovaKeyCounts total;
    total.Add(page->keys);
    (void)total.with_hypervisor_hostname;
  }
  return 0;
}
