// sluice: the command-line client, in the spirit of kubectl and kubemqctl:
//   sluice [--server host:port,...] [-o table|json] <noun> <verb> [args] [flags]
// Every verb has --help; docs/cli.md lists them with examples and the exit
// codes below.
#include <csignal>
#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/client/client.h"
#include "net/client/raft_metrics.h"

namespace sluice::cli {
namespace {

using nlohmann::json;

// Exit codes (docs/cli.md).
constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;       // the cluster refused the request (invalid argument, not found, ...)
constexpr int kExitUsage = 2;         // bad command line
constexpr int kExitUnavailable = 3;   // no server reachable, or no leader in time
constexpr int kExitTimeout = 4;       // no answer in time; a subscription's --count not reached by --timeout
[[maybe_unused]] constexpr int kExitUnsupported = 5;  // reserved: a verb that needs server support not there yet
constexpr int kExitRpcFailed = 6;     // rpc call: the responder answered with an error or did not execute

constexpr const char* kDefaultServers = "127.0.0.1:50000,127.0.0.1:50010,127.0.0.1:50020";

volatile std::sig_atomic_t g_interrupted = 0;
void on_signal(int) { g_interrupted = 1; }

// A parsed command line: flags anywhere (--name value, --name=value, or a
// boolean flag alone), the rest positional.
struct Args {
  std::map<std::string, std::vector<std::string>> flags;
  std::vector<std::string> positional;

  bool has(const std::string& name) const { return flags.contains(name); }
  std::string get(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() || it->second.empty() ? fallback : it->second.back();
  }
};

const std::set<std::string> kBooleanFlags = {"help", "ack"};
const std::map<std::string, std::string> kShortFlags = {{"-o", "output"}, {"-s", "server"}, {"-h", "help"}};

struct UsageError {
  std::string message;
};

Args parse_args(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string name;
    std::optional<std::string> value;
    if (kShortFlags.contains(arg)) {
      name = kShortFlags.at(arg);
    } else if (arg.rfind("--", 0) == 0 && arg.size() > 2) {
      name = arg.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
    } else {
      args.positional.push_back(arg);
      continue;
    }
    if (kBooleanFlags.contains(name)) {
      args.flags[name].push_back(value.value_or("true"));
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) throw UsageError{"flag --" + name + " needs a value"};
      value = argv[++i];
    }
    args.flags[name].push_back(*value);
  }
  return args;
}

struct Verb {
  std::string noun;
  std::string verb;
  std::string usage;                   // after "sluice <noun> <verb> "
  std::string summary;
  std::set<std::string> flags;         // besides the global ones
  std::string flag_help;
  std::size_t positional_min = 0;
  std::size_t positional_max = 0;
  std::function<int(const Args&)> run;
};

const std::set<std::string> kGlobalFlags = {"server", "output", "help", "timeout", "cluster", "client-id"};

const char* kGlobalHelp =
    "Global flags:\n"
    "  -s, --server LIST    host:port of client ports, comma-separated (env SLUICE_SERVER;\n"
    "                       default 127.0.0.1:50000,127.0.0.1:50010,127.0.0.1:50020)\n"
    "  -o, --output FORMAT  table (default) or json\n"
    "      --timeout D      request deadline, retries included (default 15s)\n"
    "      --cluster NAME   refuse nodes of another cluster\n"
    "      --client-id ID   client id stamped on messages (default sluice-cli)\n"
    "  -h, --help           this help\n";

// ---------------------------------------------------------------------------
// Helpers shared by the verbs

bool json_output(const Args& args) { return args.get("output", "table") == "json"; }

int exit_code(const Status& status) {
  switch (status.code()) {
    case Code::ok: return kExitOk;
    case Code::unavailable:
    case Code::poisoned: return kExitUnavailable;
    case Code::timeout: return kExitTimeout;
    default: return kExitRefused;
  }
}

int fail(const Status& status) {
  std::cerr << "sluice: " << code_name(status.code()) << ": " << status.message() << "\n";
  return exit_code(status);
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

Duration duration_flag(const Args& args, const std::string& name, Duration fallback) {
  if (!args.has(name)) return fallback;
  Duration d;
  if (!parse_duration(args.get(name), &d) || d.ns < 0) {
    throw UsageError{"--" + name + " '" + args.get(name) + "' is not a duration (500ms, 30s, 2m)"};
  }
  return d;
}

std::uint64_t number(const std::string& text, const std::string& what) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19) {
    throw UsageError{what + " '" + text + "' is not a non-negative number"};
  }
  return std::stoull(text);
}

