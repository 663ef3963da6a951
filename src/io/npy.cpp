// A strict .npy reader: every length and offset is checked before it is used,
// because these files come from users. (xtensor's xnpy does not check for
// truncation or shape overflow, hence our own ~150 lines, fuzzed in tests/.)
#include "flowsampler/io/npy.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

#include "flowsampler/core/error.hpp"
#include "flowsampler/io/files.hpp"

namespace flowsampler::io {
namespace {

constexpr std::size_t max_header_bytes = 1 << 20;

struct HeaderParser {
  const std::string& s;
  const std::string& name;
  std::size_t pos = 0;

  [[noreturn]] void bad(const std::string& what) const {
    std::ostringstream os;
    os << name << ": malformed .npy header (" << what << " at offset " << pos << ")";
    throw Error(os.str());
  }
  void skip_space() {
    while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n')) ++pos;
  }
  bool eat(char c) {
    skip_space();
    if (pos < s.size() && s[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) bad(std::string("expected '") + c + "'");
  }
  std::string quoted() {
    skip_space();
    if (pos >= s.size() || (s[pos] != '\'' && s[pos] != '"')) bad("expected a quoted string");
    const char q = s[pos++];
    const std::size_t end = s.find(q, pos);
    if (end == std::string::npos) bad("unterminated string");
    std::string out = s.substr(pos, end - pos);
    pos = end + 1;
    return out;
  }
  bool boolean() {
    skip_space();
    if (s.compare(pos, 4, "True") == 0) return pos += 4, true;
    if (s.compare(pos, 5, "False") == 0) return pos += 5, false;
    bad("expected True or False");
  }
  std::vector<std::size_t> tuple() {
    std::vector<std::size_t> dims;
    expect('(');
    while (!eat(')')) {
      skip_space();
      if (pos >= s.size() || s[pos] < '0' || s[pos] > '9') bad("expected a non-negative integer in shape");
      std::size_t v = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        const std::size_t digit = static_cast<std::size_t>(s[pos++] - '0');
        if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10) bad("shape entry overflows");
        v = v * 10 + digit;
      }
      if (s.compare(pos, 1, "L") == 0) ++pos;  // Python 2 long suffix
      dims.push_back(v);
      if (!eat(',')) {
        expect(')');
        break;
      }
      if (dims.size() > 32) bad("too many dimensions");
    }
    return dims;
  }
};

std::uint64_t read_le(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int b = bytes - 1; b >= 0; --b) v = (v << 8) | p[b];
  return v;
}

}  // namespace

double NpyMatrix::value(std::size_t i, std::size_t k) const {
  const std::size_t e = fortran_order ? k * n + i : i * d + k;
  if (float64) {
    double v;
    std::memcpy(&v, data.data() + 8 * e, 8);
    return v;
  }
  float v;
  std::memcpy(&v, data.data() + 4 * e, 4);
  return v;
}

NpyMatrix parse_npy(const unsigned char* bytes, std::size_t size, const std::string& name) {
  static const unsigned char magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  FLOWSAMPLER_EXPECTS(size >= 10 && std::memcmp(bytes, magic, 6) == 0,
                      name << ": not a .npy file (missing the \\x93NUMPY magic)");
  const int major = bytes[6];
  FLOWSAMPLER_EXPECTS(major >= 1 && major <= 3, name << ": unsupported .npy format version " << major << "." << int(bytes[7]));
  const int len_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = 8 + static_cast<std::size_t>(len_bytes);
  FLOWSAMPLER_EXPECTS(size >= prefix, name << ": truncated .npy header");
  const std::uint64_t header_len = read_le(bytes + 8, len_bytes);
  FLOWSAMPLER_EXPECTS(header_len <= max_header_bytes, name << ": .npy header of " << header_len << " bytes is implausibly long");
  FLOWSAMPLER_EXPECTS(size - prefix >= header_len, name << ": truncated .npy header (" << header_len
                                                        << " bytes announced, " << size - prefix << " present)");
  const std::string header(reinterpret_cast<const char*>(bytes + prefix), header_len);

  HeaderParser p{header, name};
  std::string descr;
  bool have_descr = false, have_order = false, have_shape = false, fortran = false;
  std::vector<std::size_t> shape;
  p.expect('{');
  while (!p.eat('}')) {
    const std::string key = p.quoted();
    p.expect(':');
    if (key == "descr") descr = p.quoted(), have_descr = true;
    else if (key == "fortran_order") fortran = p.boolean(), have_order = true;
    else if (key == "shape") shape = p.tuple(), have_shape = true;
    else p.bad("unknown key '" + key + "'");
    if (!p.eat(',')) {
      p.expect('}');
      break;
    }
  }
  FLOWSAMPLER_EXPECTS(have_descr && have_order && have_shape,
                      name << ": .npy header lacks one of 'descr', 'fortran_order', 'shape'");

  NpyMatrix m;
  m.fortran_order = fortran;
  if (descr == "<f8" || descr == "=f8") m.float64 = true;
  else if (descr == "<f4" || descr == "=f4") m.float64 = false;
  else FLOWSAMPLER_EXPECTS(false, name << ": dtype '" << descr << "' is not supported; expected float32 ('<f4') or float64 ('<f8'), little-endian");
  FLOWSAMPLER_EXPECTS(shape.size() == 1 || shape.size() == 2,
                      name << ": expected a 2-d array of shape (N, d), got " << shape.size() << " dimensions");
  m.n = shape[0];
  m.d = shape.size() == 2 ? shape[1] : 1;
  FLOWSAMPLER_EXPECTS(m.d >= 1, name << ": shape (N, d) needs d >= 1, got d = 0");
  const std::size_t elem = m.float64 ? 8 : 4;
  FLOWSAMPLER_EXPECTS(m.n <= std::numeric_limits<std::size_t>::max() / m.d / elem,
                      name << ": shape (" << m.n << ", " << m.d << ") overflows");
  const std::size_t data_bytes = m.n * m.d * elem;
  const std::size_t have = size - prefix - header_len;
  FLOWSAMPLER_EXPECTS(have >= data_bytes, name << ": truncated data: shape (" << m.n << ", " << m.d << ") needs "
                                               << data_bytes << " bytes, the file has " << have);
  FLOWSAMPLER_EXPECTS(have == data_bytes, name << ": " << have - data_bytes << " unexpected bytes after the data");
  const unsigned char* start = bytes + prefix + header_len;
  m.data.assign(start, start + data_bytes);
  return m;
}

