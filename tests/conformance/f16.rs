//! f16 graphs: values and weights stay f16 on the device, ops compute in f32 and round (the
//! fallback every adapter runs today); GPU against the CPU reference with an f16 tolerance.

use ocelli::{
    BinaryOp, CompileOptions, Conv2d, DType, Graph, GraphBuilder, Op, Padding, Pool2d, PoolKind, ReduceOp, Tensor,
    UnaryOp, UpsampleMode, ValueId,
};

use crate::harness::{check, gpus, rng, uniform, F16};

fn half(t: &Tensor) -> Tensor {
    ocelli::CpuBackend::cast(t, DType::F16)
}

/// A graph of one f16 input `x` of `shape` through `build`.
fn f16_graph(shape: &[usize], build: impl Fn(&mut GraphBuilder, ValueId) -> Vec<ValueId>) -> Graph {
    let mut g = GraphBuilder::new();
    let x = g.input("x", shape, DType::F16).unwrap();
    let outs = build(&mut g, x);
    g.build(&outs).unwrap()
}

#[test]
fn every_op_family_runs_in_f16() {
    let mut r = rng(111);
    let shape = [2, 4, 9, 7];
    let x = half(&uniform(&mut r, &shape, -2.0, 2.0));
    let w = half(&uniform(&mut r, &[6, 4, 3, 3], -0.5, 0.5));
    let cases: Vec<(&str, Graph)> = vec![
        (
            "conv + bias + relu",
            f16_graph(&shape, |g, x| {
                let wc = g.constant(w.clone()).unwrap();
                let b = g.constant(half(&Tensor::from_f32([6], vec![0.1; 6]).unwrap())).unwrap();
                let p = Conv2d { padding: Padding::Same, ..Default::default() };
                let y = g.op(Op::Conv2d(p), &[x, wc, b]).unwrap();
                vec![g.op(Op::Unary(UnaryOp::Relu), &[y]).unwrap()]
            }),
        ),
        (
            "matmul",
            f16_graph(&shape, |g, x| {
                let flat = g.op(Op::Reshape { shape: vec![2, 252] }, &[x]).unwrap();
                let t = g.op(Op::Transpose { perm: vec![1, 0] }, &[flat]).unwrap();
                vec![g.op(Op::MatMul { trans_a: false, trans_b: false }, &[flat, t]).unwrap()]
            }),
        ),
        (
            "pools, upsample, global pool",
            f16_graph(&shape, |g, x| {
                let outs = g.apply(Op::MaxPool2dWithIndices(Pool2d::new(PoolKind::Max, 2, 2)), &[x]).unwrap();
                let a = g.op(Op::Pool2d(Pool2d::new(PoolKind::Avg, 3, 2)), &[x]).unwrap();
                let u = g
                    .op(
                        Op::Upsample { mode: UpsampleMode::Bilinear { align_corners: false }, out_h: 13, out_w: 5 },
                        &[x],
                    )
                    .unwrap();
                let gap = g.op(Op::GlobalAvgPool, &[x]).unwrap();
                vec![outs[0], outs[1], a, u, gap]
            }),
        ),
        (
            "softmax, reductions, argmax",
            f16_graph(&shape, |g, x| {
                let s = g.op(Op::Softmax { axis: 1, log: false }, &[x]).unwrap();
                let m = g.op(Op::Reduce { op: ReduceOp::Mean, axis: 3, keep_dims: false }, &[x]).unwrap();
                let a = g.op(Op::ArgMax { axis: 2, keep_dims: true }, &[x]).unwrap();
                vec![s, m, a]
            }),
        ),
        (
            "norms",
            f16_graph(&shape, |g, x| {
                let gamma = g.constant(half(&Tensor::from_f32([4], vec![1.0, 0.5, 2.0, 1.5]).unwrap())).unwrap();
                let beta = g.constant(half(&Tensor::from_f32([4], vec![0.0, 0.1, -0.1, 0.2]).unwrap())).unwrap();
                let gn = g.op(Op::GroupNorm { groups: 2, eps: 1e-5 }, &[x, gamma, beta]).unwrap();
                let lg = g.constant(half(&Tensor::from_f32([7], vec![1.0; 7]).unwrap())).unwrap();
                let lb = g.constant(half(&Tensor::from_f32([7], vec![0.0; 7]).unwrap())).unwrap();
                let ln = g.op(Op::LayerNorm { axis: 3, eps: 1e-5 }, &[x, lg, lb]).unwrap();
                vec![gn, ln]
            }),
        ),
        (
            "elementwise and layout",
            f16_graph(&shape, |g, x| {
                let e = g.op(Op::Unary(UnaryOp::Gelu), &[x]).unwrap();
                let m = g.op(Op::Binary(BinaryOp::Mul), &[x, e]).unwrap();
                let c = g.op(Op::Concat { axis: 1 }, &[x, m]).unwrap();
                let s = g.op(Op::Slice { axis: 3, start: 1, end: 7, step: 2 }, &[c]).unwrap();
                let p = g
                    .op(Op::Pad { pads: vec![(0, 0), (0, 0), (1, 2), (2, 1)], mode: ocelli::PadMode::Reflect }, &[s])
                    .unwrap();
                vec![p]
            }),
        ),
    ];
    for (name, graph) in cases {
        check(&format!("f16 {name}"), &graph, std::slice::from_ref(&x), F16);
    }
}

#[test]
fn f16_weights_stay_half_size_on_the_device() {
    let mut r = rng(112);
    let w = uniform(&mut r, &[64, 64, 3, 3], -0.1, 0.1);
    let conv = |dtype: DType, w: Tensor| {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [1, 64, 8, 8], dtype).unwrap();
        let wc = g.constant(w).unwrap();
        let y = g.op(Op::Conv2d(Conv2d { padding: Padding::Same, ..Default::default() }), &[x, wc]).unwrap();
        g.build(&[y]).unwrap()
    };
    let gpu = &gpus()[0];
    let full = gpu.compile_with(&conv(DType::F32, w.clone()), CompileOptions::default()).unwrap();
    let halfw = gpu.compile_with(&conv(DType::F16, half(&w)), CompileOptions::default()).unwrap();
    assert_eq!(halfw.memory().inputs_and_constants * 2, full.memory().inputs_and_constants);
}
