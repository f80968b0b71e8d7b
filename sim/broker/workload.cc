#include "sim/broker/workload.h"

#include <algorithm>

#include "core/broker/names.h"
#include "core/common/overloaded.h"
#include "sim/broker/history.h"

namespace sluice::sim::brokersim {

using node::ClientReply;
using node::RequestBody;

// ---------------------------------------------------------------------------
// What the clients saw

// ---------------------------------------------------------------------------
// The client base: one request at a time, retried until answered or given up.

struct Workload::Client {
  Client(Workload* workload, NodeId client) : w(workload), id(client), rng(workload->rng_.fork()) {}
  virtual ~Client() = default;

  Workload* w;
  NodeId id;
  Rng rng;
  NodeId node = kNoNode;           // connected to
  std::uint64_t incarnation = 0;   // of that node when we connected
  std::uint64_t connection = 0;    // bumped by every new connection
  std::uint64_t opened_at = 0;     // Cluster::sends() when it opened
  Timestamp stop;
  bool draining = false;
  std::uint64_t next_request = 1;
  struct Op {
    std::uint64_t request_id;
    RequestBody body;
    std::function<void(const ClientReply&)> done;
    std::function<void()> unknown;
    Timestamp give_up;
    std::uint32_t attempt = 0;
  };
  std::optional<Op> op;

  Cluster& cluster() { return *w->cluster_; }
  Timestamp now() { return cluster().scheduler().now(); }
  History& h() { return *w->history_; }
  const WorkloadOptions& options() const { return w->options_; }
  bool writing() { return now() < stop; }
  void after(Duration d, std::function<void()> f) { cluster().scheduler().after(d, std::move(f)); }
  void think(std::function<void()> f) {
    after(Duration{static_cast<std::int64_t>(uniform_below(rng, w->options_.think_max.ns + 1))}, std::move(f));
  }

  // Servers a client may dial: all but those retired for good (the
  // operator replaced them), as a client's server list would be updated.
  std::vector<NodeId> live_servers() {
    std::vector<NodeId> out;
    for (NodeId s : cluster().servers()) {
      if (!cluster().retired(s)) out.push_back(s);
    }
    return out;
  }
  // A connection: to a running node; broken when that node restarts.
  bool connected() {
    return node != kNoNode && cluster().state(node) != ProcessState::down && cluster().incarnation(node) == incarnation;
  }
  // Moving to another node, or reconnecting after a break, opens a new
  // connection and closes the old one, as TCP and a client library do: the
  // nodes drop what this client had on the old connection (subscriptions,
  // waits), nothing the old one had in flight arrives on the new one in
  // either direction (send() and Workload::on_message), and the new one
  // starts clean.
  void connect(NodeId to = kNoNode) {
    const NodeId old = node;
    const bool was_connected = connected();
    node = to != kNoNode ? to : pick(rng, live_servers());
    incarnation = cluster().incarnation(node);
    if (old == node && was_connected) return;  // the same connection goes on
    connection++;
    opened_at = cluster().sends();
    const NodeId me = id;
    if (old != kNoNode) cluster().act(old, [me](node::BrokerNode& n) { n.disconnect(me); });
    if (node != old) cluster().act(node, [me](node::BrokerNode& n) { n.disconnect(me); });
  }
  // Ends the session `*sub_id` (unsubscribing if still connected), connects
  // (perhaps to another node) and returns the id of the next session.
  std::uint64_t new_session(std::uint64_t* sub_id, std::uint64_t* next_sub) {
    if (*sub_id != 0 && connected()) send(node::ClientRequest{0, node::Unsubscribe{*sub_id}});
    *sub_id = 0;
    connect();
    return (*next_sub)++;
  }
  // A subscriber's session `s` lasts while `*current == s`; every 100 ms
  // it checks the connection, and once the node went down (the session is
  // gone with it) calls `again` to subscribe anew.
  void watch_session(std::uint64_t s, const std::uint64_t* current, std::function<void()> again) {
    after(Duration::millis(100), [this, s, current, again = std::move(again)] {
      if (*current != s) return;
      if (!connected()) {
        again();
        return;
      }
      watch_session(s, current, again);
    });
  }
  // Sends on the current connection.
  void send(node::ClientRequest request) {
    cluster().client_send(id, node, std::move(request), [this, conn = connection, to = node, inc = incarnation] {
      return connection == conn && node == to && cluster().incarnation(to) == inc;
    });
  }

