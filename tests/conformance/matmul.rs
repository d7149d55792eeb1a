use ocelli::{Backend, BinaryOp, CompileOptions, CpuBackend, DType, GraphBuilder, Op, Plan, UnaryOp};

use crate::harness::{assert_close, check, check_with, gpus, operand_paths, rng, uniform, ACCUM};

#[test]
fn matmul_matches_reference_over_shapes_and_transposes() {
    let mut r = rng(1);
    let cases: &[(&[usize], usize, usize, usize)] = &[
        (&[], 1, 1, 1),
        (&[], 4, 4, 4),
        (&[], 5, 7, 3),
        (&[], 33, 65, 17),
        (&[], 64, 32, 128),
        (&[2], 13, 6, 9),
        (&[3, 2], 8, 5, 31),
        (&[2], 37, 20, 64),
        (&[], 130, 20, 70),
    ];
    for &(batch, m, n, k) in cases {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            for bias in [false, true] {
                let mut a_shape = batch.to_vec();
                a_shape.extend(if ta { [k, m] } else { [m, k] });
                let mut b_shape = batch.to_vec();
                b_shape.extend(if tb { [n, k] } else { [k, n] });
                let mut g = GraphBuilder::new();
                let a = g.input("a", a_shape.clone(), DType::F32).unwrap();
                let b = g.input("b", b_shape.clone(), DType::F32).unwrap();
                let mut ins = vec![a, b];
                let mut data = vec![uniform(&mut r, &a_shape, -1.0, 1.0), uniform(&mut r, &b_shape, -1.0, 1.0)];
                if bias {
                    ins.push(g.input("bias", [n], DType::F32).unwrap());
                    data.push(uniform(&mut r, &[n], -1.0, 1.0));
                }
                let y = g.op(Op::MatMul { trans_a: ta, trans_b: tb }, &ins).unwrap();
                let graph = g.build(&[y]).unwrap();
                let what = format!("matmul {batch:?} m{m} n{n} k{k} ta{ta} tb{tb} bias{bias}");
                check_with(&what, &graph, &data, ACCUM, &operand_paths());
            }
        }
    }
}

#[test]
fn matmul_broadcasts_a_batchless_operand() {
    let mut r = rng(2);
    let mut g = GraphBuilder::new();
    let a = g.input("a", [3, 10, 7], DType::F32).unwrap();
    let b = g.input("b", [7, 6], DType::F32).unwrap();
    let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b]).unwrap();
    let graph = g.build(&[y]).unwrap();
    check(
        "matmul batch x plain",
        &graph,
        &[uniform(&mut r, &[3, 10, 7], -1.0, 1.0), uniform(&mut r, &[7, 6], -1.0, 1.0)],
        ACCUM,
    );
}

#[test]
fn the_suite_runs_on_every_requested_adapter() {
    let names: Vec<String> = crate::harness::gpus().iter().map(ocelli::Backend::name).collect();
    eprintln!("conformance adapters: {names:?}");
    let wanted = std::env::var("OCELLI_TEST_BACKENDS").unwrap_or_else(|_| "vulkan,gl".into());
    assert_eq!(names.len(), wanted.split(',').count(), "{names:?}");
}

#[test]
fn l1_distances_match_reference() {
    let mut r = rng(3);
    for (m, n, d) in [(1, 1, 1), (5, 7, 3), (33, 65, 17), (16, 40, 784)] {
        let mut g = GraphBuilder::new();
        let a = g.input("a", [m, d], DType::F32).unwrap();
        let b = g.input("b", [n, d], DType::F32).unwrap();
        let y = g.op(Op::L1Distance, &[a, b]).unwrap();
        let graph = g.build(&[y]).unwrap();
        check(
            &format!("l1 distance m{m} n{n} d{d}"),
            &graph,
            &[uniform(&mut r, &[m, d], -1.0, 1.0), uniform(&mut r, &[n, d], -1.0, 1.0)],
            ACCUM,
        );
    }
}

