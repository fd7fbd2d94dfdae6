// Errors as values: a function that can fail returns Result<T>, its value or an Error.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace hookmcp {

enum class ErrorCode {
  kInvalidArgument,  // the caller's input is wrong; the message says which part
  kNotFound,
  kUnauthenticated,  // a signature or credential did not verify
  kTooLarge,
  kOverloaded,   // a budget is exhausted; retry later
  kUnavailable,  // storage cannot commit right now; retry later
  kClosed,       // the component is shutting down
  kInUse,        // someone else holds it, e.g. another process listens on the address
  kIo,
  kInternal,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // For a protocol with error codes of its own (JSON-RPC's, see rpc::protocol_error): the code
  // to answer with instead of the one `code` maps to, and the error's data as JSON text. 0 and
  // empty otherwise.
  int protocol_code = 0;
  std::string protocol_data;
};

inline Error make_error(ErrorCode code, std::string message) { return {code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error)
      : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace hookmcp
