// file_util.cc: write to a temporary file beside the target, fsync, rename into place.
#include "core/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace lowbit {

Status write_file_atomic(const std::string& path, std::string_view bytes) {
  namespace fs = std::filesystem;
  if (path.empty()) return Status::error("(empty path): no output file name given");
  const fs::path target(path);
  if (!target.has_filename()) return Status::errorf("{}: is not a file name", path);
  fs::path dir = target.parent_path();
  if (dir.empty()) dir = ".";
  // Same folder as the target, so rename() stays on one file system and is atomic.
  std::string tmpl = (dir / fmt::format(".{}.tmp-XXXXXX", target.filename().string())).string();
  const int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return Status::errorf("{}: cannot create a temporary file in '{}': {}", path, dir.string(), std::strerror(errno));
  auto fail = [&](std::string why) {
    ::close(fd);
    ::unlink(tmpl.c_str());
    return Status::errorf("{}: {}", path, why);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("write failed: {}", std::strerror(errno)));
    }
    done += static_cast<size_t>(n);
  }
  // mkstemp creates 0600; outputs are ordinary files.
  if (::fchmod(fd, 0644) != 0) return fail(fmt::format("chmod failed: {}", std::strerror(errno)));
  if (::fsync(fd) != 0) return fail(fmt::format("fsync failed: {}", std::strerror(errno)));
  if (::close(fd) != 0) {
    ::unlink(tmpl.c_str());
    return Status::errorf("{}: close failed: {}", path, std::strerror(errno));
  }
  if (std::rename(tmpl.c_str(), path.c_str()) != 0) {
    const int e = errno;
    ::unlink(tmpl.c_str());
    return Status::errorf("{}: cannot rename the temporary file into place: {}", path, std::strerror(e));
  }
  return Status::ok();
}

}  // namespace lowbit
