// oscgen's MLX primitives for the CPU decode step (oscgen/_mlx_ext.py).  MLX has no CPU
// counterpart of its custom GPU kernels, so a new CPU op is a C++ primitive like these:
// - DecodeAttention: one query position's attention; the work is the shim's
//   oscgen_attention_decode (_attention.c, on its thread pool), bound at load by address;
// - LayerNorm: MLX's CPU layer norm is six ops (two reductions, so compile cannot fuse it),
//   73 of them a musicgen-small step; here one op a norm, on the calling thread.
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <nanobind/nanobind.h>

#include "mlx/allocator.h"
#include "mlx/backend/cpu/encoder.h"
#include "mlx/ops.h"
#include "mlx/primitives.h"

namespace mx = mlx::core;
namespace nb = nanobind;

using kernel_fn = void (*)(int, int, int, int, const float *, const float *, int, const int *, float, float *);
static kernel_fn kernel = nullptr;

// What both primitives share: one float parameter (the scale, the epsilon), the first input's
// shape as the output's, the CPU only, and the encoder set up for eval_cpu's dispatch.
class CpuOp : public mx::UnaryPrimitive {
  public:
    CpuOp(mx::Stream stream, float parameter, const char *name)
        : mx::UnaryPrimitive(stream), parameter_(parameter), name_(name) {}

    void eval_gpu(const std::vector<mx::array> &, mx::array &) override {
        throw std::runtime_error(std::string(name_) + " runs on the CPU only");
    }
    std::vector<mx::Shape> output_shapes(const std::vector<mx::array> &inputs) override { return {inputs[0].shape()}; }
    const char *name() const override { return name_; }
    bool is_equivalent(const mx::Primitive &other) const override {
        const auto &op = static_cast<const CpuOp &>(other);
        return name_ == op.name_ && parameter_ == op.parameter_;
    }

  protected:
    // ``out`` allocated, it and the inputs registered with the stream's encoder
    mx::cpu::CommandEncoder &encoder_for(const std::vector<mx::array> &inputs, mx::array &out) {
        out.set_data(mx::allocator::malloc(out.nbytes()));
        auto &encoder = mx::cpu::get_command_encoder(stream());
        for (const auto &input : inputs) encoder.set_input_array(input);
        encoder.set_output_array(out);
        return encoder;
    }
    float parameter_;

  private:
    const char *name_;
};

class DecodeAttention : public CpuOp {
  public:
    DecodeAttention(mx::Stream stream, float scale) : CpuOp(stream, scale, "OscgenDecodeAttention") {}

    void eval_cpu(const std::vector<mx::array> &inputs, mx::array &out) override {
        const auto &q = inputs[0], &kv = inputs[1], &position = inputs[2], &offsets = inputs[3];
        auto &encoder = encoder_for(inputs, out);
        int rows = kv.shape(1), heads = kv.shape(2), window = kv.shape(3), dim = kv.shape(4);
        encoder.dispatch([=, q = q.data<float>(), kv = kv.data<float>(), position = position.data<int32_t>(),
                          offsets = offsets.data<int32_t>(), out = out.data<float>(), scale = parameter_]() {
            kernel(rows, heads, window, dim, q, kv, *position, offsets, scale, out);
        });
    }
};

class LayerNorm : public CpuOp {
  public:
    LayerNorm(mx::Stream stream, float eps) : CpuOp(stream, eps, "OscgenLayerNorm") {}

    void eval_cpu(const std::vector<mx::array> &inputs, mx::array &out) override {
        const auto &x = inputs[0], &weight = inputs[1], &bias = inputs[2];
        auto &encoder = encoder_for(inputs, out);
        // any strides (x is whatever op came before, not made contiguous: an op fewer a norm)
        const int ndim = x.ndim();
        const size_t dim = x.shape(-1), rows = x.size() / dim;
        const int64_t step = x.strides().back(), wstep = weight.strides()[0], bstep = bias.strides()[0];
        std::vector<int> shape(x.shape().begin(), x.shape().end());
        std::vector<int64_t> strides(x.strides().begin(), x.strides().end());
        encoder.dispatch([=, x = x.data<float>(), w = weight.data<float>(), b = bias.data<float>(),
                          out = out.data<float>(), eps = parameter_]() {
            for (size_t r = 0; r < rows; r++) {
                int64_t offset = 0;
                for (int axis = ndim - 2, rest = r; axis >= 0; rest /= shape[axis], axis--)
                    offset += (rest % shape[axis]) * strides[axis];
                const float *row = x + offset;
                float *y = out + r * dim;
                // the mean and variance accumulated in double: a row's statistics to float
                // rounding whatever its length (MLX's sums are float32)
                double sum = 0.0, squares = 0.0;
                for (size_t i = 0; i < dim; i++) sum += row[i * step];
                const float mean = static_cast<float>(sum / dim);
                for (size_t i = 0; i < dim; i++) {
                    const double centred = row[i * step] - mean;
                    squares += centred * centred;
                }
                const float scale = static_cast<float>(1.0 / std::sqrt(squares / dim + eps));
                for (size_t i = 0; i < dim; i++) y[i] = (row[i * step] - mean) * scale * w[i * wstep] + b[i * bstep];
            }
        });
    }
};

// x (..., dim) float32; weight and bias (dim,): (x - mean) / sqrt(var + eps) * weight + bias per row.
static mx::array layer_norm(const mx::array &x, const mx::array &weight, const mx::array &bias, float eps) {
    if (x.ndim() < 1 || x.shape(-1) < 1 || weight.ndim() != 1 || bias.ndim() != 1 || weight.shape(0) != x.shape(-1) ||
        bias.shape(0) != x.shape(-1) || x.dtype() != mx::float32 || weight.dtype() != mx::float32 ||
        bias.dtype() != mx::float32)
        throw std::invalid_argument("layer_norm: x (..., D), weight and bias (D,), all float32");
    auto stream = mx::to_stream(mx::Device::cpu);
    return mx::array(x.shape(), mx::float32, std::make_shared<LayerNorm>(stream, eps), {x, weight, bias});
}

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

NB_MODULE(_oscgen_mlx, m) {
    m.def("bind", [](uintptr_t address) { kernel = reinterpret_cast<kernel_fn>(address); }, nb::arg("address"));
    m.def("decode_attention", &decode_attention, nb::arg("q"), nb::arg("kv"), nb::arg("position"),
          nb::arg("offsets"), nb::arg("scale"));
    m.def("layer_norm", &layer_norm, nb::arg("x"), nb::arg("weight"), nb::arg("bias"), nb::arg("eps"));
}
