#include "estate/testing/e2e.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <list>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

#include "estate/testing/golden.h"

#ifndef ESTATE_BINARY_DIR
#error "ESTATE_BINARY_DIR must be defined by the build"
#endif

extern char** environ;

namespace estate::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kReadyDeadline{30000};
constexpr milliseconds kPollInterval{250};
constexpr std::size_t kLogTailBytes = 3000;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Tail(const std::string& text) {
  if (text.size() <= kLogTailBytes) return text;
  return "..." + text.substr(text.size() - kLogTailBytes);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  std::size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  std::size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

// The environment of a child: ours with extra_env overriding (or adding) entries.
std::vector<std::string> ChildEnvironment(const std::map<std::string, std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    std::string key = entry.substr(0, entry.find('='));
    if (extra_env.count(key) == 0) env.push_back(std::move(entry));
  }
  for (const auto& [k, v] : extra_env) env.push_back(k + "=" + v);
  return env;
}

std::vector<char*> CStrings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Forks and execs argv with stdin/stdout/stderr on the given fds, in its own process group, dying with us.
// Returns the pid or an error; exec failures come back through a close-on-exec pipe.
Result<pid_t> Spawn(const std::vector<std::string>& argv, int stdin_fd, int out_fd,
                    const std::map<std::string, std::string>& extra_env) {
  if (argv.empty()) return MakeError("empty command line");
  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  std::vector<std::string> args = argv;
  std::vector<std::string> env = ChildEnvironment(extra_env);
  std::vector<char*> c_args = CStrings(args);
  std::vector<char*> c_env = CStrings(env);
  int status_pipe[2];
  if (pipe2(status_pipe, O_CLOEXEC) != 0) return MakeError(std::string("pipe2: ") + std::strerror(errno));
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    int err = errno;
    close(status_pipe[0]);
    close(status_pipe[1]);
    return MakeError(std::string("fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    setpgid(0, 0);
    // If the test binary dies without running destructors, its children must not outlive it.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(stdin_fd, STDIN_FILENO);
    dup2(out_fd, STDOUT_FILENO);
    dup2(out_fd, STDERR_FILENO);
    // Don't leak the test's sockets (fake upstreams, curl connections) into the child.
    const unsigned keep = static_cast<unsigned>(status_pipe[1]);
    if ((keep > 3 && close_range(3, keep - 1, 0) != 0) || close_range(keep + 1, ~0U, 0) != 0) {
      for (int fd = 3; fd < 4096; ++fd) {
        if (fd != status_pipe[1]) close(fd);
      }
    }
    // Dispositions we inherited (a background shell ignores SIGINT) must not make the child deaf to Stop().
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT}) sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execve(c_args[0], c_args.data(), c_env.data());
    int err = errno;
    ssize_t ignored = write(status_pipe[1], &err, sizeof(err));
    (void)ignored;
    _exit(127);
  }
  setpgid(pid, pid);  // also from the parent, so the group exists before we might signal it
  close(status_pipe[1]);
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(status_pipe[0], &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  close(status_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof(child_errno))) {
    int status;
    waitpid(pid, &status, 0);
    return MakeError("cannot execute " + argv[0] + ": " + std::strerror(child_errno));
  }
  return pid;
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void CurlGlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

size_t CollectBody(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}

size_t CollectHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string line(data, size * nmemb);
  if (line.rfind("HTTP/", 0) == 0) {
    headers->clear();  // a new response (after 100-continue): keep only the final one's headers
  } else if (std::size_t colon = line.find(':'); colon != std::string::npos) {
    (*headers)[Lower(Trim(line.substr(0, colon)))] = Trim(line.substr(colon + 1));
  }
  return size * nmemb;
}

