# Compile options for our own targets only: link estate::options into every target we build.
# Nothing here is global, so third-party headers and code keep their own flags.
add_library(estate_options INTERFACE)
add_library(estate::options ALIAS estate_options)
target_compile_options(estate_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Wunused -Woverloaded-virtual -Wformat=2 -Wimplicit-fallthrough)
if(ESTATE_WERROR)
  target_compile_options(estate_options INTERFACE -Werror)
endif()
if(ESTATE_SANITIZE)
  target_compile_options(estate_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  target_link_options(estate_options INTERFACE -fsanitize=address,undefined)
endif()
if(ESTATE_BUILD_FUZZERS)
  # libFuzzer's coverage instrumentation on our code; the harnesses themselves link -fsanitize=fuzzer
  # (fuzz/CMakeLists.txt). Needs clang: the fuzz preset (docs/fuzzing.md).
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "ESTATE_BUILD_FUZZERS needs clang (cmake --preset fuzz)")
  endif()
  target_compile_options(estate_options INTERFACE -fsanitize=fuzzer-no-link)
  target_link_options(estate_options INTERFACE -fsanitize=fuzzer-no-link)
endif()

# Where the source tree and the shared fixtures are, for tests.
set(ESTATE_SOURCE_DIR "${PROJECT_SOURCE_DIR}")

# First line of a test helper function(name label ...): returns from it unless tests of that label are built
# (without ESTATE_BUILD_E2E only label unit is).
macro(estate_skip_unless_built label)
  if(NOT ESTATE_BUILD_E2E AND NOT "${label}" STREQUAL "unit")
    return()
  endif()
endmacro()
