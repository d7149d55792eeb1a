// What each fuzz target does with one input; shared by the targets (fuzz/fuzz_targets/) and by
// the corpus replay that the regular tests run (tests/fuzz_corpora.rs). Any input may be
// refused with an error; none may panic, abort or allocate without bound.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use ocelli::vision::{demosaic_graph, PackedImage, RawFrame};
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, Plan, Tensor};
use ocelli::{BayerPattern, Demosaic, DemosaicMethod};

#[path = "graph_gen.rs"]
pub mod graph_gen;

/// Frames with at most this many samples are also demosaicked on the CPU reference.
const RUN_SAMPLES: usize = 1 << 14;

/// The GPU the graph targets compile for (WGPU_BACKEND chooses; lavapipe on a GPU-less box).
fn gpu() -> &'static GpuBackend {
    static GPU: OnceLock<GpuBackend> = OnceLock::new();
    GPU.get_or_init(|| {
        let gpu = Gpu::new().unwrap_or_else(|e| {
            panic!("the graph fuzz targets need a GPU adapter: {e}; install mesa-vulkan-drivers for lavapipe")
        });
        GpuBackend::new(Arc::new(gpu))
    })
}

/// A parsed frame: packed, turned into a demosaic graph and, when small, run (a frame that
/// parses must demosaic).
fn demosaic(frame: &RawFrame) {
    assert_eq!(frame.samples.len(), frame.width * frame.height);
    let Ok(packed) = frame.packed() else { return };
    let p = Demosaic::new(frame.height, frame.width, frame.bits, BayerPattern::Rggb, DemosaicMethod::Mhc);
    let Ok(graph) = demosaic_graph(frame, p) else { return };
    assert_eq!(graph.inputs().len(), 1);
    assert_eq!(graph.value(graph.inputs()[0]).shape.numel(), packed.shape().numel());
    if frame.samples.len() <= RUN_SAMPLES {
        let out = CpuBackend.run(&graph, &[packed]).expect("a frame that builds a graph demosaics");
        assert_eq!(out[0].shape().dims(), [1, 3, frame.height, frame.width]);
    }
}

/// A PGM file.
pub fn pgm(data: &[u8]) {
    if let Ok(frame) = RawFrame::from_pgm_bytes(Path::new("fuzz.pgm"), data) {
        demosaic(&frame);
    }
}

/// A headerless frame: the first bytes choose width, height and depth (small ones, or any
/// 64-bit sizes when the first byte is odd), the rest are the samples.
pub fn raw(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let (sizes, samples) = rest.split_at(rest.len().min(if mode & 1 == 1 { 17 } else { 5 }));
    let (width, height, bits) = match *sizes {
        [w0, w1, h0, h1, bits] => {
            (usize::from(u16::from_le_bytes([w0, w1])), usize::from(u16::from_le_bytes([h0, h1])), bits)
        }
        [ref w @ .., bits] if sizes.len() == 17 => {
            let word = |b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize;
            (word(&w[..8]), word(&w[8..]), bits)
        }
        _ => return,
    };
    if let Ok(frame) = RawFrame::from_raw_bytes(Path::new("fuzz.raw"), samples, width, height, u32::from(bits)) {
        demosaic(&frame);
    }
}

/// Arbitrary op sequences with edge sizes and values: building refuses or infers shapes that
/// fit; the GPU compiles or refuses; small graphs run on both backends (errors allowed).
pub fn graph(data: &[u8]) {
    let Some(case) = graph_gen::generate(data, graph_gen::Mode::Wild) else { return };
    for v in case.graph.values() {
        assert!(v.shape.numel() > 0 && v.shape.numel().checked_mul(v.dtype.size()).is_some(), "{:?}", v.shape);
    }
    if let Some(inputs) = &case.inputs {
        let _ = CpuBackend.run(&case.graph, inputs);
    }
    // Graphs whose buffers fit in the binding limit and a small budget compile; larger ones
    // must be refused by the size checks before anything is allocated.
    let limit = gpu().max_binding_bytes().unwrap_or(u64::MAX);
    let held: u64 =
        case.graph.values().iter().map(|v| (v.shape.numel() * v.dtype.size()) as u64).filter(|&b| b <= limit).sum();
    if held <= graph_gen::WILD_GPU_BYTES {
        if let Ok(mut plan) = gpu().compile_with(&case.graph, case.options) {
            if let Some(inputs) = &case.inputs {
                let _ = plan.run(inputs);
            }
        }
    }
}

