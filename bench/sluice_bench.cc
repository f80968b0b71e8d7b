// sluice-bench: an end-to-end load generator for a running cluster.
//
// It publishes N messages of S bytes to an events store channel, or sends N
// to a queue and then receives and acks them, keeping W requests in flight
// over one client connection (requests are matched to replies by request
// id, so the node sees a pipelined stream), and reports messages/s, MB/s of
// payload and the latency of each acknowledgement (from the request's send
// to its ok reply: for writes, committed on a majority with fsync).
//
// Writes go to the leader by default, found through the nodes' HTTP
// /metrics; a follower would forward them, which adds a hop (--target).
// Every failure is counted; the exit code is non-zero if any request
// failed or the end-of-run check (all N stored, or all N received and
// acked exactly once and nothing left waiting) does not hold.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <deque>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/client/client.h"
#include "net/client/connection.h"
#include "net/client/raft_metrics.h"
#include "net/wire/wire.h"

namespace sluice::bench {
namespace {

using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  // a request failed, or the end-of-run check did not hold
constexpr int kExitUsage = 2;
constexpr const char* kLocalServers = "127.0.0.1:50000,127.0.0.1:50010,127.0.0.1:50020";
constexpr const char* kLocalHttp = "127.0.0.1:8080,127.0.0.1:8081,127.0.0.1:8082";
// Refusals (`unavailable`: the cluster is busy or electing; `timeout`: a
// forwarded write's outcome is unknown) are sent again with the same
// idempotency key after this pause, doubling up to the max.
constexpr std::chrono::microseconds kRetryPauseMin{500};
constexpr std::chrono::microseconds kRetryPauseMax{200'000};
constexpr int kRetriesMax = 50;  // per request; beyond, it counts as failed
static_assert(kRetryPauseMin < kRetryPauseMax);
constexpr std::uint64_t kInflightMax = 100'000;
constexpr std::uint64_t kErrorsMax = 100;  // receives failing for good: the run stops rather than loop
// Received and not acked: redelivered only after this, so a slow run does
// not see its own deliveries come back.
constexpr Duration kVisibility = Duration::seconds(600);

struct Options {
  std::vector<std::string> servers;
  std::vector<std::string> http;  // empty: no way to find the leader
  std::string target = "auto";    // leader | follower | first | auto
  std::string pattern = "store";
  std::uint64_t messages = 10'000;
  std::size_t size_bytes = 1024;
  std::uint64_t inflight = 1;
  std::string channel;
  std::chrono::seconds timeout{30};  // no reply to a request for this long fails the run
  bool json_output = false;
};

struct UsageError {
  std::string message;
};

const char* kUsage =
    "usage: sluice-bench [options]\n"
    "\n"
    "Load on a running cluster: N messages of S bytes with W requests in flight.\n"
    "  --pattern P          store (publish N to an events store channel) or queue (send N,\n"
    "                       then receive and ack them); default store\n"
    "  -n N                 messages (default 10000)\n"
    "  --size S             body bytes per message (default 1024)\n"
    "  --inflight W         requests outstanding at once (default 1)\n"
    "  --servers LIST       client ports host:port,... (default the local cluster's\n"
    "                       127.0.0.1:50000,127.0.0.1:50010,127.0.0.1:50020)\n"
    "  --http LIST          HTTP ports, read to find the leader (default 127.0.0.1:8080,8081,8082\n"
    "                       when --servers is the default; 'none' to skip)\n"
    "  --target T           leader, follower (writes are forwarded), first (the first of\n"
    "                       --servers) or auto (leader if --http is known, else first)\n"
    "  --channel NAME       default: a fresh bench.<pattern>.<pid>-<time> per run\n"
    "  --timeout SECONDS    a request with no reply for this long fails the run (default 30)\n"
    "  -o text|json         output format (default text)\n"
    "  --help\n"
    "\n"
    "Exit: 0 all acknowledged and checked, 1 a request failed or the check did not hold, 2 usage.\n";

std::uint64_t parse_count(const std::string& flag, const std::string& value, std::uint64_t min, std::uint64_t max) {
  if (value.empty() || value.find_first_not_of("0123456789") != std::string::npos || value.size() > 12) {
    throw UsageError{flag + ": '" + value + "' is not a whole number"};
  }
  const std::uint64_t n = std::stoull(value);
  if (n < min || n > max) {
    throw UsageError{flag + ": " + value + " is out of range " + std::to_string(min) + ".." + std::to_string(max)};
  }
  return n;
}

std::vector<std::string> parse_list(const std::string& flag, const std::string& value) {
  auto parsed = client::parse_servers(value);
  if (!parsed.ok()) throw UsageError{flag + ": " + parsed.status().message()};
  return *parsed;
}

Options parse_options(int argc, char** argv) {
  Options o;
  std::string servers, http;
  bool http_given = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << kUsage;
      std::exit(kExitOk);
    }
    if (i + 1 >= argc) throw UsageError{"unknown flag or missing value: " + flag};
    const std::string value = argv[++i];
    if (flag == "--servers") servers = value;
    else if (flag == "--http") http = value, http_given = true;
    else if (flag == "--target") o.target = value;
    else if (flag == "--pattern") o.pattern = value;
    else if (flag == "-n") o.messages = parse_count(flag, value, 1, 100'000'000);
    else if (flag == "--size") o.size_bytes = parse_count(flag, value, 1, 1u << 20);
    else if (flag == "--inflight") o.inflight = parse_count(flag, value, 1, kInflightMax);
    else if (flag == "--channel") o.channel = value;
    else if (flag == "--timeout") o.timeout = std::chrono::seconds(parse_count(flag, value, 1, 3600));
    else if (flag == "-o") {
      if (value != "text" && value != "json") throw UsageError{"-o: '" + value + "' is not text or json"};
      o.json_output = value == "json";
    } else {
      throw UsageError{"unknown flag: " + flag};
    }
  }
  if (o.pattern != "store" && o.pattern != "queue") throw UsageError{"--pattern: '" + o.pattern + "' is not store or queue"};
  if (o.target != "auto" && o.target != "leader" && o.target != "follower" && o.target != "first") {
    throw UsageError{"--target: '" + o.target + "' is not leader, follower, first or auto"};
  }
  o.servers = parse_list("--servers", servers.empty() ? kLocalServers : servers);
  if (http_given && http != "none") o.http = parse_list("--http", http);
  if (!http_given && servers.empty()) o.http = parse_list("--http", kLocalHttp);
  if ((o.target == "leader" || o.target == "follower") && o.http.empty()) {
    throw UsageError{"--target " + o.target + " needs the nodes' HTTP ports (--http) to find the leader"};
  }
  if (o.channel.empty()) {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    o.channel = "bench." + o.pattern + "." + std::to_string(::getpid()) + "-" + std::to_string(now.count());
  }
  return o;
}

// ---------------------------------------------------------------------------
// Finding the node to talk to

// The leader a node's /metrics names; nullopt if it does not answer or
// knows none.
std::optional<std::uint64_t> leader_from_metrics(const std::string& address) {
  const auto metrics = client::raft_metrics(address);
  auto it = metrics.find("leader");
  if (it == metrics.end()) return std::nullopt;
  const std::uint64_t leader = std::strtoull(it->second.c_str(), nullptr, 10);
  return leader != 0 ? std::optional<std::uint64_t>(leader) : std::nullopt;
}

struct Target {
  std::string address;
  NodeId node;
  std::string role;  // leader, follower or unknown
};

// Opens a connection to `address` and exchanges Hellos; the node's id.
Result<NodeId> handshake(client::Connection& connection, const std::string& address) {
  const auto deadline = Clock::now() + std::chrono::seconds(5);
  if (Status s = connection.open(address, deadline); !s.ok()) return s;
  const wire::Hello hello{wire::kProtocolVersion, wire::Role::client, kNoNode, ""};
  if (Status s = connection.send(wire::Frame(hello), deadline); !s.ok()) return s;
  auto answer = connection.receive(deadline);
  if (!answer.ok()) return answer.status();
  auto* theirs = std::get_if<wire::Hello>(&*answer);
  if (theirs == nullptr) return Status(Code::unavailable, address + " did not answer with a Hello");
  return theirs->node;
}

// Connects `connection` to the node the options ask for.
Result<Target> connect_target(const Options& o, std::unique_ptr<client::Connection>& connection) {
  std::optional<std::uint64_t> leader;
  for (const auto& address : o.http) {
    if ((leader = leader_from_metrics(address))) break;
  }
  if (o.target == "leader" || o.target == "follower") {
    if (!leader) return Status(Code::unavailable, "no node's /metrics names a leader (--http)");
  }
  for (const auto& address : o.servers) {
    auto candidate = std::make_unique<client::Connection>();
    auto node = handshake(*candidate, address);
    if (!node.ok()) {
      if (o.target == "first") return node.status();
      continue;
    }
    const std::string role = !leader ? "unknown" : (node->value() == *leader ? "leader" : "follower");
    const bool wanted = o.target == "first" || (o.target == "auto" && (!leader || role == "leader")) ||
                        o.target == role;
    if (!wanted) continue;
    connection = std::move(candidate);
    return Target{address, *node, role};
  }
  return Status(Code::unavailable, "no server in --servers is the " + o.target + " or answers");
}

// ---------------------------------------------------------------------------
// The pipeline

// Latencies of one kind of request, in microseconds.
struct Latencies {
  std::vector<double> us;
  json summary() {
    std::sort(us.begin(), us.end());
    auto at = [&](double q) {
      if (us.empty()) return 0.0;
      const auto i = static_cast<std::size_t>(q * static_cast<double>(us.size() - 1) + 0.5);
      return us[std::min(i, us.size() - 1)];
    };
    return {{"p50", at(0.50)}, {"p99", at(0.99)}, {"p999", at(0.999)}, {"max", us.empty() ? 0.0 : us.back()}};
  }
};

struct Counts {
  std::uint64_t ok = 0;
  std::uint64_t errors = 0;    // failed for good: counted against the run
  std::uint64_t retries = 0;   // refused (busy, no leader, outcome unknown) and sent again
  std::vector<std::string> first_errors;  // at most a few, for the report
  void error(const std::string& what) {
    ++errors;
    if (first_errors.size() < 5) first_errors.push_back(what);
  }
};

// W requests in flight over one connection. The caller's `next()` makes
// the next request (nullopt: none now) and `done(tag, reply)` takes a
// reply: it returns false when the reply is a failure to count.
class Pipeline {
 public:
  using Body = node::RequestBody;
  Pipeline(client::Connection& connection, std::chrono::seconds timeout) : connection_(connection), timeout_(timeout) {}