std::uint64_t number_flag(const Args& args, const std::string& name, std::uint64_t fallback) {
  return args.has(name) ? number(args.get(name), "--" + name) : fallback;
}

client::Options client_options(const Args& args) {
  client::Options options;
  std::string servers = args.get("server");
  if (servers.empty()) {
    const char* env = std::getenv("SLUICE_SERVER");
    servers = env != nullptr && *env != '\0' ? env : kDefaultServers;
  }
  auto parsed = client::parse_servers(servers);
  if (!parsed.ok()) throw UsageError{parsed.status().message()};
  options.servers = *parsed;
  options.cluster = args.get("cluster");
  options.client_id = args.get("client-id", "sluice-cli");
  options.request_timeout = std::chrono::milliseconds(duration_flag(args, "timeout", Duration::seconds(15)).to_ms());
  return options;
}

broker::MessageIn message_from(const Args& args, const std::string& channel, const std::string& body) {
  broker::MessageIn message;
  message.channel = channel;
  message.body = body;
  message.metadata = args.get("metadata");
  message.id = args.get("id");
  if (auto it = args.flags.find("tag"); it != args.flags.end()) {
    for (const auto& tag : it->second) {
      const auto eq = tag.find('=');
      if (eq == std::string::npos || eq == 0) throw UsageError{"--tag '" + tag + "' is not key=value"};
      message.tags[tag.substr(0, eq)] = tag.substr(eq + 1);
    }
  }
  return message;
}

json message_json(const broker::StoredMessage& m) {
  json j = {{"id", m.id},       {"channel", m.channel},   {"metadata", m.metadata},
            {"body", m.body},   {"client_id", m.client_id}, {"timestamp_ns", m.timestamp.ns}};
  if (m.seq != 0) j["seq"] = m.seq;
  if (!m.tags.empty()) j["tags"] = m.tags;
  return j;
}

std::string format_time(Timestamp t) {
  const std::time_t seconds = static_cast<std::time_t>(t.ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

// Rows with columns padded to their widest cell.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) width[c] = std::max(width[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < cells.size(); ++c) {
      out += cells[c];
      if (c + 1 < cells.size()) out += std::string(width[c] - cells[c].size() + 2, ' ');
    }
    std::cout << out << "\n";
  };
  line(header);
  for (const auto& row : rows) line(row);
}

// A subscription's loop: polls until --count messages, --timeout, or ^C.
int run_subscription(client::Client& client, const Args& args, const std::uint64_t& received) {
  const std::uint64_t count = number_flag(args, "count", 0);
  const Duration timeout = duration_flag(args, "timeout-sub", Duration{});
  const auto end = timeout.ns > 0 ? std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout.to_ms())
                                  : std::chrono::steady_clock::time_point::max();
  while (g_interrupted == 0 && (count == 0 || received < count)) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= end) {
      if (count == 0) return kExitOk;
      std::cerr << "sluice: timeout: " << received << " of " << count << " messages before --wait ran out\n";
      return kExitTimeout;
    }
    const auto slice = std::min<std::chrono::steady_clock::duration>(end - now, std::chrono::milliseconds(200));
    if (Status s = client.poll(std::chrono::duration_cast<std::chrono::milliseconds>(slice)); !s.ok()) return fail(s);
  }
  return kExitOk;
}

// For subscribers: the count and deadline stop the callback early.
struct Printer {
  const Args& args;
  std::uint64_t received = 0;
  bool header_printed = false;

  void message(const broker::StoredMessage& m) {
    const std::uint64_t count = number_flag(args, "count", 0);
    if (count != 0 && received >= count) return;
    ++received;
    if (json_output(args)) {
      std::cout << dump(message_json(m)) << std::endl;
      return;
    }
    if (!header_printed) {
      std::cout << "SEQ\tCHANNEL\tTIME\tID\tBODY" << std::endl;
      header_printed = true;
    }
    std::cout << (m.seq == 0 ? "-" : std::to_string(m.seq)) << "\t" << m.channel << "\t" << format_time(m.timestamp)
              << "\t" << m.id << "\t" << m.body << std::endl;
  }
};

// ---------------------------------------------------------------------------
// events

