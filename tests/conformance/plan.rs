//! Compiled plans: every pass keeps results (fused plan = unfused plan = CPU reference), the
//! buffer planner never lets a live value be overwritten, and a plan runs many times.

use ocelli::{
    passes, Backend, BinaryOp, CompileOptions, Conv2d, CpuBackend, DType, Graph, GraphBuilder, Op, Padding, Plan,
    Pool2d, PoolKind, Tensor, UnaryOp, UpsampleMode, ValueId,
};

use crate::harness::{assert_close, gpus, rng, uniform, Tol, ACCUM};

fn constant(g: &mut GraphBuilder, r: &mut rand::rngs::StdRng, shape: &[usize], lo: f32, hi: f32) -> ValueId {
    g.constant(uniform(r, shape, lo, hi)).unwrap()
}

/// conv → BN → relu → conv(+bias) → +residual → relu6 → max pool → GAP → flatten → linear →
/// softmax, plus a dead branch.
fn small_cnn() -> (Graph, Vec<Tensor>) {
    let mut r = rng(81);
    let mut g = GraphBuilder::new();
    let x = g.input("x", [2, 3, 12, 12], DType::F32).unwrap();
    let same = Conv2d { padding: Padding::Same, ..Default::default() };
    let w1 = constant(&mut g, &mut r, &[8, 3, 3, 3], -0.5, 0.5);
    let c1 = g.op(Op::Conv2d(same), &[x, w1]).unwrap();
    let bn: Vec<_> = [(0.5, 1.5), (-0.2, 0.2), (-0.1, 0.1), (0.5, 2.0)]
        .iter()
        .map(|&(lo, hi)| constant(&mut g, &mut r, &[8], lo, hi))
        .collect();
    let b1 = g.op(Op::BatchNorm { eps: 1e-5 }, &[c1, bn[0], bn[1], bn[2], bn[3]]).unwrap();
    let a1 = g.op(Op::Unary(UnaryOp::Relu), &[b1]).unwrap();
    let w2 = constant(&mut g, &mut r, &[8, 8, 3, 3], -0.3, 0.3);
    let bias2 = constant(&mut g, &mut r, &[8], -0.1, 0.1);
    let c2 = g.op(Op::Conv2d(same), &[a1, w2, bias2]).unwrap();
    let res = g.op(Op::Binary(BinaryOp::Add), &[a1, c2]).unwrap();
    let a2 = g.op(Op::Unary(UnaryOp::Relu6), &[res]).unwrap();
    let _dead = g.op(Op::Unary(UnaryOp::Exp), &[a2]).unwrap();
    let p = g.op(Op::Pool2d(Pool2d::new(PoolKind::Max, 2, 2)), &[a2]).unwrap();
    let gap = g.op(Op::GlobalAvgPool, &[p]).unwrap();
    let flat = g.op(Op::Reshape { shape: vec![2, 8] }, &[gap]).unwrap();
    let wl = constant(&mut g, &mut r, &[8, 5], -1.0, 1.0);
    let bl = constant(&mut g, &mut r, &[5], -0.1, 0.1);
    let logits = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[flat, wl, bl]).unwrap();
    let probs = g.op(Op::Softmax { axis: 1, log: false }, &[logits]).unwrap();
    let graph = g.build(&[probs, logits]).unwrap();
    (graph, vec![uniform(&mut r, &[2, 3, 12, 12], -1.0, 1.0)])
}

fn count(graph: &Graph, f: impl Fn(&Op) -> bool) -> usize {
    graph.nodes().iter().filter(|n| f(&n.op)).count()
}

#[test]
fn passes_fold_fuse_and_drop_dead_nodes() {
    let (graph, _) = small_cnn();
    let opt = passes::optimize(&graph).unwrap();
    assert_eq!(count(&opt, |o| matches!(o, Op::BatchNorm { .. })), 0, "batch norm folded");
    assert_eq!(count(&opt, |o| matches!(o, Op::Unary(_))), 0, "activations fused, dead exp dropped");
    assert_eq!(count(&opt, |o| matches!(o, Op::Binary(_))), 0, "residual add fused");
    assert_eq!(count(&opt, |o| matches!(o, Op::Fused(f) if f.residual)), 1);
    assert!(opt.nodes().len() < graph.nodes().len());
}