SimpleResponse Perform(const std::string& url, const std::string* post_body, double timeout_seconds,
                       const std::vector<std::string>& headers, const char* custom_method = nullptr) {
  CurlGlobalInit();
  SimpleResponse r;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    r.error = "curl_easy_init failed";
    return r;
  }
  curl_slist* header_list = nullptr;
  for (const std::string& h : headers) header_list = curl_slist_append(header_list, h.c_str());
  char error_buffer[CURL_ERROR_SIZE] = {0};
  const long timeout_ms = static_cast<long>(timeout_seconds * 1000);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  // Tests talk to loopback only; a proxy from the environment would break (or log) every request.
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 5000L));
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  if (header_list != nullptr) curl_easy_setopt(curl, CURLOPT_HTTPHEADER, header_list);
  if (custom_method != nullptr) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, custom_method);
  if (post_body != nullptr) {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post_body->size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  double seconds = 0;
  curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &seconds);
  r.seconds = seconds;
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  } else {
    r.status = 0;
    r.error = error_buffer[0] != '\0' ? std::string(error_buffer) : std::string(curl_easy_strerror(rc));
  }
  curl_slist_free_all(header_list);
  curl_easy_cleanup(curl);
  return r;
}

std::string UrlEncode(const std::string& s) {
  std::ostringstream out;
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out << c;
    } else {
      out << '%' << kHex[c >> 4] << kHex[c & 15];
    }
  }
  return out.str();
}

std::string FindInBuildTree(const std::string& name) {
  std::error_code ec;
  std::string best;
  fs::recursive_directory_iterator it(ESTATE_BINARY_DIR, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (entry.is_directory(ec) && entry.path().filename() == "CMakeFiles") {
      it.disable_recursion_pending();
      continue;
    }
    if (entry.path().filename() != name || !entry.is_regular_file(ec)) continue;
    if (access(entry.path().c_str(), X_OK) != 0) continue;
    // The shallowest match wins, so a stray copy deep in the tree never shadows the real target.
    std::string path = entry.path().string();
    if (best.empty() || path.size() < best.size()) best = path;
  }
  return best;
}

