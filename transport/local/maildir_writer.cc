#include "transport/local/maildir_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace outpost::transport::local {
namespace {

std::atomic<uint64_t> g_sequence{0};

Status ErrnoStatus(std::string_view what, const std::string& path, int err) {
  std::string message = std::string(what) + " " + path + ": " + std::strerror(err);
  if (err == ENOSPC || err == EDQUOT) return Status::NoSpace(std::move(message));
  return Status::IoError(std::move(message));
}

// Closes a descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error (NFS and some file systems report write errors here).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

Status SyncDirectory(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("open directory", dir, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("fsync directory", dir, errno);
  return Status::Ok();
}

// mkdir that tolerates an existing directory; on creation fsyncs the parent so the new entry
// survives a crash.
Status EnsureDirectory(const std::string& parent, const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return SyncDirectory(parent);
  if (errno != EEXIST) return ErrnoStatus("mkdir", dir, errno);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return ErrnoStatus("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return Status::IoError(dir + " exists and is not a directory");
  return Status::Ok();
}

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string EscapeHostname(std::string_view host) {
  std::string out;
  for (char c : host) {
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else {
      out.push_back(c);
    }
  }
  return out.empty() ? "localhost" : out;
}

}  // namespace

MaildirWriter::MaildirWriter(std::string root, std::string hostname, const Clock& clock)
    : root_(std::move(root)), hostname_(EscapeHostname(hostname)), clock_(clock) {}

std::string MaildirWriter::UniqueName() const {
  const int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(clock_.Now().time_since_epoch())
          .count();
  return std::to_string(us / 1000000) + ".M" + std::to_string(us % 1000000) + "P" +
         std::to_string(::getpid()) + "Q" + std::to_string(++g_sequence) + "." + hostname_;
}

StatusOr<std::string> MaildirWriter::Write(const MaildirMailbox& mailbox, std::string_view header,
                                           std::string_view body) const {
  struct stat st {};
  if (::stat(root_.c_str(), &st) != 0) return ErrnoStatus("maildir root", root_, errno);
  const std::string domain_dir = root_ + "/" + mailbox.domain;
  const std::string maildir = domain_dir + "/" + mailbox.local;
  const std::string tmp_dir = maildir + "/tmp";
  const std::string new_dir = maildir + "/new";
  OUTPOST_RETURN_IF_ERROR(EnsureDirectory(root_, domain_dir));
  OUTPOST_RETURN_IF_ERROR(EnsureDirectory(domain_dir, maildir));
  OUTPOST_RETURN_IF_ERROR(EnsureDirectory(maildir, tmp_dir));
  OUTPOST_RETURN_IF_ERROR(EnsureDirectory(maildir, new_dir));
  OUTPOST_RETURN_IF_ERROR(EnsureDirectory(maildir, maildir + "/cur"));

  // O_EXCL makes a name clash (another process with a recycled pid) an error we retry.
  std::string name, tmp_path;
  int raw_fd = -1;
  for (int attempt = 0; attempt < 8 && raw_fd < 0; ++attempt) {
    name = UniqueName();
    tmp_path = tmp_dir + "/" + name;
    raw_fd = ::open(tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (raw_fd < 0 && errno != EEXIST) return ErrnoStatus("create", tmp_path, errno);
  }
  if (raw_fd < 0) return Status::IoError("no unique file name in " + tmp_dir);
  Fd fd(raw_fd);
  Status st_write = WriteAll(fd.get(), header, tmp_path);
  if (st_write.ok()) st_write = WriteAll(fd.get(), body, tmp_path);
  if (st_write.ok() && ::fsync(fd.get()) != 0) st_write = ErrnoStatus("fsync", tmp_path, errno);
  if (st_write.ok() && fd.Close() != 0) st_write = ErrnoStatus("close", tmp_path, errno);
  const std::string new_path = new_dir + "/" + name;
  if (st_write.ok() && ::rename(tmp_path.c_str(), new_path.c_str()) != 0) {
    st_write = ErrnoStatus("rename", tmp_path, errno);
  }
  if (!st_write.ok()) {
    ::unlink(tmp_path.c_str());
    return st_write;
  }
  // The rename is only durable once the directory holding the new entry is synced.
  OUTPOST_RETURN_IF_ERROR(SyncDirectory(new_dir));
  return new_path;
}

std::string CrlfToLf(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    if (message[i] == '\r' && i + 1 < message.size() && message[i + 1] == '\n') continue;
    out.push_back(message[i]);
  }
  return out;
}

}  // namespace outpost::transport::local