/// conv(x) + conv(x): both producers could absorb the add; the first does and the second
/// stays its own node (a residual block with a 1×1 skip conv, as U-Nets have).
#[test]
fn two_producers_of_one_residual_add_fuse_once() {
    let mut r = rng(85);
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 4, 5, 7], DType::F32).unwrap();
    let same = Conv2d { padding: Padding::Same, ..Default::default() };
    let w1 = constant(&mut g, &mut r, &[6, 4, 3, 3], -0.5, 0.5);
    let w2 = constant(&mut g, &mut r, &[6, 4, 1, 1], -0.5, 0.5);
    let a = g.op(Op::Conv2d(same), &[x, w1]).unwrap();
    let b = g.op(Op::Conv2d(same), &[x, w2]).unwrap();
    let s = g.op(Op::Binary(BinaryOp::Add), &[a, b]).unwrap();
    let y = g.op(Op::Unary(UnaryOp::Silu), &[s]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let opt = passes::optimize(&graph).unwrap();
    assert_eq!(count(&opt, |o| matches!(o, Op::Fused(f) if f.residual)), 1);
    assert_eq!(count(&opt, |o| matches!(o, Op::Conv2d(_))), 1);
    let inputs = vec![uniform(&mut r, &[1, 4, 5, 7], -1.0, 1.0)];
    let want = CpuBackend.run(&graph, &inputs).unwrap();
    assert_close("fused once on cpu", &want[0], &CpuBackend.run(&opt, &inputs).unwrap()[0], ACCUM);
    for gpu in gpus() {
        let got = gpu.compile(&graph).unwrap().run(&inputs).unwrap();
        assert_close(&format!("fused once on {}", gpu.name()), &want[0], &got[0], ACCUM);
    }
}

#[test]
fn optimized_graph_matches_the_original_on_the_cpu_reference() {
    let (graph, inputs) = small_cnn();
    let want = CpuBackend.run(&graph, &inputs).unwrap();
    let got = CpuBackend.run(&passes::optimize(&graph).unwrap(), &inputs).unwrap();
    for (w, g) in want.iter().zip(&got) {
        assert_close("optimized graph on cpu", w, g, ACCUM);
    }
}

#[test]
fn fused_plan_matches_unfused_plan_and_reference_and_reruns() {
    let (graph, inputs) = small_cnn();
    let want = CpuBackend.run(&graph, &inputs).unwrap();
    for gpu in gpus() {
        let mut fused = gpu.compile(&graph).unwrap();
        let mut plain = gpu
            .compile_with(&graph, CompileOptions { optimize: false, reuse_buffers: false, ..Default::default() })
            .unwrap();
        assert!(fused.dispatch_count() < plain.dispatch_count());
        let a = fused.run(&inputs).unwrap();
        let b = plain.run(&inputs).unwrap();
        for k in 0..want.len() {
            assert_close(&format!("fused vs reference on {}", gpu.name()), &want[k], &a[k], ACCUM);
            assert_close(&format!("fused vs unfused on {}", gpu.name()), &b[k], &a[k], ACCUM);
        }
        // Same plan, new input: weights stay on the device, results follow the input.
        let other = vec![uniform(&mut rng(82), &[2, 3, 12, 12], -1.0, 1.0)];
        let want2 = CpuBackend.run(&graph, &other).unwrap();
        let again = fused.run(&other).unwrap();
        assert_close("second run", &want2[0], &again[0], ACCUM);
    }
}

/// x·Wᵀ + b with a constant W (a PyTorch `Linear`), batched and not: the pass stores W
/// transposed, so no product reads a transposed operand, and results do not change.
#[test]
fn constant_transposed_operands_are_stored_transposed() {
    let mut r = rng(84);
    for (x_shape, w_shape) in [(vec![3, 7], vec![5, 7]), (vec![2, 4, 6], vec![2, 9, 6])] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", x_shape.clone(), DType::F32).unwrap();
        let w = constant(&mut g, &mut r, &w_shape, -1.0, 1.0);
        let n = w_shape[w_shape.len() - 2];
        let b = constant(&mut g, &mut r, &[n], -0.5, 0.5);
        let y = g.op(Op::MatMul { trans_a: false, trans_b: true }, &[x, w, b]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let plain = passes::transpose_constants(&graph).unwrap();
        assert_eq!(count(&plain, |o| matches!(o, Op::MatMul { trans_b: true, .. })), 0);
        assert_eq!(count(&plain, |o| matches!(o, Op::MatMul { trans_b: false, .. })), 1);
        let inputs = vec![uniform(&mut r, &x_shape, -1.0, 1.0)];
        let want = CpuBackend.run(&graph, &inputs).unwrap();
        assert_close("pre-transposed on cpu", &want[0], &CpuBackend.run(&plain, &inputs).unwrap()[0], ACCUM);
        for gpu in gpus() {
            let got = gpu.compile(&graph).unwrap().run(&inputs).unwrap();
            assert_close(&format!("pre-transposed on {}", gpu.name()), &want[0], &got[0], ACCUM);
        }
    }
}

