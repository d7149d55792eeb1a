use ocelli::{DType, GraphBuilder, Op, Pool2d, PoolKind, UpsampleMode};

use ocelli::CompileOptions;
use rand::Rng;

use crate::harness::{check, check_with, rng, uniform, ACCUM, EXACT};

/// The default plan, and one with `loop_chunk` 3, where windows above 12 loop iterations (3×3
/// and larger) run in parts combined by a fold.
fn window_parts() -> [CompileOptions; 2] {
    [CompileOptions::default(), CompileOptions { loop_chunk: 3, ..Default::default() }]
}

fn pool(kind: PoolKind, k: [usize; 2], s: [usize; 2], pad: [usize; 4], ceil: bool, incl: bool) -> Pool2d {
    Pool2d { kind, kernel: k, stride: s, padding: pad, ceil_mode: ceil, count_include_pad: incl }
}

fn cases(kind: PoolKind) -> Vec<([usize; 4], Pool2d)> {
    vec![
        ([1, 1, 1, 1], pool(kind, [1, 1], [1, 1], [0; 4], false, false)),
        ([1, 2, 7, 7], pool(kind, [2, 2], [2, 2], [0; 4], false, false)),
        ([1, 2, 7, 7], pool(kind, [2, 2], [2, 2], [0; 4], true, false)),
        ([2, 3, 9, 11], pool(kind, [3, 3], [2, 2], [1, 1, 1, 1], false, false)),
        ([2, 3, 9, 11], pool(kind, [3, 3], [2, 2], [1, 1, 1, 1], true, true)),
        ([1, 4, 10, 6], pool(kind, [3, 2], [1, 2], [1, 0, 1, 1], true, true)),
        ([1, 5, 8, 8], pool(kind, [5, 5], [3, 3], [2, 2, 2, 2], false, true)),
        // Wider than a part's budget: one row per part, columns in chunks.
        ([1, 2, 3, 20], pool(kind, [2, 15], [1, 4], [0, 1, 0, 1], false, false)),
    ]
}

#[test]
fn max_and_avg_pool_over_padding_ceil_mode_and_count_include_pad() {
    let mut r = rng(31);
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for (x, p) in cases(kind) {
            let mut g = GraphBuilder::new();
            let xi = g.input("x", x, DType::F32).unwrap();
            let y = g.op(Op::Pool2d(p), &[xi]).unwrap();
            let graph = g.build(&[y]).unwrap();
            let what = format!("pool {x:?} {p:?}");
            check_with(&what, &graph, &[uniform(&mut r, &x, -2.0, 2.0)], ACCUM, &window_parts());
        }
    }
}

#[test]
fn max_pool_indices_and_unpool_round_trip() {
    let mut r = rng(32);
    for (x, p) in cases(PoolKind::Max) {
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let outs = g.apply(Op::MaxPool2dWithIndices(p), &[xi]).unwrap();
        let un = g.op(Op::MaxUnpool2d { out_h: x[2], out_w: x[3] }, &[outs[0], outs[1]]).unwrap();
        let graph = g.build(&[outs[0], outs[1], un]).unwrap();
        // Quantised values: equal maxima in a window, of which the first is the index.
        let n: usize = x.iter().product();
        let data = ocelli::Tensor::from_f32(x, (0..n).map(|_| (r.random_range(0..6) as f32) / 2.0).collect()).unwrap();
        let what = format!("max_pool_with_indices+unpool {x:?} {p:?}");
        check_with(&what, &graph, &[data], EXACT, &window_parts());
    }
}

#[test]
fn global_average_pool() {
    let mut r = rng(33);
    for x in [[1, 1, 1, 1], [2, 3, 5, 7], [1, 16, 56, 56]] {
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let y = g.op(Op::GlobalAvgPool, &[xi]).unwrap();
        let graph = g.build(&[y]).unwrap();
        check(&format!("global_avg_pool {x:?}"), &graph, &[uniform(&mut r, &x, -1.0, 1.0)], ACCUM);
    }
}

#[test]
fn upsample_nearest_and_bilinear() {
    let mut r = rng(34);
    let modes = [
        UpsampleMode::Nearest,
        UpsampleMode::Bilinear { align_corners: false },
        UpsampleMode::Bilinear { align_corners: true },
        UpsampleMode::BilinearAsymmetric,
    ];
    for mode in modes {
        for (x, oh, ow) in [
            ([1, 1, 1, 1], 3, 2),
            ([1, 2, 4, 5], 8, 10),
            ([2, 3, 7, 6], 13, 17),
            ([1, 2, 9, 9], 4, 5),
            ([1, 1, 3, 3], 1, 1),
            // Output rows of whole groups of 4 (`upsample4`), the second 240 000 outputs.
            ([2, 3, 7, 6], 14, 12),
            ([1, 2, 150, 200], 300, 400),
        ] {
            let mut g = GraphBuilder::new();
            let xi = g.input("x", x, DType::F32).unwrap();
            let y = g.op(Op::Upsample { mode, out_h: oh, out_w: ow }, &[xi]).unwrap();
            let graph = g.build(&[y]).unwrap();
            check(&format!("upsample {x:?} -> {oh}x{ow} {mode:?}"), &graph, &[uniform(&mut r, &x, -1.0, 1.0)], ACCUM);
        }
    }
}
