//! Long axes: reductions, softmax, norms, pooling, top-k, GEMM K and resize windows far longer
//! than llvmpipe's 65 535 loop iterations per invocation (which it leaves silently, returning a
//! wrong number), and every chunked kernel again with `loop_chunk` forced down so that small
//! shapes take three or more passes.

use ocelli::{CompileOptions, DType, Graph, GraphBuilder, Op, ReduceOp, Tensor, UpsampleMode};
use rand::rngs::StdRng;
use rand::Rng;

use crate::harness::{check_with, rng, uniform, ACCUM, EXACT, TRANSCENDENTAL};

/// The default chunking, and a `loop_chunk` of 3 that splits every axis longer than 3.
fn chunkings() -> [CompileOptions; 2] {
    [CompileOptions::default(), CompileOptions { loop_chunk: 3, ..Default::default() }]
}

fn unary_graph(shape: &[usize], op: Op) -> Graph {
    let mut g = GraphBuilder::new();
    let x = g.input("x", shape, DType::F32).unwrap();
    let outs = g.apply(op, &[x]).unwrap();
    g.build(&outs).unwrap()
}

/// Long shapes (the axis reduced is the one of 300 000 or more) and small ones for the forced
/// chunking, as (shape, axis).
const LINES: &[(&[usize], usize)] =
    &[(&[300_000], 0), (&[2, 150_001], 1), (&[3, 70_001, 2], 1), (&[2, 3, 4, 5], 1), (&[1, 1000], 1), (&[7, 2], 0)];

#[test]
fn reductions_and_argmax_over_long_axes() {
    let mut r = rng(131);
    for &(shape, axis) in LINES {
        for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max] {
            let graph = unary_graph(shape, Op::Reduce { op, axis, keep_dims: false });
            let x = uniform(&mut r, shape, -1.0, 1.0);
            check_with(&format!("reduce {op:?} {shape:?} axis {axis}"), &graph, &[x], ACCUM, &chunkings());
        }
        let graph = unary_graph(shape, Op::ArgMax { axis, keep_dims: false });
        // Few distinct values: many equal maxima, of which the first must win.
        let x = quantised(&mut r, shape, 50);
        check_with(&format!("argmax {shape:?} axis {axis}"), &graph, &[x], EXACT, &chunkings());
    }
}

#[test]
fn argmax_finds_a_maximum_past_65535() {
    let n = 70_000;
    let graph = unary_graph(&[n], Op::ArgMax { axis: 0, keep_dims: false });
    let x = Tensor::from_f32([n], (0..n).map(|i| i as f32).collect()).unwrap();
    check_with("argmax of 0..70000", &graph, &[x], EXACT, &chunkings());
}

#[test]
fn softmax_and_log_softmax_over_long_axes() {
    let mut r = rng(132);
    for &(shape, axis) in LINES {
        for log in [false, true] {
            let graph = unary_graph(shape, Op::Softmax { axis, log });
            let x = uniform(&mut r, shape, -10.0, 10.0);
            check_with(&format!("softmax {shape:?} axis {axis} log {log}"), &graph, &[x], TRANSCENDENTAL, &chunkings());
        }
    }
}

fn norm_graph(x: &[usize], affine: &[usize], op: Op) -> Graph {
    let mut g = GraphBuilder::new();
    let xi = g.input("x", x, DType::F32).unwrap();
    let gm = g.input("gamma", affine, DType::F32).unwrap();
    let bt = g.input("beta", affine, DType::F32).unwrap();
    let y = g.op(op, &[xi, gm, bt]).unwrap();
    g.build(&[y]).unwrap()
}

#[test]
fn layer_and_group_norm_over_300000_elements_per_group() {
    let mut r = rng(133);
    for (x, groups) in [([1, 4, 300, 500], 2), ([2, 6, 5, 7], 3), ([1, 2, 3, 3], 1)] {
        let graph = norm_graph(&x, &[x[1]], Op::GroupNorm { groups, eps: 1e-5 });
        // An offset far from zero: a one-pass variance would cancel.
        let data = vec![
            uniform(&mut r, &x, 99.0, 101.0),
            uniform(&mut r, &[x[1]], 0.5, 1.5),
            uniform(&mut r, &[x[1]], -0.5, 0.5),
        ];
        check_with(&format!("group_norm {x:?} groups {groups}"), &graph, &data, ACCUM, &chunkings());
    }
    for (x, axis) in [(&[300_000][..], 0), (&[2, 600, 500][..], 1), (&[3, 7][..], 1)] {
        let tail = &x[axis..];
        let graph = norm_graph(x, tail, Op::LayerNorm { axis, eps: 1e-5 });
        let data =
            vec![uniform(&mut r, x, -2.0, 3.0), uniform(&mut r, tail, 0.5, 1.5), uniform(&mut r, tail, -0.5, 0.5)];
        check_with(&format!("layer_norm {x:?} axis {axis}"), &graph, &data, ACCUM, &chunkings());
    }
}

#[test]
fn global_average_pooling_of_2048_squared_planes() {
    for shape in [[1, 1, 2048, 2048], [2, 3, 5, 7]] {
        let graph = unary_graph(&shape, Op::GlobalAvgPool);
        let ones = Tensor::from_f32(shape, vec![1.0; shape.iter().product()]).unwrap();
        check_with(&format!("global avg pool of ones {shape:?}"), &graph, &[ones], EXACT, &chunkings());
        let x = uniform(&mut rng(134), &shape, -1.0, 1.0);
        check_with(&format!("global avg pool {shape:?}"), &graph, &[x], ACCUM, &chunkings());
    }
}

