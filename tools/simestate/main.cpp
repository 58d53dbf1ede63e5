// estate-simestate: the simulated estate used by the demo and the tests. Serves recorded upstream responses
// from directories named in a YAML config, one port per upstream, with faults injected from the config or at
// run time through a control API. See README.md.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "estate/log.h"
#include "simestate.h"
#include "simestate_config.h"

namespace estate::simestate {
namespace {

constexpr char kUsage[] = R"(usage: estate-simestate --config.file=PATH [flags]

Serves a simulated estate of fake upstream APIs from recorded responses.

Flags:
  --config.file=PATH     YAML config listing the upstreams (required)
  --config.check         validate the config and exit
  --listen-host=HOST     address every upstream and the control API bind to (default 127.0.0.1)
  --ports.file=PATH      once all are listening, write {"<upstream>": port, ..., "_control": port} here (JSON)
  --control.port=PORT    port of the control API (default 0 = pick a free one)
  --log.level=LEVEL      debug, info, warn or error (default info)
  --log.format=FORMAT    logfmt or json (default logfmt)
  -h, --help             show this help
)";

struct Flags {
  std::string config_file;
  bool config_check = false;
  std::string listen_host = "127.0.0.1";
  std::string ports_file;
  int control_port = 0;
  std::string log_level = "info";
  std::string log_format = "logfmt";
};

bool ParsePort(const std::string& text, int* out) {
  if (text.empty() || text.size() > 5) return false;
  int value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  if (value > 65535) return false;
  *out = value;
  return true;
}

// Accepts "--name=value" and "--name value". Returns false (after printing why) on a bad command line.
bool ParseFlags(int argc, char** argv, Flags* flags, bool* help) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      *help = true;
      return true;
    }
    if (arg == "--config.check") {
      flags->config_check = true;
      continue;
    }
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    std::string* target = nullptr;
    std::string control_port;
    if (name == "--config.file")
      target = &flags->config_file;
    else if (name == "--listen-host")
      target = &flags->listen_host;
    else if (name == "--ports.file")
      target = &flags->ports_file;
    else if (name == "--control.port")
      target = &control_port;
    else if (name == "--log.level")
      target = &flags->log_level;
    else if (name == "--log.format")
      target = &flags->log_format;
    if (target == nullptr) {
      std::fprintf(stderr, "estate-simestate: unknown flag %s (see --help)\n", name.c_str());
      return false;
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "estate-simestate: flag %s needs a value\n", name.c_str());
        return false;
      }
      value = argv[++i];
    }
    *target = value;
    if (target == &control_port && !ParsePort(control_port, &flags->control_port)) {
      std::fprintf(stderr, "estate-simestate: --control.port must be a port number, got %s\n", value.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int Run(int argc, char** argv) {
  Flags flags;
  bool help = false;
  if (!ParseFlags(argc, argv, &flags, &help)) return 2;
  if (help) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  log::Level level;
  log::Format format;
  if (!log::ParseLevel(flags.log_level, &level)) {
    std::fprintf(stderr, "estate-simestate: --log.level must be debug, info, warn or error\n");
    return 2;
  }
  if (!log::ParseFormat(flags.log_format, &format)) {
    std::fprintf(stderr, "estate-simestate: --log.format must be logfmt or json\n");
    return 2;
  }
  log::Configure(level, format);
  if (flags.config_file.empty()) {
    std::fprintf(stderr, "estate-simestate: --config.file is required\n%s", kUsage);
    return 2;
  }

  auto config = LoadConfig(flags.config_file);
  if (!config) {
    log::Error("invalid config", {{"file", flags.config_file}, {"err", config.error()}});
    return 1;
  }
  if (flags.config_check) {
    log::Info("config is valid",
              {{"file", flags.config_file}, {"upstreams", std::to_string(config->upstreams.size())}});
    return 0;
  }

  // Block the stop signals before any thread starts, so every thread inherits the mask and only sigwait()
  // below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  SimEstate sim(std::move(*config));
  if (auto started = sim.Start(flags.listen_host, flags.control_port); !started) {
    log::Error("cannot start", {{"err", started.error()}});
    return 1;
  }
  if (!flags.ports_file.empty()) {
    if (auto written = sim.WritePortsFile(flags.ports_file); !written) {
      log::Error("cannot write ports file", {{"err", written.error()}});
      return 1;
    }
    log::Info("ports file written", {{"file", flags.ports_file}});
  }
  log::Info("simulated estate ready", {{"upstreams", std::to_string(sim.Ports().size() - 1)}});

  int sig = 0;
  sigwait(&stop_signals, &sig);
  log::Info("stopping", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
  sim.Stop();
  log::Info("stopped");
  return 0;
}

}  // namespace estate::simestate

int main(int argc, char** argv) { return estate::simestate::Run(argc, argv); }
