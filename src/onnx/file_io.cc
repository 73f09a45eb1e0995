// file_io.cc: capped whole-file reads and temp-file-plus-rename writes (POSIX).
#include "onnx/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace lowbit::onnx {
namespace {

// Closes a file descriptor on scope exit.
struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::string> read_file_capped(const std::string& path, uint64_t max_bytes) {
  if (path.empty()) return Status::error("(empty path): no file name given");
  // fstat after open, not stat before it: the file we check is the file we read. O_NONBLOCK so
  // opening a FIFO does not hang waiting for a writer (it is then rejected as not regular).
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    const int e = errno;
    if (e == ENOENT) return Status::errorf("{}: no such file", path);
    return Status::errorf("{}: cannot open: {}", path, std::strerror(e));
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::errorf("{}: cannot stat: {}", path, std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return Status::errorf("{}: is a directory, not a file", path);
  if (!S_ISREG(st.st_mode)) return Status::errorf("{}: is not a regular file", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > max_bytes) {
    if (max_bytes == kMaxProtobufBytes)
      return Status::errorf("{}: is {} bytes, over the 2 GiB protobuf limit (large models keep weights in external data)",
                            path, size);
    return Status::errorf("{}: is {} bytes, over the {}-byte limit for this kind of file", path, size, max_bytes);
  }

  std::string bytes(static_cast<size_t>(size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::errorf("{}: read failed: {}", path, std::strerror(errno));
    }
    if (n == 0) return Status::errorf("{}: file shrank while being read ({} of {} bytes)", path, done, size);
    done += static_cast<size_t>(n);
  }
  return bytes;
}

std::string folder_of(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? std::string(".") : dir.string();
}


}  // namespace lowbit::onnx
