// What the simulated broker clients saw (workload.cc records it, checks.cc
// judges it). Private to sim/broker.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "sim/broker/workload.h"

namespace sluice::sim::brokersim {

enum class Outcome { pending, acked, unknown };

struct Workload::History {
  struct Send {
    std::string channel;
    Duration delay{};
    Duration expiration{};
    std::uint32_t max_receive_count = 0;
    std::string dead_letter;
    Outcome outcome = Outcome::pending;
  };
  struct Delivery {
    std::string body;
    broker::Delivery d;
    Timestamp client_time;     // when the client saw it
    Timestamp requested_time;  // when the client asked for it: it cannot have happened earlier
    bool rejected = false;  // a reject was sent (it may have taken effect)
    bool ack_attempted = false;
    bool acked = false;  // an ack reply confirmed this receipt
    Timestamp acked_time;
  };
  struct Publish {
    std::string channel;
    Outcome outcome = Outcome::pending;
    std::uint64_t seq = 0;
  };
  struct StoreStream {
    std::string channel;
    std::vector<broker::StoredMessage> seen;  // the accepted stream, over all sessions
    node::StoreStart start;                   // of its first session
    // Its first message came from a session that started by time: it must
    // be the first in the log stamped at or after start.time.
    bool first_by_time = false;
  };

  std::map<std::string, Send> sends;  // by body
  std::vector<Delivery> deliveries;
  std::map<std::uint64_t, std::size_t> by_receipt;
  std::map<std::string, Publish> publishes;  // by body
  // Per events store channel: the highest sequence acknowledged to a
  // publisher or seen by a completed read. A read that begins later must
  // see at least that much (reads are linearizable).
  std::map<std::string, std::uint64_t> store_floor;
  std::uint64_t reads = 0;  // answered
  std::vector<StoreStream*> streams;
  // Events store groups: every message any member got, by channel. A group
  // promises one member per message while its serving node stands; around a
  // change of server a message may come twice, and one in flight to a member
  // that left is not handed to another.
  std::map<std::string, std::vector<broker::StoredMessage>> group_seen;
  std::set<std::string> events_published;    // ids
  std::map<std::pair<std::string, std::string>, int> group_deliveries;  // (group key, event id)
  std::set<std::string> rpc_bodies;
  std::vector<std::string> violations;
  std::uint64_t operations = 0;
  std::uint64_t acknowledged = 0;

  void fail(std::string what) {
    if (violations.size() < 20) violations.push_back(std::move(what));
  }
};

}  // namespace sluice::sim::brokersim
