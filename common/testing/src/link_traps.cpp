#include "estate/testing/link_traps.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace estate::testing {

CaptureListener::~CaptureListener() { Stop(); }

Result<Ok> CaptureListener::Start(const std::string& address) {
  address_ = address;
  const bool v6 = address.find(':') != std::string::npos;
  fd_ = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return MakeError(std::string("socket: ") + std::strerror(errno));
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (v6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    if (::inet_pton(AF_INET6, address.c_str(), &a->sin6_addr) != 1)
      return MakeError("bad address " + address);
    length = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    if (::inet_pton(AF_INET, address.c_str(), &a->sin_addr) != 1) return MakeError("bad address " + address);
    length = sizeof(sockaddr_in);
  }
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd_, 64) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return MakeError("cannot listen on " + address + ": " + why);
  }
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  thread_ = std::thread([this] { Run(); });
  return Ok{};
}

void CaptureListener::Run() {
  while (!stop_.load()) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;  // a timeout only rechecks stop_
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    ++connections_;
    ::close(client);
  }
}

void CaptureListener::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string CaptureListener::authority() const {
  const bool v6 = address_.find(':') != std::string::npos;
  return (v6 ? "[" + address_ + "]" : address_) + ":" + std::to_string(port_);
}

FakeUpstream::Options SmallUpstream(const std::string& listen) {
  FakeUpstream::Options o;
  o.listen = listen;
  o.threads = 4;
  return o;
}

Captures::Captures() : v4(SmallUpstream()) {
  auto started = v4.Start();
  if (!started.ok()) std::cerr << "IPv4 capture: " << started.error() << "\n";
  auto v6_started = v6.Start("::1");
  have_v6 = v6_started.ok();
  if (!have_v6) std::cerr << "no IPv6 capture: " << v6_started.error() << "\n";
}

std::size_t Captures::Seen() const { return v4.RequestCount() + static_cast<std::size_t>(v6.connections()); }

std::vector<std::string> EvilLinkForms(const std::string& path) {
  std::string back = path;
  for (char& c : back) c = c == '/' ? '\\' : c;
  return {"@{C}" + path,           "monitor:s3cret@{C}" + path,
          "//{C}" + path,          "http://{C}" + path,
          "http://{B}@{C}" + path, "\\\\{C}" + back,
          "/\\{C}" + path,         "%40{C}" + path,
          "%2f%2f{C}" + path,      "/%2f%2f{C}" + path,
          "http://{6}" + path};
}

std::string FillLinkForm(std::string form, const std::string& upstream_host_port, const Captures& captures) {
  auto put = [&](const std::string& key, const std::string& value) {
    for (auto at = form.find(key); at != std::string::npos; at = form.find(key))
      form.replace(at, key.size(), value);
  };
  put("{C}", "127.0.0.1:" + std::to_string(captures.v4.port()));
  put("{6}", captures.have_v6 ? captures.v6.authority() : "[::1]:9");
  put("{B}", upstream_host_port);
  return form;
}

}  // namespace estate::testing
