#include "net/server/config.h"

#include <algorithm>
#include <charconv>
#include <exception>
#include <optional>
#include <sstream>

#include <boost/program_options.hpp>
#include <yaml-cpp/yaml.h>

#include "net/server/limit_settings.h"
#include "net/server/node_host.h"

namespace sluice::net {
namespace {

namespace po = boost::program_options;

struct Setting {
  const char* key;    // the flag without dashes, and the YAML key
  const char* env;
  const char* value;  // placeholder for --help
  const char* help;
};

// The one table of settings: flags, environment variables, YAML keys and
// --help all come from it.
constexpr Setting kSettings[] = {
    {"id", "SLUICE_ID", "N",
     "this node's id, 1 or more (default 1; with --peers-dns, the hostname's ordinal + 1)"},
    {"peers", "SLUICE_PEERS", "LIST",
     "every voter with its peer address, self included: 1=host:port,2=host:port,... (default: none, a single node)"},
    {"peers-dns", "SLUICE_PEERS_DNS", "PATTERN",
     "peer addresses from a pattern, {i} = ordinal 0..replicas-1, id = ordinal + 1: "
     "sluice-{i}.sluice-headless:50001"},
    {"replicas", "SLUICE_REPLICAS", "N", "how many voters --peers-dns names"},
    {"join", "SLUICE_JOIN", "true|false",
     "start empty, bootstrap nothing, and wait for the leader to add this node with `sluice cluster add`; "
     "--peers names the current members (default false; --join alone means true)"},
    {"data", "SLUICE_DATA", "DIR", "data directory (default ./data)"},
    {"bind", "SLUICE_BIND", "ADDRESS", "address every port listens on (default 0.0.0.0)"},
    {"client-port", "SLUICE_CLIENT_PORT", "PORT", "framed client port (default 50000; 0: any free port)"},
    {"peer-port", "SLUICE_PEER_PORT", "PORT", "port peers connect to (default 50001; 0: any free port)"},
    {"http-port", "SLUICE_HTTP_PORT", "PORT", "REST, WebSocket, /metrics, /healthz, /readyz (default 8080)"},
    {"cluster", "SLUICE_CLUSTER", "NAME", "cluster name; peers and clients of another cluster are refused (default sluice)"},
    {"log-format", "SLUICE_LOG_FORMAT", "text|json", "log lines as key=value text or JSON (default text)"},
    {"log-level", "SLUICE_LOG_LEVEL", "LEVEL", "debug, info, warn or error (default info)"},
    {"tick", "SLUICE_TICK", "DURATION", "Raft tick (default 20ms)"},
    {"election-ticks", "SLUICE_ELECTION_TICKS", "N", "election timeout in ticks, randomized up to twice (default 15)"},
    {"heartbeat-ticks", "SLUICE_HEARTBEAT_TICKS", "N", "leader heartbeat in ticks (default 3)"},
    {"snapshot-every", "SLUICE_SNAPSHOT_EVERY", "N",
     "applied log entries between snapshots that compact the log (default 10000; 0: never)"},
    {"shutdown-timeout", "SLUICE_SHUTDOWN_TIMEOUT", "DURATION",
     "on SIGTERM, the longest wait for a leadership transfer, and again for draining (default 10s)"},
};

struct Value {
  std::string text;
  std::string source;  // "--client-port", "SLUICE_CLIENT_PORT", "sluice.yaml: client-port"
};
using Values = std::map<std::string, Value>;

const Setting* find_setting(const std::string& key) {
  for (const Setting& s : kSettings) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

const LimitSetting* find_limit(const std::string& key) {
  for (const LimitSetting& s : limit_settings()) {
    if (key == s.key) return &s;
  }
  return nullptr;
}

// Every setting's flag (without dashes) and environment variable, limits too.
template <class F>
void for_each_key(F f) {
  for (const Setting& s : kSettings) f(s.key, s.env);
  for (const LimitSetting& s : limit_settings()) f(s.key, s.env);
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

template <class T>
std::optional<T> parse_number(const std::string& text) {
  T value{};
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

Status bad(const Value& v, const std::string& why) {
  return Status(Code::invalid_argument, v.source + ": '" + v.text + "' " + why);
}

// host:port, [v6]:port; `default_port` when the port is left out (0: required).
Result<PeerAddress> parse_address(const std::string& text, std::uint16_t default_port) {
  PeerAddress a;
  std::string port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string::npos) return Status(Code::invalid_argument, "unclosed [ in an address");
    a.host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return Status(Code::invalid_argument, "expected :port after ]");
      port_text = text.substr(close + 2);
    }
  } else {
    const auto colon = text.rfind(':');
    a.host = text.substr(0, colon);
    if (colon != std::string::npos) port_text = text.substr(colon + 1);
  }
  if (a.host.empty()) return Status(Code::invalid_argument, "no host");
  if (port_text.empty()) {
    if (default_port == 0) return Status(Code::invalid_argument, "no port (host:port)");
    a.port = default_port;
    return a;
  }
  const auto port = parse_number<std::uint32_t>(port_text);
  if (!port || *port == 0 || *port > 65535) return Status(Code::invalid_argument, "port '" + port_text + "' is not 1-65535");
  a.port = static_cast<std::uint16_t>(*port);
  return a;
}

Status parse_node_id(const Value& v, NodeId* out) {
  const auto n = parse_number<std::uint64_t>(trim(v.text));
  if (!n || *n == 0 || *n >= kFirstClientId) return bad(v, "is not a node id (1 to 2^32-1)");
  *out = NodeId(*n);
  return {};
}

Status parse_peers(const Value& v, std::map<NodeId, PeerAddress>* out) {
  std::stringstream in(v.text);
  std::string item;
  while (std::getline(in, item, ',')) {
    item = trim(item);
    if (item.empty()) continue;
    const auto eq = item.find('=');
    if (eq == std::string::npos) return bad(v, "has '" + item + "', expected id=host:port");
    NodeId id;
    if (Status s = parse_node_id(Value{item.substr(0, eq), v.source}, &id); !s.ok()) return s;
    auto address = parse_address(item.substr(eq + 1), 0);
    if (!address.ok()) return bad(v, "has '" + item + "': " + address.status().message());
    if (!out->emplace(id, *address).second) return bad(v, "names node " + to_string(id) + " twice");
  }
  if (out->empty()) return bad(v, "names no peers");
  return {};
}

Status parse_port(const Value& v, std::uint16_t* out) {
  const auto n = parse_number<std::uint32_t>(trim(v.text));
  if (!n || *n > 65535) return bad(v, "is not a port (0-65535)");
  *out = static_cast<std::uint16_t>(*n);
  return {};
}

Status parse_count(const Value& v, std::uint64_t lo, std::uint64_t hi, std::uint64_t* out) {
  const auto n = parse_number<std::uint64_t>(trim(v.text));
  if (!n || *n < lo || *n > hi) return bad(v, "is not a number from " + std::to_string(lo) + " to " + std::to_string(hi));
  *out = *n;
  return {};
}

Status parse_positive_duration(const Value& v, Duration max, Duration* out) {
  Duration d;
  if (!parse_duration(trim(v.text), &d) || d <= Duration{} || d > max) {
    return bad(v, "is not a duration from 1ns to " + format_duration(max) + " (500ms, 2s, 1m)");
  }
  *out = d;
  return {};
}

// The YAML file: a map of settings. peers may be a map {1: host:port} or a
// list [1=host:port], besides the flag's string.
Status read_yaml(const std::string& path, Values& values) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return Status(Code::invalid_argument, "config file " + path + ": cannot be read");
  } catch (const YAML::Exception& e) {
    return Status(Code::invalid_argument, "config file " + path + ": " + e.what());
  }
  if (root.IsNull()) return {};
  if (!root.IsMap()) return Status(Code::invalid_argument, "config file " + path + ": expected a map of settings");
  try {
    for (const auto& item : root) {
      std::string key = item.first.as<std::string>();
      std::replace(key.begin(), key.end(), '_', '-');
      const std::string source = path + ": " + key;
      if (find_setting(key) == nullptr && find_limit(key) == nullptr) {
        return Status(Code::invalid_argument, "config file " + path + ": unknown setting '" + key + "'");
      }
      const YAML::Node& node = item.second;
      std::string text;
      if (node.IsScalar()) {
        text = node.as<std::string>();
      } else if (key == "peers" && node.IsMap()) {
        for (const auto& peer : node) {
          if (!text.empty()) text += ',';
          text += peer.first.as<std::string>() + "=" + peer.second.as<std::string>();
        }
      } else if (key == "peers" && node.IsSequence()) {
        for (const auto& peer : node) {
          if (!text.empty()) text += ',';
          text += peer.as<std::string>();
        }
      } else {
        return Status(Code::invalid_argument, source + ": expected a single value");
      }
      values[key] = Value{text, source};
    }
  } catch (const YAML::Exception& e) {
    return Status(Code::invalid_argument, "config file " + path + ": " + e.what());
  }
  return {};
}

