// Checked arguments for the addon's entry points: every Float32Array an entry point is handed is
// checked against the length its dimensions imply, so a shape mismatch is a located JS error
// ("decoderBlockForward: tensor q has 4096 floats, expected 65536 (dims B=2 T=8 …)") rather than
// a write past the end of a buffer (on the wasm heap: silent corruption of other tensors).
#pragma once
#include <node_api.h>
#include <cstdint>
#include <string>

namespace e3 {

// Thrown inside an entry point; the entry point's catch turns it into a JS RangeError.
struct ArgError {
  std::string message;
};

// The data of a typed array of `want` elements (nullptr when it is not one, or is empty).
inline void* typedView(napi_env env, napi_value v, size_t* length, napi_typedarray_type want) {
  bool is = false;
  napi_is_typedarray(env, v, &is);
  if (!is) return nullptr;
  napi_typedarray_type type;
  void* data;
  napi_value buf;
  size_t off;
  napi_get_typedarray_info(env, v, &type, length, &data, &buf, &off);
  if (type != want || *length == 0) return nullptr;  // empty = absent (an unused optional weight)
  return data;
}

// The data of a Float32Array value (nullptr when it is not one, or is empty).
inline float* view(napi_env env, napi_value v, size_t* length) {
  return static_cast<float*>(typedView(env, v, length, napi_float32_array));
}

// The Float32Array property `name` of `obj` (nullptr when absent, not a Float32Array or empty).
inline float* property(napi_env env, napi_value obj, const char* name, size_t* length) {
  napi_value v;
  bool has = false;
  if (napi_has_named_property(env, obj, name, &has) != napi_ok || !has) return nullptr;
  if (napi_get_named_property(env, obj, name, &v) != napi_ok) return nullptr;
  return view(env, v, length);
}

// Argument reader of one entry point: `who` and `context` (the dims) name the call in errors.
class Args {
 public:
  Args(napi_env env, std::string who, std::string context) : env_(env), who_(std::move(who)), context_(std::move(context)) {}

  // A Float32Array property of exactly `expected` floats; absent or mismatched is an error.
  float* need(napi_value obj, const char* name, int64_t expected) const {
    float* p = maybe(obj, name, expected);
    if (!p) missing(name, expected);
    return p;
  }

  // A positional Float32Array argument `v` (called `name` in errors) of exactly `expected` floats.
  float* value(napi_value v, const char* name, int64_t expected) const {
    size_t length = 0;
    float* p = view(env_, v, &length);
    if (!p) missing(name, expected);
    check(name, length, expected);
    return p;
  }

  // Like need, but an absent (or empty) array is allowed and gives nullptr.
  float* maybe(napi_value obj, const char* name, int64_t expected) const {
    size_t length = 0;
    float* p = property(env_, obj, name, &length);
    if (p) check(name, length, expected);
    return p;
  }

  // A projection weight of `expected` values: a Float32Array, or a Uint16Array of bf16 values
  // (frozen weights kept in bf16). A Float32Array may come with its bf16 copy as property
  // `<name>Bf16` (a Uint16Array: the bf16 products' operand, gemm.h); then both pointers are set.
  struct Matrix {
    const float* f32 = nullptr;
    const uint16_t* bf16 = nullptr;
  };
  Matrix matrix(napi_value obj, const char* name, int64_t expected) const {
    Matrix m;
    napi_value v;
    bool has = false;
    if (napi_has_named_property(env_, obj, name, &has) != napi_ok || !has || napi_get_named_property(env_, obj, name, &v) != napi_ok)
      missing(name, expected);
    size_t length = 0;
    if ((m.f32 = view(env_, v, &length))) {
      check(name, length, expected);
      const std::string copy = std::string(name) + "Bf16";
      if (napi_has_named_property(env_, obj, copy.c_str(), &has) == napi_ok && has &&
          napi_get_named_property(env_, obj, copy.c_str(), &v) == napi_ok) {
        m.bf16 = static_cast<const uint16_t*>(typedView(env_, v, &length, napi_uint16_array));
        if (m.bf16) check(copy.c_str(), length, expected);
      }
      return m;
    }
    m.bf16 = static_cast<const uint16_t*>(typedView(env_, v, &length, napi_uint16_array));
    if (!m.bf16) missing(name, expected);
    check(name, length, expected);
    return m;
  }

  // A positional Int32Array argument `v` (called `name` in errors) of exactly `expected` elements.
  int32_t* ints(napi_value v, const char* name, int64_t expected) const {
    size_t length = 0;
    auto* p = static_cast<int32_t*>(typedView(env_, v, &length, napi_int32_array));
    if (!p) fail(std::string("tensor ") + name + " is missing (an Int32Array of " + std::to_string(expected) + " ints expected)");
    check(name, length, expected);
    return p;
  }

  void check(const char* name, size_t length, int64_t expected) const {
    if (expected < 0 || static_cast<int64_t>(length) != expected) {
      fail(std::string("tensor ") + name + " has " + std::to_string(length) + " floats, expected " + std::to_string(expected));
    }
  }

  [[noreturn]] void missing(const char* name, int64_t expected) const {
    fail(std::string("tensor ") + name + " is missing (a Float32Array of " + std::to_string(expected) + " floats expected)");
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw ArgError{who_ + ": " + what + (context_.empty() ? "" : " (" + context_ + ")")};
  }

 private:
  napi_env env_;
  std::string who_, context_;
};

// Runs body; an ArgError becomes a thrown JS RangeError and the entry point returns nullptr.
template <typename F>
napi_value guarded(napi_env env, F body) {
  try {
    return body();
  } catch (const ArgError& e) {
    napi_throw_range_error(env, "E3_NATIVE_ARGS", e.message.c_str());
    return nullptr;
  }
}

}  // namespace e3
