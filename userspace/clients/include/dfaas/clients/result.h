// Result<T>: a value or an error message, for code that must never throw through its callers
// (g++ 12 has no std::expected). The message says what was being done and what went wrong, e.g.
// "GET http://127.0.0.1:8080/system/functions: connection refused".
//
// Usage:
//   Result<int> r = parse(...);
//   if (!r) log(r.error());
//   else use(*r);
//
// Reading the value of a failed Result (or the error of a successful one) is a programming error:
// it aborts with the error message instead of returning garbage.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace dfaas {

// The error alternative of a Result: a human-readable message.
struct Error {
    std::string message;
};

// Shorthand to build the error alternative: `return fail("bad port");`.
inline Error fail(std::string message) {
    return Error{std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
  public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T &value() & { return std::get<0>(checked_value()); }
    const T &value() const & { return std::get<0>(checked_value()); }
    T &&value() && { return std::get<0>(std::move(checked_value())); }

    T &operator*() & { return value(); }
    const T &operator*() const & { return value(); }
    T *operator->() { return &value(); }
    const T *operator->() const { return &value(); }

    const std::string &error() const {
        if (ok()) abort_with("Result::error() called on a successful result");
        return std::get<1>(state_).message;
    }

    // The same result, its error message prefixed with "context: " (values pass through).
    Result with_context(std::string_view context) && {
        if (ok()) return std::move(*this);
        return Error{std::string(context) + ": " + error()};
    }

  private:
    [[noreturn]] static void abort_with(const std::string &why) {
        std::fprintf(stderr, "dfaas::Result misuse: %s\n", why.c_str());
        std::abort();
    }
    std::variant<T, Error> &checked_value() {
        if (!ok()) abort_with("value() called on a failed result: " + error());
        return state_;
    }
    const std::variant<T, Error> &checked_value() const {
        if (!ok()) abort_with("value() called on a failed result: " + error());
        return state_;
    }

    std::variant<T, Error> state_;
};

}  // namespace dfaas
