// A TCP listener that only counts connections, for tests that must prove nothing was sent somewhere: a real
// listening port (so a request that leaks would arrive) on any address, IPv6 too, which FakeUpstream's
// civetweb cannot bind on Debian. Every connection is counted and closed at once. Thread-safe: connections()
// may be read while the listener runs.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "estate/result.h"

namespace estate::testing {

class CaptureListener {
 public:
  CaptureListener() = default;
  ~CaptureListener();
  CaptureListener(const CaptureListener&) = delete;
  CaptureListener& operator=(const CaptureListener&) = delete;

  // Binds `address` ("127.0.0.1", "::1") on a free port and starts accepting; an error when it cannot.
  Result<Ok> Start(const std::string& address);
  void Stop();

  int port() const { return port_; }
  // "127.0.0.1:<port>" or "[::1]:<port>", as a URL's authority.
  std::string authority() const;
  int connections() const { return connections_.load(); }

 private:
  void Run();

  std::string address_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace estate::testing