  // Sends a request now; `tag` comes back with its reply.
  Status send(std::uint64_t tag, Body body) {
    const std::uint64_t id = next_id_++;
    Pending p{tag, std::move(body), Clock::now(), Clock::now(), 0, kRetryPauseMin};
    if (Status s = transmit(id, p); !s.ok()) return s;
    pending_.emplace(id, std::move(p));
    return {};
  }
  std::size_t outstanding() const { return pending_.size() + waiting_.size(); }

  struct Done {
    std::uint64_t tag;
    node::ClientReply reply;
    double latency_us;  // first send to this reply
  };
  // The next final reply (ok, or a failure that is not retried); retries
  // refusals itself. An error: the connection broke or nothing came back
  // within the timeout; the run cannot go on.
  Result<Done> next(Counts& counts) {
    for (;;) {
      if (Status s = resend_due(); !s.ok()) return s;
      auto deadline = last_progress_ + timeout_;
      if (!waiting_.empty()) deadline = std::min(deadline, waiting_.front().first);
      auto frame = connection_.receive(deadline);
      if (!frame.ok()) {
        if (frame.status().code() == Code::timeout && Clock::now() < last_progress_ + timeout_) continue;
        return frame.status();
      }
      auto* envelope = std::get_if<Envelope<node::Message>>(&*frame);
      if (envelope == nullptr) return Status(Code::unavailable, "the node sent a frame that is not a reply");
      auto* reply = std::get_if<node::ClientReply>(&envelope->message);
      if (reply == nullptr) continue;  // a push; we subscribe to nothing
      auto it = pending_.find(reply->request_id);
      if (it == pending_.end()) continue;
      last_progress_ = Clock::now();
      Pending p = std::move(it->second);
      pending_.erase(it);
      const Code code = reply->status.code();
      if ((code == Code::unavailable || code == Code::timeout) && p.attempts < kRetriesMax) {
        ++counts.retries;
        ++p.attempts;
        const auto pause = p.pause;
        p.pause = std::min(p.pause * 2, kRetryPauseMax);
        waiting_.emplace_back(Clock::now() + pause, std::move(p));
        std::stable_sort(waiting_.begin(), waiting_.end(), [](auto& a, auto& b) { return a.first < b.first; });
        continue;
      }
      const double us = std::chrono::duration<double, std::micro>(last_progress_ - p.first_sent).count();
      return Done{p.tag, std::move(*reply), us};
    }
  }

