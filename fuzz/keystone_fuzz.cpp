// Keystone (libs/openstack): a token response (and its catalog, through SelectEndpoint as a session picks
// Nova and Cinder), a project listing, and the body as an ISO 8601 timestamp.
#include "estate/openstack/keystone.h"
#include "estate/openstack/paging.h"
#include "estate/time_util.h"
#include "fuzz_common.h"

namespace os = estate::openstack;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  (void)estate::ParseIsoTimestamp(text);
  if (auto token = os::ParseKeystoneToken(text)) {
    (void)os::SelectEndpoint(token->catalog, os::kComputeServiceTypes, "public", "");
    (void)os::SelectEndpoint(token->catalog, os::kVolumeServiceTypes, "internal", "RegionOne");
    (void)estate::ParseIsoTimestamp(token->expires_at);
  }
  if (auto projects = os::ParseProjectsPage(text)) (void)os::QueryParam(projects->next, "marker");
  return 0;
}