int events_pub(const Args& args) {
  client::Client client(client_options(args));
  const auto& p = args.positional;
  if (Status s = client.publish_event(message_from(args, p[0], p[1])); !s.ok()) return fail(s);
  if (json_output(args)) {
    std::cout << dump(json{{"channel", p[0]}, {"published", true}}) << "\n";
  } else {
    std::cout << "published to " << p[0] << "\n";
  }
  return kExitOk;
}

int events_sub(const Args& args) {
  client::Client client(client_options(args));
  Printer printer{args};
  auto sub = client.subscribe_events(args.positional[0], args.get("group"),
                                     [&](const broker::StoredMessage& m) {
                                       printer.message(m);
                                       const std::uint64_t count = number_flag(args, "count", 0);
                                       if (count != 0 && printer.received >= count) client.stop();
                                     });
  if (!sub.ok()) return fail(sub.status());
  std::cerr << "subscribed to events " << args.positional[0] << " on " << client.address() << std::endl;
  return run_subscription(client, args, printer.received);
}

// ---------------------------------------------------------------------------
// store

node::StoreStart parse_from(const std::string& from) {
  node::StoreStart start;
  auto value = [&](const char* prefix) { return from.substr(std::string(prefix).size()); };
  if (from == "new") {
    start.from = node::StartFrom::new_only;
  } else if (from == "first") {
    start.from = node::StartFrom::first;
  } else if (from == "last") {
    start.from = node::StartFrom::last;
  } else if (from.rfind("seq:", 0) == 0) {
    start.from = node::StartFrom::sequence;
    start.seq = number(value("seq:"), "--from seq:N");
  } else if (from.rfind("time:", 0) == 0) {
    start.from = node::StartFrom::time;
    const std::string t = value("time:");
    if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos) {
      start.time = Timestamp{static_cast<std::int64_t>(number(t, "--from time:T")) * 1'000'000'000};
    } else {
      std::tm tm{};
      const char* end = strptime(t.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
      if (end == nullptr || *end != '\0') {
        throw UsageError{"--from time:T needs Unix seconds or 2026-01-02T15:04:05Z, not '" + t + "'"};
      }
      start.time = Timestamp{static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000};
    }
  } else if (from.rfind("delta:", 0) == 0) {
    start.from = node::StartFrom::time_delta;
    if (!parse_duration(value("delta:"), &start.delta) || start.delta.ns <= 0) {
      throw UsageError{"--from delta:D needs a duration (90s, 5m), not '" + value("delta:") + "'"};
    }
  } else {
    throw UsageError{"--from '" + from + "' is not first, last, new, seq:N, time:T or delta:D"};
  }
  return start;
}

int store_pub(const Args& args) {
  client::Client client(client_options(args));
  const auto& p = args.positional;
  auto published = client.publish_store(message_from(args, p[0], p[1]));
  if (!published.ok()) return fail(published.status());
  if (json_output(args)) {
    std::cout << dump(json{{"channel", p[0]},
                           {"id", published->id},
                           {"seq", published->seq},
                           {"timestamp_ns", published->timestamp.ns},
                           {"duplicate", published->duplicate}})
              << "\n";
  } else {
    print_table({"CHANNEL", "SEQ", "ID"}, {{p[0], std::to_string(published->seq), published->id}});
  }
  return kExitOk;
}

int store_sub(const Args& args) {
  const node::StoreStart start = parse_from(args.get("from", "new"));
  client::Client client(client_options(args));
  Printer printer{args};
  auto sub = client.subscribe_store(args.positional[0], args.get("group"), start,
                                    [&](const broker::StoredMessage& m) {
                                      printer.message(m);
                                      const std::uint64_t count = number_flag(args, "count", 0);
                                      if (count != 0 && printer.received >= count) client.stop();
                                    });
  if (!sub.ok()) return fail(sub.status());
  std::cerr << "subscribed to store " << args.positional[0] << " on " << client.address() << std::endl;
  return run_subscription(client, args, printer.received);
}

// ---------------------------------------------------------------------------
// queue

int queue_send(const Args& args) {
  client::Client client(client_options(args));
  const auto& p = args.positional;
  broker::QueueItem item;
  item.message = message_from(args, p[0], p[1]);
  item.delay = duration_flag(args, "delay", Duration{});
  item.expiration = duration_flag(args, "expiration", Duration{});
  item.max_receive_count = static_cast<std::uint32_t>(number_flag(args, "max-receive", 0));
  item.dead_letter = args.get("dead-letter");
  auto sent = client.send_queue({item});
  if (!sent.ok()) return fail(sent.status());
  if (json_output(args)) {
    json items = json::array();
    for (const auto& i : sent->items) items.push_back({{"id", i.id}, {"duplicate", i.duplicate}});
    std::cout << dump(json{{"channel", p[0]}, {"items", items}}) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& i : sent->items) rows.push_back({p[0], i.id});
    print_table({"CHANNEL", "ID"}, rows);
  }
  return kExitOk;
}

