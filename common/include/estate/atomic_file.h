// Files replaced atomically (state files that must survive a crash at any point): the content goes to a
// temporary file in the same directory, which is fsynced, renamed over the target, and the directory fsynced;
// after a crash the file holds either the old or the new content. Used by the storage mapping's history and
// the service registry's first-seen store. Thread-safety: free functions are thread-safe for distinct paths;
// a FileSink belongs to one write.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "estate/result.h"

namespace estate {

// Where a WriteFileAtomically writer puts the file's bytes: a buffer written to the temporary file in pieces.
class FileSink {
 public:
  static constexpr std::size_t kPieceBytes = 256 * 1024;

  // Append to buffer() and call MaybeFlush() now and then (e.g. after each record); what is left in the
  // buffer at the end is written by WriteFileAtomically.
  std::string& buffer() { return buffer_; }
  // Writes the buffer out once it holds kPieceBytes. False once a write failed: the writer should stop and
  // return false.
  bool MaybeFlush() { return buffer_.size() < kPieceBytes || Flush(); }
  // Appends data (large data goes to the file without a copy); false once a write failed.
  bool Write(std::string_view data);

  FileSink(const FileSink&) = delete;
  FileSink& operator=(const FileSink&) = delete;

 private:
  friend Result<Ok> WriteFileAtomically(const std::string& path, const std::function<bool(FileSink&)>& write);
  explicit FileSink(int fd);
  bool Flush();
  bool WriteAll(std::string_view data);

  int fd_;
  int error_ = 0;  // errno of the write that failed
  std::string buffer_;
};

// Writes a file atomically: `write` produces its content into the sink (returning false if it could not),
// which goes to a temporary file in the same directory; then fsync, rename over path, fsync of the directory.
// On failure the temporary file is removed and path is untouched.
Result<Ok> WriteFileAtomically(const std::string& path, const std::function<bool(FileSink&)>& write);
// The same with the whole content at hand.
Result<Ok> WriteFileAtomically(const std::string& path, std::string_view content);

// Renames a bad state file to "<path>.corrupt-<unix time>" and returns the new name.
Result<std::string> SetAsideCorruptFile(const std::string& path, double now);

}  // namespace estate
