// external_data.cc: resolve, bound-check and read a tensor's external data file.
#include "onnx/external_data.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <optional>

#include "onnx/proto_io.h"

namespace lowbit::onnx {
namespace {

namespace fs = std::filesystem;

// A non-negative decimal integer: digits only (no sign, spaces or suffix), no overflow.
std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// True if `p` is `base` or lies under it (both canonical): base's components are a prefix of p's.
bool is_inside(const fs::path& base, const fs::path& p) {
  auto pi = p.begin();
  for (auto bi = base.begin(); bi != base.end(); ++bi, ++pi)
    if (pi == p.end() || *pi != *bi) return false;
  return true;
}

struct FdCloser {
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Result<std::string> read_external_data(const ::onnx::TensorProto& proto, const std::string& display_name,
                                       const std::string& base_dir, std::string_view what,
                                       uint64_t expected_bytes) {
  auto fail = [&](const std::string& msg) { return Status::errorf("{}: {} {}", display_name, what, msg); };

  std::optional<std::string> location;
  std::optional<uint64_t> offset, length;
  for (const ::onnx::StringStringEntryProto& e : proto.external_data()) {
    if (e.key() == "location") {
      if (location) return fail("lists the external data key 'location' twice");
      location = e.value();
    } else if (e.key() == "offset" || e.key() == "length") {
      std::optional<uint64_t>& slot = e.key() == "offset" ? offset : length;
      if (slot) return fail(fmt::format("lists the external data key '{}' twice", e.key()));
      slot = parse_u64(e.value());
      if (!slot) return fail(fmt::format("has an invalid external data {} '{}'", e.key(), printable(e.value())));
    }
    // "checksum" and keys from newer ONNX versions carry nothing lowbit needs.
  }
  if (!location || location->empty()) return fail("uses external data but gives no 'location'");
  const std::string loc = printable(*location);  // for messages; *location is the path
  if (base_dir.empty())
    return fail(fmt::format("uses external data ('{}'), which is not allowed here (no model folder to resolve it in)", loc));
  if (location->find('\0') != std::string::npos) return fail("has an external data path containing a NUL byte");

  const fs::path rel(*location);
  if (rel.is_absolute() || rel.has_root_directory() || rel.has_root_name())
    return fail(fmt::format("has an absolute external data path '{}'; only paths relative to the model's folder are allowed", loc));
  for (const fs::path& part : rel)
    if (part == "..")
      return fail(fmt::format("has an external data path '{}' with a '..' component, which could leave the model's folder", loc));

  // Canonical paths resolve symlinks, so a link inside the folder pointing out of it is caught.
  std::error_code ec;
  const fs::path base = fs::canonical(base_dir, ec);
  if (ec) return fail(fmt::format("uses external data, but the model folder '{}' cannot be resolved: {}", base_dir, ec.message()));
  const fs::path full = fs::canonical(base / rel, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory)
      return fail(fmt::format("reads external data file '{}', which does not exist in '{}'", loc, base_dir));
    return fail(fmt::format("reads external data file '{}', which cannot be resolved: {}", loc, ec.message()));
  }
  if (!is_inside(base, full))
    return fail(fmt::format("has an external data path '{}' that resolves to '{}', outside the model's folder '{}'", loc,
                            full.string(), base.string()));

  const int fd = ::open(full.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO must not hang us
  if (fd < 0) return fail(fmt::format("cannot open external data file '{}': {}", loc, std::strerror(errno)));
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(fmt::format("cannot stat external data file '{}': {}", loc, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) return fail(fmt::format("has external data path '{}', which is not a regular file", loc));
  const uint64_t size = static_cast<uint64_t>(st.st_size);

  const uint64_t off = offset.value_or(0);
  if (off > size) return fail(fmt::format("has external data offset {}, past the end of '{}' ({} bytes)", off, loc, size));
  const uint64_t len = length.value_or(size - off);
  if (len > size - off)
    return fail(fmt::format("has external data offset {} and length {}, past the end of '{}' ({} bytes): the file is too short",
                            off, len, loc, size));
  if (len != expected_bytes)
    return fail(fmt::format("has {} bytes of external data in '{}', but its dims and type need {} bytes", len, loc,
                            expected_bytes));

  std::string bytes(static_cast<size_t>(len), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(off + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("cannot read external data file '{}': {}", loc, std::strerror(errno)));
    }
    if (n == 0) return fail(fmt::format("external data file '{}' shrank while being read", loc));
    done += static_cast<size_t>(n);
  }
  return bytes;
}

}  // namespace lowbit::onnx
