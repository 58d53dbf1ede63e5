// End-to-end harness: starts real binaries (our exporters, the simulated estate, Prometheus, Alertmanager)
// as child processes on loopback ports, waits for readiness with deadlines, queries PromQL, lists alerts.
// Every process is stopped (SIGTERM, then SIGKILL) when its object is destroyed. Not thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "estate/result.h"

namespace estate::testing {

// A free TCP port on 127.0.0.1 (bound and released; a tiny race is acceptable in tests).
int FreePort();
// A fresh temporary directory, removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, const std::string& content) const;  // returns full path

 private:
  std::string path_;
};

class ChildProcess {
 public:
  ChildProcess() = default;
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  // Starts argv[0] (a path) with stdout and stderr appended to log_path, in its own process group; the child
  // gets SIGKILL if the thread that started it dies first.
  Result<Ok> Start(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::map<std::string, std::string>& extra_env = {});
  bool Running();
  // Sends a signal (e.g. SIGHUP).
  void Signal(int sig);
  // Waits up to deadline for it to exit by itself, without signalling it (for commands that finish, such as
  // --config.check). Returns the status as from waitpid, or -1 if it is still running (it keeps running).
  int Wait(std::chrono::milliseconds deadline);
  // SIGTERM to its process group, waits up to grace, then SIGKILL to the group (so its children go too).
  // Returns the exit status as from waitpid (or -1). Afterwards pid() is -1.
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string Log() const;

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;  // waitpid() has collected it; status_ holds its status
  int status_ = -1;
  std::string log_path_;
};

// Plain HTTP GET/POST to loopback with a timeout (uses libcurl). status 0 when it failed.
struct SimpleResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;
  double seconds = 0;
  std::string error;
};
SimpleResponse HttpGet(const std::string& url, double timeout_seconds = 10,
                       const std::vector<std::string>& headers = {});
SimpleResponse HttpPost(const std::string& url, const std::string& body = "", double timeout_seconds = 10);

// Decompresses a gzip body of exactly one member (as curl --compressed and browsers read it); "" when it is
// not valid gzip or anything (a second member) follows the first member.
std::string Gunzip(std::string_view gz);

// Polls url until it answers 200 or the deadline passes.
bool WaitHttpOk(const std::string& url, std::chrono::milliseconds deadline);

// Paths of the binaries we built (from the build tree) and of system tools (from PATH), cached.
// Empty when there is no executable of that name.
std::string BinaryPath(const std::string& name);  // e.g. "estate-simestate"

// Runs a command to completion with stdin from stdin_path (or /dev/null) and stdout+stderr captured together.
// exit_code is the exit status, 128+signal when killed, or -1 when it could not be started (error says why).
struct CommandResult {
  int exit_code = -1;
  std::string output;
  std::string error;
};
CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_path = "");

class PrometheusServer {
 public:
  struct Options {
    // The "scrape_configs:" list body (YAML), indented as a top-level key (the key itself may be included).
    // "{{prometheus_address}}" in it becomes this server's 127.0.0.1:port, for scraping Prometheus itself.
    std::string scrape_configs_yaml;
    std::vector<std::string> rule_files;
    std::string alertmanager_url;  // "127.0.0.1:port" or empty
    std::string scrape_interval = "1s";
    std::string evaluation_interval = "1s";
  };
  explicit PrometheusServer(Options options);
  Result<Ok> Start(const TempDir& dir);
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Instant query; returns the "data.result" array, or an error.
  Result<nlohmann::json> Query(const std::string& promql);
  // Polls until the query returns at least one sample (or the predicate holds).
  Result<nlohmann::json> WaitForResult(const std::string& promql, std::chrono::milliseconds deadline);
  ChildProcess& process() { return process_; }

 private:
  Options options_;
  int port_ = 0;
  ChildProcess process_;
};

class AlertmanagerServer {
 public:
  Result<Ok> Start(const TempDir& dir);
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + address(); }
  // The alerts it currently holds (API v2), or an error.
  Result<nlohmann::json> Alerts();
  // Names of active alerts (sorted, unique).
  std::vector<std::string> AlertNames();
  ChildProcess& process() { return process_; }

 private:
  int port_ = 0;  // clustering is disabled (--cluster.listen-address=""), so there is no cluster port
  ChildProcess process_;
};

}  // namespace estate::testing
