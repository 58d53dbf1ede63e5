// The storage exporter's history state file (history.state_file), through History::Load, then one empty
// Publish (which expires and re-indexes what was loaded). Load reads a path, so the input goes to a memfd
// created once per process and is read back through /proc/self/fd/N: no file system, no per-input file.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "fuzz_common.h"
#include "storage_history.h"

namespace {

const std::string& StatePath() {
  static const std::string path = [] {
    const int fd = memfd_create("estate-fuzz-history", MFD_CLOEXEC);
    if (fd < 0) std::abort();
    return "/proc/self/fd/" + std::to_string(fd);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = estate::fuzz::Quiet();
  (void)quiet;
  const std::string& path = StatePath();
  const int fd = std::stoi(path.substr(path.rfind('/') + 1));
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) std::abort();
  auto history = estate::storage::History::Load(path);
  if (history) {
    (void)history->Publish(estate::storage::Mapping{}, 1.8e9);
    (void)history->PastRows();
  }
  return 0;
}