/// conv → hardswish → ·s → +b (PP-OCR's learnable affine block), c − x, x − c, a product read
/// twice (not merged with its sum) and a division (left alone): the products and sums with
/// scalar constants become affine unary ops, the block one fused conv, and results do not change.
#[test]
fn products_and_sums_with_scalars_become_affine_and_fuse() {
    let mut r = rng(86);
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 3, 9, 11], DType::F32).unwrap();
    let same = Conv2d { padding: Padding::Same, ..Default::default() };
    let w = constant(&mut g, &mut r, &[4, 3, 3, 3], -0.5, 0.5);
    let scalar = |g: &mut GraphBuilder, v: f32| g.constant(Tensor::from_f32([1], vec![v]).unwrap()).unwrap();
    let (s, b, c, d) = (scalar(&mut g, 1.7), scalar(&mut g, -0.3), scalar(&mut g, 0.25), scalar(&mut g, 3.0));
    let y = g.op(Op::Conv2d(same), &[x, w]).unwrap();
    let y = g.op(Op::Unary(UnaryOp::HardSwish), &[y]).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Mul), &[y, s]).unwrap();
    let block = g.op(Op::Binary(BinaryOp::Add), &[y, b]).unwrap();
    let flipped = g.op(Op::Binary(BinaryOp::Sub), &[c, block]).unwrap();
    let twice = g.op(Op::Binary(BinaryOp::Mul), &[s, flipped]).unwrap();
    let shifted = g.op(Op::Binary(BinaryOp::Sub), &[twice, c]).unwrap();
    let shifted = g.op(Op::Binary(BinaryOp::Add), &[shifted, twice]).unwrap();
    let divided = g.op(Op::Binary(BinaryOp::Div), &[shifted, d]).unwrap();
    let graph = g.build(&[block, divided]).unwrap();
    let affine = passes::scalars_to_affine(&graph).unwrap();
    let affines = |g: &Graph| count(g, |o| matches!(o, Op::Unary(UnaryOp::Affine { .. })));
    // ·s + b as one; c − x; s · (read twice, so not merged with − c); − c.
    assert_eq!(affines(&affine), 4, "{:?}", affine.nodes().iter().map(|n| &n.op).collect::<Vec<_>>());
    assert!(affine.nodes().iter().any(|n| n.op == Op::Unary(UnaryOp::Affine { scale: 1.7, shift: -0.3 })));
    assert!(affine.nodes().iter().any(|n| n.op == Op::Unary(UnaryOp::Affine { scale: -1.0, shift: 0.25 })));
    assert_eq!(count(&affine, |o| matches!(o, Op::Binary(_))), 2, "the sum of two tensors and the division stay");
    let opt = passes::optimize(&graph).unwrap();
    let fused_block = opt.nodes().iter().any(|n| match &n.op {
        Op::Fused(f) => matches!(*f.base, Op::Conv2d(_)) && f.acts.len() == 2,
        _ => false,
    });
    assert!(fused_block, "conv + hardswish + affine in one node: {:?}", opt.nodes());
    let inputs = vec![uniform(&mut r, &[1, 3, 9, 11], -2.0, 2.0)];
    let want = CpuBackend.run(&graph, &inputs).unwrap();
    for (k, got) in CpuBackend.run(&affine, &inputs).unwrap().iter().enumerate() {
        assert_close(&format!("affine graph on cpu (output {k})"), &want[k], got, ACCUM);
    }
    for gpu in gpus() {
        let got = gpu.compile(&graph).unwrap().run(&inputs).unwrap();
        for k in 0..2 {
            assert_close(&format!("affine fused on {} (output {k})", gpu.name()), &want[k], &got[k], ACCUM);
        }
    }
}