/// Every kind of fused GEMM epilogue: the piecewise-linear activations gemm.wgsl applies from its
/// uniform parameters (one pipeline for all of them), and the others through override constants,
/// each with bias and residual, in one dispatch (or one per part of a split K).
#[test]
fn gemm_epilogues_match_reference_in_one_dispatch() {
    let mut r = rng(3);
    let chains: &[&[UnaryOp]] = &[
        &[],
        &[UnaryOp::Relu],
        &[UnaryOp::Relu6],
        &[UnaryOp::Clamp { min: -0.4, max: 0.3 }],
        &[UnaryOp::LeakyRelu(0.1)],
        &[UnaryOp::Silu],
        &[UnaryOp::LeakyRelu(0.1), UnaryOp::Tanh],
    ];
    let (m, n, k) = (19, 23, 37);
    let inputs = vec![
        // Sums spread to about ±12, past ReLU6's upper bound.
        uniform(&mut r, &[m, k], -2.0, 2.0),
        uniform(&mut r, &[k, n], -1.0, 1.0),
        uniform(&mut r, &[n], -1.0, 1.0),
        uniform(&mut r, &[m, n], -1.0, 1.0),
    ];
    for chain in chains {
        let mut g = GraphBuilder::new();
        let a = g.input("a", [m, k], DType::F32).unwrap();
        let b = g.input("b", [k, n], DType::F32).unwrap();
        let bias = g.input("bias", [n], DType::F32).unwrap();
        let res = g.input("res", [m, n], DType::F32).unwrap();
        let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b, bias]).unwrap();
        let mut y = g.op(Op::Binary(BinaryOp::Add), &[y, res]).unwrap();
        for &u in *chain {
            y = g.op(Op::Unary(u), &[y]).unwrap();
        }
        let graph = g.build(&[y]).unwrap();
        let want = CpuBackend.run(&graph, &inputs).unwrap();
        for gpu in gpus() {
            // loop_chunk 8 splits K = 37 into parts of 32 and 5: the first part adds the bias and
            // residual, the second the activations.
            let split = CompileOptions { loop_chunk: 8, ..Default::default() };
            for options in operand_paths().into_iter().chain([split]) {
                let mut plan = gpu.compile_with(&graph, options).unwrap();
                let parts = if options.loop_chunk == 8 { 2 } else { 1 };
                assert_eq!(plan.dispatch_count(), parts, "{chain:?}: the epilogue fuses into the GEMM");
                let got = plan.run(&inputs).unwrap();
                let what = format!("gemm epilogue {chain:?} on {} ({:?})", gpu.name(), plan.kernels());
                assert_close(&what, &want[0], &got[0], ACCUM);
            }
        }
    }
}

/// CPU adapters read GEMM operands through textures unless told not to; GPUs keep storage
/// buffers. Either way the plan names the kernel it chose.
#[test]
fn gemm_operands_come_from_textures_on_cpu_adapters_only() {
    let mut g = GraphBuilder::new();
    let a = g.input("a", [8, 12], DType::F32).unwrap();
    let b = g.input("b", [12, 16], DType::F32).unwrap();
    let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b]).unwrap();
    let graph = g.build(&[y]).unwrap();
    for gpu in gpus() {
        let cpu = gpu.gpu().adapter_info().device_type == ocelli::wgpu::DeviceType::Cpu;
        let [textures, storage] = operand_paths().map(|o| gpu.compile_with(&graph, o).unwrap().kernels());
        assert_eq!(textures.len(), 1);
        assert_eq!(textures[0].ends_with("_texels"), cpu, "{}: {textures:?}", gpu.name());
        assert!(!storage[0].ends_with("_texels"), "{}: {storage:?}", gpu.name());
    }
}

/// Weights that kernels read as texels live in their texture only: the plan frees their buffer
/// once the texture is filled, and reports the textures. With storage operands they stay buffers.
#[test]
fn weights_read_as_texels_are_not_kept_twice() {
    let mut r = rng(40);
    let mut g = GraphBuilder::new();
    let a = g.input("a", [8, 64], DType::F32).unwrap();
    let w = g.constant(uniform(&mut r, &[64, 32], -1.0, 1.0)).unwrap();
    let y = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, w]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let (a_bytes, w_bytes) = (8 * 64 * 4, 64 * 32 * 4);
    let input = uniform(&mut r, &[8, 64], -1.0, 1.0);
    let want = CpuBackend.run(&graph, std::slice::from_ref(&input)).unwrap();
    for gpu in gpus() {
        let cpu = gpu.gpu().adapter_info().device_type == ocelli::wgpu::DeviceType::Cpu;
        let [mut textures, mut storage] = operand_paths().map(|o| gpu.compile_with(&graph, o).unwrap());
        let (t, s) = (textures.memory(), storage.memory());
        assert_eq!(s.inputs_and_constants, a_bytes + w_bytes, "{}", gpu.name());
        assert_eq!(s.operand_textures, 0, "{}", gpu.name());
        if cpu {
            assert_eq!(t.inputs_and_constants, a_bytes, "{}: the weights' buffer is freed", gpu.name());
            assert!(t.operand_textures >= a_bytes + w_bytes, "{}: {t:?}", gpu.name());
        }
        for plan in [&mut textures, &mut storage] {
            let got = plan.run(std::slice::from_ref(&input)).unwrap();
            assert_close(&format!("{} after freeing", gpu.name()), &want[0], &got[0], ACCUM);
        }
    }
}