po::options_description flag_options() {
  po::options_description desc("Options (flag, then environment variable)");
  desc.add_options()("help,h", "print this help and exit");
  desc.add_options()("version", "print the version and exit");
  desc.add_options()("config", po::value<std::string>()->value_name("FILE"),
                     "YAML file with any of the settings below; SLUICE_CONFIG");
  for (const Setting& s : kSettings) {
    auto value = po::value<std::string>()->value_name(s.value);
    if (std::string_view(s.key) == "join") value->implicit_value("true");  // a flag alone: --join
    desc.add_options()(s.key, value, (std::string(s.help) + "; " + s.env).c_str());
  }
  return desc;
}

po::options_description limit_options() {
  static const char* const kPlaceholder[] = {"N", "BYTES", "DURATION"};
  po::options_description desc("Broker limits (a request over one gets a clear error; \"replicated\": the leader's value holds cluster-wide)");
  const broker::Limits defaults;
  for (const LimitSetting& s : limit_settings()) {
    auto value = po::value<std::string>()->value_name(kPlaceholder[static_cast<int>(s.unit)]);
    const std::string help = std::string(s.help) + " (default " + format_limit(s, s.get(defaults)) +
                             (is_replicated(s) ? ", replicated" : "") + "); " + s.env;
    desc.add_options()(s.key, value, help.c_str());
  }
  return desc;
}