/// Small valid graphs: the GPU and the CPU reference both run them and agree within the
/// tolerance of their loosest op, or both refuse them.
pub fn differential(data: &[u8]) {
    let Some(case) = graph_gen::generate(data, graph_gen::Mode::Tame) else { return };
    let inputs = case.inputs.expect("tame graphs run");
    let want = CpuBackend.run(&case.graph, &inputs).map_err(|e| e.to_string());
    let got = gpu().compile_with(&case.graph, case.options).and_then(|mut p| p.run(&inputs)).map_err(|e| e.to_string());
    let ops: Vec<&str> = case.graph.nodes().iter().map(|n| n.op.name()).collect();
    match (want, got) {
        (Ok(want), Ok(got)) => {
            for (k, (w, g)) in want.iter().zip(&got).enumerate() {
                if let Some(why) = disagreement(w, g, case.tol) {
                    panic!("output {k} of {ops:?} ({:?}): {why}\n{:#?}", case.options, case.graph.nodes());
                }
            }
        }
        (Err(_), Err(_)) => {}
        (want, got) => panic!("{ops:?}: the cpu says {want:?} and the gpu {got:?}\n{:#?}", case.graph.nodes()),
    }
}

/// An image file of any format: decoded within the budget into packed samples.
pub fn image(data: &[u8]) {
    let Ok(img) = PackedImage::from_bytes(Path::new("fuzz.img"), data) else { return };
    let l = img.layout;
    assert!(l.height > 0 && l.width > 0 && (1..=4).contains(&l.channels));
    let mean = img.mean(l.channels);
    assert!((0.0..=1.0).contains(&mean), "{mean}");
    assert_eq!(img.segments().iter().map(|t| t.shape().numel()).sum::<usize>(), img.words.len());
}

/// A safetensors file: loaded, then every tensor read at its own shape.
pub fn weights(data: &[u8]) {
    let Ok(w) = ocelli::nn::Weights::from_bytes("fuzz.safetensors", data) else { return };
    for name in w.names() {
        let shape = w.shape(name).expect("listed").clone();
        let t = w.get(name, shape.dims()).expect("a listed tensor reads at its own shape");
        assert_eq!(t.shape(), &shape);
    }
}

/// Why `got` is not within `tol` of `want` (elementwise, the absolute part scaled by the largest
/// expected magnitude), or `None` when it is. NaNs must match NaNs and infinities themselves.
pub fn disagreement(want: &Tensor, got: &Tensor, tol: graph_gen::Tol) -> Option<String> {
    if want.shape() != got.shape() || want.dtype() != got.dtype() {
        return Some(format!("{} {} against {} {}", want.dtype(), want.shape(), got.dtype(), got.shape()));
    }
    let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
    let scale = w.iter().filter(|x| x.is_finite()).fold(1f64, |m, x| m.max(x.abs()));
    let bad: Vec<String> = w
        .iter()
        .zip(&g)
        .enumerate()
        .filter(|(_, (&x, &y))| {
            let special = (x.is_nan() && y.is_nan()) || (x.is_infinite() && x == y);
            let finite = x.is_finite() && y.is_finite();
            !(special || finite && (x - y).abs() <= (tol.rel * (x + y).abs()).max(tol.abs * scale))
        })
        .take(8)
        .map(|(i, (x, y))| format!("[{i}] cpu {x:.7e} gpu {y:.7e}"))
        .collect();
    (!bad.is_empty()).then(|| format!("{tol:?}, scale {scale}: {}", bad.join(", ")))
}
