// Model-based property (issue 4, item 9): random sequences of queue, events
// store, idempotency, retention, configuration and clock entries are applied
// both to BrokerState and to the reference model (model.h); every reply, and
// every read a client can make, must agree after every step.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/broker/state.h"
#include "tests/core/broker/model.h"
#include "tests/core/broker/show.h"
#include "tests/core/broker/workload.h"

namespace sluice::broker {
namespace {

using testing::kQueues;
using testing::kStores;
using testing::Model;
using testing::show;
using testing::Workload;

// Every read of both, compared.
void expect_same_reads(const BrokerState& state, const Model& model, Timestamp now) {
  RC_ASSERT(state.replicated_time() == model.clock());
  RC_ASSERT(show(state.next_timer()) == show(model.next_timer()));
  RC_ASSERT(state.dedup_keys() == model.dedup_keys());
  RC_ASSERT(state.channels(Kind::queue) == model.channels(Kind::queue));
  RC_ASSERT(state.channels(Kind::store) == model.channels(Kind::store));
  RC_ASSERT(state.has_age_retention() == model.has_age_retention());
  for (const std::string q : {"q.a", "q.b", "q.c", "q.d", "dlq"}) {
    RC_ASSERT(show(state.queue_stats(q)) == show(model.queue_stats(q)));
    RC_ASSERT(show(state.peek(q, 100)) == show(model.peek(q, 100)));
    const std::size_t max = *rc::gen::inRange<std::size_t>(0, 3);
    RC_ASSERT(show(state.peek(q, max)) == show(model.peek(q, max)));
  }
  for (const std::string& s : kStores) {
    RC_ASSERT(show(state.store_stats(s)) == show(model.store_stats(s)));
    RC_ASSERT(show(state.read_store(s, 1, 1000)) == show(model.read_store(s, 1, 1000)));
    const std::uint64_t from = *rc::gen::inRange<std::uint64_t>(0, 40);
    const std::size_t max = *rc::gen::inRange<std::size_t>(0, 4);
    RC_ASSERT(show(state.read_store(s, from, max)) == show(model.read_store(s, from, max)));
    const Timestamp t{*rc::gen::inRange<std::int64_t>(0, now.ns + 2'000'000'000)};
    RC_ASSERT(state.store_seq_at(s, t) == model.store_seq_at(s, t));
    for (const std::string& g : testing::kGroups) {
      RC_ASSERT(state.store_group_position(s, g) == model.store_group_position(s, g));
    }
  }
}

// What the runs reached: cases in which each interesting thing happened at
// least once. The test asserts the workload still visits them, so a change
// that stops it (a limit too large, a channel renamed) fails loudly instead
// of leaving a property that checks nothing.
using Coverage = std::map<std::string, int>;

void note_reply(const Result<Reply>& got, std::set<std::string>& seen) {
  if (!got.ok()) {
    seen.insert(std::string("error ") + code_name(got.status().code()));
    return;
  }
  const std::string reply = show(*got);
  if (reply.find("duplicate") != std::string::npos) seen.insert("duplicate");
  if (reply.find("reason=") != std::string::npos) seen.insert("delivered from a dead-letter queue");
  if (reply.find("count=2") != std::string::npos) seen.insert("redelivered");
  if (const auto* a = std::get_if<AckResult>(&*got)) {
    if (a->acked > 0) seen.insert("acked");
    if (!a->stale.empty()) seen.insert("stale ack");
  }
}

void note_state(const BrokerState& state, std::set<std::string>& seen) {
  for (const std::string& q : kQueues) {
    const std::optional<QueueStats> s = state.queue_stats(q);
    if (!s) continue;
    if (s->dead_lettered > 0) seen.insert("dead-lettered");
    if (s->expired > 0) seen.insert("expired");
    if (s->rejected > 0) seen.insert("rejected");
    if (s->resent > 0) seen.insert("resent");
    if (s->purged > 0) seen.insert("purged");
  }
  for (const std::string& st : kStores) {
    const std::optional<StoreStats> s = state.store_stats(st);
    if (s && s->trimmed > 0) seen.insert("trimmed");
    if (state.store_group_position(st, "g1").value_or(1) > 1) seen.insert("group position moved");
  }
}

void run_sequence(Coverage& coverage) {
  BrokerState state;
  Model model;
  Workload workload;
  std::set<std::string> seen;
  const int steps = *rc::gen::inRange(1, 200);
  for (int step = 1; step <= steps; ++step) {
    const Entry entry = workload.next();
    RC_ASSERT(validate(entry.command, Limits{}).ok());
    if (entry.stamp < state.replicated_time()) seen.insert("stamp behind the clock");
    const Result<Reply> got = state.apply(LogIndex(static_cast<std::uint64_t>(step)), entry);
    const Result<Reply> want = model.apply(entry);
    RC_LOG() << "step " << step << " at " << show(entry.stamp) << ": " << command_name(entry.command) << " -> "
             << show(got) << "\n";
    RC_ASSERT(show(got) == show(want));
    workload.saw(got);
    expect_same_reads(state, model, workload.now());
    note_reply(got, seen);
  }
  note_state(state, seen);
  for (const std::string& s : seen) coverage[s]++;
}

TEST(BrokerModel, AgreesWithTheReferenceModel) {
  Coverage coverage;
  EXPECT_TRUE(rc::check("BrokerState agrees with the reference model", [&] { run_sequence(coverage); }));
  for (const char* thing : {"duplicate", "delivered from a dead-letter queue", "redelivered", "acked", "stale ack",
                            "error not_found", "error unavailable", "dead-lettered", "expired", "rejected",
                            "resent", "purged", "trimmed", "stamp behind the clock", "group position moved"}) {
    EXPECT_GE(coverage[thing], 3) << "the workload hardly reaches: " << thing;
  }
  for (const auto& [thing, cases] : coverage) std::printf("  %3d cases: %s\n", cases, thing.c_str());
}

}  // namespace
}  // namespace sluice::broker
