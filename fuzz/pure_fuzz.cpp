// Pure FlashArray REST 2.x: the body as each of the responses the client reads (api_version, volumes,
// connections, tags, arrays), and what one page's connections and tags do to its volumes.
#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "pure_parse.h"

namespace st = estate::storage;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string_view text = estate::fuzz::AsText(data, size);
  // Invalid JSON fails the same way (ParseJson) in every parser below, by an exception: once is enough.
  if (nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false).is_discarded()) {
    (void)st::ParsePureArrays(text);
    return 0;
  }
  if (auto versions = st::ParsePureApiVersions(text)) (void)st::PickPureApiVersion(*versions);
  (void)st::ParsePureArrays(text);
  auto volumes = st::ParsePureVolumesPage(text);
  auto connections = st::ParsePureConnectionsPage(text);
  auto tags = st::ParsePureTagsPage(text);
  if (volumes) {
    if (connections) st::ApplyPureConnections(volumes->volumes, connections->connections);
    if (tags) st::ApplyPureTags(volumes->volumes, tags->tags);
  }
  return 0;
}