  // once: no retry after silence (events are at most once: a retried
  // publish would be a second event).
  void request(RequestBody body, std::function<void(const ClientReply&)> done, std::function<void()> unknown,
               bool once = false) {
    SLUICE_ASSERT(!op.has_value(), "one request at a time per client");
    const Timestamp give_up = once ? now() : now() + w->options_.give_up;
    op = Op{next_request++, std::move(body), std::move(done), std::move(unknown), give_up, 0};
    h().operations++;
    attempt();
  }
  void attempt() {
    if (!connected()) connect();
    Op& o = *op;
    const std::uint32_t number = ++o.attempt;
    const std::uint64_t rid = o.request_id;
    send(node::ClientRequest{rid, o.body});
    after(w->options_.attempt_timeout, [this, rid, number] {
      if (!op || op->request_id != rid || op->attempt != number) return;
      connect();  // silence: another node
      retry();
    });
  }
  void retry() {
    if (now() >= op->give_up) {
      auto unknown = std::move(op->unknown);
      op.reset();
      unknown();
      return;
    }
    attempt();
  }
  void on_reply(const ClientReply& r) {
    if (!op || r.request_id != op->request_id) return;  // late
    const Code code = r.status.code();
    if (code == Code::unavailable || code == Code::timeout) {
      // Bumping the attempt number disarms this attempt's silence timer;
      // the retry below takes the number back before attempt() counts it.
      const std::uint64_t rid = op->request_id;
      const std::uint32_t number = ++op->attempt;
      if (r.leader_hint != kNoNode && chance(rng, 0.5)) connect(r.leader_hint);
      after(Duration::millis(20), [this, rid, number] {
        if (op && op->request_id == rid && op->attempt == number) {
          --op->attempt;
          retry();
        }
      });
      return;
    }
    auto done = std::move(op->done);
    op.reset();
    done(r);
  }

