// One TCP connection that carries wire frames (net/wire/wire.h) both ways:
// the piece the peer transport and the client port share.
//
// Reading: bytes go through a wire::Decoder with the connection's limits;
// each complete frame goes to on_frame. A decoder error (malformed or
// oversized frame) answers with an ErrorFrame and closes. A frame must
// finish within `frame_timeout` of the moment it began, and the first frame
// must arrive within `first_frame_timeout` of the accept: a peer that
// trickles bytes or opens a socket and says nothing is closed, so it cannot
// hold a buffer or a descriptor for ever.
//
// Writing: send() queues an encoded frame; the queue is bounded by frames
// and bytes, and what to do on overflow is the owner's call (peers drop,
// since Raft retransmits; clients are closed, since a reply must not
// vanish). Frames queued while a write is under way leave together in the
// next async_write (scatter-gather, up to `write_batch_bytes_max`).
//
// Lifetime: owned by shared_ptr; pending operations keep it alive. Handlers
// are called on the io_context's thread, and never after close() or
// detach(): an owner that goes away first calls detach().
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/common/time.h"
#include "net/wire/wire.h"

namespace sluice::net {

struct FrameConnectionOptions {
  wire::Limits limits;
  Duration first_frame_timeout = Duration::seconds(10);
  Duration frame_timeout = Duration::seconds(30);
  std::size_t queue_frames_max = 65'536;
  std::size_t queue_bytes_max = 64u << 20;
  std::size_t write_batch_bytes_max = 1u << 20;
  // How long a closing connection waits for its last frames (an
  // ErrorFrame, say) to leave before it drops them.
  Duration linger = Duration::seconds(2);
};

class FrameConnection : public std::enable_shared_from_this<FrameConnection> {
 public:
  struct Handlers {
    std::function<void(wire::Frame frame)> on_frame;
    // Once, when the connection is closed for any reason but detach().
    std::function<void(const std::string& reason)> on_closed;
  };
  enum class Queued { ok, overflow, closed };

  FrameConnection(boost::asio::ip::tcp::socket socket, FrameConnectionOptions options);
  FrameConnection(const FrameConnection&) = delete;
  FrameConnection& operator=(const FrameConnection&) = delete;

  // Starts reading (and the first-frame timer).
  void start(Handlers handlers);
  Queued send(std::string frame);
  // Sends an ErrorFrame, stops reading, closes once it has left (or the
  // linger runs out).
  void close_with_error(const std::string& message);
  // Closes now; queued frames are dropped.
  void close(const std::string& reason);
  // Stops reading new frames (a draining server); writes go on.
  void pause_reading();
  // Forgets the handlers and closes: for an owner that is going away.
  void detach();

  bool open() const { return state_ == State::open; }
  std::size_t queued_frames() const { return queue_.size(); }
  std::size_t queued_bytes() const { return queued_bytes_; }
  // Frames written (fully handed to the kernel) so far.
  std::uint64_t frames_written() const { return frames_written_; }
  const std::string& remote() const { return remote_; }

 private:
  enum class State { open, closing, closed };

  void read_more();
  void on_read(std::size_t bytes);
  void arm_deadline(Duration after, const char* what);
  bool deadline_armed() const;
  void write_more();
  void finish_close(const std::string& reason);

  boost::asio::ip::tcp::socket socket_;
  FrameConnectionOptions options_;
  Handlers handlers_;
  wire::Decoder decoder_;
  std::string remote_;
  State state_ = State::open;
  bool reading_paused_ = false;
  bool read_pending_ = false;
  bool got_frame_ = false;
  std::unique_ptr<char[]> read_buffer_;

  boost::asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;  // a timer callback of an older arming is stale
  std::uint64_t deadline_armed_generation_ = 0;  // equal to the above while a deadline runs
  boost::asio::steady_timer linger_;

  std::deque<std::string> queue_;  // front: the frames of the write under way, then the rest
  std::size_t queued_bytes_ = 0;
  std::size_t in_write_ = 0;       // frames at the front of queue_ handed to async_write
  std::uint64_t frames_written_ = 0;
  std::string close_reason_;
};

}  // namespace sluice::net
