//! Shared machinery of the conformance suite: the devices under test, random inputs, and a
//! comparison that says where and by how much a kernel is wrong.

use std::sync::{Arc, OnceLock};

use ocelli::{wgpu, Backend, CompileOptions, CpuBackend, Gpu, GpuBackend, GpuOptions, Graph, Plan, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// |x − y| <= max(rel · |x + y|, abs), as in burn's tolerance.
#[derive(Debug, Clone, Copy)]
pub struct Tol {
    pub rel: f64,
    pub abs: f64,
}

/// Plain arithmetic and data movement (exact or a few roundings).
pub const EXACT: Tol = Tol { rel: 1e-6, abs: 1e-6 };
/// Accumulations (GEMM, conv, reductions): f32 rounding grows with the length of the sum.
pub const ACCUM: Tol = Tol { rel: 1e-4, abs: 1e-4 };
/// Transcendentals (exp, log, tanh, pow, erf, softmax).
pub const TRANSCENDENTAL: Tol = Tol { rel: 2e-4, abs: 1e-5 };
/// f16 results: one half-precision ulp.
pub const F16: Tol = Tol { rel: 1e-3, abs: 1e-4 };

fn open(name: &str, backends: wgpu::Backends) -> Arc<Gpu> {
    match Gpu::with_options(&GpuOptions::default().with_backends(backends)) {
        Ok(g) => Arc::new(g),
        Err(e) => panic!(
            "the conformance suite needs the {name} adapter and found none: {e}\n\
             Install Mesa's software drivers (`apt-get install mesa-vulkan-drivers libvulkan1 libegl-mesa0`), \
             or choose adapters with OCELLI_TEST_BACKENDS=vulkan|gl|all."
        ),
    }
}

/// The GPU backends under test: Vulkan and GL by default (both are llvmpipe on a GPU-less box);
/// `OCELLI_TEST_BACKENDS=vulkan`, `gl`, `metal`, `dx12` or `all` (any adapter) narrows or widens it.
pub fn gpus() -> &'static [GpuBackend] {
    static GPUS: OnceLock<Vec<GpuBackend>> = OnceLock::new();
    GPUS.get_or_init(|| {
        let wanted = std::env::var("OCELLI_TEST_BACKENDS").unwrap_or_else(|_| "vulkan,gl".into());
        wanted
            .split(',')
            .map(|name| {
                let backends = match name.trim() {
                    "all" => wgpu::Backends::all(),
                    other => wgpu::Backends::from_comma_list(other),
                };
                GpuBackend::new(open(name, backends))
            })
            .collect()
    })
}

/// A seeded generator per test, so failures reproduce.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// Uniform values in [lo, hi).
pub fn uniform(rng: &mut StdRng, shape: &[usize], lo: f32, hi: f32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32(shape.to_vec(), (0..n).map(|_| rng.random_range(lo..hi)).collect()).unwrap()
}

/// Compares `got` with `want` and panics with the maximum difference and the first mismatches.
pub fn assert_close(what: &str, want: &Tensor, got: &Tensor, tol: Tol) {
    assert_eq!(want.shape(), got.shape(), "{what}: shape");
    assert_eq!(want.dtype(), got.dtype(), "{what}: dtype");
    let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
    let mut bad = Vec::new();
    let mut max_diff = 0f64;
    for (i, (&x, &y)) in w.iter().zip(&g).enumerate() {
        let same_special = (x.is_nan() && y.is_nan()) || (x.is_infinite() && x == y);
        let d = (x - y).abs();
        // A finite value against an infinite one is a mismatch, however large the tolerance.
        let within = x.is_finite() && y.is_finite() && d <= (tol.rel * (x + y).abs()).max(tol.abs);
        if !same_special && !within {
            bad.push((i, x, y));
        }
        if d.is_finite() {
            max_diff = max_diff.max(d);
        }
    }
    if !bad.is_empty() {
        let first: Vec<String> =
            bad.iter().take(8).map(|(i, x, y)| format!("  [{i}] expected {x:.7e} got {y:.7e}")).collect();
        panic!(
            "{what}: {} of {} elements differ (max |diff| {max_diff:.3e}, tol {tol:?}); first:\n{}",
            bad.len(),
            w.len(),
            first.join("\n")
        );
    }
}

/// Runs `graph` on the CPU reference and on every GPU backend and compares all outputs.
pub fn check(what: &str, graph: &Graph, inputs: &[Tensor], tol: Tol) {
    check_with(what, graph, inputs, tol, &[CompileOptions::default()]);
}

/// The ways GEMM and convolution operands reach their kernels: through textures (the default
/// on CPU adapters such as lavapipe) and through storage buffers (what GPUs use).
pub fn operand_paths() -> [CompileOptions; 2] {
    [CompileOptions::default(), CompileOptions { texel_operands: false, ..Default::default() }]
}

/// [`check`] under each of `options`.
pub fn check_with(what: &str, graph: &Graph, inputs: &[Tensor], tol: Tol, options: &[CompileOptions]) {
    let want = CpuBackend.run(graph, inputs).unwrap_or_else(|e| panic!("{what}: cpu: {e}"));
    for gpu in gpus() {
        for &o in options {
            let got = gpu
                .compile_with(graph, o)
                .and_then(|mut plan| plan.run(inputs))
                .unwrap_or_else(|e| panic!("{what}: {}: {e}", gpu.name()));
            assert_eq!(got.len(), want.len());
            for (k, (w, g)) in want.iter().zip(&got).enumerate() {
                let path = if o.texel_operands { "" } else { " (storage operands)" };
                assert_close(&format!("{what} on {}{path} (output {k})", gpu.name()), w, g, tol);
            }
        }
    }
}
