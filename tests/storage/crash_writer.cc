// The child of the crash-recovery tests: writes crash_model batches into a
// RocksStore as fast as it can until it is killed.
//
//   crash_writer <dir> <first_id> <report_fd> [--fsize-limit BYTES]
//                [--write-buffer BYTES] [--max-batches N]
//
// Once the store is open it reports "ready" on report_fd. Every fifth
// batch is written with sync=false, the others with sync=true. Only after a
// synced write has returned ok does the child report it, as the line
// "synced <id>", so the parent knows the batch must survive. With --fsize-limit the child caps its file sizes (RLIMIT_FSIZE,
// SIGXFSZ ignored, so writes fail with EFBIG) and writes until a write
// fails, then reports "error <id> <code> <message>", tries once more and
// reports "after <code> <message>".
//
// Exit codes: 0 done, 2 usage, 3 open failed, 4 the store's head is not
// first_id - 1, 5 a write failed without --fsize-limit.
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "storage/rocks_store.h"
#include "tests/storage/crash_model.h"

namespace {

using sluice::Code;
using sluice::Keyspace;
using sluice::Status;
using sluice::WriteOptions;
using sluice::storage::RocksOptions;
using sluice::storage::RocksStore;

int g_report_fd = -1;

// One line per write(2): a pipe keeps writes of up to PIPE_BUF bytes whole,
// so a kill never leaves half a line.
void report(std::string line) {
  if (line.size() > 3000) line.resize(3000);
  line.push_back('\n');
  const ssize_t n = ::write(g_report_fd, line.data(), line.size());
  if (n != static_cast<ssize_t>(line.size())) std::_Exit(6);
}

std::uint64_t parse_u64(const char* s) { return std::strtoull(s, nullptr, 10); }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: crash_writer <dir> <first_id> <report_fd> [--fsize-limit B] "
                         "[--write-buffer B] [--max-batches N]\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::uint64_t first_id = parse_u64(argv[2]);
  g_report_fd = static_cast<int>(parse_u64(argv[3]));
  std::uint64_t fsize_limit = 0;
  std::uint64_t max_batches = 1'000'000;
  RocksOptions options;
  // Small memtables: flushes and compactions run all the time, so kills
  // land inside them too, not only inside WAL writes.
  options.write_buffer_bytes = 256 * 1024;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--fsize-limit") {
      fsize_limit = parse_u64(argv[i + 1]);
    } else if (flag == "--write-buffer") {
      options.write_buffer_bytes = parse_u64(argv[i + 1]);
    } else if (flag == "--max-batches") {
      max_batches = parse_u64(argv[i + 1]);
    } else {
      std::fprintf(stderr, "crash_writer: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }

  auto opened = RocksStore::open(dir, options);
  if (!opened.ok()) {
    std::fprintf(stderr, "crash_writer: open failed: %s\n", opened.status().to_string().c_str());
    return 3;
  }
  RocksStore& store = **opened;
  auto head = store.get(Keyspace::meta, "head");
  const std::uint64_t stored_head =
      head.ok() && head->has_value() && (*head)->size() == 8 ? sluice::get_u64_be(**head) : 0;
  if (!head.ok() || stored_head != first_id - 1) {
    std::fprintf(stderr, "crash_writer: store head %llu (%s), expected %llu\n",
                 static_cast<unsigned long long>(stored_head),
                 head.ok() ? "ok" : head.status().to_string().c_str(),
                 static_cast<unsigned long long>(first_id - 1));
    return 4;
  }

  report("ready");  // opened and recovered; writing starts now

  if (fsize_limit > 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    const rlimit limit{fsize_limit, fsize_limit};
    if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) {
      std::perror("crash_writer: setrlimit");
      return 2;
    }
  }

  for (std::uint64_t id = first_id; id < first_id + max_batches; ++id) {
    const bool sync = id % 5 != 0;
    const Status s = store.write(sluice::crash_model::batch(id), WriteOptions{sync});
    if (!s.ok()) {
      if (fsize_limit == 0) {
        std::fprintf(stderr, "crash_writer: write %llu failed: %s\n", static_cast<unsigned long long>(id),
                     s.to_string().c_str());
        return 5;
      }
      report("error " + std::to_string(id) + " " + sluice::code_name(s.code()) + " " + s.message());
      const Status again = store.write(sluice::crash_model::batch(id), WriteOptions{true});
      report(std::string("after ") + sluice::code_name(again.code()) + " " + again.message());
      return 0;
    }
    if (sync) report("synced " + std::to_string(id));
  }
  return 0;
}
