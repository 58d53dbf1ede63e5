// Shared by the fuzz harnesses (docs/fuzzing.md): each harness defines LLVMFuzzerTestOneInput, which
// libFuzzer drives in the fuzz preset and replay_main.cpp drives over the committed inputs in every build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "estate/log.h"

namespace estate::fuzz {

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Parsers may log; a harness logs nothing per input (libFuzzer's speed, quiet replays). Call once.
inline bool Quiet() {
  log::Configure(log::Level::kError, log::Format::kLogfmt);
  return true;
}

}  // namespace estate::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
