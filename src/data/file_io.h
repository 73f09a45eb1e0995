// file_io.h: sequential reads of plain or gzip input files, and atomic (temp file + rename) writes.
//
// Data files are untrusted: a header may claim gigabytes that are not there. InputFile knows the
// exact byte count of a plain file up front; a gzip stream's inflated size is unknown until read,
// so read_up_to() grows its buffer only as data actually arrives.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/file_util.h"
#include "core/status.h"

namespace lowbit::data {

class InputFile {
 public:
  // Opens `path`; gzip is detected by the magic bytes 1f 8b, anything else is read as is.
  static Result<InputFile> open(const std::string& path);

  InputFile(InputFile&&) noexcept = default;
  InputFile& operator=(InputFile&&) noexcept = default;
  ~InputFile();

  // Reads up to n bytes into dst; fewer only at the end of the data. A gzip stream that ends
  // early reads as end of data (callers report the shortfall); corrupt gzip data is an error.
  Result<size_t> read(void* dst, size_t n);
  // Reads exactly n bytes or fails with "<path>: truncated: expected n bytes of <what>, found m".
  Status read_exact(void* dst, size_t n, const char* what);
  // Succeeds when the data ends here: fails on trailing bytes, and on a gzip stream that is cut
  // short or fails its CRC check.
  Status expect_end(const char* what);

  bool gzipped() const { return gz_ != nullptr; }
  // Bytes left to read for a plain file; -1 for gzip (unknown until inflated).
  int64_t remaining_hint() const { return gzipped() ? -1 : size_ - pos_; }
  const std::string& path() const { return path_; }

 private:
  InputFile() = default;
  struct FileCloser { void operator()(std::FILE* f) const { std::fclose(f); } };
  struct Inflater;  // zlib state for a gzip stream
  struct InflaterDeleter { void operator()(Inflater* z) const; };

  Result<size_t> read_gzip(uint8_t* dst, size_t n);

  std::string path_;
  std::unique_ptr<std::FILE, FileCloser> file_;
  std::unique_ptr<Inflater, InflaterDeleter> gz_;
  int64_t size_ = 0;  // plain files: total bytes
  int64_t pos_ = 0;   // bytes handed out by read()
};

// Reads up to n bytes (fewer at the end of data) into a buffer that grows with the data read.
Result<std::vector<uint8_t>> read_up_to(InputFile& file, uint64_t n);


}  // namespace lowbit::data