  virtual void start() = 0;
  virtual void on_push(NodeId /*from*/, const node::Message& /*m*/) {}
};

namespace {

node::MessageIn message(const std::string& channel, const std::string& body, NodeId client) {
  node::MessageIn m;
  m.channel = channel;
  m.body = body;
  m.client_id = "c" + to_string(client);
  return m;
}

const std::vector<std::string> kQueues = {"q.a", "q.b"};
const std::vector<std::string> kDeadLetters = {"dlq.a", "dlq.b"};
const std::vector<std::string> kStores = {"s.a", "s.b"};

}  // namespace

// ---------------------------------------------------------------------------
// Queues

struct Producer final : Workload::Client {
  using Client::Client;
  std::uint64_t seq = 0;
  void start() override { pause(); }
  // Producers pause longer than consumers, so consumers keep up.
  void pause() {
    after(Duration::millis(uniform_between(rng, 20, 200)), [this] { next(); });
  }
  void next() {
    if (!writing()) return;
    broker::QueueSend send;
    const int n = static_cast<int>(uniform_between(rng, 1, 3));
    std::vector<std::string> bodies;
    for (int i = 0; i < n; ++i) {
      broker::QueueItem item;
      const std::string body = "q" + to_string(id) + "-" + std::to_string(++seq);
      const std::size_t which = uniform_below(rng, kQueues.size());
      item.message = message(kQueues[which], body, id);
      item.key.producer_id = "p" + to_string(id);
      item.key.producer_seq = seq;
      if (chance(rng, 0.2)) item.delay = Duration::millis(uniform_between(rng, 1, 1000));
      if (chance(rng, 0.1)) item.expiration = Duration::millis(uniform_between(rng, 300, 3000));
      if (chance(rng, 0.3)) {
        item.max_receive_count = static_cast<std::uint32_t>(uniform_between(rng, 1, 3));
        if (chance(rng, 0.8)) item.dead_letter = kDeadLetters[which];
      }
      h().sends[body] = {item.message.channel, item.delay, item.expiration, item.max_receive_count, item.dead_letter,
                         Outcome::pending};
      bodies.push_back(body);
      send.items.push_back(std::move(item));
    }
    request(node::Write{send, {}},
            [this, bodies](const ClientReply& r) {
              for (const auto& b : bodies) h().sends[b].outcome = r.status.ok() ? Outcome::acked : Outcome::unknown;
              if (r.status.ok()) {
                h().acknowledged++;
              } else if (r.status.code() != Code::invalid_argument) {
                h().fail("queue send refused: " + r.status.to_string());
              }
              pause();
            },
            [this, bodies] {
              for (const auto& b : bodies) h().sends[b].outcome = Outcome::unknown;
              pause();
            });
  }
};

struct Consumer final : Workload::Client {
  using Client::Client;
  void start() override { think([this] { next(); }); }
  void next() {
    broker::QueueReceive receive;
    const bool dlq = chance(rng, 0.3);
    receive.channel = dlq ? pick(rng, kDeadLetters) : pick(rng, kQueues);
    // Draining after the safety phase: big batches, so the backlog goes.
    receive.max_messages = draining ? 20 : static_cast<std::uint32_t>(uniform_between(rng, 1, 5));
    receive.visibility = Duration::millis(uniform_between(rng, 200, 1000));
    const Duration wait = Duration::millis(uniform_between(rng, 0, 500));
    request(node::Write{receive, wait},
            [this, visibility = receive.visibility, asked = now()](const ClientReply& r) {
              on_received(r, visibility, asked);
            },
            [this] { think([this] { next(); }); });
  }
  void on_received(const ClientReply& r, Duration visibility, Timestamp asked) {
    std::vector<std::uint64_t> receipts;
    if (r.status.ok()) {
      const auto* reply = std::get_if<broker::Reply>(&r.body);
      const auto* got = reply ? std::get_if<broker::ReceiveResult>(reply) : nullptr;
      if (got == nullptr) {
        h().fail("a receive was answered without deliveries");
      } else {
        for (const broker::Delivery& d : got->deliveries) {
          h().by_receipt[d.receipt] = h().deliveries.size();
          h().deliveries.push_back({d.message.body, d, now(), asked, false, false, false, {}});
          receipts.push_back(d.receipt);
        }
      }
    }
    if (receipts.empty()) {
      think([this] { next(); });
      return;
    }
    const double roll = draining ? 0.0 : uniform_below(rng, 100) / 100.0;
    if (roll < 0.70) {
      ack(receipts);
    } else if (roll < 0.80) {
      reject(receipts);
    } else if (roll < 0.90) {
      think([this] { next(); });  // let the visibility lapse
    } else if (roll < 0.95) {
      after(visibility + visibility / 2, [this, receipts] { ack(receipts); });  // too late: stale
    } else {
      extend(receipts, visibility);
    }
  }
  void ack(std::vector<std::uint64_t> receipts) {
    for (auto r : receipts) h().deliveries[h().by_receipt.at(r)].ack_attempted = true;
    request(node::Write{broker::QueueAck{receipts}, {}},
            [this, receipts](const ClientReply& r) {
              if (r.status.ok()) {
                const auto& result = std::get<broker::AckResult>(std::get<broker::Reply>(r.body));
                for (auto receipt : receipts) {
                  if (std::find(result.stale.begin(), result.stale.end(), receipt) != result.stale.end()) continue;
                  auto& d = h().deliveries[h().by_receipt.at(receipt)];
                  d.acked = true;
                  d.acked_time = now();
                }
              }
              think([this] { next(); });
            },
            [this] { think([this] { next(); }); });
  }
  void reject(std::vector<std::uint64_t> receipts) {
    const std::uint64_t first = receipts.front();
    receipts.erase(receipts.begin());
    // A reject may take effect even when its answer is lost: from here on
    // an early redelivery is allowed.
    h().deliveries[h().by_receipt.at(first)].rejected = true;
    request(node::Write{broker::QueueReject{first}, {}},
            [this, receipts](const ClientReply&) {
              if (receipts.empty()) {
                think([this] { next(); });
              } else {
                ack(receipts);
              }
            },
            [this] { think([this] { next(); }); });
  }
  void extend(std::vector<std::uint64_t> receipts, Duration visibility) {
    // Extending by at least the original visibility only ever moves the
    // deadline later, which the redelivery check relies on.
    request(node::Write{broker::QueueExtend{receipts.front(), visibility}, {}},
            [this, receipts](const ClientReply&) { ack(receipts); }, [this] { think([this] { next(); }); });
  }
};

// ---------------------------------------------------------------------------
// Events store

struct Publisher final : Workload::Client {
  using Client::Client;
  std::uint64_t seq = 0;
  void start() override { think([this] { next(); }); }
  void next() {
    if (!writing()) return;
    broker::StorePublish p;
    const std::string body = "s" + to_string(id) + "-" + std::to_string(++seq);
    p.message = message(pick(rng, kStores), body, id);
    p.key.producer_id = "pub" + to_string(id);
    p.key.producer_seq = seq;
    h().publishes[body] = {p.message.channel, Outcome::pending, 0};
    request(node::Write{p, {}},
            [this, body](const ClientReply& r) {
              auto& rec = h().publishes[body];
              if (r.status.ok()) {
                rec.outcome = Outcome::acked;
                rec.seq = std::get<broker::Published>(std::get<broker::Reply>(r.body)).seq;
                h().store_floor[rec.channel] = std::max(h().store_floor[rec.channel], rec.seq);
                h().acknowledged++;
              } else {
                rec.outcome = Outcome::unknown;
              }
              think([this] { next(); });
            },
            [this, body] {
              h().publishes[body].outcome = Outcome::unknown;
              think([this] { next(); });
            });
  }
};

// Reads a store channel's stats from whichever node it is connected to. A
// read must see every publish acknowledged before it began, and all that a
// read completed before it began saw.
struct Reader final : Workload::Client {
  using Client::Client;
  void start() override { think([this] { next(); }); }
  void next() {
    if (!writing()) return;
    const std::string channel = pick(rng, kStores);
    const std::uint64_t floor = h().store_floor[channel];
    request(node::GetStats{broker::Kind::store, channel},
            [this, channel, floor](const ClientReply& r) {
              const auto* stats = std::get_if<broker::StoreStats>(&r.body);
              const std::uint64_t last = r.status.ok() && stats != nullptr ? stats->last_seq : 0;
              if (r.status.ok() || r.status.code() == Code::not_found) {
                h().reads++;
                if (last < floor) {
                  h().fail("a read of " + channel + " stats at node " + to_string(node) + " saw last seq " +
                           std::to_string(last) + ", but seq " + std::to_string(floor) +
                           " was acknowledged or read before it began");
                }
                h().store_floor[channel] = std::max(h().store_floor[channel], last);
              } else {
                h().fail("a read of " + channel + " stats failed: " + r.status.to_string());
              }
              think([this] { next(); });
            },
            [this] { think([this] { next(); }); });
  }
};

// One logical subscriber over many sessions: it resumes from its last
// sequence after every reconnect, so its stream must have no gap and no
// duplicate across all of them.
struct StoreSubscriber final : Workload::Client {
  StoreSubscriber(Workload* workload, NodeId client) : Client(workload, client) {
    stream.channel = pick(rng, kStores);
    h().streams.push_back(&stream);
    // Without time starts, the draw of before they existed (older seeds).
    const auto r = uniform_below(rng, options().time_starts ? 6 : 4);
    first_start.from = r == 0 ? node::StartFrom::first
                       : r == 1 ? node::StartFrom::sequence
                       : r == 2 ? node::StartFrom::last
                       : r == 3 ? node::StartFrom::time
                       : r == 4 ? node::StartFrom::time_delta
                                : node::StartFrom::new_only;
    first_start.seq = uniform_between(rng, 1, 5);
    // A time up to 3 s ahead: the stream starts at the first message stamped
    // then or later (stamps are the leader's clock; the checker compares
    // with the final log). A delta far longer than any run or clock fault:
    // the whole channel, as from the first.
    if (options().time_starts) {
      first_start.time = now() + Duration::millis(static_cast<std::int64_t>(uniform_below(rng, 3000)));
    }
    first_start.delta = Duration::seconds(1000);
    stream.start = first_start;
  }
  Workload::History::StoreStream stream;
  node::StoreStart first_start;
  std::uint64_t sub_id = 0;       // the current session's, once accepted
  std::uint64_t pending_sub = 0;  // asked for, not yet confirmed
  std::uint64_t next_sub = 1;
  std::uint64_t expect = 0;       // the next sequence this session must deliver; 0: any (first delivery)
  node::StartFrom session_start = node::StartFrom::new_only;
  std::vector<broker::StoredMessage> early;  // arrived before the subscribe reply