po::options_description all_options() {
  po::options_description desc;
  desc.add(flag_options()).add(limit_options());
  return desc;
}

// Derives the node id from a StatefulSet pod's hostname: sluice-2 -> 3.
Result<NodeId> id_from_hostname(const std::string& hostname) {
  const auto dash = hostname.rfind('-');
  const auto ordinal = dash == std::string::npos ? std::nullopt : parse_number<std::uint64_t>(hostname.substr(dash + 1));
  if (!ordinal) {
    return Status(Code::invalid_argument, "--peers-dns without --id: cannot take an ordinal from hostname '" +
                                              hostname + "' (expected name-<ordinal>, as a StatefulSet gives); set --id");
  }
  return NodeId(*ordinal + 1);
}

Status resolve_peers(const Values& values, const std::string& hostname, ServerConfig& c) {
  const auto peers = values.find("peers");
  const auto dns = values.find("peers-dns");
  const auto replicas = values.find("replicas");
  if (peers != values.end() && dns != values.end()) {
    return Status(Code::invalid_argument, "both " + peers->second.source + " and " + dns->second.source +
                                              " are set; use one");
  }
  if (peers != values.end()) return parse_peers(peers->second, &c.peers);
  if (dns == values.end()) {
    if (replicas != values.end()) return Status(Code::invalid_argument, replicas->second.source + " needs --peers-dns");
    return {};
  }
  if (replicas == values.end()) return Status(Code::invalid_argument, dns->second.source + " needs --replicas");
  std::uint64_t n = 0;
  if (Status s = parse_count(replicas->second, 1, 99, &n); !s.ok()) return s;
  const std::string pattern = trim(dns->second.text);
  if (pattern.find("{i}") == std::string::npos) return bad(dns->second, "has no {i} for the ordinal");
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string host = pattern;
    for (auto at = host.find("{i}"); at != std::string::npos; at = host.find("{i}")) host.replace(at, 3, std::to_string(i));
    auto address = parse_address(host, c.peer_port == 0 ? kDefaultPeerPort : c.peer_port);
    if (!address.ok()) return bad(dns->second, address.status().message());
    c.peers.emplace(NodeId(i + 1), *address);
  }
  if (values.find("id") == values.end()) {
    auto id = id_from_hostname(hostname);
    if (!id.ok()) return id.status();
    c.id = *id;
  }
  return {};
}

