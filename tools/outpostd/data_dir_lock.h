#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace outpost::daemon {

// One outpostd per data directory. RocksDB's own LOCK would refuse a second daemon too, but
// with an obscure message; this lock is taken first and says who holds it.
//
// Holds an exclusive flock(2) on "<data_dir>/outpostd.lock" for the lifetime of the object,
// with the holder's pid written in the file. The kernel drops the lock when the process dies
// (also on kill -9), so a stale file never blocks a restart.
class DataDirLock {
 public:
  // Creates `data_dir` (and parents) if needed. FailedPrecondition
  // "another outpostd is running on <data_dir> (pid N)" when the lock is held; IoError when
  // the directory or file cannot be created.
  static StatusOr<std::unique_ptr<DataDirLock>> Acquire(const std::string& data_dir);
  ~DataDirLock();  // unlocks and closes; the file stays (removing it would race a new owner)
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  DataDirLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace outpost::daemon
