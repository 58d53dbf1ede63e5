// The storage-mapping exporter's YAML config, from text (what --config.file and a reload read).
#include "fuzz_common.h"
#include "storage_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  auto config = estate::storage::ParseConfig(std::string(estate::fuzz::AsText(data, size)), "fuzz.yml");
  if (config) {
    for (const auto& cloud : config->clouds) (void)estate::storage::Fingerprint(*config, cloud);
    for (const auto& array : config->arrays) (void)estate::storage::Fingerprint(*config, array);
  }
  return 0;
}
