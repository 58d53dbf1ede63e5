// End-to-end harness: starts real binaries (our exporters, the simulated estate, Prometheus, Alertmanager)
// as child processes on loopback ports, waits for readiness with deadlines, queries PromQL, lists alerts.
// Every process is stopped (SIGTERM, then SIGKILL) when its object is destroyed. Not thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
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
SimpleResponse HttpPost(const std::string& url, const std::string& body = "", double timeout_seconds = 10,
                        const std::vector<std::string>& headers = {});
// DELETE; returns the HTTP status, 0 when it failed.
long HttpDelete(const std::string& url, double timeout_seconds = 5);

// Sends raw bytes to 127.0.0.1:port and reads until the server closes the connection or deadline_ms pass
// without a byte; *closed (if given) tells which of the two happened. For framing tests no client library
// would send.
std::string RawHttpExchange(int port, const std::string& request, bool* closed = nullptr,
                            int deadline_ms = 10000);

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

// The DOM headless Chromium ends with after loading url (its scripts run for up to virtual_time_ms of virtual
// time), as --dump-dom prints it; the profile lives under dir. Empty with *error set when chromium or timeout
// is missing or chromium failed (60 s at most).
std::string ChromiumDumpDom(const std::string& url, const TempDir& dir, std::string* error,
                            int virtual_time_ms = 5000);

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
  // Starts it with config_yaml as its configuration, or (when empty) a route to a receiver that sends
  // nothing, grouping with 1 s waits.
  Result<Ok> Start(const TempDir& dir, const std::string& config_yaml = "");
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

// text with every occurrence of from (not empty) replaced by to, left to right.
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to);

// The simulated estate of the demo, tools/simestate/estate.demo.yml, with every port rewritten to 0 (free
// ports are picked and written to a ports file) and its data directories made absolute, as a child process.
class DemoEstate {
 public:
  // Starts it with its log and config in dir and waits (up to 20 s) for its ports file.
  Result<Ok> Start(const TempDir& dir);
  // Upstream name -> port, and "_control" -> the control API's port.
  const nlohmann::json& ports() const { return ports_; }
  std::string control_url() const;
  // packaging/demo/<name> with scripts/demo.sh's placeholders replaced: {{simestate:<upstream>}}
  // (127.0.0.1:port),
  // {{source_dir}}, {{state_dir}} and {{exporter_address}}.
  std::string RenderDemoConfig(const std::string& name, const std::string& state_dir,
                               const std::string& exporter_address = "") const;
  ChildProcess& process() { return process_; }

 private:
  nlohmann::json ports_ = nlohmann::json::object();
  ChildProcess process_;
};

// Certificates for TLS tests, made with the openssl CLI under dir: a CA (ca_file, for the client's trust) and
// three server certificates it signed, each a combined certificate + key PEM as FakeUpstream and simestate
// take:
//   good_pem        CN and IP SAN 127.0.0.1, valid from now for two days;
//   wrong_name_pem  CN and DNS SAN other.invalid, valid: only the name is wrong;
//   expired_pem     IP SAN 127.0.0.1, valid 2020-01-01..2020-01-02 (`openssl ca -startdate/-enddate`): only
//                   the dates are wrong.
struct TestPki {
  std::string ca_file;
  std::string good_pem;
  std::string wrong_name_pem;
  std::string expired_pem;
};
Result<TestPki> MakeTestPki(const TempDir& dir);

// A TCP forwarder on 127.0.0.1:<port()> that relays every connection, bytes as they are (TLS passes through),
// to 127.0.0.1:<target port>. SetTarget() switches where new connections go and cuts the open ones, so a
// client can be moved between upstreams (e.g. to one with a bad certificate and back) without a config
// change. Thread-safe.
class TcpForwarder {
 public:
  TcpForwarder() = default;
  ~TcpForwarder();
  TcpForwarder(const TcpForwarder&) = delete;
  TcpForwarder& operator=(const TcpForwarder&) = delete;
  Result<Ok> Start(int target_port);
  void SetTarget(int target_port);
  void Stop();
  int port() const { return port_; }

 private:
  struct Shared;
  std::shared_ptr<Shared> shared_;
  int port_ = 0;
};

// Memory of a running process from /proc/<pid>/status, in bytes: VmRSS (now) and VmHWM (the peak RSS since it
// started); -1 when unreadable.
struct ProcessMemory {
  long long rss_bytes = -1;
  long long peak_rss_bytes = -1;
};
ProcessMemory ReadProcessMemory(pid_t pid);

// One sample of a Prometheus text exposition, and a small parser for tests (comments skipped, label values
// unescaped; lines it cannot read are left out).
struct MetricSample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
std::vector<MetricSample> ParseMetricSamples(const std::string& text);
// The value of the first sample named `name` whose labels include all of `labels`.
std::optional<double> SampleValue(const std::vector<MetricSample>& samples, const std::string& name,
                                  const std::map<std::string, std::string>& labels = {});

}  // namespace estate::testing
