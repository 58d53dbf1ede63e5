#include "estate/testing/e2e.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>

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
                       const std::vector<std::string>& headers) {
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

// ---- HTTP -----------------------------------------------------------------------------------------------

SimpleResponse HttpGet(const std::string& url, double timeout_seconds,
                       const std::vector<std::string>& headers) {
  return Perform(url, nullptr, timeout_seconds, headers);
}

SimpleResponse HttpPost(const std::string& url, const std::string& body, double timeout_seconds) {
  return Perform(url, &body, timeout_seconds, {});
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

Result<Ok> AlertmanagerServer::Start(const TempDir& dir) {
  const std::string alertmanager = BinaryPath("prometheus-alertmanager");
  if (alertmanager.empty()) {
    return MakeError("prometheus-alertmanager not found in PATH; install the Debian package of that name");
  }
  const std::string config = dir.Write("alertmanager.yml",
                                       "# Written by estate::testing::AlertmanagerServer.\n"
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

}  // namespace estate::testing
