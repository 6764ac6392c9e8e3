#include "tools/outpostd/data_dir_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

namespace outpost::daemon {
namespace {

std::string Errno(std::string_view what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

// The pid the current holder wrote, or "unknown" (it may be between open and write).
std::string ReadHolderPid(int fd) {
  char buf[32] = {};
  ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
  std::string pid;
  for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; ++i) pid += buf[i];
  return pid.empty() ? "unknown" : pid;
}

}  // namespace

StatusOr<std::unique_ptr<DataDirLock>> DataDirLock::Acquire(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return Status::IoError("create data dir " + data_dir + ": " + ec.message());
  std::string path = (std::filesystem::path(data_dir) / "outpostd.lock").string();
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(Errno("open", path));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = ReadHolderPid(fd);
    close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition("another outpostd is running on " + data_dir + " (pid " +
                                        holder + ")");
    }
    errno = err;
    return Status::IoError(Errno("lock", path));
  }
  std::string pid = std::to_string(getpid()) + "\n";
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != ssize_t(pid.size())) {
    Status st = Status::IoError(Errno("write pid to", path));
    close(fd);
    return st;
  }
  return std::unique_ptr<DataDirLock>(new DataDirLock(std::move(path), fd));
}

DataDirLock::~DataDirLock() {
  flock(fd_, LOCK_UN);
  close(fd_);
}

}  // namespace outpost::daemon
