//! f16 graphs: values and weights stay f16 on the device and arithmetic is f32. With shader-f16
//! GEMM, conv, pooling and elementwise kernels read and write f16 themselves; everything else
//! (and everything on adapters without the feature) runs f32 kernels between casts. GPU against
//! the CPU reference with an f16 tolerance.

use ocelli::{
    Backend, BinaryOp, CompileOptions, Conv2d, DType, F16Compute, Graph, GraphBuilder, Op, Padding, Plan, Pool2d,
    PoolKind, ReduceOp, Tensor, UnaryOp, UpsampleMode, ValueId,
};

use crate::harness::{assert_close, check, gpus, rng, uniform, F16};

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
        // Stride 2: at stride 1 the f32 plan would hold Winograd-transformed weights instead.
        let p = Conv2d { stride: [2, 2], padding: Padding::Same, ..Default::default() };
        let y = g.op(Op::Conv2d(p), &[x, wc]).unwrap();
        g.build(&[y]).unwrap()
    };
    let gpu = &gpus()[0];
    let full = gpu.compile_with(&conv(DType::F32, w.clone()), CompileOptions::default()).unwrap();
    let halfw = gpu.compile_with(&conv(DType::F16, half(&w)), CompileOptions::default()).unwrap();
    let (h, f) = (halfw.memory(), full.memory());
    assert_eq!(h.inputs_and_constants * 2, f.inputs_and_constants);
    assert_eq!(h.operand_textures * 2, f.operand_textures);
    // The weights are in the buffers or (CPU adapters) the textures.
    assert!(h.inputs_and_constants + h.operand_textures >= 64 * 64 * 9 * 2);
}

/// Cast nodes left in a compiled plan's graph.
fn casts(plan: &ocelli::GpuPlan) -> usize {
    plan.graph().nodes().iter().filter(|n| matches!(n.op, Op::Cast { .. })).count()
}

/// Options that make f16 ops run the f16-storage kernels.
fn native() -> CompileOptions {
    CompileOptions { f16: F16Compute::Native, ..Default::default() }
}

/// Runs `graph` with f16 kernels on every adapter under test that has shader-f16 and compares
/// with the CPU reference on the optimized graph (the same fused ops, so the same points where
/// results round to f16). The plan must hold no casts: every op of these graphs has f16 kernels.
fn check_native(what: &str, graph: &Graph, inputs: &[Tensor]) {
    let fused = ocelli::passes::optimize(graph).unwrap();
    let want = ocelli::CpuBackend.run(&fused, inputs).unwrap_or_else(|e| panic!("{what}: cpu: {e}"));
    let capable: Vec<_> = gpus().iter().filter(|g| g.gpu().capabilities().shader_f16).collect();
    assert!(
        !capable.is_empty(),
        "no adapter under test has shader-f16; run the suite with the Vulkan adapter (mesa-vulkan-drivers)"
    );
    // Operands through rgba16float textures (CPU adapters' default) and through f16 buffers,
    // and with a 4 kB scratch limit (im2col + GEMM over bands of output rows).
    let paths = [
        native(),
        CompileOptions { texel_operands: false, ..native() },
        CompileOptions { scratch_limit: 4096, ..native() },
    ];
    for (gpu, options) in capable.into_iter().flat_map(|g| paths.map(|o| (g, o))) {
        let mut plan = gpu.compile_with(graph, options).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(casts(&plan), 0, "{what}: the native f16 plan still casts");
        let got = plan.run(inputs).unwrap_or_else(|e| panic!("{what}: {}: {e}", gpu.name()));
        for (k, (w, g)) in want.iter().zip(&got).enumerate() {
            let what = format!("{what} on {} {:?} (output {k})", gpu.name(), plan.kernels());
            assert_close(&what, w, g, F16);
        }
    }
}