 private:
  struct Pending {
    std::uint64_t tag;
    Body body;
    Clock::time_point first_sent;
    Clock::time_point sent;
    int attempts;
    std::chrono::microseconds pause;
  };

  Status transmit(std::uint64_t id, Pending& p) {
    p.sent = Clock::now();
    const wire::Frame frame(Envelope<node::Message>{kDefaultGroup, kNoNode, kNoNode,
                                                    node::Message(node::ClientRequest{id, p.body})});
    return connection_.send(frame, p.sent + timeout_);
  }
  Status resend_due() {
    while (!waiting_.empty() && waiting_.front().first <= Clock::now()) {
      Pending p = std::move(waiting_.front().second);
      waiting_.pop_front();
      const std::uint64_t id = next_id_++;
      if (Status s = transmit(id, p); !s.ok()) return s;
      pending_.emplace(id, std::move(p));
    }
    return {};
  }

  client::Connection& connection_;
  std::chrono::seconds timeout_;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Pending> pending_;                           // request id -> request
  std::deque<std::pair<Clock::time_point, Pending>> waiting_;          // refused, to send again at .first
  Clock::time_point last_progress_ = Clock::now();
};

struct Phase {
  std::string name;
  std::uint64_t messages = 0;  // acknowledged
  Counts counts;
  double elapsed_s = 0;
  std::map<std::string, Latencies> latency;  // by request kind
  std::string broke;  // why the phase stopped early, if it did
};

json phase_json(Phase& p, std::size_t size_bytes) {
  json latency = json::object();
  for (auto& [kind, l] : p.latency) latency[kind] = l.summary();
  const double rate = p.elapsed_s > 0 ? static_cast<double>(p.messages) / p.elapsed_s : 0;
  return {{"phase", p.name},
          {"messages", p.messages},
          {"errors", p.counts.errors},
          {"retries", p.counts.retries},
          {"elapsed_s", p.elapsed_s},
          {"msgs_per_s", rate},
          {"mb_per_s", rate * static_cast<double>(size_bytes) / 1e6},
          {"latency_us", latency},
          {"first_errors", p.counts.first_errors},
          {"broke", p.broke}};
}

std::string payload(std::size_t size_bytes) {
  std::string body(size_bytes, 'x');
  for (std::size_t i = 0; i < size_bytes; ++i) body[i] = static_cast<char>('a' + (i * 7) % 26);
  return body;
}

std::string producer_id() { return "bench-" + std::to_string(::getpid()); }

broker::MessageIn message(const Options& o, const std::string& body) {
  return broker::MessageIn{"", o.channel, "", body, {}, "sluice-bench"};
}

// Publishes (store) or sends (queue) N messages, W in flight. Each write
// carries an idempotency key, so a refused one sent again is stored once.
// `published` receives each acknowledged message's result.
Phase write_phase(const Options& o, client::Connection& connection,
                  std::vector<std::optional<broker::Published>>& published) {
  Phase phase{o.pattern == "store" ? "publish" : "send", 0, {}, 0, {}, ""};
  const std::string body = payload(o.size_bytes);
  const std::string producer = producer_id();
  Pipeline pipe(connection, o.timeout);
  Latencies& latency = phase.latency["ack"];
  latency.us.reserve(o.messages);
  published.assign(o.messages, std::nullopt);
  std::uint64_t next = 0;
  const auto start = Clock::now();
  while (next < o.messages || pipe.outstanding() > 0) {
    while (next < o.messages && pipe.outstanding() < o.inflight) {
      broker::IdempotencyKey key{producer, next + 1, false};
      broker::Command command;
      if (o.pattern == "store") {
        command = broker::StorePublish{message(o, body), key};
      } else {
        command = broker::QueueSend{{broker::QueueItem{message(o, body), key, {}, {}, 0, ""}}};
      }
      if (Status s = pipe.send(next, node::Write{std::move(command), {}}); !s.ok()) {
        phase.broke = s.message();
        break;
      }
      ++next;
    }
    if (!phase.broke.empty()) break;
    auto done = pipe.next(phase.counts);
    if (!done.ok()) {
      phase.broke = done.status().message();
      break;
    }
    const auto* reply = std::get_if<broker::Reply>(&done->reply.body);
    std::optional<broker::Published> result;
    if (done->reply.status.ok() && reply != nullptr) {
      if (auto* p = std::get_if<broker::Published>(reply)) result = *p;
      if (auto* s = std::get_if<broker::SendResult>(reply); s != nullptr && s->items.size() == 1) result = s->items[0];
    }
    if (!result) {
      phase.counts.error("message " + std::to_string(done->tag) + ": " +
                         (done->reply.status.ok() ? "unexpected reply" : done->reply.status.message()));
      continue;
    }
    published[done->tag] = *result;
    latency.us.push_back(done->latency_us);
    ++phase.counts.ok;
    ++phase.messages;
  }
  phase.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!phase.broke.empty()) phase.counts.errors += pipe.outstanding() + (o.messages - next);
  return phase;
}

