// An MLX primitive for one query position's attention on the CPU: the work is the shim's
// oscgen_attention_decode (_attention.c), bound at load by address (oscgen/_mlx_ext.py).  MLX has
// no CPU counterpart of its custom GPU kernels, so a new CPU op is a C++ primitive like this one.
#include <cstdint>
#include <stdexcept>

#include <nanobind/nanobind.h>

#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"
#include "mlx/primitives.h"

namespace mx = mlx::core;
namespace nb = nanobind;

using kernel_fn = void (*)(int, int, int, int, const float *, const float *, int, const int *, float, float *);
static kernel_fn kernel = nullptr;

class DecodeAttention : public mx::UnaryPrimitive {
  public:
    DecodeAttention(mx::Stream stream, float scale) : mx::UnaryPrimitive(stream), scale_(scale) {}

    void eval_cpu(const std::vector<mx::array> &inputs, mx::array &out) override {
        const auto &q = inputs[0], &kv = inputs[1], &position = inputs[2], &offsets = inputs[3];
        out.set_data(mx::allocator::malloc(out.nbytes()));
        auto &encoder = mx::cpu::get_command_encoder(stream());
        encoder.set_input_array(q);
        encoder.set_input_array(kv);
        encoder.set_input_array(position);
        encoder.set_input_array(offsets);
        encoder.set_output_array(out);
        int rows = kv.shape(1), heads = kv.shape(2), window = kv.shape(3), dim = kv.shape(4);
        encoder.dispatch([=, q = q.data<float>(), kv = kv.data<float>(), position = position.data<int32_t>(),
                          offsets = offsets.data<int32_t>(), out = out.data<float>(), scale = scale_]() {
            kernel(rows, heads, window, dim, q, kv, *position, offsets, scale, out);
        });
    }
    void eval_gpu(const std::vector<mx::array> &, mx::array &) override {
        throw std::runtime_error("oscgen's decode attention runs on the CPU only");
    }
    std::vector<mx::Shape> output_shapes(const std::vector<mx::array> &inputs) override { return {inputs[0].shape()}; }
    const char *name() const override { return "OscgenDecodeAttention"; }
    bool is_equivalent(const mx::Primitive &other) const override {
        return scale_ == static_cast<const DecodeAttention &>(other).scale_;
    }

  private:
    float scale_;
};

// q (rows, heads, 1, dim); kv (2, rows, heads, window, dim), keys first; position: int32 scalar,
// the last slot attended; offsets (rows,) int32: each row's first slot.  float32, on the CPU.
static mx::array decode_attention(const mx::array &q, const mx::array &kv, const mx::array &position,
                                  const mx::array &offsets, float scale) {
    if (kernel == nullptr) throw std::runtime_error("decode_attention: no kernel bound");
    if (kv.ndim() != 5 || kv.shape(0) != 2 || q.ndim() != 4 || q.shape(0) != kv.shape(1) ||
        q.shape(1) != kv.shape(2) || q.shape(2) != 1 || q.shape(3) != kv.shape(4) || kv.shape(4) % 8 ||
        kv.shape(4) > 256 || offsets.ndim() != 1 || offsets.shape(0) != kv.shape(1) || position.size() != 1)
        throw std::invalid_argument("decode_attention: q (B, H, 1, D), kv (2, B, H, W, D), D a multiple of 8 up to 256");
    auto stream = mx::to_stream(mx::Device::cpu);
    std::vector<mx::array> inputs = {mx::contiguous(mx::astype(q, mx::float32, stream), false, stream),
                                     mx::contiguous(kv, false, stream),
                                     mx::reshape(mx::astype(position, mx::int32, stream), {}, stream),
                                     mx::contiguous(mx::astype(offsets, mx::int32, stream), false, stream)};
    return mx::array(q.shape(), mx::float32, std::make_shared<DecodeAttention>(stream, scale), inputs);
}

NB_MODULE(_oscgen_attention, m) {
    m.def("bind", [](uintptr_t address) { kernel = reinterpret_cast<kernel_fn>(address); }, nb::arg("address"));
    m.def("decode_attention", &decode_attention, nb::arg("q"), nb::arg("kv"), nb::arg("position"),
          nb::arg("offsets"), nb::arg("scale"));
}
