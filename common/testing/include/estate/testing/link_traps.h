// Traps for tests that must prove an exporter sends nothing (no credentials, no request at all) to a host
// nobody configured: capture servers listening for real, and the spellings of an upstream link that try to
// leave the upstream for them (issue #10, point 1). Used by both exporters' link-origin tests.
#pragma once

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "estate/result.h"
#include "estate/testing/fake_upstream.h"

namespace estate::testing {

// A TCP listener that only counts connections: a real listening port on any address, IPv6 too, which
// FakeUpstream's civetweb cannot bind on Debian. Every connection is counted and closed at once.
// Thread-safe: connections() may be read while the listener runs.
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

// Two capture servers: a fake upstream on 127.0.0.1 (it logs a leaked request with its headers) and a
// listener on [::1] that counts connections. Without IPv6 loopback the IPv6 one is left out, with a note on
// stderr.
struct Captures {
  Captures();
  FakeUpstream v4;
  CaptureListener v6;
  bool have_v6 = false;
  // Requests and connections that reached either.
  std::size_t Seen() const;
};

// Every spelling of "somewhere else" for `path`: userinfo with and without a scheme, scheme-relative,
// absolute, backslashes, percent-encoded '@' and '//', and an IPv6 host. In them {C} stands for the IPv4
// capture's host:port, {B} for the upstream's own host:port, {6} for the IPv6 capture's [::1]:port.
std::vector<std::string> EvilLinkForms(const std::string& path);
// A form with {C}, {B} and {6} filled in.
std::string FillLinkForm(std::string form, const std::string& upstream_host_port, const Captures& captures);

// FakeUpstream options for a small server (few threads), on `listen`.
FakeUpstream::Options SmallUpstream(const std::string& listen = "127.0.0.1:0");

}  // namespace estate::testing
