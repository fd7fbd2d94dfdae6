#include "hookmcp/core/time.hpp"

#include <cstdio>
#include <ctime>

namespace hookmcp {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

// Reads the text left to right; each step says whether it found what it expected.
class Reader {
 public:
  explicit Reader(std::string_view text) : text_(text) {}
  std::optional<int> digits(size_t n) {
    if (pos_ + n > text_.size()) return std::nullopt;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      char c = text_[pos_ + i];
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    return v;
  }
  bool expect(std::string_view any_of) {
    if (pos_ < text_.size() && any_of.find(text_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  // The milliseconds of a fraction's digits (any number of them, at least one).
  std::optional<int64_t> fraction_ms() {
    int64_t ms = 0, scale = 100;
    size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      ms += (text_[pos_] - '0') * scale;
      scale /= 10;
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return ms;
  }
  bool done() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

std::string format_rfc3339_ms(int64_t epoch_ms) {
  int64_t secs = epoch_ms / 1000;
  int64_t millis = epoch_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

std::string format_http_date(int64_t epoch_s) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::optional<int64_t> parse_rfc3339_ms(std::string_view text, MissingOffset missing_offset) {
  Reader r(text);
  auto year = r.digits(4);
  if (!year || !r.expect("-")) return std::nullopt;
  auto month = r.digits(2);
  if (!month || !r.expect("-")) return std::nullopt;
  auto day = r.digits(2);
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  int64_t ms = days_from_civil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day)) *
               86'400'000;
  if (r.done()) return ms;
  if (!r.expect("Tt ")) return std::nullopt;
  auto hour = r.digits(2);
  if (!hour || !r.expect(":")) return std::nullopt;
  auto minute = r.digits(2);
  if (!minute || !r.expect(":")) return std::nullopt;
  auto second = r.digits(2);
  if (!second || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  ms += (*hour * 3600LL + *minute * 60LL + *second) * 1000;
  if (r.expect(".")) {
    auto fraction = r.fraction_ms();
    if (!fraction) return std::nullopt;
    ms += *fraction;
  }
  if (r.done()) {
    if (missing_offset == MissingOffset::kUtc) return ms;
    return std::nullopt;
  }
  if (r.expect("Zz")) return r.done() ? std::optional<int64_t>(ms) : std::nullopt;
  int sign = r.expect("+") ? 1 : r.expect("-") ? -1 : 0;
  if (sign == 0) return std::nullopt;
  auto oh = r.digits(2);
  if (!oh || !r.expect(":")) return std::nullopt;
  auto om = r.digits(2);
  if (!om || !r.done()) return std::nullopt;
  return ms - sign * (*oh * 3600LL + *om * 60LL) * 1000;
}

}  // namespace hookmcp
