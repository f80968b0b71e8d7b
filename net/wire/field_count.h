// field_count<T>(): the number of fields of an aggregate, at compile time.
//
// The codec writes every field of the core's message structs by name; a
// field added to one of them would silently not travel over real sockets
// (the simulator passes the structs themselves, so it would not notice).
// encode.cc states each struct's field count with this, so such a change
// fails to compile until sluice.capnp and the codec carry the new field.
#pragma once

#include <cstddef>

namespace sluice::wire {

namespace field_count_detail {
// Converts to any field type, so T{AnyField{}...} compiles for exactly as
// many initializers as T has fields (one each: no brace elision is needed).
struct AnyField {
  template <class U>
  operator U() const;  // NOLINT: implicit by design; never defined, only used unevaluated
};
}  // namespace field_count_detail

template <class T, class... Fields>
constexpr std::size_t field_count() {
  using field_count_detail::AnyField;
  if constexpr (requires { T{Fields{}..., AnyField{}}; }) {
    return field_count<T, Fields..., AnyField>();
  } else {
    return sizeof...(Fields);
  }
}

}  // namespace sluice::wire
