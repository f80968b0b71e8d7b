#include "sim/check/linearizability.h"

#include <algorithm>
#include <map>
#include <set>

namespace sluice::check {
namespace {

// The register's state: absent, or a value.
struct State {
  bool present = false;
  std::string value;
  friend bool operator<(const State& a, const State& b) {
    return a.present != b.present ? a.present < b.present : a.value < b.value;
  }
};

// Applies op to state. False if the op's observed result is impossible.
bool step(const KvOp& op, const State& state, State* next) {
  if (op.put) {
    *next = State{true, op.value};
    return true;
  }
  *next = state;
  if (!op.ret) return true;  // an unknown read observes nothing
  return op.found == state.present && (!op.found || op.value == state.value);
}

struct Event {
  std::int64_t time;
  bool is_call;
  std::size_t op;  // index into the key's ops
};

// Doubly linked list of events, so that a linearized op's call and return
// can be lifted out and put back in O(1).
struct Node {
  Event event;
  std::size_t prev, next;  // indexes into the node array; kNil ends
  std::size_t match;       // call: its return node (kNil if none)
};
constexpr std::size_t kNil = SIZE_MAX;

Verdict check_key(const std::vector<KvOp>& ops, std::uint64_t budget, std::uint64_t* steps) {
  std::vector<Event> events;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    events.push_back({ops[i].call, true, i});
    if (ops[i].ret) events.push_back({*ops[i].ret, false, i});
  }
  // At equal times a return comes before a call: operations that touch in
  // time did not overlap.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return !a.is_call && b.is_call;
  });
  // Node 0 is the head sentinel.
  std::vector<Node> nodes(events.size() + 1);
  nodes[0] = Node{{0, false, 0}, kNil, events.empty() ? kNil : 1, kNil};
  std::vector<std::size_t> call_node(ops.size(), kNil), ret_node(ops.size(), kNil);
  for (std::size_t i = 0; i < events.size(); ++i) {
    nodes[i + 1] = Node{events[i], i, i + 2 <= events.size() ? i + 2 : kNil, kNil};
    (events[i].is_call ? call_node : ret_node)[events[i].op] = i + 1;
  }
  for (std::size_t i = 0; i < ops.size(); ++i) nodes[call_node[i]].match = ret_node[i];

  auto lift = [&](std::size_t n) {
    nodes[nodes[n].prev].next = nodes[n].next;
    if (nodes[n].next != kNil) nodes[nodes[n].next].prev = nodes[n].prev;
  };
  auto unlift = [&](std::size_t n) {
    nodes[nodes[n].prev].next = n;
    if (nodes[n].next != kNil) nodes[nodes[n].next].prev = n;
  };

  std::vector<std::uint64_t> linearized((ops.size() + 63) / 64, 0);
  std::set<std::pair<std::vector<std::uint64_t>, State>> cache;
  struct Frame {
    std::size_t call;
    State state;
  };
  std::vector<Frame> stack;
  State state;
  std::size_t cursor = nodes[0].next;
  // Unknown ops have no return, so the history is explained once every op
  // that has a return is linearized; count those.
  std::size_t with_return = 0;
  for (const KvOp& op : ops) with_return += op.ret.has_value();
  std::size_t returned_linearized = 0;

  // Undoes the newest tentative linearization and resumes the search after
  // its call. False when there is nothing left to undo.
  auto backtrack = [&] {
    if (stack.empty()) return false;
    Frame f = stack.back();
    stack.pop_back();
    const std::size_t op = nodes[f.call].event.op;
    linearized[op / 64] &= ~(std::uint64_t{1} << (op % 64));
    returned_linearized -= ops[op].ret.has_value();
    state = f.state;
    if (nodes[f.call].match != kNil) unlift(nodes[f.call].match);
    unlift(f.call);
    cursor = nodes[f.call].next;
    return true;
  };

  while (returned_linearized < with_return) {
    if (++*steps > budget) return Verdict::inconclusive;
    if (cursor == kNil) {
      // Only unknown calls remain ahead and nothing fits: backtrack.
      if (!backtrack()) return Verdict::not_linearizable;
      continue;
    }
    const Node& n = nodes[cursor];
    if (n.event.is_call) {
      const std::size_t op = n.event.op;
      State next;
      if (step(ops[op], state, &next)) {
        auto bits = linearized;
        bits[op / 64] |= std::uint64_t{1} << (op % 64);
        if (cache.insert({bits, next}).second) {
          stack.push_back({cursor, state});
          linearized = std::move(bits);
          returned_linearized += ops[op].ret.has_value();
          state = next;
          lift(cursor);
          if (n.match != kNil) lift(n.match);
          cursor = nodes[0].next;
          continue;
        }
      }
      cursor = n.next;
    } else {
      // A return whose op is not linearized: backtrack.
      if (!backtrack()) return Verdict::not_linearizable;
    }
  }
  return Verdict::linearizable;
}

}  // namespace

LinearizabilityResult check_kv_linearizable(const std::vector<KvOp>& history, std::uint64_t step_budget) {
  std::map<std::string, std::vector<KvOp>> by_key;
  for (const KvOp& op : history) {
    if (!op.put && !op.ret) continue;  // unknown reads constrain nothing
    by_key[op.key].push_back(op);
  }
  LinearizabilityResult result;
  for (const auto& [key, ops] : by_key) {
    const Verdict v = check_key(ops, step_budget, &result.steps);
    if (v == Verdict::not_linearizable) {
      result.verdict = v;
      result.detail = "key '" + key + "': no linearization of its " + std::to_string(ops.size()) + " operations";
      return result;
    }
    if (v == Verdict::inconclusive && result.verdict == Verdict::linearizable) {
      result.verdict = v;
      result.detail = "key '" + key + "': search budget exhausted";
    }
  }
  return result;
}

}  // namespace sluice::check
