// The client's retry rules against fake nodes: two client ports whose hubs
// answer as scripted, so a leader hint, a node that stays unavailable and a
// closed connection can be produced on demand (no Raft involved).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "net/client/client.h"
#include "net/server/client_server.h"
#include "net/server/node_host.h"

namespace sluice::client {
namespace {

using namespace std::chrono_literals;

// Answers every request with `status` (and `hint`); counts requests.
class ScriptedHub final : public net::ClientHub {
 public:
  ScriptedHub(Status status, NodeId hint) : status_(std::move(status)), hint_(hint) {}
  NodeId connect(net::ClientSink* sink) override {
    const NodeId id(next_++);
    sinks_[id] = sink;
    return id;
  }
  void submit(NodeId client, node::ClientRequest request) override {
    ++requests;
    node::ReplyBody body;
    if (status_.ok()) body = std::vector<node::ChannelInfo>{};
    sinks_.at(client)->deliver(node::Message(node::ClientReply{request.request_id, status_, hint_, body}));
  }
  void disconnect(NodeId client) override { sinks_.erase(client); }
  std::atomic<int> requests{0};

 private:
  Status status_;
  NodeId hint_;
  std::map<NodeId, net::ClientSink*> sinks_;  // loop thread only
  std::uint64_t next_ = net::kFirstClientId;
};

class Redirect : public ::testing::Test {
 protected:
  void TearDown() override {
    boost::asio::post(loop_, [this] { servers_.clear(); });
    work_.reset();
    if (thread_.joinable()) thread_.join();
  }
  // A client port for node `self` in front of `hub`; returns "127.0.0.1:port".
  std::string serve(NodeId self, ScriptedHub& hub) {
    net::ClientServerOptions options;
    options.self = self;
    options.cluster = "test";
    servers_.push_back(std::make_unique<net::ClientServer>(loop_, hub, options, log_));
    auto port = servers_.back()->listen("127.0.0.1", 0);
    SLUICE_ASSERT(port.ok(), "listen failed");
    return "127.0.0.1:" + std::to_string(*port);
  }
  void run() { thread_ = std::thread([this] { loop_.run(); }); }
  // Hubs outlive the servers (TearDown) and the test's clients.
  ScriptedHub& hub(Status status, NodeId hint) {
    hubs_.push_back(std::make_unique<ScriptedHub>(std::move(status), hint));
    return *hubs_.back();
  }

  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(loop_);
  net::Logger log_{net::LogFormat::text, net::LogLevel::error};
  std::vector<std::unique_ptr<ScriptedHub>> hubs_;
  std::vector<std::unique_ptr<net::ClientServer>> servers_;
  std::thread thread_;
};

TEST_F(Redirect, AnUnavailableNodeWithAHintSendsTheClientOnward) {
  ScriptedHub& follower = hub(Status(Code::unavailable, "not the leader"), NodeId(2));
  ScriptedHub& leader = hub(Status{}, kNoNode);
  Options options;
  options.servers = {serve(NodeId(1), follower), serve(NodeId(2), leader)};
  options.request_timeout = 20s;
  run();
  Client client(options);
  auto channels = client.list_channels("");
  ASSERT_TRUE(channels.ok()) << channels.status().to_string();
  EXPECT_EQ(client.node(), NodeId(2));
  EXPECT_EQ(follower.requests.load(), 1);
  EXPECT_EQ(leader.requests.load(), 1);
}

TEST_F(Redirect, ANodeThatStaysUnavailableIsLeftForAnother) {
  ScriptedHub& stuck = hub(Status(Code::unavailable, "no leader"), kNoNode);
  ScriptedHub& fine = hub(Status{}, kNoNode);
  Options options;
  options.servers = {serve(NodeId(1), stuck), serve(NodeId(2), fine)};
  options.request_timeout = 20s;
  run();
  Client client(options);
  auto channels = client.list_channels("");
  ASSERT_TRUE(channels.ok()) << channels.status().to_string();
  EXPECT_EQ(client.node(), NodeId(2));
  EXPECT_GE(stuck.requests.load(), 1);
}

TEST_F(Redirect, OnlyUnavailableNodesEndInAClearError) {
  ScriptedHub& stuck = hub(Status(Code::unavailable, "no leader"), kNoNode);
  Options options;
  options.servers = {serve(NodeId(1), stuck)};
  options.request_timeout = 1s;
  run();
  Client client(options);
  auto channels = client.list_channels("");
  ASSERT_FALSE(channels.ok());
  EXPECT_EQ(channels.status().code(), Code::unavailable);
  EXPECT_NE(channels.status().message().find("no leader"), std::string::npos) << channels.status().to_string();
}

TEST_F(Redirect, ARefusalIsReturnedNotRetried) {
  ScriptedHub& refusing = hub(Status(Code::invalid_argument, "bad channel"), kNoNode);
  Options options;
  options.servers = {serve(NodeId(1), refusing)};
  run();
  Client client(options);
  auto channels = client.list_channels("");
  ASSERT_FALSE(channels.ok());
  EXPECT_EQ(channels.status().code(), Code::invalid_argument);
  EXPECT_EQ(refusing.requests.load(), 1);
}

}  // namespace
}  // namespace sluice::client
