// The hardware exporter's YAML config, from text (what --config.file and a reload read).
#include "fuzz_common.h"
#include "hardware_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  auto config = estate::hardware::ParseConfig(std::string(estate::fuzz::AsText(data, size)), "fuzz.yml");
  if (config) {
    for (const auto& target : config->targets) {
      (void)estate::hardware::BaseUrl(target.address);
      (void)estate::hardware::Fingerprint(*config, target);
    }
  }
  return 0;
}
