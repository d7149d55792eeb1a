//! `cargo bench -p ocelli`: GEMM, conv2d and depthwise conv on the default adapter against the
//! CPU reference. Each case is validated once against the reference before it is timed; a run
//! ends with a blocking readback, so the device is synchronised inside the timed region.

use std::sync::Arc;

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use ocelli::{Backend, Conv2d, CpuBackend, DType, Gpu, GpuBackend, Graph, GraphBuilder, Op, Padding, Plan, Tensor};

fn data(shape: &[usize], seed: u64) -> Tensor {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let v = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    Tensor::from_f32(shape.to_vec(), v).expect("numel")
}

fn validate(gpu: &GpuBackend, graph: &Graph, inputs: &[Tensor]) {
    let want = CpuBackend.run(graph, inputs).expect("cpu").remove(0);
    let got = gpu.run(graph, inputs).expect("gpu").remove(0);
    let (w, g) = (want.to_f64_vec(), got.to_f64_vec());
    let worst = w.iter().zip(&g).map(|(a, b)| (a - b).abs() / (1.0 + a.abs())).fold(0.0, f64::max);
    assert!(worst < 1e-3, "GPU result differs from the CPU reference by {worst}");
}

fn gemm(m: usize) -> (Graph, Vec<Tensor>, u64) {
    let mut g = GraphBuilder::new();
    let a = g.input("a", [m, m], DType::F32).unwrap();
    let b = g.input("b", [m, m], DType::F32).unwrap();
    let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b]).unwrap();
    (g.build(&[y]).unwrap(), vec![data(&[m, m], 1), data(&[m, m], 2)], 2 * (m * m * m) as u64)
}

fn conv(c: usize, hw: usize, groups: usize) -> (Graph, Vec<Tensor>, u64) {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, c, hw, hw], DType::F32).unwrap();
    let w = g.input("w", [c, c / groups, 3, 3], DType::F32).unwrap();
    let p = Conv2d { padding: Padding::Explicit([1; 4]), groups, ..Default::default() };
    let y = g.op(Op::Conv2d(p), &[x, w]).unwrap();
    let flops = 2 * (c * hw * hw * (c / groups) * 9) as u64;
    (g.build(&[y]).unwrap(), vec![data(&[1, c, hw, hw], 1), data(&[c, c / groups, 3, 3], 2)], flops)
}

fn small_cnn() -> (Graph, Vec<Tensor>, u64) {
    let (graph, inputs) = ocelli::builtin::build(ocelli::builtin::Builtin::Cnn).unwrap();
    (graph, inputs, 1)
}

fn bench(c: &mut Criterion) {
    let gpu = GpuBackend::new(Arc::new(Gpu::new().expect("a GPU adapter (apt-get install mesa-vulkan-drivers)")));
    let cases = [
        ("gemm 256", gemm(256)),
        ("gemm 512", gemm(512)),
        ("conv3x3 64->64 56x56", conv(64, 56, 1)),
        ("depthwise3x3 128 56x56", conv(128, 56, 128)),
        ("small CNN 64x64 (builtin cnn)", small_cnn()),
    ];
    let mut group = c.benchmark_group("kernels");
    group.sample_size(10);
    for (name, (graph, inputs, flops)) in &cases {
        validate(&gpu, graph, inputs);
        // FLOP counts as "elements" (the CNN counts images).
        group.throughput(Throughput::Elements(*flops));
        let mut gpu_plan = gpu.compile(graph).unwrap();
        let mut cpu_plan = CpuBackend.compile(graph).unwrap();
        group.bench_with_input(BenchmarkId::new("gpu", name), &(), |b, _| b.iter(|| gpu_plan.run(inputs).unwrap()));
        group.bench_with_input(BenchmarkId::new("cpu-reference", name), &(), |b, _| {
            b.iter(|| cpu_plan.run(inputs).unwrap())
        });
    }
    group.finish();
}

#[allow(missing_docs)]
mod harness {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