int queue_receive(const Args& args) {
  client::Client client(client_options(args));
  broker::QueueReceive receive;
  receive.channel = args.positional[0];
  receive.max_messages = static_cast<std::uint32_t>(number_flag(args, "max", 1));
  receive.visibility = duration_flag(args, "visibility", Duration{});
  const Duration wait = duration_flag(args, "wait", Duration{});
  auto received = client.receive(receive, wait);
  if (!received.ok()) return fail(received.status());
  std::vector<std::uint64_t> receipts;
  for (const auto& d : received->deliveries) receipts.push_back(d.receipt);
  if (args.has("ack") && !receipts.empty()) {
    auto acked = client.ack(receipts);
    if (!acked.ok()) return fail(acked.status());
  }
  if (json_output(args)) {
    json out = json::array();
    for (const auto& d : received->deliveries) {
      json j = message_json(d.message);
      j["receipt"] = d.receipt;
      j["receive_count"] = d.receive_count;
      if (!d.dead_letter_reason.empty()) j["dead_letter_reason"] = d.dead_letter_reason;
      out.push_back(j);
    }
    std::cout << dump(out) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : received->deliveries) {
      rows.push_back({std::to_string(d.receipt), std::to_string(d.receive_count), d.message.id, d.message.body});
    }
    print_table({"RECEIPT", "RECEIVES", "ID", "BODY"}, rows);
  }
  return kExitOk;
}

int queue_ack(const Args& args) {
  client::Client client(client_options(args));
  std::vector<std::uint64_t> receipts;
  for (const auto& r : args.positional) receipts.push_back(number(r, "receipt"));
  auto acked = client.ack(receipts);
  if (!acked.ok()) return fail(acked.status());
  if (json_output(args)) {
    std::cout << dump(json{{"acked", acked->acked}, {"stale", acked->stale}}) << "\n";
  } else {
    std::cout << "acked " << acked->acked;
    if (!acked->stale.empty()) {
      std::cout << "; stale (no longer delivered):";
      for (auto r : acked->stale) std::cout << " " << r;
    }
    std::cout << "\n";
  }
  return acked->stale.empty() ? kExitOk : kExitRefused;
}

int queue_reject(const Args& args) {
  client::Client client(client_options(args));
  const std::uint64_t receipt = number(args.positional[0], "receipt");
  if (Status s = client.reject(receipt); !s.ok()) return fail(s);
  if (json_output(args)) {
    std::cout << dump(json{{"rejected", receipt}}) << "\n";
  } else {
    std::cout << "rejected " << receipt << "\n";
  }
  return kExitOk;
}

int queue_peek(const Args& args) {
  client::Client client(client_options(args));
  auto peeked = client.peek(args.positional[0], static_cast<std::uint32_t>(number_flag(args, "max", 10)));
  if (!peeked.ok()) return fail(peeked.status());
  if (json_output(args)) {
    json out = json::array();
    for (const auto& m : *peeked) out.push_back(message_json(m));
    std::cout << dump(out) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& m : *peeked) rows.push_back({m.id, format_time(m.timestamp), m.body});
    print_table({"ID", "TIME", "BODY"}, rows);
  }
  return kExitOk;
}

int queue_stats(const Args& args) {
  client::Client client(client_options(args));
  auto stats = client.queue_stats(args.positional[0]);
  if (!stats.ok()) return fail(stats.status());
  const std::vector<std::pair<std::string, std::uint64_t>> fields = {
      {"ready", stats->ready},         {"delayed", stats->delayed},     {"in_flight", stats->in_flight},
      {"bytes", stats->bytes},         {"sent", stats->sent},           {"delivered", stats->delivered},
      {"acked", stats->acked},         {"rejected", stats->rejected},   {"expired", stats->expired},
      {"dead_lettered", stats->dead_lettered}, {"purged", stats->purged}, {"resent", stats->resent}};
  if (json_output(args)) {
    json out = {{"channel", args.positional[0]}};
    for (const auto& [k, v] : fields) out[k] = v;
    std::cout << dump(out) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [k, v] : fields) rows.push_back({k, std::to_string(v)});
    print_table({"STAT", "VALUE"}, rows);
  }
  return kExitOk;
}

