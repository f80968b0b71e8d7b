// Membership changes and leadership transfer asked for by a client
// (ClusterAdmin): the leader starts them in Raft and answers once they are
// done, so that `sluice cluster remove 1 && ...` can rely on the result.
//
//  - Only the leader serves them. Any other node answers unavailable with a
//    leader hint, which the client library follows; nothing is forwarded, so
//    a reply always comes from the node that watched the change happen.
//  - One at a time per node: Raft runs one membership change at a time, and
//    a transfer blocks proposals, so a second request is answered
//    unavailable (the client retries) until the first is done.
//  - Done means: transfer_leader, the target leads (this node heard from it
//    as leader); add_voter and remove_voter, the final configuration (not
//    the joint one) is committed. A request not done by admin_timeout
//    answers timeout: the change may still complete; `cluster status` tells.
#include <optional>
#include <string>

#include "core/node/broker_node.h"

namespace sluice::node {
namespace {

std::string voters_text(const raft::VoterSet& voters) {
  std::string text;
  for (NodeId v : voters) text += (text.empty() ? "" : ", ") + to_string(v);
  return text.empty() ? "none" : text;
}

// host:port with a port in 1..65535; the host is resolved by the transport.
Status check_address(const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size() || colon + 6 < address.size() ||
      address.find_first_not_of("0123456789", colon + 1) != std::string::npos) {
    return Status(Code::invalid_argument, "the address '" + address + "' is not host:port");
  }
  const unsigned long port = std::stoul(address.substr(colon + 1));
  if (port == 0 || port > 65535) return Status(Code::invalid_argument, "the port of '" + address + "' is out of range");
  return {};
}

}  // namespace

const char* admin_op_name(AdminOp op) {
  switch (op) {
    case AdminOp::transfer_leader: return "transfer-leader";
    case AdminOp::add_voter: return "add";
    case AdminOp::remove_voter: return "remove";
  }
  SLUICE_ASSERT(false, "an AdminOp outside the enumeration");
  return "";
}

ClusterView BrokerNode::cluster_view() const {
  const raft::VoterSet voters = raft_->config().all_voters();
  return ClusterView{raft_->leader(), std::vector<NodeId>(voters.begin(), voters.end())};
}

void BrokerNode::on_admin(NodeId client, std::uint64_t request_id, const ClusterAdmin& admin) {
  if (admin.node == kNoNode) {
    reply(client, request_id, Status(Code::invalid_argument, "node id 0 is not a node"), {}, out_, false);
    return;
  }
  if (raft_->role() != raft::Role::leader) {
    reply(client, request_id,
          Status(Code::unavailable, raft_->leader() == kNoNode ? "no leader is known; try again shortly"
                                                               : "not the leader; cluster changes go to the leader"),
          {}, out_, false);
    return;
  }
  if (admin_) {
    reply(client, request_id,
          Status(Code::unavailable, std::string("a cluster ") + admin_op_name(admin_->admin.op) + " of node " +
                                        to_string(admin_->admin.node) + " is under way"),
          {}, out_, false);
    return;
  }
  if (admin.op == AdminOp::transfer_leader && admin.node == raft_->id()) {
    reply(client, request_id, {}, cluster_view(), out_, false);  // already there
    return;
  }
  raft::VoterSet voters;
  if (Status s = start_admin(admin, &voters); !s.ok()) {
    reply(client, request_id, s, {}, out_, false);
    return;
  }
  admin_ = PendingAdmin{client, request_id, admin, std::move(voters), now_ + options_.admin_timeout};
}

Status BrokerNode::start_admin(const ClusterAdmin& admin, raft::VoterSet* voters) {
  const raft::JointConfig& config = raft_->config();
  const std::string node = "node " + to_string(admin.node);
  switch (admin.op) {
    case AdminOp::transfer_leader:
      if (!config.incoming.contains(admin.node)) {
        return Status(Code::invalid_argument, node + " is not a voter (voters: " + voters_text(config.incoming) + ")");
      }
      return raft_->transfer_leadership(admin.node);
    case AdminOp::remove_voter:
      if (!config.incoming.contains(admin.node)) {
        return Status(Code::not_found, node + " is not a voter (voters: " + voters_text(config.incoming) + ")");
      }
      *voters = config.incoming;
      voters->erase(admin.node);
      if (voters->empty()) return Status(Code::invalid_argument, node + " is the last voter; a group needs one");
      return raft_->change_membership(*voters);
    case AdminOp::add_voter:
      if (config.incoming.contains(admin.node)) {
        return Status(Code::invalid_argument, node + " is already a voter (voters: " + voters_text(config.incoming) + ")");
      }
      if (Status s = check_address(admin.address); !s.ok()) return s;
      *voters = config.incoming;
      voters->insert(admin.node);
      return raft_->change_membership(*voters, {{admin.node, admin.address}});
  }
  SLUICE_ASSERT(false, "an AdminOp outside the enumeration");
  return {};
}

void BrokerNode::check_admin() {
  if (!admin_) return;
  const PendingAdmin& a = *admin_;
  const std::string what = std::string("cluster ") + admin_op_name(a.admin.op) + " of node " + to_string(a.admin.node);
  std::optional<Status> outcome;
  if (a.admin.op == AdminOp::transfer_leader) {
    if (raft_->leader() == a.admin.node) {
      outcome = Status();
    } else if (raft_->role() == raft::Role::leader && raft_->transferee() == kNoNode) {
      // Raft gave up (the target did not catch up or campaign within an
      // election timeout) and this node leads again.
      outcome = Status(Code::timeout, "leadership did not move to node " + to_string(a.admin.node) +
                                          " in time (behind, or unreachable); node " + to_string(raft_->id()) +
                                          " still leads");
    }
  } else {
    const raft::JointConfig& config = raft_->config();
    if (!config.joint() && config.incoming == a.voters && raft_->config_committed()) outcome = Status();
  }
  if (!outcome && now_ >= a.deadline) {
    outcome = Status(Code::timeout, "the " + what + " was started but is not done after " +
                                        format_duration(options_.admin_timeout) + "; it may still complete");
  }
  if (!outcome) return;
  if (outcome->ok()) {
    reply(a.client, a.request_id, {}, cluster_view(), out_, false);
  } else {
    reply(a.client, a.request_id, *outcome, {}, out_, false);
  }
  admin_.reset();
}

}  // namespace sluice::node
