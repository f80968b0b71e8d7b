// The framed client port against bad input: each kind of misbehaviour gets
// an ErrorFrame and a closed connection, and the server goes on serving the
// next client. A fake hub answers requests at once, so no node is needed.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include "net/server/client_server.h"
#include "net/server/node_host.h"
#include "tests/net/server/test_client.h"

namespace sluice::net {
namespace {

using testing::TestClient;

// Answers every request with an empty ok reply; counts what it saw.
class EchoHub final : public ClientHub {
 public:
  NodeId connect(ClientSink* sink) override {
    const NodeId id(next_++);
    sinks_[id] = sink;
    std::lock_guard lock(mu_);
    ++connected_;
    return id;
  }
  void submit(NodeId client, node::ClientRequest request) override {
    sinks_.at(client)->deliver(node::Message(node::ClientReply{request.request_id, {}, kNoNode, {}}));
  }
  void disconnect(NodeId client) override {
    sinks_.erase(client);
    std::lock_guard lock(mu_);
    ++disconnected_;
    changed_.notify_all();
  }
  // Waits (bounded) until `n` clients have disconnected.
  bool wait_disconnected(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, std::chrono::seconds(20), [&] { return disconnected_ >= n; });
  }
  int connected() {
    std::lock_guard lock(mu_);
    return connected_;
  }

 private:
  std::map<NodeId, ClientSink*> sinks_;  // loop thread only
  std::uint64_t next_ = kFirstClientId;
  std::mutex mu_;
  std::condition_variable changed_;
  int connected_ = 0;
  int disconnected_ = 0;
};

class ClientPort : public ::testing::Test {
 protected:
  void SetUp() override {
    ClientServerOptions options;
    options.self = NodeId(1);
    options.cluster = "test";
    options.connection.limits.frame_bytes_max = 64u << 10;
    // Short, so the tests of silent and trickling clients are quick; the
    // tests wait for the close without bounding when it comes.
    options.connection.first_frame_timeout = Duration::millis(300);
    options.connection.frame_timeout = Duration::millis(300);
    server_ = std::make_unique<ClientServer>(loop_, hub_, options, log_);
    auto port = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(port.ok()) << port.status().to_string();
    port_ = *port;
    thread_ = std::thread([this] { loop_.run(); });
  }
  void TearDown() override {
    boost::asio::post(loop_, [this] { server_.reset(); });
    work_.reset();
    thread_.join();
  }

  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ = boost::asio::make_work_guard(loop_);
  Logger log_{LogFormat::text, LogLevel::error};
  EchoHub hub_;
  std::unique_ptr<ClientServer> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ClientPort, AClientSaysHelloAndGetsItsRepliesInEnvelopes) {
  TestClient client(port_);
  ASSERT_TRUE(client.hello("test"));
  const node::ClientReply reply = client.request(node::Peek{"jobs", 1});
  EXPECT_TRUE(reply.status.ok());
  EXPECT_EQ(reply.request_id, 1u);
}

TEST_F(ClientPort, BytesThatAreNotAFrameGetAnErrorAndAClose) {
  TestClient client(port_);
  std::string junk = {16, 0, 0, 0};
  junk += std::string(16, '\xff');
  client.send_raw(junk);
  const auto error = client.error_then_close();
  ASSERT_TRUE(error.has_value()) << "closed without saying why";
  EXPECT_FALSE(error->empty());
}

TEST_F(ClientPort, AnOversizedFrameIsRefusedFromItsLengthAlone) {
  TestClient client(port_);
  ASSERT_TRUE(client.hello());
  // 1 MiB announced, over the 64 KiB limit; only the prefix is sent.
  client.send_raw(std::string{0, 0, 16, 0});
  const auto error = client.error_then_close();
  ASSERT_TRUE(error.has_value());
}

TEST_F(ClientPort, AFrameThatNeverFinishesIsClosed) {
  TestClient client(port_);
  ASSERT_TRUE(client.hello());
  // 104 bytes announced (a whole number of Cap'n Proto words), 16 sent.
  client.send_raw(std::string{104, 0, 0, 0} + std::string(16, '\0'));
  const auto error = client.error_then_close();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("did not finish"), std::string::npos) << *error;
}

TEST_F(ClientPort, AConnectionThatSaysNothingIsClosed) {
  TestClient client(port_);
  const auto error = client.error_then_close();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("no frame"), std::string::npos) << *error;
}

TEST_F(ClientPort, ARequestBeforeHelloIsRefused) {
  TestClient client(port_);
  client.send(wire::Frame(Envelope<node::Message>{kDefaultGroup, kNoNode, kNoNode,
                                                  node::Message(node::ClientRequest{1, node::Peek{"q", 1}})}));
  const auto error = client.error_then_close();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("Hello first"), std::string::npos) << *error;
}

TEST_F(ClientPort, APeerOrAnotherClusterIsRefused) {
  {
    TestClient peer(port_);
    peer.send(wire::Frame(wire::Hello{wire::kProtocolVersion, wire::Role::peer, NodeId(2), "test"}));
    const auto error = peer.error_then_close();
    ASSERT_TRUE(error.has_value());
    EXPECT_NE(error->find("peer port"), std::string::npos) << *error;
  }
  TestClient stranger(port_);
  EXPECT_FALSE(stranger.hello("another"));
}

TEST_F(ClientPort, AMessageThatIsNotARequestIsRefused) {
  TestClient client(port_);
  ASSERT_TRUE(client.hello());
  client.send(wire::Frame(Envelope<node::Message>{kDefaultGroup, kNoNode, kNoNode,
                                                  node::Message(node::ClientReply{1, {}, kNoNode, {}})}));
  const auto error = client.error_then_close();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find("ClientRequest"), std::string::npos) << *error;
}

TEST_F(ClientPort, EveryClosedConnectionLeavesTheHubAndTheServerServesOn) {
  {
    TestClient a(port_);
    ASSERT_TRUE(a.hello());
    TestClient b(port_);
    ASSERT_TRUE(b.hello());
    b.send_raw(std::string(8, '\xff'));
    EXPECT_TRUE(b.error_then_close().has_value());
  }  // a closes here
  EXPECT_TRUE(hub_.wait_disconnected(2));
  EXPECT_EQ(hub_.connected(), 2);
  TestClient c(port_);
  ASSERT_TRUE(c.hello());
  EXPECT_TRUE(c.request(node::Peek{"jobs", 1}).status.ok());
}

}  // namespace
}  // namespace sluice::net