#[test]
fn elementwise_chains_fuse_into_one_kernel() {
    let mut r = rng(83);
    let mut g = GraphBuilder::new();
    let a = g.input("a", [3, 17], DType::F32).unwrap();
    let b = g.input("b", [17], DType::F32).unwrap();
    let mut v = g.op(Op::Binary(BinaryOp::Mul), &[a, b]).unwrap();
    for u in
        [UnaryOp::LeakyRelu(0.2), UnaryOp::Neg, UnaryOp::Clamp { min: -0.3, max: 0.4 }, UnaryOp::Sigmoid, UnaryOp::Tanh]
    {
        v = g.op(Op::Unary(u), &[v]).unwrap();
    }
    let graph = g.build(&[v]).unwrap();
    let inputs = vec![uniform(&mut r, &[3, 17], -2.0, 2.0), uniform(&mut r, &[17], -2.0, 2.0)];
    let want = CpuBackend.run(&graph, &inputs).unwrap();
    for gpu in gpus() {
        let mut plan = gpu.compile(&graph).unwrap();
        // Binary + 4 activations in one kernel, the fifth in a second.
        assert_eq!(plan.dispatch_count(), 2);
        assert_close("elementwise chain", &want[0], &plan.run(&inputs).unwrap()[0], Tol { rel: 2e-4, abs: 1e-5 });
    }
}

/// A long graph whose values die and are reborn at many points, with skip connections, changing
/// sizes, an output in the middle and reshapes that alias their input.
fn churn_graph() -> (Graph, Vec<Tensor>) {
    let mut r = rng(84);
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 4, 16, 16], DType::F32).unwrap();
    let mut v = x;
    let mut skips = vec![x];
    let mut mids = Vec::new();
    for i in 0..12 {
        let w = constant(&mut g, &mut r, &[4, 4, 3, 3], -0.3, 0.3);
        let c = g.op(Op::Conv2d(Conv2d { padding: Padding::Same, ..Default::default() }), &[v, w]).unwrap();
        let skip = skips[skips.len().saturating_sub(3)];
        let s = g.op(Op::Binary(BinaryOp::Add), &[c, skip]).unwrap();
        let t = g.op(Op::Unary(UnaryOp::Tanh), &[s]).unwrap();
        v = if i % 3 == 1 {
            let down = g.op(Op::Pool2d(Pool2d::new(PoolKind::Avg, 2, 2)), &[t]).unwrap();
            let up = g
                .op(
                    Op::Upsample { mode: UpsampleMode::Bilinear { align_corners: false }, out_h: 16, out_w: 16 },
                    &[down],
                )
                .unwrap();
            let flat = g.op(Op::Reshape { shape: vec![1, 4, 256] }, &[up]).unwrap();
            let sm = g.op(Op::Softmax { axis: 2, log: false }, &[flat]).unwrap();
            let back = g.op(Op::Reshape { shape: vec![1, 4, 16, 16] }, &[sm]).unwrap();
            g.op(Op::Binary(BinaryOp::Mul), &[back, t]).unwrap()
        } else {
            t
        };
        if i == 6 {
            mids.push(v);
        }
        skips.push(v);
    }
    let mut outs = vec![v];
    outs.extend(mids);
    (g.build(&outs).unwrap(), vec![uniform(&mut r, &[1, 4, 16, 16], -1.0, 1.0)])
}

#[test]
fn buffer_planner_reuses_memory_without_clobbering_live_values() {
    let (graph, inputs) = churn_graph();
    let want = CpuBackend.run(&graph, &inputs).unwrap();
    for gpu in gpus() {
        for optimize in [false, true] {
            let mut planned = gpu
                .compile_with(&graph, CompileOptions { optimize, reuse_buffers: true, ..Default::default() })
                .unwrap();
            let naive = gpu
                .compile_with(&graph, CompileOptions { optimize, reuse_buffers: false, ..Default::default() })
                .unwrap();
            let m = planned.memory();
            assert!(m.planned * 3 < m.naive, "planner saves memory: {m:?}");
            assert_eq!(naive.memory().planned, naive.memory().naive);
            let got = planned.run(&inputs).unwrap();
            for k in 0..want.len() {
                assert_close(&format!("planned buffers (optimize {optimize}) output {k}"), &want[k], &got[k], ACCUM);
            }
        }
    }
}

#[test]
fn a_plan_rejects_inputs_of_the_wrong_shape() {
    let (graph, _) = small_cnn();
    let mut plan = gpus()[0].compile(&graph).unwrap();
    let err = plan.run(&[Tensor::from_f32([1, 3, 12, 12], vec![0.0; 432]).unwrap()]).unwrap_err();
    assert!(err.to_string().contains("graph input 'x'"), "{err}");
}