  void start() override { subscribe(); }
  void subscribe() {
    const std::uint64_t s = new_session(&sub_id, &next_sub);
    pending_sub = s;
    node::StoreStart start = first_start;
    // A "new only" subscriber that came after the last publish would wait
    // for ever: once writers stop, one that saw nothing replays from the
    // first message instead.
    if (stream.seen.empty() && draining) start = {node::StartFrom::first, 0, {}, {}};
    if (!stream.seen.empty()) start = {node::StartFrom::sequence, stream.seen.back().seq + 1, {}, {}};
    expect = start.from == node::StartFrom::sequence ? std::max<std::uint64_t>(start.seq, 1) : 0;
    if (start.from == node::StartFrom::first || start.from == node::StartFrom::time_delta) expect = 1;
    session_start = start.from;
    early.clear();
    request(node::SubscribeStore{s, stream.channel, "", start},
            [this, s](const ClientReply& r) {
              if (!r.status.ok() || pending_sub != s) {
                after(Duration::millis(100), [this] { subscribe(); });
                return;
              }
              sub_id = s;
              for (const auto& m : early) accept(m);
              early.clear();
              // Reconnect now and then: each time the stream must resume exactly.
              after(Duration::millis(uniform_between(rng, 300, 3000)), [this, s] {
                if (sub_id == s) subscribe();
              });
              watch_session(s, &sub_id, [this] { subscribe(); });
            },
            [this] { subscribe(); });
  }
  void accept(const broker::StoredMessage& m) {
    if (expect != 0 && m.seq != expect) {
      h().fail("store subscriber " + to_string(id) + " on " + stream.channel + " expected seq " +
               std::to_string(expect) + " and got " + std::to_string(m.seq) + " (gap or duplicate)");
    }
    expect = m.seq + 1;
    if (stream.seen.empty()) stream.first_by_time = session_start == node::StartFrom::time;
    if (!stream.seen.empty() && m.seq <= stream.seen.back().seq) return;  // already counted (reported above)
    stream.seen.push_back(m);
  }
  void on_push(NodeId /*from*/, const node::Message& m) override {
    const auto* d = std::get_if<node::StoreDelivery>(&m);
    if (d == nullptr) return;
    if (d->sub_id == sub_id && sub_id != 0) {
      accept(d->message);
    } else if (d->sub_id == pending_sub && sub_id == 0) {
      early.push_back(d->message);
    }
  }
};

// A member of the group "workers" of one store channel. It subscribes on
// whichever node it reaches and again now and then, so the group's serving
// node changes under it.
struct StoreGroupMember final : Workload::Client {
  StoreGroupMember(Workload* workload, NodeId client) : Client(workload, client) {
    channel = pick(rng, kStores);
  }
  std::string channel;
  std::uint64_t sub_id = 0;
  std::uint64_t next_sub = 1;