// Receives the queue's N messages and acks each: W slots, each a receive
// of one message followed by the ack of its delivery. A delivery of a
// message seen before (a redelivery) is acked and counted, not counted as
// received again.
struct ReceiveCheck {
  std::uint64_t distinct = 0;
  std::uint64_t redeliveries = 0;
  std::uint64_t unknown = 0;   // ids this run did not send
  std::uint64_t empty = 0;     // receives that found nothing (sent again)
  std::uint64_t acked = 0;
};

Phase receive_phase(const Options& o, client::Connection& connection,
                    const std::vector<std::optional<broker::Published>>& sent, ReceiveCheck& check) {
  Phase phase{"receive+ack", 0, {}, 0, {}, ""};
  std::map<std::string, bool> seen;  // message id -> delivered already
  for (const auto& p : sent) {
    if (p) seen.emplace(p->id, false);
  }
  const std::uint64_t expected = seen.size();
  Pipeline pipe(connection, o.timeout);
  Latencies& receive_latency = phase.latency["receive"];
  Latencies& ack_latency = phase.latency["ack"];
  receive_latency.us.reserve(expected);
  ack_latency.us.reserve(expected);
  constexpr std::uint64_t kReceive = 0, kAck = 1;  // tags
  std::uint64_t receives_outstanding = 0;
  const auto start = Clock::now();
  // Receives answer at once (wait 0): with every message visible and no
  // more receives out than messages left, none should come back empty. If
  // one does, the next ones wait up to a second for a message, and a run
  // that sees no delivery for the timeout stops (messages are missing).
  Duration wait{};
  auto last_delivery = Clock::now();
  auto receive_more = [&]() -> Status {
    while (check.distinct + receives_outstanding < expected && pipe.outstanding() < o.inflight) {
      broker::QueueReceive receive{o.channel, 1, kVisibility, "sluice-bench"};
      if (Status s = pipe.send(kReceive, node::Write{receive, wait}); !s.ok()) return s;
      ++receives_outstanding;
    }
    return {};
  };
  while (phase.broke.empty()) {
    if (phase.counts.errors > kErrorsMax) {
      phase.broke = "more than " + std::to_string(kErrorsMax) + " failed requests";
      break;
    }
    if (Clock::now() - last_delivery > o.timeout) {
      phase.broke = "no delivery for " + std::to_string(o.timeout.count()) + " s: " +
                    std::to_string(expected - check.distinct) + " messages missing";
      break;
    }
    if (Status s = receive_more(); !s.ok()) {
      phase.broke = s.message();
      break;
    }
    if (pipe.outstanding() == 0) break;
    auto done = pipe.next(phase.counts);
    if (!done.ok()) {
      phase.broke = done.status().message();
      break;
    }
    const auto* reply = std::get_if<broker::Reply>(&done->reply.body);
    if (done->tag == kReceive) {
      --receives_outstanding;
      const auto* result = reply ? std::get_if<broker::ReceiveResult>(reply) : nullptr;
      if (!done->reply.status.ok() || result == nullptr) {
        phase.counts.error("receive: " + (done->reply.status.ok() ? "unexpected reply" : done->reply.status.message()));
        continue;
      }
      if (result->deliveries.empty()) {
        ++check.empty;
        wait = Duration::seconds(1);
        continue;
      }
      last_delivery = Clock::now();
      receive_latency.us.push_back(done->latency_us);
      for (const auto& delivery : result->deliveries) {
        auto it = seen.find(delivery.message.id);
        if (it == seen.end()) {
          ++check.unknown;
        } else if (it->second) {
          ++check.redeliveries;
        } else {
          it->second = true;
          ++check.distinct;
        }
        if (Status s = pipe.send(kAck, node::Write{broker::QueueAck{{delivery.receipt}}, {}}); !s.ok()) {
          phase.broke = s.message();
        }
      }
      continue;
    }
    const auto* acked = reply ? std::get_if<broker::AckResult>(reply) : nullptr;
    if (!done->reply.status.ok() || acked == nullptr || acked->acked != 1) {
      phase.counts.error("ack: " + (done->reply.status.ok() ? "not acked (stale receipt)" : done->reply.status.message()));
      continue;
    }
    ack_latency.us.push_back(done->latency_us);
    ++check.acked;
    ++phase.counts.ok;
    ++phase.messages;
  }
  phase.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (!phase.broke.empty()) phase.counts.errors += pipe.outstanding();
  return phase;
}

