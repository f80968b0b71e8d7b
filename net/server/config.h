// sluiced's configuration: defaults, a YAML file, SLUICE_* environment
// variables and command-line flags, in rising precedence (a flag beats the
// environment, which beats the file, which beats the default). Every
// setting has all three spellings:
//
//   flag              environment          YAML key
//   --client-port N   SLUICE_CLIENT_PORT   client-port: N   (or client_port)
//
// The table is in config.cc (kSettings); docs/operations.md lists it.
// load_config() is a pure function of its inputs, so tests drive it
// without a process.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/broker/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/common/types.h"
#include "net/server/log.h"
#include "net/server/peer_transport.h"

namespace sluice::net {

inline constexpr std::uint16_t kDefaultClientPort = 50000;
inline constexpr std::uint16_t kDefaultPeerPort = 50001;
inline constexpr std::uint16_t kDefaultHttpPort = 8080;

struct ServerConfig {
  NodeId id{1};
  // Every voter with its peer address, self included; empty: a single node.
  std::map<NodeId, PeerAddress> peers;
  // Start with no voters of our own and wait for a leader to add this node
  // (`sluice cluster add`); `peers` then names the current members, whose
  // addresses this node needs to answer them, and may leave self out.
  bool join = false;
  std::string data_dir = "./data";
  std::string bind = "0.0.0.0";
  std::uint16_t client_port = kDefaultClientPort;  // 0: any free port
  std::uint16_t peer_port = kDefaultPeerPort;
  std::uint16_t http_port = kDefaultHttpPort;
  std::string cluster = "sluice";
  LogFormat log_format = LogFormat::text;
  LogLevel log_level = LogLevel::info;
  Duration tick = Duration::millis(20);
  std::uint64_t election_ticks = 15;       // election timeout = tick * [15, 29]
  std::uint64_t heartbeat_ticks = 3;
  // Applied entries between compactions of the log into a snapshot; 0:
  // never. A follower that falls behind the snapshot catches up by
  // InstallSnapshot instead of the log.
  std::uint64_t snapshot_every = 10'000;
  Duration shutdown_timeout = Duration::seconds(10);  // transfer + drain, each
  // The broker's limits (limit_settings.h has their flags and ranges).
  broker::Limits limits;
  std::string config_file;  // where the YAML came from, if any
};

struct ConfigOutcome {
  enum class Kind { run, help, version, error };
  Kind kind = Kind::run;
  ServerConfig config;
  std::string text;  // help, version, or the error in words
};

struct ConfigInputs {
  std::vector<std::string> args;  // without argv[0]
  // Looks up an environment variable; nullptr if unset.
  std::function<const char*(const char*)> getenv;
  // For --peers-dns without --id: the pod's hostname ends in -<ordinal>.
  std::string hostname;
};

ConfigOutcome load_config(const ConfigInputs& inputs);

// The text of --help.
std::string config_help();

}  // namespace sluice::net
