// The simulator's disk: the KvStore contract in memory, with the faults a
// real device has (DESIGN section 6).
//
// Two images: `visible` is what reads see (the page cache), `durable` is
// what survives a crash. A write lands in `visible` and joins the unsynced
// list; a sync moves the unsynced list into `durable`. crash() discards
// exactly the unsynced writes — or, if `unsynced_may_survive` is on, keeps a
// random prefix of them, as a real disk may, with the first lost write torn
// in half (recovery detects it by checksum and drops it). Values are stored
// with a CRC-32C; corrupt() flips a stored bit and reads report corruption.
//
// Like RocksStore, a failed write or sync poisons the disk: every later
// write and sync fails with Code::poisoned, naming the first failure, until
// crash() or wipe() (the process restarts and opens the store again).
// Reads still work. RocksDB itself stops writing after a failed WAL write,
// and a failed fsync leaves the device's contents unknown, so a store that
// went on accepting writes would model something no real node has.
//
// Latency is not modelled here: SimDisk is synchronous. The cluster's
// environment delays persist completions by drawn write and fsync times.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/hooks.h"
#include "core/common/random.h"
#include "core/storage/kv_store.h"

namespace sluice::sim {

struct DiskFaults {
  double read_error = 0.0;   // probability a read fails with io_error
  double write_error = 0.0;  // probability a write fails (nothing applied)
  double sync_error = 0.0;   // probability a sync fails (durability unknown)
  bool full = false;         // writes fail with no_space
  bool unsynced_may_survive = false;  // crash keeps a prefix, tears the next
};

struct DiskStats {
  std::uint64_t writes = 0;
  std::uint64_t syncs = 0;
  std::uint64_t crashes = 0;
  std::uint64_t unsynced_lost = 0;      // batches lost to crashes
  std::uint64_t unsynced_survived = 0;  // batches that survived a crash unsynced
  std::uint64_t torn_discarded = 0;
  std::uint64_t corruptions_injected = 0;
  std::uint64_t corruptions_detected = 0;
  std::uint64_t io_errors = 0;
};

class SimDisk final : public KvStore {
 public:
  SimDisk(Rng rng, Hooks hooks) : rng_(rng), hooks_(hooks) {}

  Status write(const WriteBatch& batch, WriteOptions options) override;
  Status sync() override;
  Result<std::optional<std::string>> get(Keyspace space, std::string_view key) override;
  std::unique_ptr<KvIterator> scan(Keyspace space, std::string_view begin,
                                   std::string_view end) override;
  Result<std::optional<std::string>> last_key(Keyspace space, std::string_view begin,
                                              std::string_view end) override;
  Result<std::unique_ptr<KvSnapshot>> snapshot() override;

  // Faults.
  void set_faults(const DiskFaults& faults) { faults_ = faults; }
  const DiskFaults& faults() const { return faults_; }
  // Power loss: unsynced writes are lost (see the header comment).
  void crash();
  // The device is replaced with an empty one.
  void wipe();
  // Flips one bit of one durable value, chosen at random. False if empty.
  bool corrupt();

  // The failure that poisoned the disk, or ok.
  const Status& poison_cause() const { return poison_; }
  bool poisoned() const { return !poison_.ok(); }

  std::size_t unsynced_batches() const { return unsynced_.size(); }
  std::size_t durable_keys() const;
  const DiskStats& stats() const { return stats_; }

  struct Stored {
    std::string value;
    std::uint32_t crc;
  };
  using Image = std::array<std::map<std::string, Stored, std::less<>>, kKeyspaceCount>;

 private:
  static void apply(Image& image, const WriteBatch& batch);
  Status check(Keyspace space, const Stored& stored);
  Status refuse_if_poisoned() const;
  // Records the first failure and returns it.
  Status fail(Status failure);

  Rng rng_;
  Hooks hooks_;
  DiskFaults faults_;
  Image visible_;
  Image durable_;
  std::vector<WriteBatch> unsynced_;
  Status poison_;  // ok while healthy
  DiskStats stats_;
};

// The on-device record of one batch: crc32c | length | ops. Exposed so tests
// can check that a torn record never decodes.
std::string encode_batch_record(const WriteBatch& batch);
Result<WriteBatch> decode_batch_record(std::string_view record);

}  // namespace sluice::sim
