// Transcript tests, in the style of etcd raft's testdata: each file in
// testdata/ is a script of commands with the expected output under each,
// both the specification and the regression test. Run with SLUICE_REWRITE=1
// to rewrite the expected output from what the code does now (then read
// the diff: it is the change in behaviour).
//
// A block:   # optional comment lines
//            command arg ...
//            ----
//            output lines (until a blank line)
//
// Commands: nodes N [pre-vote=off] [check-quorum=off] [lease-reads=on]
//           [chunk=BYTES] | campaign ID | tick ID|all [COUNT] | stabilize |
//           deliver | run TICKS (tick all, deliver after each tick; the
//           messages are not printed) | propose ID DATA | status | log ID | applied ID |
//           isolate ID | cut A B | heal | crash ID | restart ID |
//           compact ID INDEX DATA | transfer ID TO | add-joiner ID |
//           change-membership ID A,B,C | read-index ID CTX | reads ID
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/core/raft/harness.h"

namespace sluice::raft {
namespace {

using testing::Harness;

std::vector<std::string> split(const std::string& line, char sep = ' ') {
  std::vector<std::string> out;
  std::stringstream in(line);
  for (std::string word; std::getline(in, word, sep);) {
    if (!word.empty()) out.push_back(word);
  }
  return out;
}

NodeId id_of(const std::string& s) { return NodeId(std::stoull(s)); }

std::string config_text(const JointConfig& c) {
  auto set = [](const VoterSet& v) {
    std::string out;
    for (NodeId id : v) out += (out.empty() ? "" : ",") + to_string(id);
    return out.empty() ? std::string("-") : out;
  };
  return c.joint() ? set(c.incoming) + " | " + set(c.outgoing) : set(c.incoming);
}

class Interpreter {
 public:
  std::string run(const std::string& command) {
    const auto args = split(command);
    if (args.empty()) return "error: empty command";
    std::ostringstream out;
    const std::string& op = args[0];
    if (op == "nodes") {
      Options o;
      for (std::size_t i = 2; i < args.size(); ++i) {
        if (args[i] == "pre-vote=off") o.pre_vote = false;
        else if (args[i] == "check-quorum=off") o.check_quorum = false;
        else if (args[i] == "lease-reads=on") o.lease_reads = true;
        else if (args[i].rfind("chunk=", 0) == 0) o.snapshot_chunk_bytes = std::stoull(args[i].substr(6));
        else return "error: unknown option " + args[i];
      }
      h_ = std::make_unique<Harness>(std::stoi(args.at(1)), o);
      h_->on_message = [this](const Envelope<Message>& e, bool dropped) {
        messages_ << to_string(e.from) << "->" << to_string(e.to) << (dropped ? " DROPPED " : " ") << describe(e.message)
                  << "\n";
      };
      return "ok";
    }
    if (!h_) return "error: no nodes yet";
    Harness& h = *h_;
    if (op == "campaign") {
      h[id_of(args.at(1))].campaign();
    } else if (op == "tick") {
      const int count = args.size() > 2 ? std::stoi(args[2]) : 1;
      for (int i = 0; i < count; ++i) {
        for (NodeId id : h.ids()) {
          if ((args[1] == "all" || id == id_of(args[1])) && h.running(id)) h[id].tick();
        }
      }
    } else if (op == "run") {
      h.tick_all(std::stoi(args.at(1)));
      messages_.str("");
    } else if (op == "stabilize" || op == "deliver") {
      if (op == "stabilize") h.stabilize();
      else h.deliver_round();
      std::string text = messages_.str();
      messages_.str("");
      return text.empty() ? "ok" : text.substr(0, text.size() - 1);
    } else if (op == "propose") {
      auto r = h[id_of(args.at(1))].propose(args.at(2));
      return r.ok() ? "index " + to_string(*r) : "error: " + r.status().to_string();
    } else if (op == "status") {
      for (NodeId id : h.ids()) {
        out << to_string(id) << ": ";
        if (!h.running(id)) {
          out << "down\n";
          continue;
        }
        const Node& n = h[id];
        out << role_name(n.role()) << " term=" << to_string(n.term()) << " vote=" << to_string(n.vote())
            << " leader=" << to_string(n.leader()) << " commit=" << to_string(n.commit())
            << " last=" << to_string(n.last_index()) << " snapshot=" << to_string(n.snapshot_index())
            << " voters=" << config_text(n.config()) << "\n";
      }
    } else if (op == "log") {
      const Node& n = h[id_of(args.at(1))];
      if (n.snapshot_index().value() > 0) out << "snapshot " << to_string(n.snapshot_index()) << "\n";
      for (LogIndex i = n.snapshot_index().next(); i <= n.last_index(); i = i.next()) {
        const LogEntry& e = n.entry(i);
        out << to_string(i) << "/" << to_string(e.term) << " ";
        switch (entry_kind(e)) {
          case EntryKind::noop: out << "noop"; break;
          case EntryKind::normal: out << "normal " << entry_payload(e); break;
          case EntryKind::config: {
            JointConfig c;
            std::size_t used = 0;
            decode_config(entry_payload(e), &c, &used);
            out << "config " << config_text(c);
            break;
          }
        }
        out << "\n";
      }
    } else if (op == "applied") {
      for (const auto& p : testing::payloads(h.applied(std::stoi(args.at(1))))) out << p << "\n";
    } else if (op == "isolate") {
      h.isolate(std::stoi(args.at(1)));
    } else if (op == "cut") {
      h.cut_link(std::stoi(args.at(1)), std::stoi(args.at(2)));
    } else if (op == "heal") {
      h.heal();
    } else if (op == "crash") {
      h.crash(id_of(args.at(1)));
    } else if (op == "restart") {
      h.start(id_of(args.at(1)));
    } else if (op == "compact") {
      const Status s = h[id_of(args.at(1))].compact(LogIndex(std::stoull(args.at(2))), args.at(3));
      if (!s.ok()) return "error: " + s.to_string();
    } else if (op == "transfer") {
      const Status s = h[id_of(args.at(1))].transfer_leadership(id_of(args.at(2)));
      if (!s.ok()) return "error: " + s.to_string();
    } else if (op == "add-joiner") {
      h.add_joiner(std::stoi(args.at(1)));
    } else if (op == "change-membership") {
      VoterSet voters;
      for (const auto& v : split(args.at(2), ',')) voters.insert(id_of(v));
      const Status s = h[id_of(args.at(1))].change_membership(voters);
      if (!s.ok()) return "error: " + s.to_string();
    } else if (op == "read-index") {
      const Status s = h[id_of(args.at(1))].read_index(std::stoull(args.at(2)));
      if (!s.ok()) return "error: " + s.to_string();
    } else if (op == "reads") {
      for (const ReadState& r : h.reads(std::stoi(args.at(1)))) {
        out << "read " << r.id << " at " << to_string(r.index) << "\n";
      }
    } else {
      return "error: unknown command " + op;
    }
    std::string text = out.str();
    return text.empty() ? "ok" : text.substr(0, text.size() - 1);
  }

