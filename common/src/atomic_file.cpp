#include "estate/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace estate {
namespace {

std::string Errno(const std::string& what, const std::string& path, int err = errno) {
  return what + " " + path + ": " + std::strerror(err);
}

}  // namespace

FileSink::FileSink(int fd) : fd_(fd) { buffer_.reserve(kPieceBytes + kPieceBytes / 4); }

bool FileSink::Write(std::string_view data) {
  if (data.size() < kPieceBytes) {
    buffer_.append(data);
    return MaybeFlush();
  }
  return Flush() && WriteAll(data);
}

bool FileSink::Flush() {
  if (!WriteAll(buffer_)) return false;
  buffer_.clear();
  return true;
}

bool FileSink::WriteAll(std::string_view data) {
  while (error_ == 0 && !data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno != EINTR) error_ = errno;
      continue;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return error_ == 0;
}

Result<Ok> WriteFileAtomically(const std::string& path, const std::function<bool(FileSink&)>& write) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return MakeError(Errno("cannot create", tmp));
  auto discard = [&] {
    if (fd >= 0) ::close(fd);
    ::unlink(tmp.c_str());
  };
  auto fail = [&](const std::string& what, int err) {
    Error e = MakeError(Errno(what, tmp, err));
    discard();
    return e;
  };
  FileSink sink(fd);
  bool written = false;
  try {
    written = write(sink) && sink.Flush();
  } catch (...) {
    discard();
    throw;
  }
  if (!written) {
    if (sink.error_ != 0) return fail("cannot write", sink.error_);
    Error e = MakeError("cannot write " + tmp + ": its content could not be produced");
    discard();
    return e;
  }
  if (::fsync(fd) != 0) return fail("cannot fsync", errno);
  const int closed = ::close(fd);
  fd = -1;
  if (closed != 0) return fail("cannot close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename to " + path + ":", errno);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    // The rename is done; a failing directory fsync only weakens durability, so it is not an error.
    ::fsync(dfd);
    ::close(dfd);
  }
  return Ok{};
}

Result<Ok> WriteFileAtomically(const std::string& path, std::string_view content) {
  return WriteFileAtomically(path, [content](FileSink& sink) { return sink.Write(content); });
}

Result<std::string> SetAsideCorruptFile(const std::string& path, double now) {
  std::string aside = path + ".corrupt-" + std::to_string(static_cast<long long>(std::floor(now)));
  if (::rename(path.c_str(), aside.c_str()) != 0) return MakeError(Errno("cannot rename", path));
  return aside;
}

}  // namespace estate