Status resolve(const Values& values, const std::string& hostname, ServerConfig& c) {
  auto get = [&](const char* key) -> const Value* {
    auto it = values.find(key);
    return it == values.end() ? nullptr : &it->second;
  };
  Status s;
  auto check = [&](Status next) {
    if (s.ok()) s = std::move(next);
  };
  if (const Value* v = get("id")) check(parse_node_id(*v, &c.id));
  if (const Value* v = get("data")) {
    c.data_dir = trim(v->text);
    if (c.data_dir.empty()) check(bad(*v, "is empty"));
  }
  if (const Value* v = get("bind")) c.bind = trim(v->text);
  if (const Value* v = get("client-port")) check(parse_port(*v, &c.client_port));
  if (const Value* v = get("peer-port")) check(parse_port(*v, &c.peer_port));
  if (const Value* v = get("http-port")) check(parse_port(*v, &c.http_port));
  if (const Value* v = get("cluster")) {
    c.cluster = trim(v->text);
    if (c.cluster.empty()) check(bad(*v, "is empty"));
  }
  if (const Value* v = get("log-format")) {
    if (auto f = parse_log_format(trim(v->text))) c.log_format = *f; else check(bad(*v, "is not text or json"));
  }
  if (const Value* v = get("log-level")) {
    if (auto l = parse_log_level(trim(v->text))) c.log_level = *l; else check(bad(*v, "is not debug, info, warn or error"));
  }
  if (const Value* v = get("tick")) check(parse_positive_duration(*v, Duration::seconds(1), &c.tick));
  if (const Value* v = get("election-ticks")) check(parse_count(*v, 3, 10'000, &c.election_ticks));
  if (const Value* v = get("heartbeat-ticks")) check(parse_count(*v, 1, 1'000, &c.heartbeat_ticks));
  if (const Value* v = get("snapshot-every")) check(parse_count(*v, 0, 1'000'000'000, &c.snapshot_every));
  if (const Value* v = get("join")) {
    const std::string t = trim(v->text);
    if (t == "true" || t == "1" || t == "yes") {
      c.join = true;
    } else if (t == "false" || t == "0" || t == "no") {
      c.join = false;
    } else {
      check(bad(*v, "is not true or false"));
    }
  }
  if (const Value* v = get("shutdown-timeout")) {
    check(parse_positive_duration(*v, Duration::seconds(3600), &c.shutdown_timeout));
  }
  for (const LimitSetting& l : limit_settings()) {
    const Value* v = get(l.key);
    if (v == nullptr) continue;
    auto value = parse_limit(l, trim(v->text), v->source);
    if (value.ok()) l.set(c.limits, *value); else check(value.status());
  }
  if (!s.ok()) return s;
  if (Status l = check_limits(c.limits); !l.ok()) return l;
  if (Status p = resolve_peers(values, hostname, c); !p.ok()) return p;
  if (c.heartbeat_ticks * 2 >= c.election_ticks) {
    return Status(Code::invalid_argument, "heartbeat-ticks (" + std::to_string(c.heartbeat_ticks) +
                                              ") must be under half of election-ticks (" +
                                              std::to_string(c.election_ticks) + ")");
  }
  if (c.join && c.peers.empty()) {
    return Status(Code::invalid_argument, "join needs --peers (or --peers-dns): the current members' addresses, "
                                          "which this node needs to answer the leader");
  }
  if (!c.join && !c.peers.empty() && !c.peers.contains(c.id)) {
    std::string ids;
    for (const auto& [id, a] : c.peers) ids += (ids.empty() ? "" : ", ") + to_string(id);
    return Status(Code::invalid_argument, "this node's id " + to_string(c.id) + " is not among the peers (" + ids +
                                              "); every voter, self included, is listed");
  }
  return {};
}

}  // namespace

std::string config_help() {
  std::ostringstream out;
  out << "sluiced: one Sluice broker node.\n\n"
         "Usage: sluiced [options]\n\n"
         "With no options it runs a single node with data in ./data, clients on port "
      << kDefaultClientPort << ", peers on " << kDefaultPeerPort << ", HTTP on " << kDefaultHttpPort
      << ".\nPrecedence: flags > SLUICE_* environment > YAML file (--config) > defaults.\n\n"
      << all_options()
      << "\nExit codes: 0 clean shutdown, 1 runtime failure (a failed write poisoned the node),\n"
         "2 bad flags or configuration, 3 the data directory could not be opened,\n"
         "4 a port could not be bound.\n";
  return out.str();
}

ConfigOutcome load_config(const ConfigInputs& inputs) {
  ConfigOutcome outcome;
  auto fail = [&](const std::string& why) {
    outcome.kind = ConfigOutcome::Kind::error;
    outcome.text = why;
    return outcome;
  };
  po::variables_map flags;
  try {
    po::store(po::command_line_parser(inputs.args).options(all_options()).run(), flags);
  } catch (const po::error& e) {
    return fail(std::string(e.what()) + " (see --help)");
  }
  if (flags.count("help")) {
    outcome.kind = ConfigOutcome::Kind::help;
    outcome.text = config_help();
    return outcome;
  }
  if (flags.count("version")) {
    outcome.kind = ConfigOutcome::Kind::version;
    outcome.text = "sluiced 0.1.0 (wire protocol " + std::to_string(wire::kProtocolVersion) + ")\n";
    return outcome;
  }

  Values values;
  std::string config_file;
  if (flags.count("config")) {
    config_file = flags["config"].as<std::string>();
  } else if (const char* env = inputs.getenv ? inputs.getenv("SLUICE_CONFIG") : nullptr; env != nullptr) {
    config_file = env;
  }
  if (!config_file.empty()) {
    if (Status s = read_yaml(config_file, values); !s.ok()) return fail(s.message());
  }
  for_each_key([&](const char* key, const char* env_name) {
    const char* env = inputs.getenv ? inputs.getenv(env_name) : nullptr;
    if (env != nullptr && *env != '\0') values[key] = Value{env, env_name};
  });
  for_each_key([&](const char* key, const char*) {
    if (flags.count(key)) values[key] = Value{flags[key].as<std::string>(), std::string("--") + key};
  });
  outcome.config.config_file = config_file;
  if (Status s = resolve(values, inputs.hostname, outcome.config); !s.ok()) return fail(s.message());
  return outcome;
}

}  // namespace sluice::net