#[test]
fn f16_kernels_match_reference_for_gemm_shapes_and_epilogues() {
    let mut r = rng(113);
    // (batch, m, n, k, trans_a, trans_b): odd sizes, K tails, aligned and transposed operands.
    type Case = (&'static [usize], usize, usize, usize, bool, bool);
    let cases: &[Case] = &[
        (&[], 7, 13, 5, false, false),
        (&[], 33, 70, 130, true, false),
        (&[2], 37, 20, 64, false, true),
        (&[], 130, 20, 70, false, false),
        (&[], 64, 64, 64, false, false),
    ];
    for &(batch, m, n, k, ta, tb) in cases {
        let shape = |d: [usize; 2]| [batch, &d[..]].concat();
        let (a_shape, b_shape) = (shape(if ta { [k, m] } else { [m, k] }), shape(if tb { [n, k] } else { [k, n] }));
        let mut g = GraphBuilder::new();
        let a = g.input("a", a_shape.clone(), DType::F16).unwrap();
        let b = g.input("b", b_shape.clone(), DType::F16).unwrap();
        let bias = g.input("bias", [n], DType::F16).unwrap();
        let res = g.input("res", shape([m, n]), DType::F16).unwrap();
        let y = g.op(Op::MatMul { trans_a: ta, trans_b: tb }, &[a, b, bias]).unwrap();
        let y = g.op(Op::Binary(BinaryOp::Add), &[y, res]).unwrap();
        let y = g.op(Op::Unary(UnaryOp::Relu), &[y]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let inputs: Vec<Tensor> = [&a_shape[..], &b_shape, &[n], &shape([m, n])]
            .iter()
            .map(|s| half(&uniform(&mut r, s, -1.0, 1.0)))
            .collect();
        check_native(&format!("f16 gemm {batch:?} m{m} n{n} k{k} ta{ta} tb{tb}"), &graph, &inputs);
    }
    // L1 distances run the same kernel.
    let mut g = GraphBuilder::new();
    let a = g.input("a", [9, 21], DType::F16).unwrap();
    let b = g.input("b", [14, 21], DType::F16).unwrap();
    let y = g.op(Op::L1Distance, &[a, b]).unwrap();
    let inputs = [half(&uniform(&mut r, &[9, 21], 0.0, 1.0)), half(&uniform(&mut r, &[14, 21], 0.0, 1.0))];
    check_native("f16 l1 distance", &g.build(&[y]).unwrap(), &inputs);
}

#[test]
fn f16_kernels_match_reference_for_every_conv_path() {
    let mut r = rng(114);
    // (input, weight, stride, groups, residual): im2col GEMM, pointwise GEMM, depthwise, grouped direct.
    type Case = ([usize; 4], [usize; 4], usize, usize, bool);
    let cases: &[Case] = &[
        ([2, 3, 11, 9], [8, 3, 3, 3], 1, 1, false),
        ([1, 6, 7, 13], [5, 6, 1, 1], 1, 1, true),
        ([1, 8, 10, 7], [8, 1, 3, 3], 2, 8, false),
        ([2, 4, 9, 9], [6, 2, 3, 3], 1, 2, true),
    ];
    for &(xs, ws, stride, groups, residual) in cases {
        let p = Conv2d { stride: [stride; 2], groups, padding: Padding::Same, ..Default::default() };
        let mut g = GraphBuilder::new();
        let x = g.input("x", xs, DType::F16).unwrap();
        let w = g.constant(half(&uniform(&mut r, &ws, -0.5, 0.5))).unwrap();
        let b = g.constant(half(&uniform(&mut r, &[ws[0]], -0.5, 0.5))).unwrap();
        let mut y = g.op(Op::Conv2d(p), &[x, w, b]).unwrap();
        let mut inputs = vec![half(&uniform(&mut r, &xs, -1.0, 1.0))];
        if residual {
            let shape = g.shape(y).unwrap().clone();
            let res = g.input("res", shape.dims().to_vec(), DType::F16).unwrap();
            y = g.op(Op::Binary(BinaryOp::Add), &[y, res]).unwrap();
            inputs.push(half(&uniform(&mut r, shape.dims(), -1.0, 1.0)));
        }
        let y = g.op(Op::Unary(UnaryOp::Relu6), &[y]).unwrap();
        let graph = g.build(&[y]).unwrap();
        check_native(&format!("f16 conv x{xs:?} w{ws:?} s{stride} g{groups} residual {residual}"), &graph, &inputs);
    }
}

#[test]
fn f16_kernels_match_reference_for_pooling_and_elementwise() {
    let mut r = rng(115);
    let shape = [2, 3, 9, 7];
    let mut g = GraphBuilder::new();
    let x = g.input("x", shape, DType::F16).unwrap();
    let s = g.input("s", [3, 1, 7], DType::F16).unwrap();
    let mut p = Pool2d::new(PoolKind::Max, 3, 2);
    p.padding = [1; 4];
    let mx = g.op(Op::Pool2d(p), &[x]).unwrap();
    let avg = g.op(Op::Pool2d(Pool2d::new(PoolKind::Avg, 2, 2)), &[x]).unwrap();
    let with_idx = g.apply(Op::MaxPool2dWithIndices(Pool2d::new(PoolKind::Max, 2, 2)), &[x]).unwrap();
    let scaled = g.op(Op::Binary(BinaryOp::Mul), &[x, s]).unwrap();
    let chain = g.op(Op::Unary(UnaryOp::Sigmoid), &[scaled]).unwrap();
    let chain = g.op(Op::Unary(UnaryOp::Tanh), &[chain]).unwrap();
    let quotient = g.op(Op::Binary(BinaryOp::Div), &[s, x]).unwrap();
    let graph = g.build(&[mx, avg, with_idx[0], with_idx[1], chain, quotient]).unwrap();
    let inputs = [half(&uniform(&mut r, &shape, 0.5, 2.0)), half(&uniform(&mut r, &[3, 1, 7], -2.0, 2.0))];
    check_native("f16 pools and elementwise", &graph, &inputs);
}

#[test]
fn f16_kernels_need_shader_f16_and_auto_falls_back() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [4, 4], DType::F16).unwrap();
    let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[x, x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    for gpu in gpus() {
        let widened = gpu.compile_with(&graph, CompileOptions { f16: F16Compute::Widened, ..native() }).unwrap();
        assert_eq!(casts(&widened), 3, "{}: widened = two casts up, one down", gpu.name());
        let auto = gpu.compile_with(&graph, CompileOptions::default()).unwrap();
        if gpu.gpu().capabilities().shader_f16 {
            assert_eq!(casts(&auto), 0, "{}: auto runs f16 kernels", gpu.name());
            assert!(auto.dispatch_count() < widened.dispatch_count());
            gpu.compile_with(&graph, native()).unwrap();
        } else {
            assert_eq!(casts(&auto), 3, "{}: auto falls back to f32 kernels", gpu.name());
            let err = gpu.compile_with(&graph, native()).unwrap_err();
            assert!(matches!(err, ocelli::ExecError::MissingFeature { feature: "shader-f16", .. }), "{err}");
            assert!(err.to_string().contains("shader-f16"), "{err}");
        }
    }
}

/// f16 binaries over rows of whole groups of 4 (`binary4` reading vec4<f16>): a per-channel
/// term broadcast along the rows, and a row stepped through.
#[test]
fn f16_binary_in_groups_of_4_matches_reference() {
    let mut r = rng(131);
    let mut g = GraphBuilder::new();
    let x = g.input("x", [2, 6, 4, 8], DType::F16).unwrap();
    let t = g.input("t", [2, 6, 1, 1], DType::F16).unwrap();
    let row = g.input("row", [8], DType::F16).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Add), &[x, t]).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Mul), &[y, row]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let inputs = [[2, 6, 4, 8].as_slice(), &[2, 6, 1, 1], &[8]].map(|s| half(&uniform(&mut r, s, -2.0, 2.0)));
    check_native("f16 binary in groups of 4", &graph, &inputs);
}