/// Integers in -2..=2, as f32.
fn integers(r: &mut StdRng, shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32(shape.to_vec(), (0..n).map(|_| r.random_range(-2..=2) as f32).collect()).unwrap()
}

/// Values k/4 for k in 0..levels: many ties.
fn quantised(r: &mut StdRng, shape: &[usize], levels: u32) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::from_f32(shape.to_vec(), (0..n).map(|_| r.random_range(0..levels) as f32 / 4.0).collect()).unwrap()
}

#[test]
fn top_k_over_rows_of_100000_with_k_up_to_100() {
    let mut r = rng(135);
    for k in [1, 16, 32, 100, 128] {
        for largest in [true, false] {
            let shape = [2, 100_000];
            let graph = unary_graph(&shape, Op::TopK { k, largest });
            let what = format!("top_k {shape:?} k {k} largest {largest}");
            check_with(&what, &graph, &[quantised(&mut r, &shape, 5000)], EXACT, &chunkings());
        }
    }
    // Sorted rows: every candidate enters the list (the most swaps), in both directions.
    let n = 100_000;
    let rising = Tensor::from_f32([1, n], (0..n).map(|i| i as f32).collect()).unwrap();
    for largest in [true, false] {
        let graph = unary_graph(&[1, n], Op::TopK { k: 100, largest });
        check_with(
            &format!("top_k of 0..{n} largest {largest}"),
            &graph,
            std::slice::from_ref(&rising),
            EXACT,
            &chunkings(),
        );
    }
    for (shape, k) in [(&[3, 50][..], 5), (&[4, 9][..], 9), (&[2, 200][..], 100), (&[1][..], 1)] {
        let graph = unary_graph(shape, Op::TopK { k, largest: true });
        check_with(&format!("top_k {shape:?} k {k}"), &graph, &[quantised(&mut r, shape, 20)], EXACT, &chunkings());
    }
}

#[test]
fn gemm_and_l1_distances_with_k_300000() {
    let mut r = rng(136);
    for (m, n, k) in [(2, 3, 300_000), (5, 9, 70_001), (3, 5, 50)] {
        for l1 in [false, true] {
            let mut g = GraphBuilder::new();
            let a = g.input("a", [m, k], DType::F32).unwrap();
            let (y, b_shape) = if l1 {
                let b = g.input("b", [n, k], DType::F32).unwrap();
                (g.op(Op::L1Distance, &[a, b]).unwrap(), [n, k])
            } else {
                let b = g.input("b", [k, n], DType::F32).unwrap();
                (g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b]).unwrap(), [k, n])
            };
            let graph = g.build(&[y]).unwrap();
            // Small integers: every partial sum is exact in f32 (below 2^24), so a part of K
            // missed or counted twice cannot hide in rounding, and the check is exact.
            let data = [integers(&mut r, &[m, k]), integers(&mut r, &b_shape)];
            let what = format!("{} m{m} n{n} k{k}", if l1 { "l1 distance" } else { "gemm" });
            let mut paths =
                vec![CompileOptions::default(), CompileOptions { texel_operands: false, ..Default::default() }];
            // Forced chunking splits K into parts of 32: thousands of dispatches for long K.
            if k < 1000 {
                paths.push(CompileOptions { loop_chunk: 3, ..Default::default() });
            }
            check_with(&what, &graph, &data, EXACT, &paths);
        }
    }
}

#[test]
fn pooling_windows_of_90000() {
    use ocelli::{Pool2d, PoolKind};
    let mut r = rng(139);
    for kind in [PoolKind::Avg, PoolKind::Max] {
        let p = Pool2d::new(kind, 300, 150);
        let graph = unary_graph(&[1, 2, 600, 451], Op::Pool2d(p));
        // Integers: exact sums, and equal maxima whose first must win.
        let x = integers(&mut r, &[1, 2, 600, 451]);
        check_with(
            &format!("{kind:?} pool 300x300"),
            &graph,
            std::slice::from_ref(&x),
            EXACT,
            &[CompileOptions::default()],
        );
        if kind == PoolKind::Max {
            let graph = unary_graph(&[1, 2, 600, 451], Op::MaxPool2dWithIndices(p));
            check_with("max pool 300x300 with indices", &graph, &[x], EXACT, &[CompileOptions::default()]);
        }
    }
}

#[test]
fn convolution_over_a_row_of_70001_pixels() {
    use ocelli::{Conv2d, Padding};
    let mut r = rng(140);
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 3, 1, 70_001], DType::F32).unwrap();
    let w = g.input("w", [4, 3, 1, 3], DType::F32).unwrap();
    let p = Conv2d { padding: Padding::Explicit([0, 1, 0, 1]), ..Default::default() };
    let y = g.op(Op::Conv2d(p), &[x, w]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let data = [integers(&mut r, &[1, 3, 1, 70_001]), integers(&mut r, &[4, 3, 1, 3])];
    check_with("conv 1x3 over 70001 columns", &graph, &data, EXACT, &[CompileOptions::default()]);
}

#[test]
fn area_resize_of_2000000_by_1() {
    let mut r = rng(138);
    for (shape, out) in [([1, 1, 2_000_000, 1], (7, 1)), ([1, 2, 300_000, 3], (3, 2)), ([1, 1, 9, 31], (2, 3))] {
        let graph = unary_graph(&shape, Op::Upsample { mode: UpsampleMode::Area, out_h: out.0, out_w: out.1 });
        // Integers: window sums are exact, only the division rounds.
        let x = integers(&mut r, &shape);
        check_with(&format!("area resize {shape:?} -> {out:?}"), &graph, &[x], EXACT, &chunkings());
    }
}