 private:
  std::unique_ptr<Harness> h_;
  std::ostringstream messages_;
};

struct Block {
  std::vector<std::string> comments;
  std::string command;
  std::string expected;
  int line = 0;
};

std::vector<Block> parse(const std::string& path) {
  std::ifstream in(path);
  std::vector<Block> blocks;
  Block b;
  std::string line;
  int number = 0;
  enum { command, output } state = command;
  while (std::getline(in, line)) {
    ++number;
    if (state == command) {
      if (line.empty()) continue;
      if (line[0] == '#') {
        b.comments.push_back(line);
      } else if (line == "----") {
        state = output;
      } else {
        b.command = line;
        b.line = number;
      }
    } else if (line.empty()) {
      blocks.push_back(b);
      b = Block{};
      state = command;
    } else {
      b.expected += (b.expected.empty() ? "" : "\n") + line;
    }
  }
  if (state == output) blocks.push_back(b);
  return blocks;
}

class Transcript : public ::testing::TestWithParam<std::string> {};

TEST_P(Transcript, MatchesExpectedOutput) {
  const std::string path = std::string(SLUICE_TESTDATA_DIR) + "/" + GetParam();
  const auto blocks = parse(path);
  ASSERT_FALSE(blocks.empty()) << path << " has no commands";
  const bool rewrite = std::getenv("SLUICE_REWRITE") != nullptr;
  Interpreter interpreter;
  std::ostringstream rewritten;
  for (const Block& b : blocks) {
    const std::string actual = interpreter.run(b.command);
    if (rewrite) {
      for (const auto& c : b.comments) rewritten << c << "\n";
      rewritten << b.command << "\n----\n" << actual << "\n\n";
    } else {
      EXPECT_EQ(actual, b.expected) << GetParam() << ":" << b.line << ": " << b.command;
    }
  }
  if (rewrite) {
    std::string text = rewritten.str();
    std::ofstream(path) << text.substr(0, text.size() - 1);
  }
}

std::vector<std::string> transcripts() {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(SLUICE_TESTDATA_DIR)) {
    if (entry.path().extension() == ".txt") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

INSTANTIATE_TEST_SUITE_P(Raft, Transcript, ::testing::ValuesIn(transcripts()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param.substr(0, param.param.size() - 4);
                           for (char& c : name) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           return name;
                         });

}  // namespace
}  // namespace sluice::raft
