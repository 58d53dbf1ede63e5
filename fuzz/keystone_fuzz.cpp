// Keystone: a token response (and its catalog, through SelectEndpoint as the client picks Nova and Cinder),
// a project listing, and the body as an ISO 8601 timestamp.
#include "fuzz_common.h"
#include "openstack_parse.h"

namespace st = estate::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  (void)st::ParseIsoTimestamp(text);
  if (auto token = st::ParseKeystoneToken(text)) {
    (void)st::SelectEndpoint(token->catalog, st::kComputeServiceTypes, "public", "");
    (void)st::SelectEndpoint(token->catalog, st::kVolumeServiceTypes, "internal", "RegionOne");
    (void)st::ParseIsoTimestamp(token->expires_at);
  }
  if (auto projects = st::ParseProjectsPage(text)) (void)st::QueryParam(projects->next, "marker");
  return 0;
}
