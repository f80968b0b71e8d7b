#include "net/client/raft_metrics.h"

#include <chrono>

#include <boost/asio/ip/tcp.hpp>

namespace sluice::client {

std::map<std::string, std::string> raft_metrics(const std::string& address) {
  static const std::string kPrefix = "sluice_raft_";
  std::map<std::string, std::string> values;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return values;
  boost::asio::ip::tcp::iostream http;
  http.expires_after(std::chrono::seconds(2));
  http.connect(address.substr(0, colon), address.substr(colon + 1));
  if (!http) return values;
  http << "GET /metrics HTTP/1.0\r\nHost: " << address << "\r\nConnection: close\r\n\r\n" << std::flush;
  std::string line;
  while (std::getline(http, line)) {
    if (line.rfind(kPrefix, 0) != 0) continue;
    const auto space = line.find(' ');
    if (space == std::string::npos) continue;
    std::string value = line.substr(space + 1);
    if (!value.empty() && value.back() == '\r') value.pop_back();
    values[line.substr(kPrefix.size(), space - kPrefix.size())] = value;
  }
  return values;
}

}  // namespace sluice::client
