#include "net/server/frame_connection.h"

#include <chrono>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>

namespace sluice::net {
namespace {

constexpr std::size_t kReadBufferBytes = 64u << 10;

std::string endpoint_text(const boost::asio::ip::tcp::socket& socket) {
  boost::system::error_code ec;
  const auto ep = socket.remote_endpoint(ec);
  if (ec) return "?";
  return ep.address().to_string() + ":" + std::to_string(ep.port());
}

}  // namespace

FrameConnection::FrameConnection(boost::asio::ip::tcp::socket socket, FrameConnectionOptions options)
    : socket_(std::move(socket)),
      options_(options),
      decoder_(options.limits),
      remote_(endpoint_text(socket_)),
      read_buffer_(new char[kReadBufferBytes]),
      deadline_(socket_.get_executor()),
      linger_(socket_.get_executor()) {
  boost::system::error_code ec;
  // Frames are small and latency matters (a vote, an ack): no Nagle delay.
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  socket_.set_option(boost::asio::socket_base::keep_alive(true), ec);
}

void FrameConnection::start(Handlers handlers) {
  handlers_ = std::move(handlers);
  arm_deadline(options_.first_frame_timeout, "no frame within the first-frame timeout");
  read_more();
}

void FrameConnection::read_more() {
  if (read_pending_ || state_ == State::closed) return;
  if (state_ == State::open && reading_paused_) return;
  read_pending_ = true;
  socket_.async_read_some(boost::asio::buffer(read_buffer_.get(), kReadBufferBytes),
                          [self = shared_from_this()](const boost::system::error_code& ec, std::size_t bytes) {
                            self->read_pending_ = false;
                            if (self->state_ == State::closed) return;
                            if (ec) {
                              const std::string why = ec == boost::asio::error::eof ? "closed by the remote end"
                                                                                     : "read: " + ec.message();
                              self->finish_close(self->state_ == State::closing ? self->close_reason_ : why);
                              return;
                            }
                            // A closing connection only waits for the remote end to close its
                            // side (or the linger to run out); what it sends is discarded.
                            if (self->state_ == State::closing) {
                              self->read_more();
                              return;
                            }
                            self->on_read(bytes);
                          });
}

void FrameConnection::on_read(std::size_t bytes) {
  decoder_.feed(std::string_view(read_buffer_.get(), bytes));
  bool progress = false;
  while (state_ == State::open && !reading_paused_) {
    auto next = decoder_.next();
    if (!next.ok()) {
      close_with_error(next.status().message());
      return;
    }
    if (!next->has_value()) break;
    progress = true;
    got_frame_ = true;
    if (handlers_.on_frame) handlers_.on_frame(std::move(**next));
  }
  if (state_ != State::open) return;
  // A frame that began must finish in time; an idle connection with nothing
  // buffered may stay as long as it likes once it said its first frame.
  if (progress) {
    if (decoder_.buffered() > 0) {
      arm_deadline(options_.frame_timeout, "a frame did not finish within the frame timeout");
    } else {
      ++deadline_generation_;
      deadline_.cancel();
    }
  } else if (got_frame_ && decoder_.buffered() > 0 && !deadline_armed()) {
    arm_deadline(options_.frame_timeout, "a frame did not finish within the frame timeout");
  }
  read_more();
}

bool FrameConnection::deadline_armed() const { return deadline_armed_generation_ == deadline_generation_; }

void FrameConnection::arm_deadline(Duration after, const char* what) {
  const std::uint64_t generation = ++deadline_generation_;
  deadline_armed_generation_ = generation;
  deadline_.expires_after(std::chrono::nanoseconds(after.ns));
  deadline_.async_wait([self = shared_from_this(), generation, what](const boost::system::error_code& ec) {
    if (ec || generation != self->deadline_generation_ || self->state_ != State::open) return;
    self->close_with_error(what);
  });
}

FrameConnection::Queued FrameConnection::send(std::string frame) {
  if (state_ != State::open) return Queued::closed;
  const std::size_t waiting = queue_.size() - in_write_;
  if (waiting > 0 &&
      (waiting >= options_.queue_frames_max || queued_bytes_ + frame.size() > options_.queue_bytes_max)) {
    return Queued::overflow;
  }
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  write_more();
  return Queued::ok;
}

void FrameConnection::write_more() {
  if (in_write_ > 0 || state_ == State::closed) return;
  if (queue_.empty()) {
    if (state_ == State::closing) {
      // Our last frame left: say we are done, and wait for the remote end to
      // close its side, so the frame is read before any reset could drop it.
      boost::system::error_code ec;
      socket_.shutdown(boost::asio::socket_base::shutdown_send, ec);
      read_more();
    }
    return;
  }
  std::vector<boost::asio::const_buffer> buffers;
  std::size_t bytes = 0;
  for (const std::string& frame : queue_) {
    if (!buffers.empty() && bytes + frame.size() > options_.write_batch_bytes_max) break;
    buffers.emplace_back(frame.data(), frame.size());
    bytes += frame.size();
  }
  in_write_ = buffers.size();
  boost::asio::async_write(socket_, buffers,
                           [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
                             if (self->state_ == State::closed) return;
                             if (ec) {
                               self->finish_close("write: " + ec.message());
                               return;
                             }
                             for (std::size_t i = 0; i < self->in_write_; ++i) {
                               self->queued_bytes_ -= self->queue_.front().size();
                               self->queue_.pop_front();
                             }
                             self->frames_written_ += self->in_write_;
                             self->in_write_ = 0;
                             self->write_more();
                           });
}

void FrameConnection::close_with_error(const std::string& message) {
  if (state_ != State::open) return;
  state_ = State::closing;
  close_reason_ = "sent error: " + message;
  ++deadline_generation_;
  deadline_.cancel();
  // Frames not yet handed to the kernel are dropped: the error is the last
  // word, and it should not wait behind a full queue.
  while (queue_.size() > in_write_) {
    queued_bytes_ -= queue_.back().size();
    queue_.pop_back();
  }
  std::string frame = wire::encode(wire::Frame(wire::ErrorFrame{message}));
  queued_bytes_ += frame.size();
  queue_.push_back(std::move(frame));
  linger_.expires_after(std::chrono::nanoseconds(options_.linger.ns));
  linger_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->finish_close(self->close_reason_);
  });
  write_more();
}

void FrameConnection::close(const std::string& reason) { finish_close(reason); }

void FrameConnection::pause_reading() { reading_paused_ = true; }

void FrameConnection::detach() {
  handlers_ = {};
  finish_close("detached");
}

void FrameConnection::finish_close(const std::string& reason) {
  if (state_ == State::closed) return;
  state_ = State::closed;
  ++deadline_generation_;
  deadline_.cancel();
  linger_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
  // The queue stays until this object goes: a write in flight may still
  // point into it until its (cancelled) handler runs.
  auto on_closed = std::move(handlers_.on_closed);
  handlers_ = {};
  if (on_closed) on_closed(reason);
}

}  // namespace sluice::net