// ---------------------------------------------------------------------------
// End-of-run checks, through the synchronous client on the same node

struct Check {
  bool ok = true;
  std::vector<std::string> notes;
  json detail = json::object();
  void fail(const std::string& why) {
    ok = false;
    notes.push_back(why);
  }
};

client::Client checker(const Target& target) {
  client::Options options;
  options.servers = {target.address};
  options.request_timeout = std::chrono::milliseconds(10'000);
  return client::Client(options);
}

// Every publish acknowledged once, with the sequences 1..N between them,
// and the channel's stats agree (a follower's may lag: polled up to 10 s).
void check_store(const Options& o, const Target& target, const std::vector<std::optional<broker::Published>>& published,
                 Check& check) {
  std::vector<bool> seqs(o.messages + 1, false);
  std::uint64_t acked = 0, duplicates = 0, out_of_range = 0;
  for (const auto& p : published) {
    if (!p) continue;
    ++acked;
    if (p->duplicate) ++duplicates;
    if (p->seq == 0 || p->seq > o.messages || seqs[p->seq]) {
      ++out_of_range;
    } else {
      seqs[p->seq] = true;
    }
  }
  check.detail = {{"acked", acked}, {"duplicate_replies", duplicates}, {"bad_sequences", out_of_range}};
  if (acked != o.messages) check.fail(std::to_string(o.messages - acked) + " publishes not acknowledged");
  if (out_of_range != 0) check.fail(std::to_string(out_of_range) + " acknowledgements with a sequence outside 1..N or repeated");
  client::Client c = checker(target);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto stats = c.store_stats(o.channel);
    if (stats.ok() && stats->published == o.messages && stats->last_seq == o.messages) {
      check.detail["stats_published"] = stats->published;
      return;
    }
    if (Clock::now() >= deadline) {
      check.fail(stats.ok() ? "store stats: published " + std::to_string(stats->published) + ", expected " +
                                  std::to_string(o.messages)
                            : "store stats: " + stats.status().message());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void check_queue(const Options& o, const Target& target, std::uint64_t sent, const ReceiveCheck& r, Check& check) {
  check.detail = {{"sent", sent},          {"received_distinct", r.distinct}, {"acked", r.acked},
                  {"redeliveries", r.redeliveries}, {"unknown", r.unknown}, {"empty_receives", r.empty}};
  if (sent != o.messages) check.fail(std::to_string(o.messages - sent) + " sends not acknowledged");
  if (r.distinct != o.messages) check.fail("received " + std::to_string(r.distinct) + " distinct messages, expected " + std::to_string(o.messages));
  if (r.acked != r.distinct + r.redeliveries) check.fail("acked " + std::to_string(r.acked) + " deliveries of " + std::to_string(r.distinct + r.redeliveries));
  if (r.unknown != 0) check.fail(std::to_string(r.unknown) + " deliveries of messages this run did not send");
  client::Client c = checker(target);
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  for (;;) {
    auto stats = c.queue_stats(o.channel);
    const bool drained = stats.ok() && stats->ready == 0 && stats->delayed == 0 && stats->in_flight == 0 &&
                         stats->acked == r.acked;
    if (drained) {
      check.detail["stats"] = {{"waiting", 0}, {"in_flight", 0}, {"sent", stats->sent}, {"acked", stats->acked}};
      return;
    }
    if (Clock::now() >= deadline) {
      check.fail(stats.ok() ? "queue stats: " + std::to_string(stats->ready + stats->delayed) + " waiting, " +
                                  std::to_string(stats->in_flight) + " in flight, " + std::to_string(stats->acked) +
                                  " acked"
                            : "queue stats: " + stats.status().message());
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// ---------------------------------------------------------------------------
// Output

void print_text(const json& r) {
  std::cout << "sluice-bench " << r["pattern"].get<std::string>() << ": " << r["messages"] << " messages of "
            << r["size_bytes"] << " bytes, " << r["inflight"] << " in flight, channel "
            << r["channel"].get<std::string>() << "\n";
  std::cout << "node " << r["target"]["node"] << " (" << r["target"]["role"].get<std::string>() << ") at "
            << r["target"]["address"].get<std::string>() << "\n";
  for (const auto& p : r["phases"]) {
    std::printf("  %-12s %8llu msgs  %6llu errors  %6llu retries  %8.2f s  %9.0f msgs/s  %7.2f MB/s\n",
                p["phase"].get<std::string>().c_str(), p["messages"].get<unsigned long long>(),
                p["errors"].get<unsigned long long>(), p["retries"].get<unsigned long long>(),
                p["elapsed_s"].get<double>(), p["msgs_per_s"].get<double>(), p["mb_per_s"].get<double>());
    for (const auto& [kind, l] : p["latency_us"].items()) {
      std::printf("  %-12s latency of %-7s p50 %8.0f us  p99 %8.0f us  p999 %8.0f us  max %8.0f us\n", "",
                  kind.c_str(), l["p50"].get<double>(), l["p99"].get<double>(), l["p999"].get<double>(),
                  l["max"].get<double>());
    }
    for (const auto& e : p["first_errors"]) std::cout << "  error: " << e.get<std::string>() << "\n";
    if (!p["broke"].get<std::string>().empty()) std::cout << "  stopped: " << p["broke"].get<std::string>() << "\n";
  }
  std::cout << "check: " << (r["check"]["ok"].get<bool>() ? "ok" : "FAILED") << " " << r["check"]["detail"].dump()
            << "\n";
  for (const auto& n : r["check"]["notes"]) std::cout << "  " << n.get<std::string>() << "\n";
  std::cout.flush();
}

int run(const Options& o) {
  std::unique_ptr<client::Connection> connection;
  auto target = connect_target(o, connection);
  if (!target.ok()) {
    std::cerr << "sluice-bench: " << target.status().message() << "\n";
    return kExitFailed;
  }
  std::vector<std::optional<broker::Published>> published;
  std::vector<Phase> phases;
  phases.push_back(write_phase(o, *connection, published));
  Check check;
  if (o.pattern == "store") {
    check_store(o, *target, published, check);
  } else {
    ReceiveCheck received;
    const auto sent = static_cast<std::uint64_t>(std::count_if(published.begin(), published.end(), [](auto& p) { return p.has_value(); }));
    if (phases[0].broke.empty()) phases.push_back(receive_phase(o, *connection, published, received));
    check_queue(o, *target, sent, received, check);
  }
  json report = {{"pattern", o.pattern},
                 {"messages", o.messages},
                 {"size_bytes", o.size_bytes},
                 {"inflight", o.inflight},
                 {"channel", o.channel},
                 {"target", {{"address", target->address}, {"node", target->node.value()}, {"role", target->role}}},
                 {"phases", json::array()},
                 {"check", {{"ok", check.ok}, {"notes", check.notes}, {"detail", check.detail}}}};
  std::uint64_t errors = 0;
  for (auto& p : phases) {
    report["phases"].push_back(phase_json(p, o.size_bytes));
    errors += p.counts.errors;
  }
  const bool ok = errors == 0 && check.ok;
  report["ok"] = ok;
  if (o.json_output) {
    std::cout << report.dump() << std::endl;
  } else {
    print_text(report);
  }
  return ok ? kExitOk : kExitFailed;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  using namespace sluice::bench;
  try {
    return run(parse_options(argc, argv));
  } catch (const UsageError& e) {
    std::cerr << "sluice-bench: " << e.message << "\n(sluice-bench --help for the flags)\n";
    return kExitUsage;
  }
}
