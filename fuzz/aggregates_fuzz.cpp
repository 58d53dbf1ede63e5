// Nova host aggregates (libs/openstack): a GET /os-aggregates body, and the host -> metadata lookup the
// service-registry exporter makes of it.
#include "estate/openstack/nova.h"
#include "fuzz_common.h"

namespace os = estate::openstack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  if (auto aggregates = os::ParseNovaAggregates(estate::fuzz::AsText(data, size))) {
    (void)os::MetadataByHost(*aggregates, "team");
    (void)os::MetadataByHost(*aggregates, "");
  }
  return 0;
}