#[test]
fn profile_times_every_node_and_reports_memory() {
    let (graph, inputs) = small_cnn();
    for gpu in gpus() {
        let mut plan = gpu.compile(&graph).unwrap();
        let p = plan.profile(&inputs).unwrap();
        assert!(p.wall_ms > 0.0);
        assert_eq!(p.memory, plan.memory());
        assert!(gpu.gpu().capabilities().timestamp_query, "lavapipe and llvmpipe GL both have timestamps");
        let dispatching: std::collections::BTreeSet<usize> = p.rows.iter().map(|r| r.node).collect();
        assert_eq!(dispatching.len(), p.rows.len(), "one row per node");
        assert_eq!(p.rows.len(), plan.graph().nodes().iter().filter(|n| !matches!(n.op, Op::Reshape { .. })).count());
        assert!(p.rows.iter().all(|r| r.ms >= 0.0));
        assert!(p.rows.iter().any(|r| r.op.starts_with("fused(conv2d") && r.flops.is_some()));
        // The profiled run computes the same outputs as a plain run.
        let want = CpuBackend.run(&graph, &inputs).unwrap();
        assert_close("after profile", &want[0], &plan.run(&inputs).unwrap()[0], ACCUM);
    }
}

/// A loop whose state stays on the backend: x ← 0.5·x + u, with u a fresh input each step and
/// x carried from output 0 into input 0; output 1 (x·x) is only read at the end. Forty advances
/// on each backend equal the same recurrence run step by step with `run` on the CPU
/// reference; a missing input, a carry of mismatched shapes, and outputs before any advance
/// are errors.
#[test]
fn advance_carries_outputs_into_inputs_without_readback() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [3, 257], DType::F32).unwrap();
    let u = g.input("u", [3, 257], DType::F32).unwrap();
    let half = g.constant(Tensor::from_f32([1], vec![0.5]).unwrap()).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Mul), &[x, half]).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Add), &[y, u]).unwrap();
    let sq = g.op(Op::Binary(BinaryOp::Mul), &[y, y]).unwrap();
    let small = g.op(Op::Slice { axis: 1, start: 0, end: 2, step: 1 }, &[y]).unwrap();
    let graph = g.build(&[y, sq, small]).unwrap();
    let mut r = rng(88);
    let x0 = uniform(&mut r, &[3, 257], -1.0, 1.0);
    let steps: Vec<Tensor> = (0..40).map(|_| uniform(&mut r, &[3, 257], -0.1, 0.1)).collect();
    let mut want = x0.clone();
    let mut last = Vec::new();
    for u in &steps {
        last = CpuBackend.run(&graph, &[want.clone(), u.clone()]).unwrap();
        want = last[0].clone();
    }
    let check = |name: &str, plan: &mut dyn Plan<Error = ocelli::ExecError>| {
        plan.advance(&[Some(x0.clone()), Some(steps[0].clone())], &[(0, 0)]).unwrap();
        for u in &steps[1..] {
            plan.advance(&[None, Some(u.clone())], &[(0, 0)]).unwrap();
        }
        let got = plan.outputs().unwrap();
        assert_close(&format!("{name}: carried x"), &last[0], &got[0], Tol { abs: 1e-6, rel: 1e-6 });
        assert_close(&format!("{name}: x²"), &last[1], &got[1], Tol { abs: 1e-6, rel: 1e-6 });
        // A carry needs equal shapes; a first call needs every input.
        assert!(plan.advance(&[None, None], &[(2, 0)]).is_err(), "{name}: carry [3, 2] into [3, 257]");
    };
    for gpu in gpus() {
        check(&gpu.name(), &mut gpu.compile(&graph).unwrap());
        let mut fresh = gpu.compile(&graph).unwrap();
        assert!(fresh.outputs().is_err(), "outputs before any advance");
        assert!(fresh.advance(&[None, Some(steps[0].clone())], &[]).is_err(), "x was never given");
    }
    let mut cpu = CpuBackend.compile(&graph).unwrap();
    assert!(cpu.outputs().is_err());
    assert!(cpu.advance(&[None, Some(steps[0].clone())], &[]).is_err());
    cpu.advance(&[Some(x0.clone()), Some(steps[0].clone())], &[(0, 0)]).unwrap();
    for u in &steps[1..] {
        cpu.advance(&[None, Some(u.clone())], &[(0, 0)]).unwrap();
    }
    assert_eq!(cpu.outputs().unwrap(), last);
}
