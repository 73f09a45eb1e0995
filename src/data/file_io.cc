// file_io.cc: plain / gzip input files with exact byte accounting, and atomic writes.
#include "data/file_io.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include <unistd.h>
#include <zlib.h>

namespace lowbit::data {

namespace {

constexpr size_t kInputChunk = size_t{1} << 16;

std::string errno_text() { return std::strerror(errno); }

}  // namespace

// We drive inflate() ourselves instead of using gzread(): gzread() drops the byte count of a
// call that hits a cut-off stream, and we want "expected N bytes, found M" to be exact.
struct InputFile::Inflater {
  z_stream strm{};
  std::vector<uint8_t> in;
  bool initialized = false;
  bool done = false;       // the last gzip member ended (or the input ran out)
  bool truncated = false;  // the input ran out inside a gzip member
  ~Inflater() {
    if (initialized) inflateEnd(&strm);
  }
};

void InputFile::InflaterDeleter::operator()(Inflater* z) const { delete z; }

InputFile::~InputFile() = default;

Result<InputFile> InputFile::open(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return Status::errorf("{}: is a directory, not a file", path);
  InputFile f;
  f.path_ = path;
  f.file_.reset(std::fopen(path.c_str(), "rb"));
  if (!f.file_) return Status::errorf("{}: cannot open: {}", path, errno_text());
  std::FILE* fp = f.file_.get();
  if (fseeko(fp, 0, SEEK_END) != 0) return Status::errorf("{}: cannot seek: {}", path, errno_text());
  const off_t size = ftello(fp);
  if (size < 0 || fseeko(fp, 0, SEEK_SET) != 0) return Status::errorf("{}: cannot seek: {}", path, errno_text());
  f.size_ = size;
  unsigned char magic[2] = {0, 0};
  const size_t got = std::fread(magic, 1, 2, fp);
  if (std::ferror(fp)) return Status::errorf("{}: read error: {}", path, errno_text());
  if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
    f.gz_.reset(new Inflater);
    Inflater& z = *f.gz_;
    z.in.resize(kInputChunk);
    z.in[0] = magic[0];
    z.in[1] = magic[1];
    z.strm.next_in = z.in.data();
    z.strm.avail_in = 2;
    // 16 + MAX_WBITS: expect a gzip header and trailer (CRC32 and length are checked by zlib).
    if (inflateInit2(&z.strm, 16 + MAX_WBITS) != Z_OK) return Status::errorf("{}: zlib initialization failed", path);
    z.initialized = true;
  } else if (fseeko(fp, 0, SEEK_SET) != 0) {
    return Status::errorf("{}: cannot seek: {}", path, errno_text());
  }
  return f;
}

Result<size_t> InputFile::read_gzip(uint8_t* dst, size_t n) {
  Inflater& z = *gz_;
  size_t got = 0;
  while (got < n && !z.done) {
    if (z.strm.avail_in == 0) {
      const size_t r = std::fread(z.in.data(), 1, z.in.size(), file_.get());
      if (r == 0) {
        if (std::ferror(file_.get())) return Status::errorf("{}: read error: {}", path_, errno_text());
        z.done = true;
        z.truncated = true;
        break;
      }
      z.strm.next_in = z.in.data();
      z.strm.avail_in = static_cast<uInt>(r);
    }
    const size_t want = std::min<size_t>(n - got, UINT_MAX);
    z.strm.next_out = dst + got;
    z.strm.avail_out = static_cast<uInt>(want);
    const int rc = inflate(&z.strm, Z_NO_FLUSH);
    got += want - z.strm.avail_out;
    if (rc == Z_STREAM_END) {
      // A file may hold several gzip members back to back (like `cat a.gz b.gz`); anything else
      // after the first member is ignored, as gzip(1) does.
      if (z.strm.avail_in == 0) {
        const size_t r = std::fread(z.in.data(), 1, z.in.size(), file_.get());
        if (std::ferror(file_.get())) return Status::errorf("{}: read error: {}", path_, errno_text());
        z.strm.next_in = z.in.data();
        z.strm.avail_in = static_cast<uInt>(r);
      }
      if (z.strm.avail_in >= 2 && z.strm.next_in[0] == 0x1f && z.strm.next_in[1] == 0x8b) {
        inflateReset(&z.strm);
      } else {
        z.done = true;
      }
    } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return Status::errorf("{}: corrupt gzip data: {}", path_, z.strm.msg ? z.strm.msg : zError(rc));
    }
  }
  return got;
}

Result<size_t> InputFile::read(void* dst, size_t n) {
  if (n == 0) return size_t{0};
  size_t got = 0;
  if (gz_) {
    LB_ASSIGN_OR_RETURN(got, read_gzip(static_cast<uint8_t*>(dst), n));
  } else {
    got = std::fread(dst, 1, n, file_.get());
    if (got < n && std::ferror(file_.get())) return Status::errorf("{}: read error: {}", path_, errno_text());
  }
  pos_ += static_cast<int64_t>(got);
  return got;
}

Status InputFile::read_exact(void* dst, size_t n, const char* what) {
  LB_ASSIGN_OR_RETURN(size_t got, read(dst, n));
  if (got != n) return Status::errorf("{}: truncated: expected {} bytes of {}, found {}", path_, n, what, got);
  return Status::ok();
}

Status InputFile::expect_end(const char* what) {
  if (!gz_) {
    if (pos_ < size_)
      return Status::errorf("{}: {} bytes of unexpected data after the {}", path_, size_ - pos_, what);
    return Status::ok();
  }
  uint8_t extra[256];
  uint64_t trailing = 0;
  for (;;) {  // count the trailing bytes for the message, up to a point
    LB_ASSIGN_OR_RETURN(size_t got, read_gzip(extra, sizeof(extra)));
    trailing += got;
    if (got == 0 || trailing >= (uint64_t{1} << 20)) break;
  }
  if (trailing > 0)
    return Status::errorf("{}: {}{} bytes of unexpected data after the {}", path_,
                          trailing >= (uint64_t{1} << 20) ? "at least " : "", trailing, what);
  if (gz_->truncated) return Status::errorf("{}: gzip stream is truncated (no end-of-stream marker)", path_);
  return Status::ok();
}

Result<std::vector<uint8_t>> read_up_to(InputFile& file, uint64_t n) {
  std::vector<uint8_t> buf;
  // A plain file's size is known: never reserve more than is actually there.
  const int64_t hint = file.remaining_hint();
  uint64_t cap = hint >= 0 ? std::min<uint64_t>(n, static_cast<uint64_t>(hint)) : std::min<uint64_t>(n, 1 << 20);
  size_t have = 0;
  while (have < n) {
    if (buf.size() == have) {
      const uint64_t next = std::min<uint64_t>(n, std::max<uint64_t>(cap, 2 * static_cast<uint64_t>(buf.size())));
      if (next > SIZE_MAX / 2) return Status::errorf("{}: {} bytes do not fit in memory", file.path(), n);
      buf.resize(static_cast<size_t>(std::max<uint64_t>(next, have + 1)));
    }
    LB_ASSIGN_OR_RETURN(size_t got, file.read(buf.data() + have, buf.size() - have));
    have += got;
    if (got == 0) break;
  }
  buf.resize(have);
  return buf;
}


}  // namespace lowbit::data
