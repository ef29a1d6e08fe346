// Element-wise and reduction kernels of the BERT / XLM-R forward pass on an NVIDIA GPU,
// compiled at run time by NVRTC (no CUDA toolkit at build time). Matrix products go to
// cuBLAS; these kernels do the rest. Activations are f32, row-major; a batch is `B`
// windows padded to `L` tokens, so token `t` of window `b` is row `b * L + t`.

extern "C" __device__ float block_sum(float v, float* shared) {
    // Sum over the block (blockDim.x a multiple of 32, at most 1024).
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    v = (threadIdx.x < warps) ? shared[threadIdx.x] : 0.0f;
    if (warp == 0) {
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
        if (lane == 0) shared[0] = v;
    }
    __syncthreads();
    return shared[0];
}

// x[row] = LayerNorm(x[row] (+ y[row])) * w + b, in place; one block per row, H <= 8 * blockDim.
extern "C" __device__ void ln_row(float* x, const float* y, const float* w, const float* b,
                                  int h, float eps) {
    __shared__ float shared[32];
    float v[8];
    float s = 0.0f;
    int n = 0;
    for (int i = threadIdx.x; i < h; i += blockDim.x, n++) {
        float a = x[i] + (y ? y[i] : 0.0f);
        v[n] = a;
        s += a;
    }
    float mean = block_sum(s, shared) / h;
    float q = 0.0f;
    for (int k = 0; k < n; k++) {
        float d = v[k] - mean;
        q += d * d;
    }
    float inv = rsqrtf(block_sum(q, shared) / h + eps);
    n = 0;
    for (int i = threadIdx.x; i < h; i += blockDim.x, n++) {
        x[i] = (v[n] - mean) * inv * w[i] + b[i];
    }
}

// Embeddings: word + position + token type, then LayerNorm. One block per token.
extern "C" __global__ void embed(const unsigned int* ids, const float* word, const float* pos,
                                 const float* type0, const float* lnw, const float* lnb,
                                 float* x, int L, int h, int pos_offset, float eps) {
    int row = blockIdx.x;
    int t = row % L;
    const float* wr = word + (size_t)ids[row] * h;
    const float* pr = pos + (size_t)(pos_offset + t) * h;
    float* xr = x + (size_t)row * h;
    for (int i = threadIdx.x; i < h; i += blockDim.x) xr[i] = wr[i] + pr[i] + type0[i];
    __syncthreads();
    ln_row(xr, 0, lnw, lnb, h, eps);
}

// x = LayerNorm(x + y + bias); one block per row.
extern "C" __global__ void add_bias_ln(float* x, float* y, const float* bias, const float* lnw,
                                       const float* lnb, int h, float eps) {
    size_t row = blockIdx.x;
    float* yr = y + row * h;
    for (int i = threadIdx.x; i < h; i += blockDim.x) yr[i] += bias[i];
    __syncthreads();
    ln_row(x + row * h, yr, lnw, lnb, h, eps);
}

// y += bias, then the activation (0: GELU erf, 1: GELU tanh, 2: ReLU), in place.
extern "C" __global__ void bias_act(float* y, const float* bias, size_t n, int f, int act) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = y[i] + bias[i % f];
    if (act == 0) {
        v = 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    } else if (act == 1) {
        v = 0.5f * v * (1.0f + tanhf(0.7978845608028654f * (v + 0.044715f * v * v * v)));
    } else {
        v = fmaxf(v, 0.0f);
    }
    y[i] = v;
}

// Index in [B, heads, L, d] of element `c` (of `heads * d`) of row `row` (of `B * L`).
extern "C" __device__ size_t head_index(size_t row, int c, int L, int heads, int d) {
    size_t b = row / L;
    int t = row % L;
    return ((b * heads + c / d) * L + t) * d + c % d;
}

// qkv [B*L, 3H] (+ bias) -> q, k, v [B, heads, L, d].
extern "C" __global__ void split_heads(const float* qkv, const float* bias, float* q, float* k,
                                       float* v, int L, int heads, int d, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;  // n = B * L * H
    int h = heads * d;
    size_t row = i / h;
    int c = i % h;
    size_t dst = head_index(row, c, L, heads, d);
    const float* src = qkv + row * 3 * h;
    q[dst] = src[c] + bias[c];
    k[dst] = src[h + c] + bias[h + c];
    v[dst] = src[2 * h + c] + bias[2 * h + c];
}

// ctx [B, heads, L, d] -> out [B*L, H].
extern "C" __global__ void merge_heads(const float* ctx, float* out, int L, int heads, int d,
                                       size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    int h = heads * d;
    out[i] = ctx[head_index(i / h, i % h, L, heads, d)];
}

// Row-wise softmax of scores [B*heads*L, L] (already scaled), keys at or past the window's
// length masked out. One block per row.
extern "C" __global__ void softmax_rows(float* s, const int* lens, int L, int heads) {
    __shared__ float shared[32];
    size_t row = blockIdx.x;
    int b = row / ((size_t)heads * L);
    int len = lens[b];
    float* r = s + row * L;
    float m = -1e30f;
    for (int j = threadIdx.x; j < len; j += blockDim.x) m = fmaxf(m, r[j]);
    // Block max through the sum helper: max of non-negative shifted values is not a sum,
    // so reduce with warp shuffles and shared memory directly.
    for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffff, m, o));
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) shared[warp] = m;
    __syncthreads();
    if (threadIdx.x == 0) {
        float mm = shared[0];
        for (int w = 1; w < (blockDim.x >> 5); w++) mm = fmaxf(mm, shared[w]);
        shared[0] = mm;
    }
    __syncthreads();
    m = shared[0];
    __syncthreads();
    float sum = 0.0f;
    for (int j = threadIdx.x; j < L; j += blockDim.x) {
        float e = j < len ? __expf(r[j] - m) : 0.0f;
        r[j] = e;
        sum += e;
    }
    float inv = 1.0f / block_sum(sum, shared);
    for (int j = threadIdx.x; j < L; j += blockDim.x) r[j] *= inv;
}

// Pool each window: mean over its `lens[b]` tokens, or its first token. One block per window.
extern "C" __global__ void pool(const float* x, const int* lens, float* out, int L, int h,
                                int mean) {
    int b = blockIdx.x;
    int len = lens[b];
    for (int i = threadIdx.x; i < h; i += blockDim.x) {
        const float* base = x + (size_t)b * L * h + i;
        float s;
        if (mean) {
            s = 0.0f;
            for (int t = 0; t < len; t++) s += base[(size_t)t * h];
            s /= (float)(len > 0 ? len : 1);
        } else {
            s = base[0];
        }
        out[(size_t)b * h + i] = s;
    }
}
