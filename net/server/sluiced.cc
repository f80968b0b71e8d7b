// sluiced: one Sluice broker node (DESIGN section 7).
//
// Zero configuration runs a single node with data in ./data; see --help,
// docs/operations.md for flags, environment, YAML, ports and exit codes.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "net/server/config.h"
#include "net/server/server.h"

namespace {

enum Exit : int { kOk = 0, kRuntime = 1, kUsage = 2, kStorage = 3, kListen = 4 };

std::string hostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace sluice;
  using namespace sluice::net;

  ConfigInputs inputs;
  inputs.args.assign(argv + 1, argv + argc);
  inputs.getenv = [](const char* name) -> const char* { return std::getenv(name); };
  inputs.hostname = hostname();
  const ConfigOutcome outcome = load_config(inputs);
  switch (outcome.kind) {
    case ConfigOutcome::Kind::help:
    case ConfigOutcome::Kind::version:
      std::fputs(outcome.text.c_str(), stdout);
      return kOk;
    case ConfigOutcome::Kind::error:
      std::fprintf(stderr, "sluiced: %s\n", outcome.text.c_str());
      return kUsage;
    case ConfigOutcome::Kind::run:
      break;
  }
  const ServerConfig& config = outcome.config;
  Logger log(config.log_format, config.log_level);
  // A peer that vanishes mid-write must not kill us with SIGPIPE; Asio
  // reports EPIPE instead.
  std::signal(SIGPIPE, SIG_IGN);

  boost::asio::io_context loop(1);
  auto opened = Server::open(loop, config, log);
  if (auto* error = std::get_if<Server::OpenError>(&opened)) {
    const bool storage = error->stage == Server::Stage::store;
    log.error(storage ? "startup.storage_failed" : "startup.listen_failed")
        .s("data", config.data_dir)
        .s("error", error->status.to_string());
    return storage ? kStorage : kListen;
  }
  auto& server = *std::get<std::unique_ptr<Server>>(opened);

  int exit_code = kOk;
  server.host().on_poisoned([&](const std::string& why) {
    log.error("node.exit").s("why", why).s("note", "restart the process; it recovers from what is on disk");
    exit_code = kRuntime;
    server.stop_now();
    loop.stop();
  });

  boost::asio::signal_set signals(loop, SIGTERM, SIGINT);
  int signals_seen = 0;
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int signo) {
        if (ec) return;
        ++signals_seen;
        if (signals_seen == 1) {
          log.info("signal").s("signal", signo == SIGTERM ? "SIGTERM" : "SIGINT").s("action", "graceful shutdown");
          server.shutdown([&] {
            signals.cancel();
            loop.stop();
          });
          signals.async_wait(on_signal);
        } else {
          log.warn("signal").s("action", "second signal: stopping at once");
          server.stop_now();
          loop.stop();
        }
      };
  signals.async_wait(on_signal);

  server.start();
  loop.run();
  return exit_code;
}