int queue_purge(const Args& args) {
  client::Client client(client_options(args));
  auto purged = client.purge(args.positional[0]);
  if (!purged.ok()) return fail(purged.status());
  if (json_output(args)) {
    std::cout << dump(json{{"channel", args.positional[0]}, {"purged", *purged}}) << "\n";
  } else {
    std::cout << "purged " << *purged << " from " << args.positional[0] << "\n";
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// rpc

node::RpcKind rpc_kind(const std::string& text) {
  if (text == "command") return node::RpcKind::command;
  if (text == "query") return node::RpcKind::query;
  throw UsageError{"the rpc kind is command or query, not '" + text + "'"};
}

int rpc_call(const Args& args) {
  const auto& p = args.positional;
  node::RpcCall call;
  call.kind = rpc_kind(p[0]);
  call.message = message_from(args, p[1], p[2]);
  call.timeout = duration_flag(args, "rpc-timeout", Duration::seconds(10));
  call.cache_key = args.get("cache-key");
  call.cache_ttl = duration_flag(args, "cache-ttl", Duration{});
  client::Client client(client_options(args));
  auto answer = client.call(call);
  if (!answer.ok()) return fail(answer.status());
  const bool failed = !answer->error.empty() || (call.kind == node::RpcKind::command && !answer->executed);
  if (json_output(args)) {
    json j = {{"executed", answer->executed}, {"error", answer->error},   {"metadata", answer->metadata},
              {"body", answer->body},         {"from_cache", answer->from_cache}};
    if (!answer->tags.empty()) j["tags"] = answer->tags;
    std::cout << dump(j) << "\n";
  } else if (call.kind == node::RpcKind::command) {
    std::cout << (answer->executed ? "executed" : "not executed");
    if (!answer->error.empty()) std::cout << ": " << answer->error;
    std::cout << "\n";
  } else {
    if (!answer->error.empty()) std::cerr << "sluice: the responder answered with an error: " << answer->error << "\n";
    std::cout << answer->body << "\n";
  }
  return failed ? kExitRpcFailed : kExitOk;
}

int rpc_serve(const Args& args) {
  const auto& p = args.positional;
  const node::RpcKind kind = rpc_kind(p[0]);
  client::Client client(client_options(args));
  Printer printer{args};
  const std::uint64_t count = number_flag(args, "count", 0);
  auto sub = client.subscribe_rpc(kind, p[1], args.get("group"),
                                  [&](node::RpcKind, const broker::StoredMessage& request) {
                                    printer.message(request);
                                    node::RpcRespond answer;
                                    answer.error = args.get("error");
                                    answer.executed = answer.error.empty();
                                    answer.body = args.has("reply") ? args.get("reply") : request.body;
                                    if (count != 0 && printer.received >= count) client.stop();
                                    return answer;
                                  });
  if (!sub.ok()) return fail(sub.status());
  std::cerr << "serving " << node::rpc_kind_name(kind) << " on " << p[1] << " at " << client.address() << std::endl;
  return run_subscription(client, args, printer.received);
}

// ---------------------------------------------------------------------------
// channels and cluster

int channels_list(const Args& args) {
  client::Client client(client_options(args));
  auto channels = client.list_channels(args.get("pattern"));
  if (!channels.ok()) return fail(channels.status());
  if (json_output(args)) {
    json out = json::array();
    for (const auto& c : *channels) {
      out.push_back({{"kind", c.kind},         {"name", c.name},   {"messages", c.messages},
                     {"in_flight", c.in_flight}, {"total", c.total}, {"subscribers", c.subscribers}});
    }
    std::cout << dump(out) << "\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : *channels) {
      rows.push_back({c.kind, c.name, std::to_string(c.messages), std::to_string(c.in_flight), std::to_string(c.total),
                      std::to_string(c.subscribers)});
    }
    print_table({"KIND", "NAME", "MESSAGES", "IN_FLIGHT", "TOTAL", "SUBSCRIBERS"}, rows);
  }
  return kExitOk;
}

// The HTTP ports to read /metrics from: --http, else $SLUICE_HTTP, else the
// local cluster's when the servers are the local cluster's defaults.
std::vector<std::string> http_servers(const Args& args) {
  std::string list = args.get("http");
  if (list.empty()) {
    const char* env = std::getenv("SLUICE_HTTP");
    if (env != nullptr) list = env;
  }
  if (list.empty()) {
    const char* env = std::getenv("SLUICE_SERVER");
    const bool defaults = args.get("server").empty() && (env == nullptr || *env == '\0');
    if (!defaults) return {};
    list = "127.0.0.1:8080,127.0.0.1:8081,127.0.0.1:8082";
  }
  auto parsed = client::parse_servers(list);
  if (!parsed.ok()) throw UsageError{"--http: " + parsed.status().message()};
  return *parsed;
}

// Each listed server on its own: does it answer the handshake, which node
// is it, and does it serve a read; with HTTP ports, each node's Raft view.
int cluster_status(const Args& args) {
  const client::Options base = client_options(args);
  const std::vector<std::string> http = http_servers(args);
  json raft = json::array();
  if (!http.empty()) {
    json nodes = json::array();
    std::vector<std::vector<std::string>> rows;
    for (const auto& address : http) {
      auto m = client::raft_metrics(address);
      auto get = [&](const char* key) { return m.contains(key) ? m.at(key) : std::string("-"); };
      const std::string role = m.empty() ? "down" : (get("is_leader") == "1" ? "leader" : "follower");
      rows.push_back({address, role, get("leader"), get("term"), get("commit_index"), get("applied_index")});
      nodes.push_back({{"http", address},          {"role", role},
                       {"leader", get("leader")},  {"term", get("term")},
                       {"commit_index", get("commit_index")}, {"applied_index", get("applied_index")}});
    }
    raft = nodes;
    if (!json_output(args)) {
      print_table({"HTTP", "ROLE", "LEADER", "TERM", "COMMIT", "APPLIED"}, rows);
      std::cout << "\n";
    }
  }
  json out = json::array();
  std::vector<std::vector<std::string>> rows;
  bool any = false;
  for (const auto& server : base.servers) {
    client::Options one = base;
    one.servers = {server};
    one.request_timeout = std::min(one.request_timeout, std::chrono::milliseconds(3000));
    client::Client client(one);
    const Status connected = client.connect();
    std::string state = connected.ok() ? "up" : "down";
    std::string detail = connected.ok() ? "" : connected.message();
    if (connected.ok()) {
      auto channels = client.list_channels("");
      if (channels.ok()) {
        state = "serving";
        any = true;
      } else {
        detail = channels.status().message();
      }
    }
    const std::string node = client.node() == kNoNode ? "-" : to_string(client.node());
    out.push_back({{"server", server}, {"node", client.node().value()}, {"state", state}, {"detail", detail}});
    rows.push_back({server, node, state, detail});
  }
  if (json_output(args)) {
    std::cout << dump(json{{"servers", out}, {"raft", raft}}) << "\n";
  } else {
    print_table({"SERVER", "NODE", "STATE", "DETAIL"}, rows);
    if (http.empty()) std::cout << "(leader and term: pass the nodes' HTTP ports with --http host:port,...)\n";
  }
  return any ? kExitOk : kExitUnavailable;
}

// add, remove, transfer-leader: one ClusterAdmin, answered by the leader
// once the change is done.
int cluster_admin(const Args& args, node::AdminOp op) {
  node::ClusterAdmin admin;
  admin.op = op;
  admin.node = NodeId(number(args.positional[0], "node id"));
  if (admin.node == kNoNode) throw UsageError{"node id 0 is not a node"};
  if (op == node::AdminOp::add_voter) admin.address = args.positional[1];
  client::Client client(client_options(args));
  auto view = client.cluster_admin(admin);
  if (!view.ok()) return fail(view.status());
  std::string voters;
  json voter_ids = json::array();
  for (NodeId v : view->voters) {
    voters += (voters.empty() ? "" : ",") + to_string(v);
    voter_ids.push_back(v.value());
  }
  if (json_output(args)) {
    std::cout << dump(json{{"op", node::admin_op_name(op)},
                           {"node", admin.node.value()},
                           {"leader", view->leader.value()},
                           {"voters", voter_ids}})
              << "\n";
  } else {
    const std::string leader = view->leader == kNoNode ? "-" : to_string(view->leader);
    print_table({"LEADER", "VOTERS"}, {{leader, voters}});
  }
  return kExitOk;
}

// ---------------------------------------------------------------------------
// The verb table

const std::string kMessageFlags =
    "      --metadata TEXT  message metadata\n"
    "      --tag K=V        a tag (repeatable)\n"
    "      --id ID          message id (default: assigned by the broker)\n";
const std::string kSubFlags =
    "      --group NAME     share the stream with the group's other members\n"
    "      --count N        exit after N messages (default: run until ^C)\n"
    "      --wait D         exit after D (exit 4 if --count was not reached)\n";

std::vector<Verb> verbs() {
  return {
      {"events", "pub", "CHANNEL BODY", "publish an event (at most once, not persisted)", {"metadata", "tag", "id"},
       kMessageFlags, 2, 2, events_pub},
      {"events", "sub", "PATTERN", "print events on channels matching PATTERN (* one level, > the rest)",
       {"group", "count", "wait"}, kSubFlags, 1, 1, events_sub},
      {"store", "pub", "CHANNEL BODY", "publish to the events store; prints the sequence", {"metadata", "tag", "id"},
       kMessageFlags, 2, 2, store_pub},
      {"store", "sub", "CHANNEL", "print stored events, resuming after a reconnect without gaps",
       {"from", "group", "count", "wait"},
       "      --from WHERE     new (default), first, last, seq:N, time:T (Unix seconds or\n"
       "                       2026-01-02T15:04:05Z), delta:D (the last D, e.g. 5m)\n" +
           kSubFlags,
       1, 1, store_sub},
      {"queue", "send", "CHANNEL BODY", "send a message to a queue",
       {"metadata", "tag", "id", "delay", "expiration", "max-receive", "dead-letter"},
       kMessageFlags +
           "      --delay D        invisible for D first\n"
           "      --expiration D   dropped if not acked within D\n"
           "      --max-receive N  dead-letter after N receives\n"
           "      --dead-letter CH the dead-letter queue\n",
       2, 2, queue_send},
      {"queue", "receive", "CHANNEL", "receive messages; each has a receipt for ack or reject",
       {"max", "wait", "visibility", "ack"},
       "      --max N          up to N messages (default 1)\n"
       "      --wait D         wait up to D for a message (default 0)\n"
       "      --visibility D   redeliver unless acked within D (default: the cluster's)\n"
       "      --ack            ack what was received at once\n",
       1, 1, queue_receive},
      {"queue", "ack", "RECEIPT...", "ack deliveries (exit 1 if a receipt is stale)", {}, "", 1, 1000, queue_ack},
      {"queue", "reject", "RECEIPT", "make a delivery's message visible again now", {}, "", 1, 1, queue_reject},
      {"queue", "peek", "CHANNEL", "show waiting messages without receiving them", {"max"},
       "      --max N          up to N messages (default 10)\n", 1, 1, queue_peek},
      {"queue", "stats", "CHANNEL", "a queue's counters", {}, "", 1, 1, queue_stats},
      {"queue", "purge", "CHANNEL", "drop every waiting message", {}, "", 1, 1, queue_purge},
      {"rpc", "call", "command|query CHANNEL BODY", "call a responder and print its answer (exit 6 on its error)",
       {"metadata", "tag", "id", "rpc-timeout", "cache-key", "cache-ttl"},
       kMessageFlags +
           "      --rpc-timeout D  how long the responder may take (default 10s)\n"
           "      --cache-key K    queries: answer from the cache under K when fresh\n"
           "      --cache-ttl D    queries: keep the answer under K for D\n",
       3, 3, rpc_call},
      {"rpc", "serve", "command|query CHANNEL", "answer calls: echo the body, or --reply / --error",
       {"group", "count", "wait", "reply", "error"},
       "      --reply BODY     answer with BODY (default: the request's body)\n"
       "      --error TEXT     answer with an error (commands: not executed)\n" +
           kSubFlags,
       2, 2, rpc_serve},
      {"channels", "list", "", "channels with their counts", {"pattern"},
       "      --pattern P      only channels matching P\n", 0, 0, channels_list},
      {"cluster", "status", "", "each server: reachable, node id, serving; Raft role, leader, term", {"http"},
       "      --http LIST      HTTP ports to read /metrics from (env SLUICE_HTTP; default: the\n"
       "                       local cluster's 8080-8082 when --server is the default)\n",
       0, 0, cluster_status},
      {"cluster", "add", "NODE ADDRESS",
       "add a voter: NODE started with --join, ADDRESS its peer port (host:port); answers once committed", {},
       "", 2, 2, [](const Args& a) { return cluster_admin(a, node::AdminOp::add_voter); }},
      {"cluster", "remove", "NODE", "remove a voter (the leader too: it steps down); answers once committed", {},
       "", 1, 1, [](const Args& a) { return cluster_admin(a, node::AdminOp::remove_voter); }},
      {"cluster", "transfer-leader", "NODE", "move leadership to a voter; answers once NODE leads", {}, "", 1, 1,
       [](const Args& a) { return cluster_admin(a, node::AdminOp::transfer_leader); }},
  };
}

void print_overview(std::ostream& out) {
  out << "sluice: the Sluice command-line client\n\n"
         "Usage: sluice [global flags] <noun> <verb> [args] [flags]\n\nCommands:\n";
  for (const auto& v : verbs()) {
    std::string left = v.noun + " " + v.verb + (v.usage.empty() ? "" : " " + v.usage);
    left.resize(std::max<std::size_t>(left.size() + 2, 44), ' ');
    out << "  " << left << v.summary << "\n";
  }
  out << "\n" << kGlobalHelp
      << "\nExit codes: 0 ok, 1 refused by the cluster, 2 usage, 3 unavailable, 4 timeout,\n"
         "5 not supported yet, 6 rpc answered with an error. More: docs/cli.md\n";
}

void print_verb_help(const Verb& v) {
  std::cout << "sluice " << v.noun << " " << v.verb << (v.usage.empty() ? "" : " " + v.usage) << "\n\n"
            << v.summary << "\n";
  if (!v.flag_help.empty()) std::cout << "\nFlags:\n" << v.flag_help;
  std::cout << "\n" << kGlobalHelp;
}

int main_(int argc, char** argv) {
  Args args;
  try {
    args = parse_args(argc, argv);
  } catch (const UsageError& e) {
    std::cerr << "sluice: " << e.message << "\n";
    return kExitUsage;
  }
  if (args.positional.empty()) {
    print_overview(args.has("help") ? std::cout : std::cerr);
    return args.has("help") ? kExitOk : kExitUsage;
  }
  const std::string noun = args.positional[0];
  const std::string verb_name = args.positional.size() > 1 ? args.positional[1] : "";
  const auto all = verbs();
  const Verb* verb = nullptr;
  bool noun_known = false;
  for (const auto& v : all) {
    noun_known = noun_known || v.noun == noun;
    if (v.noun == noun && v.verb == verb_name) verb = &v;
  }
  if (verb == nullptr) {
    if (noun_known && verb_name.empty() && args.has("help")) {
      for (const auto& v : all) {
        if (v.noun == noun) std::cout << "sluice " << v.noun << " " << v.verb << " " << v.usage << "\n    " << v.summary << "\n";
      }
      return kExitOk;
    }
    std::cerr << "sluice: unknown command '" << noun << (verb_name.empty() ? "" : " " + verb_name)
              << "' (sluice --help lists them)\n";
    return kExitUsage;
  }
  if (args.has("help")) {
    print_verb_help(*verb);
    return kExitOk;
  }
  args.positional.erase(args.positional.begin(), args.positional.begin() + 2);
  // --wait on a subscription bounds the whole run; --timeout is the global
  // request deadline. rpc call's own timeout is --rpc-timeout.
  if (verb->verb == "sub" || verb->verb == "serve") {
    if (args.has("wait")) args.flags["timeout-sub"] = args.flags["wait"];
  }
  for (const auto& [name, values] : args.flags) {
    if (name == "timeout-sub") continue;
    if (!kGlobalFlags.contains(name) && !verb->flags.contains(name)) {
      std::cerr << "sluice: " << noun << " " << verb_name << ": unknown flag --" << name << " (see --help)\n";
      return kExitUsage;
    }
  }
  const std::string output = args.get("output", "table");
  if (output != "table" && output != "json") {
    std::cerr << "sluice: -o must be table or json, not '" << output << "'\n";
    return kExitUsage;
  }
  if (args.positional.size() < verb->positional_min || args.positional.size() > verb->positional_max) {
    std::cerr << "sluice: usage: sluice " << noun << " " << verb_name << " " << verb->usage << " (see --help)\n";
    return kExitUsage;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return verb->run(args);
  } catch (const UsageError& e) {
    std::cerr << "sluice: " << noun << " " << verb_name << ": " << e.message << "\n";
    return kExitUsage;
  }
}

}  // namespace
}  // namespace sluice::cli

int main(int argc, char** argv) { return sluice::cli::main_(argc, argv); }