  void start() override { subscribe(); }
  void subscribe() {
    const std::uint64_t s = new_session(&sub_id, &next_sub);
    request(node::SubscribeStore{s, channel, "workers", {node::StartFrom::first, 0, {}, {}}},
            [this, s](const ClientReply& r) {
              if (!r.status.ok()) {
                after(Duration::millis(100), [this] { subscribe(); });
                return;
              }
              sub_id = s;
              after(Duration::millis(uniform_between(rng, 500, 4000)), [this, s] {
                if (sub_id == s && !draining) subscribe();
              });
              watch_session(s, &sub_id, [this] { subscribe(); });
            },
            [this] { subscribe(); });
  }
  void on_push(NodeId /*from*/, const node::Message& m) override {
    const auto* d = std::get_if<node::StoreDelivery>(&m);
    if (d == nullptr || d->sub_id == 0 || d->sub_id >= next_sub) return;
    if (d->message.channel != channel) {
      h().fail("group member on " + channel + " got a message of " + d->message.channel);
      return;
    }
    h().group_seen[channel].push_back(d->message);
  }
};

// ---------------------------------------------------------------------------
// Events

struct EventPublisher final : Workload::Client {
  using Client::Client;
  std::uint64_t seq = 0;
  void start() override { think([this] { next(); }); }
  void next() {
    if (!writing()) return;
    node::MessageIn m = message(chance(rng, 0.5) ? "ev.a.x" : "ev.b.y", "", id);
    m.id = "ev" + to_string(id) + "-" + std::to_string(++seq);
    m.body = m.id;
    h().events_published.insert(m.id);
    request(node::PublishEvent{m}, [this](const ClientReply&) { think([this] { next(); }); },
            [this] { think([this] { next(); }); }, true);
  }
};

struct EventSubscriber final : Workload::Client {
  EventSubscriber(Workload* workload, NodeId client) : Client(workload, client) {
    pattern = chance(rng, 0.5) ? "ev.>" : (chance(rng, 0.5) ? "ev.*.x" : "ev.b.y");
    if (chance(rng, 0.5)) group = "g1";
  }
  std::string pattern;
  std::string group;
  std::uint64_t next_sub = 1;
  std::set<std::uint64_t> active;  // subscriptions whose unsubscribe was not answered yet
  // Unsubscribes that did not reach the subscription's node (it answered
  // from elsewhere, or not at all): the node may still deliver to them.
  std::set<std::uint64_t> abandoned;
  // The connection each subscription was made on: a closed connection's
  // subscriptions deliver nothing on a new one, even to the same node.
  std::map<std::uint64_t, std::uint64_t> sub_connection;
  std::map<std::uint64_t, std::set<std::string>> seen;
  void start() override { subscribe(); }
  void subscribe() {
    connect();
    const std::uint64_t s = next_sub++;
    active.insert(s);
    sub_connection[s] = connection;
    request(node::SubscribeEvents{s, pattern, group},
            [this, s](const ClientReply& r) {
              sub_connection[s] = connection;  // a retry may have made it on another connection
              if (!r.status.ok()) {
                active.erase(s);
                after(Duration::millis(100), [this] { subscribe(); });
                return;
              }
              after(Duration::millis(uniform_between(rng, 500, 3000)), [this, s] { resubscribe(s); });
            },
            [this] { subscribe(); });
  }
  void resubscribe(std::uint64_t s) {
    if (!connected()) {
      active.erase(s);  // the node restarted: nothing more comes from it
      subscribe();
      return;
    }
    request(node::Unsubscribe{s},
            [this, s](const ClientReply& r) {
              active.erase(s);
              if (!r.status.ok()) abandoned.insert(s);
              subscribe();
            },
            [this, s] {
              active.erase(s);
              abandoned.insert(s);
              subscribe();
            });
  }
  void on_push(NodeId /*from*/, const node::Message& m) override {
    const auto* d = std::get_if<node::EventDelivery>(&m);
    if (d == nullptr) return;
    const std::string& eid = d->message.id;
    if (sub_connection[d->sub_id] != connection) return;  // made on a connection since closed
    if (!active.contains(d->sub_id) && !abandoned.contains(d->sub_id)) {
      h().fail("event " + eid + " delivered to a subscription that had ended");
    }
    if (!broker::matches(pattern, d->message.channel)) h().fail("event " + eid + " does not match " + pattern);
    if (!h().events_published.contains(eid)) h().fail("unexpected event " + eid);
    if (!seen[d->sub_id].insert(eid).second) h().fail("event " + eid + " delivered twice to one subscription");
    if (!group.empty() && ++h().group_deliveries[{pattern + "/" + group, eid}] > 1) {
      h().fail("event " + eid + " delivered to two members of group " + group);
    }
  }
};

// ---------------------------------------------------------------------------
// Commands and queries

struct RpcResponder final : Workload::Client {
  using Client::Client;
  std::uint64_t next_sub = 1;
  void start() override { subscribe(); }
  // Serves both kinds, each with its own subscription, on one node.
  void subscribe() {
    connect();
    const std::uint64_t s = next_sub;
    next_sub += 2;
    request(node::SubscribeRpc{s, node::RpcKind::command, "rpc.cmd", "workers"},
            [this, s](const ClientReply&) {
              request(node::SubscribeRpc{s + 1, node::RpcKind::query, "rpc.query", "workers"},
                      [this](const ClientReply&) { watch(); }, [this] { subscribe(); });
            },
            [this] { subscribe(); });
  }
  void watch() {
    after(Duration::millis(100), [this] {
      if (!connected()) {
        subscribe();
        return;
      }
      watch();
    });
  }
  void on_push(NodeId /*from*/, const node::Message& m) override {
    const auto* in = std::get_if<node::RpcIncoming>(&m);
    if (in == nullptr) return;
    if (!h().rpc_bodies.contains(in->request.body)) h().fail("unexpected rpc request " + in->request.body);
    node::RpcRespond respond{in->rpc_id, true, "", "", "re:" + in->request.body, {}};
    // Answers go straight back to the node that asked, outside the
    // one-request-at-a-time flow: a responder serves many at once.
    send(node::ClientRequest{0, respond});  // `from` is the node this connection is to
  }
};

struct RpcCaller final : Workload::Client {
  using Client::Client;
  std::uint64_t seq = 0;
  void start() override { think([this] { next(); }); }
  void next() {
    if (!writing()) return;
    node::RpcCall call;
    call.kind = chance(rng, 0.5) ? node::RpcKind::command : node::RpcKind::query;
    const std::string body = "rpc" + to_string(id) + "-" + std::to_string(++seq);
    call.message = message(call.kind == node::RpcKind::command ? "rpc.cmd" : "rpc.query", body, id);
    call.timeout = Duration::millis(uniform_between(rng, 50, 1000));
    h().rpc_bodies.insert(body);
    // Calls are not retried: a timeout is an answer.
    op = Op{next_request++, call, nullptr, nullptr, now(), 0};
    h().operations++;
    const std::uint64_t rid = op->request_id;
    if (!connected()) connect();
    send(node::ClientRequest{rid, call});
    after(Duration::seconds(3), [this, rid] {
      if (op && op->request_id == rid) {
        op.reset();
        think([this] { next(); });
      }
    });
    pending_body = body;
  }
  std::string pending_body;
  void on_push(NodeId /*from*/, const node::Message& m) override {
    const auto* r = std::get_if<ClientReply>(&m);
    if (r == nullptr || !op || r->request_id != op->request_id) return;
    op.reset();
    if (r->status.ok()) {
      const auto* answer = std::get_if<node::RpcAnswer>(&r->body);
      if (answer == nullptr || !answer->executed || answer->body != "re:" + pending_body) {
        h().fail("rpc " + pending_body + " got an answer to another request");
      }
      h().acknowledged++;
    } else if (r->status.code() != Code::timeout && r->status.code() != Code::not_found) {
      h().fail("rpc " + pending_body + " failed: " + r->status.to_string());
    }
    think([this] { next(); });
  }
};

// ---------------------------------------------------------------------------

Workload::Workload(Cluster* cluster, Rng rng, WorkloadOptions options)
    : cluster_(cluster), rng_(rng), options_(options), history_(std::make_unique<History>()) {
  std::uint64_t next = kFirstClientId;
  auto add = [&]<class C>(int n) {
    for (int i = 0; i < n; ++i) clients_.push_back(std::make_unique<C>(this, NodeId(next++)));
  };
  add.operator()<Producer>(options.producers);
  add.operator()<Consumer>(options.consumers);
  add.operator()<Publisher>(options.publishers);
  add.operator()<StoreSubscriber>(options.store_subscribers);
  add.operator()<StoreGroupMember>(options.store_group_members);
  add.operator()<EventPublisher>(options.event_publishers);
  add.operator()<EventSubscriber>(options.event_subscribers);
  add.operator()<RpcResponder>(options.rpc_responders);
  add.operator()<RpcCaller>(options.rpc_callers);
  add.operator()<Reader>(options.readers);
}

Workload::~Workload() = default;

std::uint64_t Workload::operations() const { return history_->operations; }
std::uint64_t Workload::acknowledged() const { return history_->acknowledged; }

void Workload::start(Timestamp stop) {
  for (auto& c : clients_) {
    c->stop = stop;
    c->start();
  }
  cluster_->scheduler().at(stop, [this] {
    for (auto& c : clients_) c->draining = true;
  });
}

void Workload::on_message(NodeId client, NodeId from, std::uint64_t sent, node::Message message) {
  const std::uint64_t i = client.value() - kFirstClientId;
  if (client.value() < kFirstClientId || i >= clients_.size()) return;
  Client& c = *clients_[i];
  // Only the current connection speaks: what an old one still had in
  // flight died with it, as on a closed TCP connection.
  if (from != c.node || !c.connected() || sent <= c.opened_at) return;
  if (const auto* r = std::get_if<ClientReply>(&message); r != nullptr && r->request_id != 0 &&
                                                          dynamic_cast<RpcCaller*>(&c) == nullptr) {
    c.on_reply(*r);
    return;
  }
  c.on_push(from, message);
}

std::string Workload::drain_status() const {
  std::string out;
  for (const auto& c : clients_) {
    if (c->op) {
      out += " [client " + to_string(c->id) + " waits on request " + std::to_string(c->op->request_id) + " attempt " +
             std::to_string(c->op->attempt) + " at node " + to_string(c->node) + "]";
    }
  }
  for (const History::StoreStream* stream : history_->streams) {
    out += " [" + stream->channel + " subscriber at " +
           (stream->seen.empty() ? std::string("nothing") : std::to_string(stream->seen.back().seq)) + "]";
  }
  for (NodeId id : cluster_->servers()) {
    const node::BrokerNode* n = cluster_->node(id);
    if (n == nullptr || n->raft().role() != raft::Role::leader) continue;
    for (const std::string& c : n->state().channels(broker::Kind::store)) {
      out += " [" + c + ": last seq " + std::to_string(n->state().store_stats(c)->last_seq) + "]";
    }
    for (const std::string& q : n->state().channels(broker::Kind::queue)) {
      const broker::QueueStats st = *n->state().queue_stats(q);
      out += " [" + q + ": ready " + std::to_string(st.ready) + " delayed " + std::to_string(st.delayed) +
             " in flight " + std::to_string(st.in_flight) + "]";
    }
  }
  return out;
}

}  // namespace sluice::sim::brokersim