std::string FindInPath(const std::string& name) {
  const char* path_env = std::getenv("PATH");
  std::string dirs = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    fs::path candidate = fs::path(dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

Result<Ok> WaitReady(ChildProcess& process, const std::string& url, const std::string& what) {
  const auto deadline = Clock::now() + kReadyDeadline;
  while (Clock::now() < deadline) {
    if (!process.Running()) {
      return MakeError(what + " exited before it was ready; its log:\n" + Tail(process.Log()));
    }
    if (HttpGet(url, 1).status == 200) return Ok{};
    std::this_thread::sleep_for(milliseconds(100));
  }
  return MakeError(what + " not ready at " + url + " after 30 s; its log:\n" + Tail(process.Log()));
}

}  // namespace

// ---- ports, directories, processes ----------------------------------------------------------------------

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("FreePort: socket");
    std::abort();
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("FreePort: bind");
    std::abort();
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/estate-e2e-XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    std::fprintf(stderr, "TempDir: mkdtemp(%s): %s\n", pattern.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (const char* keep = std::getenv("ESTATE_KEEP_TEMP"); keep != nullptr && std::string(keep) == "1") {
    std::fprintf(stderr, "TempDir: keeping %s (ESTATE_KEEP_TEMP=1)\n", path_.c_str());
    return;
  }
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string TempDir::Write(const std::string& name, const std::string& content) const {
  fs::path path = fs::path(path_) / name;
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return path.string();
}

ChildProcess::~ChildProcess() { Stop(); }

Result<Ok> ChildProcess::Start(const std::vector<std::string>& argv, const std::string& log_path,
                               const std::map<std::string, std::string>& extra_env) {
  if (pid_ > 0 && !reaped_) return MakeError("process already started (pid " + std::to_string(pid_) + ")");
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return MakeError("cannot open log " + log_path + ": " + std::strerror(errno));
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  Result<pid_t> pid = Spawn(argv, null_fd, log_fd, extra_env);
  close(log_fd);
  if (null_fd >= 0) close(null_fd);
  if (!pid.ok()) return MakeError(pid.error());
  pid_ = *pid;
  reaped_ = false;
  status_ = -1;
  log_path_ = log_path;
  return Ok{};
}

bool ChildProcess::Running() {
  if (pid_ <= 0 || reaped_) return false;
  int status;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reaped_ = true;
    status_ = status;
    return false;
  }
  return r == 0;
}

void ChildProcess::Signal(int sig) {
  if (Running()) kill(pid_, sig);
}

int ChildProcess::Wait(milliseconds deadline) {
  if (pid_ <= 0) return status_;
  const auto until = Clock::now() + deadline;
  while (Running()) {
    if (Clock::now() >= until) return -1;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return status_;
}

int ChildProcess::Stop(milliseconds grace) {
  if (pid_ <= 0) return status_;
  if (!reaped_) {
    kill(-pid_, SIGTERM);
    const auto deadline = Clock::now() + grace;
    while (Running() && Clock::now() < deadline) std::this_thread::sleep_for(milliseconds(20));
    if (!reaped_) {
      kill(-pid_, SIGKILL);
      int status;
      if (waitpid(pid_, &status, 0) == pid_) status_ = status;
      reaped_ = true;
    }
  }
  // Whatever the leader left behind in its group goes too. Only once: afterwards the id may be reused.
  kill(-pid_, SIGKILL);
  pid_ = -1;
  return status_;
}

std::string ChildProcess::Log() const { return log_path_.empty() ? "" : ReadAll(log_path_); }

CommandResult RunCommand(const std::vector<std::string>& argv, const std::string& stdin_path) {
  CommandResult result;
  int in_fd = open(stdin_path.empty() ? "/dev/null" : stdin_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) {
    result.error = "cannot open " + stdin_path + ": " + std::strerror(errno);
    return result;
  }
  int out_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    result.error = std::string("pipe2: ") + std::strerror(errno);
    close(in_fd);
    return result;
  }
  Result<pid_t> pid = Spawn(argv, in_fd, out_pipe[1], {});
  close(in_fd);
  close(out_pipe[1]);
  if (!pid.ok()) {
    close(out_pipe[0]);
    result.error = pid.error();
    return result;
  }
  char buf[4096];
  for (;;) {
    ssize_t n = read(out_pipe[0], buf, sizeof(buf));
    if (n > 0) {
      result.output.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(out_pipe[0]);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = DecodeStatus(status);
  return result;
}

std::string ChromiumDumpDom(const std::string& url, const TempDir& dir, std::string* error,
                            int virtual_time_ms) {
  const std::string chromium = BinaryPath("chromium");
  const std::string timeout = BinaryPath("timeout");
  if (chromium.empty() || timeout.empty()) {
    *error = "chromium or timeout (coreutils) is not installed";
    return "";
  }
  auto r =
      RunCommand({timeout, "-k", "5", "60", chromium, "--headless", "--disable-gpu", "--no-sandbox",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
                  "--disable-background-networking", "--user-data-dir=" + dir.path() + "/chromium-profile",
                  "--virtual-time-budget=" + std::to_string(virtual_time_ms), "--dump-dom", url});
  if (r.exit_code != 0) {
    *error = "chromium exit " + std::to_string(r.exit_code) + ": " + r.error + "\n" + r.output;
    return "";
  }
  return r.output;
}

// ---- HTTP -----------------------------------------------------------------------------------------------

SimpleResponse HttpGet(const std::string& url, double timeout_seconds,
                       const std::vector<std::string>& headers) {
  return Perform(url, nullptr, timeout_seconds, headers);
}

SimpleResponse HttpPost(const std::string& url, const std::string& body, double timeout_seconds,
                        const std::vector<std::string>& headers) {
  return Perform(url, &body, timeout_seconds, headers);
}

long HttpDelete(const std::string& url, double timeout_seconds) {
  return Perform(url, nullptr, timeout_seconds, {}, "DELETE").status;
}

std::string RawHttpExchange(int port, const std::string& request, bool* closed, int deadline_ms) {
  bool dummy = false;
  if (closed == nullptr) closed = &dummy;
  *closed = false;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    timeval tv{deadline_ms / 1000, (deadline_ms % 1000) * 1000};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (write(s, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[65536];
      ssize_t n;
      while ((n = read(s, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
      *closed = n == 0;
    }
  }
  close(s);
  return out;
}

bool WaitHttpOk(const std::string& url, milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  for (;;) {
    if (HttpGet(url, 1).status == 200) return true;
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(milliseconds(100));
  }
}

std::string BinaryPath(const std::string& name) {
  static std::mutex mu;
  static std::map<std::string, std::string> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(name); it != cache.end()) return it->second;
  std::string path = name.find('/') != std::string::npos ? name : FindInBuildTree(name);
  if (path.empty()) path = FindInPath(name);
  cache[name] = path;
  return path;
}

// ---- Prometheus -----------------------------------------------------------------------------------------

PrometheusServer::PrometheusServer(Options options) : options_(std::move(options)) {}

Result<Ok> PrometheusServer::Start(const TempDir& dir) {
  const std::string prometheus = BinaryPath("prometheus");
  const std::string promtool = BinaryPath("promtool");
  if (prometheus.empty() || promtool.empty()) {
    return MakeError("prometheus/promtool not found in PATH; install the Debian package 'prometheus'");
  }
  port_ = FreePort();
  std::ostringstream yml;
  yml << "# Written by estate::testing::PrometheusServer.\n"
      << "global:\n"
      << "  scrape_interval: " << options_.scrape_interval << "\n"
      << "  evaluation_interval: " << options_.evaluation_interval << "\n";
  if (!options_.rule_files.empty()) {
    yml << "rule_files:\n";
    for (const std::string& f : options_.rule_files) yml << "  - " << nlohmann::json(f).dump() << "\n";
  }
  if (!options_.alertmanager_url.empty()) {
    std::string target = options_.alertmanager_url;
    if (std::size_t scheme = target.find("://"); scheme != std::string::npos)
      target = target.substr(scheme + 3);
    yml << "alerting:\n"
        << "  alertmanagers:\n"
        << "    - static_configs:\n"
        << "        - targets: [" << nlohmann::json(target).dump() << "]\n";
  }
  // Accept the list with or without its "scrape_configs:" key.
  std::string scrape = options_.scrape_configs_yaml;
  static constexpr std::string_view kSelf = "{{prometheus_address}}";
  const std::string self = "127.0.0.1:" + std::to_string(port_);
  for (std::size_t at = scrape.find(kSelf); at != std::string::npos;
       at = scrape.find(kSelf, at + self.size())) {
    scrape.replace(at, kSelf.size(), self);
  }
  if (Trim(scrape).empty()) {
    yml << "scrape_configs: []\n";
  } else if (Trim(scrape).rfind("scrape_configs:", 0) == 0) {
    yml << scrape << "\n";
  } else {
    yml << "scrape_configs:\n" << scrape << "\n";
  }
  const std::string config = dir.Write("prometheus.yml", yml.str());

  CommandResult check = RunCommand({promtool, "check", "config", config});
  if (check.exit_code != 0) {
    return MakeError("promtool check config failed (" + (check.error.empty() ? check.output : check.error) +
                     ")\nconfig:\n" + yml.str());
  }
  Result<Ok> started = process_.Start(
      {prometheus, "--web.listen-address=127.0.0.1:" + std::to_string(port_),
       "--storage.tsdb.path=" + dir.path() + "/data", "--config.file=" + config, "--web.enable-lifecycle",
       // Alerts fired before the Alertmanager is discovered are dropped and would otherwise be resent
       // only a minute later.
       "--rules.alert.resend-delay=1s"},
      dir.path() + "/prometheus.log");
  if (!started.ok()) return started;
  return WaitReady(process_, url() + "/-/ready", "prometheus");
}

Result<nlohmann::json> PrometheusServer::Query(const std::string& promql) {
  SimpleResponse r = HttpGet(url() + "/api/v1/query?query=" + UrlEncode(promql), 5);
  if (r.status == 0) return MakeError("query " + promql + ": " + r.error);
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded())
    return MakeError("query " + promql + ": HTTP " + std::to_string(r.status) + ", not JSON");
  if (body.value("status", "") != "success") {
    return MakeError("query " + promql + ": " + body.value("errorType", "") + ": " + body.value("error", "") +
                     " (HTTP " + std::to_string(r.status) + ")");
  }
  if (!body.contains("data") || !body["data"].contains("result"))
    return MakeError("query " + promql + ": no data");
  return body["data"]["result"];
}

Result<nlohmann::json> PrometheusServer::WaitForResult(const std::string& promql, milliseconds deadline) {
  const auto until = Clock::now() + deadline;
  std::string last = "no samples";
  for (;;) {
    Result<nlohmann::json> r = Query(promql);
    if (r.ok() && r->is_array() && !r->empty()) return r;
    if (!r.ok()) last = r.error();
    if (Clock::now() >= until) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  return MakeError("no result for " + promql + " within " + std::to_string(deadline.count()) + " ms (" +
                   last + ")");
}

// ---- Alertmanager ---------------------------------------------------------------------------------------

Result<Ok> AlertmanagerServer::Start(const TempDir& dir, const std::string& config_yaml) {
  const std::string alertmanager = BinaryPath("prometheus-alertmanager");
  if (alertmanager.empty()) {
    return MakeError("prometheus-alertmanager not found in PATH; install the Debian package of that name");
  }
  const std::string config = dir.Write(
      "alertmanager.yml", !config_yaml.empty() ? config_yaml
                                               : "# Written by estate::testing::AlertmanagerServer.\n"
                                                 "route:\n"
                                                 "  receiver: \"null\"\n"
                                                 "  group_wait: 1s\n"
                                                 "  group_interval: 1s\n"
                                                 "  repeat_interval: 1h\n"
                                                 "receivers:\n"
                                                 "  - name: \"null\"\n");
  port_ = FreePort();
  Result<Ok> started = process_.Start(
      {alertmanager, "--web.listen-address=" + address(),
       "--cluster.listen-address=", "--storage.path=" + dir.path() + "/am", "--config.file=" + config},
      dir.path() + "/alertmanager.log");
  if (!started.ok()) return started;
  return WaitReady(process_, url() + "/-/ready", "alertmanager");
}

// ---- the demo's simulated estate --------------------------------------------------------------------------

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

Result<Ok> DemoEstate::Start(const TempDir& dir) {
  const std::string sim = BinaryPath("estate-simestate");
  if (sim.empty()) return MakeError("estate-simestate was not built");
  const std::string source = SourceDir();
  std::string config = ReadFileOrDie(source + "/tools/simestate/estate.demo.yml");
  config = std::regex_replace(config, std::regex(R"(\bport: \d+)"), "port: 0");
  config = ReplaceAll(config, "data: data/", "data: " + source + "/tools/simestate/data/");
  const std::string ports_file = dir.path() + "/simestate-ports.json";
  Result<Ok> started = process_.Start(
      {sim, "--config.file=" + dir.Write("estate.demo.yml", config), "--ports.file=" + ports_file},
      dir.path() + "/simestate.log");
  if (!started.ok()) return started;
  for (const auto deadline = Clock::now() + milliseconds(20000);;
       std::this_thread::sleep_for(milliseconds(50))) {
    std::error_code ec;
    if (fs::file_size(ports_file, ec) > 0 && !ec) {
      nlohmann::json ports =
          nlohmann::json::parse(ReadFileOrDie(ports_file), nullptr, /*allow_exceptions=*/false);
      if (ports.is_object() && ports.contains("_control")) {
        ports_ = std::move(ports);
        return Ok{};
      }
    }
    if (!process_.Running()) return MakeError("simestate exited; its log:\n" + Tail(process_.Log()));
    if (Clock::now() > deadline)
      return MakeError("simestate wrote no ports file; its log:\n" + Tail(process_.Log()));
  }
}

std::string DemoEstate::control_url() const {
  return "http://127.0.0.1:" + std::to_string(ports_.value("_control", 0));
}

std::string DemoEstate::RenderDemoConfig(const std::string& name, const std::string& state_dir,
                                         const std::string& exporter_address) const {
  const std::string source = SourceDir();
  std::string text = ReadFileOrDie(source + "/packaging/demo/" + name);
  text = ReplaceAll(text, "{{source_dir}}", source);
  text = ReplaceAll(text, "{{state_dir}}", state_dir);
  text = ReplaceAll(text, "{{exporter_address}}", exporter_address);
  for (const auto& [upstream, port] : ports_.items()) {
    if (port.is_number_integer()) {
      text =
          ReplaceAll(text, "{{simestate:" + upstream + "}}", "127.0.0.1:" + std::to_string(port.get<int>()));
    }
  }
  return text;
}

Result<nlohmann::json> AlertmanagerServer::Alerts() {
  SimpleResponse r = HttpGet(url() + "/api/v2/alerts", 5);
  if (r.status != 200) {
    return MakeError("GET /api/v2/alerts: " + (r.status == 0 ? r.error : "HTTP " + std::to_string(r.status)));
  }
  nlohmann::json body = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_array()) return MakeError("GET /api/v2/alerts: not a JSON array");
  return body;
}

std::vector<std::string> AlertmanagerServer::AlertNames() {
  std::set<std::string> names;
  Result<nlohmann::json> alerts = Alerts();
  if (!alerts.ok()) return {};
  for (const nlohmann::json& a : *alerts) {
    const nlohmann::json& status = a.contains("status") ? a["status"] : nlohmann::json::object();
    if (status.value("state", "active") != "active") continue;
    if (a.contains("labels") && a["labels"].contains("alertname") && a["labels"]["alertname"].is_string()) {
      names.insert(a["labels"]["alertname"].get<std::string>());
    }
  }
  return {names.begin(), names.end()};
}

std::string Gunzip(std::string_view gz) {
  // Exactly one gzip member, as curl --compressed, browsers and wget read: a second member after the first,
  // or anything else after its trailer, is an error here.
  std::string out;
  char buf[65536];
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return {};
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
  zs.avail_in = static_cast<uInt>(gz.size());
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  } while (rc == Z_OK);
  const bool whole = rc == Z_STREAM_END && zs.avail_in == 0;
  inflateEnd(&zs);
  return whole ? out : std::string();
}

// ---- TLS certificates -----------------------------------------------------------------------------------

Result<TestPki> MakeTestPki(const TempDir& dir) {
  const std::string openssl = BinaryPath("openssl");
  if (openssl.empty()) return MakeError("openssl not found in PATH");
  const std::string d = dir.path() + "/pki";
  std::error_code ec;
  fs::create_directories(d, ec);
  auto run = [&](std::vector<std::string> argv) -> Result<Ok> {
    argv.insert(argv.begin(), openssl);
    CommandResult r = RunCommand(argv);
    if (r.exit_code == 0) return Ok{};
    std::string line;
    for (const auto& a : argv) line += a + " ";
    return MakeError(line + "failed (" + std::to_string(r.exit_code) + "): " + r.error + r.output);
  };
  const std::vector<std::string> ec_key = {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  Result<Ok> r = run(with(
      {"req", "-x509"}, with(ec_key, {"-keyout", d + "/ca.key", "-out", d + "/ca.crt", "-days", "2", "-subj",
                                      "/CN=estate-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                                      "-addext", "keyUsage=critical,keyCertSign,cRLSign"})));
  if (!r.ok()) return MakeError(r.error());
  // A leaf's key and signing request, then its certificate signed by the CA; returns the combined PEM's path.
  auto leaf = [&](const std::string& name, const std::string& cn, const std::string& san,
                  bool expired) -> Result<std::string> {
    const std::string base = d + "/" + name;
    Result<Ok> step =
        run(with({"req", "-new"},
                 with(ec_key, {"-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + cn})));
    if (!step.ok()) return MakeError(step.error());
    if (!expired) {
      dir.Write("pki/" + name + ".ext", "subjectAltName = " + san + "\n");
      step = run({"x509", "-req", "-in", base + ".csr", "-CA", d + "/ca.crt", "-CAkey", d + "/ca.key",
                  "-set_serial", std::to_string(100 + name.size()), "-days", "2", "-extfile", base + ".ext",
                  "-out", base + ".crt"});
    } else {
      // `openssl x509` cannot backdate in OpenSSL 3.0; `openssl ca` can, with a minimal CA config.
      dir.Write("pki/index.txt", "");
      dir.Write("pki/serial", "1000\n");
      dir.Write("pki/ca.cnf", "[ca]\ndefault_ca = test_ca\n[test_ca]\ndatabase = " + d +
                                  "/index.txt\nnew_certs_dir = " + d + "\nserial = " + d +
                                  "/serial\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n"
                                  "[leaf]\nsubjectAltName = " +
                                  san + "\n");
      step = run({"ca", "-batch", "-config", d + "/ca.cnf", "-cert", d + "/ca.crt", "-keyfile", d + "/ca.key",
                  "-in", base + ".csr", "-out", base + ".crt", "-startdate", "20200101000000Z", "-enddate",
                  "20200102000000Z", "-extensions", "leaf", "-notext"});
    }
    if (!step.ok()) return MakeError(step.error());
    return dir.Write("pki/" + name + ".pem", ReadAll(base + ".crt") + ReadAll(base + ".key"));
  };
  TestPki pki;
  pki.ca_file = d + "/ca.crt";
  Result<std::string> pem = leaf("good", "127.0.0.1", "IP:127.0.0.1", false);
  if (!pem.ok()) return MakeError(pem.error());
  pki.good_pem = *pem;
  pem = leaf("wrong-name", "other.invalid", "DNS:other.invalid", false);
  if (!pem.ok()) return MakeError(pem.error());
  pki.wrong_name_pem = *pem;
  pem = leaf("expired", "127.0.0.1", "IP:127.0.0.1", true);
  if (!pem.ok()) return MakeError(pem.error());
  pki.expired_pem = *pem;
  return pki;
}

// ---- TCP forwarder --------------------------------------------------------------------------------------

struct TcpForwarder::Shared {
  struct Connection {
    int client = -1;
    int upstream = -1;
    std::shared_ptr<std::atomic<bool>> done;
    std::thread pump;
  };

  std::mutex mu;
  int listen_fd = -1;
  std::atomic<int> target{0};
  std::atomic<bool> stopping{false};
  std::list<Connection> connections;  // fds are closed only here, under mu, after the pump has finished
  std::thread acceptor;

  static int ConnectLoopback(int port) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
      close(fd);
      return -1;
    }
    return fd;
  }

  // An abortive close (RST) of fd, so that a reset passes through: shutdown() would send a FIN, only a close
  // with linger 0 sends a RST. dup2() of a fresh unconnected socket closes the connection and keeps the fd
  // number valid until Reap() closes it.
  static void Abort(int fd) {
    linger abort{};
    abort.l_onoff = 1;
    abort.l_linger = 0;
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    int placeholder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (placeholder < 0) {
      (void)shutdown(fd, SHUT_RDWR);
      return;
    }
    (void)dup3(placeholder, fd, O_CLOEXEC);
    close(placeholder);
  }

  static void Pump(int a, int b, std::shared_ptr<std::atomic<bool>> done) {
    char buf[65536];
    pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
    for (;;) {
      int n = poll(fds, 2, 1000);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      bool finished = false;
      for (int i = 0; i < 2 && !finished; ++i) {
        if (fds[i].revents == 0) continue;
        const int from = fds[i].fd;
        const int to = fds[1 - i].fd;
        ssize_t got = recv(from, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          if (got < 0 && errno == ECONNRESET) {
            Abort(to);
          } else {
            (void)shutdown(to, SHUT_RDWR);
          }
          finished = true;
          break;
        }
        for (ssize_t off = 0; off < got && !finished;) {
          ssize_t put = send(to, buf + off, static_cast<std::size_t>(got - off), MSG_NOSIGNAL);
          if (put < 0 && errno == EINTR) continue;
          if (put <= 0) {
            (void)shutdown(from, SHUT_RDWR);
            finished = true;
          } else {
            off += put;
          }
        }
      }
      if (finished) break;
    }
    done->store(true);
  }

  // Joins and closes finished connections; with all=true, cuts and joins every one.
  void Reap(bool all) {
    std::list<Connection> finished;
    {
      std::lock_guard lock(mu);
      for (auto it = connections.begin(); it != connections.end();) {
        if (all && !it->done->load()) {
          (void)shutdown(it->client, SHUT_RDWR);
          (void)shutdown(it->upstream, SHUT_RDWR);
        }
        if (all || it->done->load()) {
          finished.splice(finished.end(), connections, it++);
        } else {
          ++it;
        }
      }
    }
    for (auto& c : finished) {
      if (c.pump.joinable()) c.pump.join();
      close(c.client);
      close(c.upstream);
    }
  }

  void Accept() {
    while (!stopping.load()) {
      pollfd pfd{listen_fd, POLLIN, 0};
      if (poll(&pfd, 1, 100) <= 0) continue;
      int client = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      Reap(false);
      int upstream = ConnectLoopback(target.load());
      if (upstream < 0) {
        Abort(client);
        close(client);
        continue;
      }
      auto done = std::make_shared<std::atomic<bool>>(false);
      std::lock_guard lock(mu);
      connections.push_back({client, upstream, done, std::thread(&Shared::Pump, client, upstream, done)});
    }
  }
};

TcpForwarder::~TcpForwarder() { Stop(); }

Result<Ok> TcpForwarder::Start(int target_port) {
  if (shared_) return MakeError("forwarder already started");
  auto shared = std::make_shared<Shared>();
  shared->target = target_port;
  shared->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (shared->listen_fd < 0) return MakeError(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (bind(shared->listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(shared->listen_fd, 128) != 0 ||
      getsockname(shared->listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string error = std::string("forwarder cannot listen: ") + std::strerror(errno);
    close(shared->listen_fd);
    return MakeError(error);
  }
  port_ = ntohs(addr.sin_port);
  shared->acceptor = std::thread(&Shared::Accept, shared.get());
  shared_ = std::move(shared);
  return Ok{};
}

void TcpForwarder::SetTarget(int target_port) {
  if (!shared_) return;
  shared_->target = target_port;
  std::lock_guard lock(shared_->mu);
  for (auto& c : shared_->connections) {
    if (c.done->load()) continue;
    (void)shutdown(c.client, SHUT_RDWR);
    (void)shutdown(c.upstream, SHUT_RDWR);
  }
}

void TcpForwarder::Stop() {
  if (!shared_) return;
  shared_->stopping = true;
  if (shared_->acceptor.joinable()) shared_->acceptor.join();
  shared_->Reap(true);
  close(shared_->listen_fd);
  shared_.reset();
}

// ---- process memory -------------------------------------------------------------------------------------

ProcessMemory ReadProcessMemory(pid_t pid) {
  ProcessMemory out;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    long long kb = 0;
    if (std::sscanf(line.c_str(), "VmRSS: %lld kB", &kb) == 1) out.rss_bytes = kb * 1024;
    if (std::sscanf(line.c_str(), "VmHWM: %lld kB", &kb) == 1) out.peak_rss_bytes = kb * 1024;
  }
  return out;
}

// ---- exposition ------------------------------------------------------------------------------------------

std::vector<MetricSample> ParseMetricSamples(const std::string& text) {
  std::vector<MetricSample> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    MetricSample s;
    std::size_t i = line.find_first_of("{ ");
    if (i == std::string::npos) continue;
    s.name = line.substr(0, i);
    if (line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') break;
        std::string key = line.substr(i, eq - i);
        std::string value;
        std::size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value += line[j] == 'n' ? '\n' : line[j];
          } else {
            value += line[j];
          }
        }
        s.labels[key] = value;
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      i = line.find(' ', i);
      if (i == std::string::npos) continue;
    }
    char* end = nullptr;
    const std::string number = line.substr(i + 1);
    s.value = std::strtod(number.c_str(), &end);
    if (end == number.c_str()) continue;
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<double> SampleValue(const std::vector<MetricSample>& samples, const std::string& name,
                                  const std::map<std::string, std::string>& labels) {
  for (const MetricSample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) {
        match = false;
        break;
      }
    }
    if (match) return s.value;
  }
  return std::nullopt;
}

}  // namespace estate::testing
