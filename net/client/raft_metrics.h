// Reads a node's Raft view from its HTTP port: the sluice_raft_* gauges of
// /metrics (docs/operations.md), for tools that need to know who leads
// without a client connection (`sluice cluster status`, sluice-bench).
#pragma once

#include <map>
#include <string>

namespace sluice::client {

// The sluice_raft_* gauges of the node at `address` ("host:port" of its
// HTTP port), keyed without the prefix ("leader", "term", ...); empty if
// it does not answer within two seconds.
std::map<std::string, std::string> raft_metrics(const std::string& address);

}  // namespace sluice::client
