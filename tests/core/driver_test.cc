// The IO ordering contract of core/node/output.h, checked on the one driver
// function with a scripted node and a recording environment.
#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "core/node/driver.h"

namespace sluice {
namespace {

struct ScriptedNode {
  using Message = std::string;

  std::deque<Output<Message>> script;  // outputs to hand out, in order
  std::vector<std::pair<PersistId, Status>> persisted;

  void step(NodeId, Message, Timestamp) {}
  void tick(Timestamp) {}
  void on_persisted(PersistId id, Status status) { persisted.emplace_back(id, status); }
  bool has_output() const { return !script.empty(); }
  Output<Message> take_output() {
    Output<Message> out = std::move(script.front());
    script.pop_front();
    return out;
  }
};
static_assert(StepMachine<ScriptedNode>);

struct RecordingEnv final : Environment<std::string> {
  std::vector<std::string> log;  // sends and persists, in the order they happened
  std::deque<std::function<void(Status)>> pending;

  void send(Envelope<std::string> e) override { log.push_back("send " + e.message); }
  void persist(WriteBatch batch, std::function<void(Status)> done) override {
    log.push_back("persist " + std::to_string(batch.ops().size()));
    pending.push_back(std::move(done));
  }
  void complete(Status s = {}) {
    auto done = std::move(pending.front());
    pending.pop_front();
    done(s);
  }
};

Envelope<std::string> msg(const std::string& text) { return {kDefaultGroup, NodeId(1), NodeId(2), text}; }

TEST(Driver, SendNowGoesOutBeforeTheWriteIsDurable) {
  ScriptedNode node;
  Output<std::string> out;
  out.send_now.push_back(msg("append"));
  out.persist.put(Keyspace::raft_log, "k", "v");
  out.persist_id = 1;
  out.send_after_persist.push_back(msg("ack"));
  node.script.push_back(std::move(out));
  RecordingEnv env;
  drive(node, env);
  EXPECT_EQ(env.log, (std::vector<std::string>{"send append", "persist 1"}));
  EXPECT_TRUE(node.persisted.empty()) << "nothing is durable yet";
  env.complete();
  EXPECT_EQ(env.log, (std::vector<std::string>{"send append", "persist 1", "send ack"}));
  ASSERT_EQ(node.persisted.size(), 1u);
  EXPECT_EQ(node.persisted[0].first, 1u);
}

TEST(Driver, AFailedPersistDropsWhatDependsOnIt) {
  ScriptedNode node;
  Output<std::string> out;
  out.persist.put(Keyspace::raft_state, "hs", "v");
  out.persist_id = 7;
  out.send_after_persist.push_back(msg("vote granted"));
  node.script.push_back(std::move(out));
  RecordingEnv env;
  drive(node, env);
  env.complete(Status(Code::io_error, "fsync failed"));
  EXPECT_EQ(env.log, (std::vector<std::string>{"persist 1"})) << "the vote must never leave";
  ASSERT_EQ(node.persisted.size(), 1u);
  EXPECT_EQ(node.persisted[0].second.code(), Code::io_error);
}

TEST(Driver, AnAckWithoutWritesWaitsBehindEarlierPersists) {
  ScriptedNode node;
  Output<std::string> first;
  first.persist.put(Keyspace::raft_log, "k", "v");
  first.persist_id = 1;
  Output<std::string> second;  // acknowledges data that `first` is writing
  second.persist_id = 2;
  second.send_after_persist.push_back(msg("ack"));
  node.script.push_back(std::move(first));
  node.script.push_back(std::move(second));
  RecordingEnv env;
  drive(node, env);
  EXPECT_EQ(env.log, (std::vector<std::string>{"persist 1", "persist 0"})) << "a barrier, not a send";
  env.complete();
  EXPECT_EQ(env.log.size(), 2u) << "the ack waits for its own barrier";
  env.complete();
  EXPECT_EQ(env.log.back(), "send ack");
}

TEST(Driver, OutputsWithoutPersistNeedNoEnvironmentRoundTrip) {
  ScriptedNode node;
  Output<std::string> out;
  out.send_now.push_back(msg("heartbeat"));
  node.script.push_back(std::move(out));
  RecordingEnv env;
  drive(node, env);
  EXPECT_EQ(env.log, (std::vector<std::string>{"send heartbeat"}));
  EXPECT_TRUE(env.pending.empty());
}

}  // namespace
}  // namespace sluice