NpyMatrix load_npy(const std::string& path) {
  const std::string bytes = read_file(path, ".npy file");  // a FIFO or device is refused, not read
  return parse_npy(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(), path);
}

template <class Real>
ParticleSet<Real> read_particles(const Context& ctx, const std::string& path, bool allow_nonfinite) {
  const NpyMatrix m = load_npy(path);
  std::vector<Real> cols(m.n * m.d);
  for (std::size_t k = 0; k < m.d; ++k)
    for (std::size_t i = 0; i < m.n; ++i) {
      const double v = m.value(i, k);
      const Real r = static_cast<Real>(v);
      if (!allow_nonfinite)
        FLOWSAMPLER_EXPECTS(std::isfinite(r), path << ": row " << i << ", column " << k << " holds " << v
                                                  << (std::isfinite(v) ? ", beyond the range of the precision in use" : "")
                                                  << "; particles must be finite");
      cols[k * m.n + i] = r;
    }
  return ParticleSet<Real>::from_column_major(ctx, cols.data(), m.n, m.d);
}

template <class Real>
void write_npy_array(const std::string& path, const Real* data, const std::vector<std::size_t>& shape) {
  FLOWSAMPLER_EXPECTS(!shape.empty(), path << ": an array needs at least one dimension");
  std::ostringstream h;
  h << "{'descr': '<f" << sizeof(Real) << "', 'fortran_order': False, 'shape': (";
  std::size_t count = 1;
  for (std::size_t k = 0; k < shape.size(); ++k) {
    h << shape[k] << (shape.size() == 1 || k + 1 < shape.size() ? ", " : "");
    FLOWSAMPLER_EXPECTS(shape[k] == 0 || count <= std::numeric_limits<std::size_t>::max() / sizeof(Real) / shape[k],
                        path << ": shape entry " << shape[k] << " overflows the array size");
    count *= shape[k];
  }
  h << "), }";
  std::string header = h.str();
  // Pad so that the data starts on a 64-byte boundary, ending in '\n'.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  FLOWSAMPLER_EXPECTS(header.size() <= 65535, path << ": shape too long for a .npy 1.0 header");
  const unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                                 static_cast<unsigned char>(header.size() & 0xff),
                                 static_cast<unsigned char>(header.size() >> 8)};
  write_file(path, [&](std::ostream& out) {  // temporary file, checked, renamed over path
    out.write(reinterpret_cast<const char*>(pre), 10);
    out.write(header.data(), static_cast<std::streamsize>(header.size()));
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(count * sizeof(Real)));
  });
}

template <class Real>
void write_npy(const std::string& path, const Real* rows, std::size_t n, std::size_t d) {
  write_npy_array(path, rows, {n, d});
}

template <class Real>
void write_particles(const std::string& path, const ParticleSet<Real>& x) {
  const std::vector<Real> rows = x.to_row_major();
  write_npy(path, rows.data(), x.n(), x.d());
}

template ParticleSet<float> read_particles<float>(const Context&, const std::string&, bool);
template ParticleSet<double> read_particles<double>(const Context&, const std::string&, bool);
template void write_particles<float>(const std::string&, const ParticleSet<float>&);
template void write_particles<double>(const std::string&, const ParticleSet<double>&);
template void write_npy<float>(const std::string&, const float*, std::size_t, std::size_t);
template void write_npy<double>(const std::string&, const double*, std::size_t, std::size_t);
template void write_npy_array<float>(const std::string&, const float*, const std::vector<std::size_t>&);
template void write_npy_array<double>(const std::string&, const double*, const std::vector<std::size_t>&);

}  // namespace flowsampler::io
