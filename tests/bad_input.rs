//! Bad input gets a typed error that names the problem, never a panic or a wrong answer.

use std::sync::{Arc, OnceLock};

use ocelli::{
    wgpu, Backend, Conv2d, CpuBackend, DType, DeviceError, ExecError, Gpu, GpuBackend, GpuOptions, GraphBuilder,
    GraphError, Kernel, Op, Tensor, UpsampleMode,
};

fn gpu() -> GpuBackend {
    static GPU: OnceLock<Arc<Gpu>> = OnceLock::new();
    let g = GPU.get_or_init(|| Arc::new(Gpu::new().unwrap_or_else(|e| panic!("these tests need a GPU adapter: {e}"))));
    GpuBackend::new(g.clone())
}

#[test]
fn matmul_with_mismatched_inner_dimensions_names_the_op_and_shapes() {
    let mut g = GraphBuilder::new();
    let a = g.input("a", [2, 3], DType::F32).unwrap();
    let b = g.input("b", [4, 5], DType::F32).unwrap();
    let err = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[a, b]).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, GraphError::ShapeMismatch { op: "matmul", .. }), "{msg}");
    assert!(msg.contains("[2, 3]") && msg.contains("[4, 5]"), "{msg}");
}

#[test]
fn conv_with_wrong_channel_count_is_a_shape_error() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 3, 8, 8], DType::F32).unwrap();
    let w = g.input("w", [4, 2, 3, 3], DType::F32).unwrap();
    let err = g.op(Op::Conv2d(Conv2d::default()), &[x, w]).unwrap_err();
    assert!(matches!(err, GraphError::ShapeMismatch { op: "conv2d", .. }), "{err}");
}

#[test]
fn wrong_dtypes_are_rejected_at_build_time() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [4], DType::I32).unwrap();
    let err = g.op(Op::Softmax { axis: 0, log: false }, &[x]).unwrap_err();
    assert!(matches!(err, GraphError::DTypeMismatch { op: "softmax", got: DType::I32, .. }), "{err}");
    // f16 and f32 do not mix silently: the op computes in its first input's type.
    let h = g.input("h", [4], DType::F16).unwrap();
    let f = g.input("f", [4], DType::F32).unwrap();
    let err = g.op(Op::Binary(ocelli::BinaryOp::Add), &[h, f]).unwrap_err();
    assert!(matches!(err, GraphError::DTypeMismatch { op: "binary", index: 1, got: DType::F32, .. }), "{err}");
    let u = g.input("u", [4], DType::U32).unwrap();
    let err = g.op(Op::Cast { to: DType::F16 }, &[u]).unwrap_err();
    assert!(matches!(err, GraphError::DTypeMismatch { op: "cast", .. }), "{err}");
}

#[test]
fn zero_sized_dimensions_are_rejected() {
    let mut g = GraphBuilder::new();
    let err = g.input("x", [3, 0, 2], DType::F32).unwrap_err();
    assert!(matches!(err, GraphError::ZeroSized { .. }), "{err}");
    let x = g.input("y", [3, 4], DType::F32).unwrap();
    let err = g.op(Op::Slice { axis: 1, start: 4, end: 9, step: 1 }, &[x]).unwrap_err();
    assert!(matches!(err, GraphError::InvalidParam { op: "slice", .. }), "{err}");
}

#[test]
fn bad_parameters_are_rejected() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [2, 3], DType::F32).unwrap();
    assert!(matches!(g.op(Op::Softmax { axis: 2, log: false }, &[x]), Err(GraphError::InvalidParam { .. })));
    assert!(matches!(g.op(Op::Transpose { perm: vec![0, 0] }, &[x]), Err(GraphError::InvalidParam { .. })));
    assert!(matches!(g.op(Op::Unary(ocelli::UnaryOp::Relu), &[x, x]), Err(GraphError::Arity { .. })));
    assert!(matches!(
        g.op(Op::Pad { pads: vec![(0, 0), (3, 0)], mode: ocelli::PadMode::Reflect }, &[x]),
        Err(GraphError::InvalidParam { .. })
    ));
}

#[test]
fn running_with_wrong_inputs_is_a_typed_error_on_both_backends() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [2, 2], DType::F32).unwrap();
    let y = g.op(Op::Unary(ocelli::UnaryOp::Relu), &[x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let wrong_shape = Tensor::from_f32([4], vec![0.0; 4]).unwrap();
    let wrong_dtype = Tensor::from_i32([2, 2], vec![0; 4]).unwrap();
    for inputs in [vec![wrong_shape], vec![wrong_dtype], vec![]] {
        let cpu = CpuBackend.run(&graph, &inputs).unwrap_err();
        assert!(cpu.to_string().contains("graph input"), "{cpu}");
        let err = gpu().run(&graph, &inputs).unwrap_err();
        assert!(matches!(err, ExecError::Graph(GraphError::InputMismatch { .. })), "{err}");
    }
}

#[test]
fn tensor_data_of_the_wrong_length_is_an_error() {
    let err = Tensor::from_f32([2, 3], vec![1.0; 7]).unwrap_err();
    assert!(matches!(err, GraphError::DataLength { expected: 6, got: 7, .. }), "{err}");
}

#[test]
fn a_value_larger_than_the_storage_binding_limit_is_rejected_before_any_work() {
    let backend = gpu();
    let limit = backend.gpu().limits().max_storage_buffer_binding_size;
    // 1×1 image upsampled to a square just over the limit.
    let side = ((limit / 4) as f64).sqrt().ceil() as usize + 1;
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 1, 1, 1], DType::F32).unwrap();
    let y = g.op(Op::Upsample { mode: UpsampleMode::Nearest, out_h: side, out_w: side }, &[x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let err = backend.run(&graph, &[Tensor::from_f32([1, 1, 1, 1], vec![1.0]).unwrap()]).unwrap_err();
    match &err {
        ExecError::Device(DeviceError::LimitExceeded { what, bytes, limit: l, .. }) => {
            assert!(what.contains("upsample"), "{err}");
            assert!(*bytes > *l && *l == limit, "{err}");
        }
        other => panic!("expected LimitExceeded, got {other}"),
    }
}

#[test]
fn a_broken_kernel_is_a_typed_error_naming_it() {
    let backend = gpu();
    let broken = Kernel { label: "broken", source: "@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }" };
    let err = backend.gpu().pipeline(broken, "main", &[]).unwrap_err();
    assert!(matches!(err, DeviceError::Pipeline { kernel: "broken", entry: "main", .. }), "{err}");
}

#[test]
fn no_matching_adapter_says_what_to_install() {
    let opts = GpuOptions { adapter_name: Some("no such adapter, surely".into()), ..GpuOptions::default() }
        .with_backends(wgpu::Backends::VULKAN);
    let err = Gpu::with_options(&opts).unwrap_err();
    assert!(matches!(err, DeviceError::NoAdapter { .. }), "{err}");
    assert!(err.to_string().contains("apt-get install mesa-vulkan-drivers"), "{err}");
}

/// Shapes and parameters whose arithmetic would wrap are typed errors, in release builds too.
#[test]
fn sizes_that_overflow_are_errors_not_wrapped_shapes() {
    let mut g = GraphBuilder::new();
    let err = g.input("x", [1usize << 32, 1 << 32], DType::F32).unwrap_err();
    assert!(matches!(err, GraphError::TooLarge { .. }), "{err}");
    let err = Tensor::from_f32([(1usize << 63) + 2, 2], vec![0.0; 4]).unwrap_err();
    assert!(matches!(err, GraphError::TooLarge { .. }), "{err}");
    let x = g.input("x", [1, 1, 8, 8], DType::F32).unwrap();
    let w = g.input("w", [1, 1, 3, 3], DType::F32).unwrap();
    let p = Conv2d { padding: ocelli::Padding::Explicit([usize::MAX, 0, usize::MAX, 0]), ..Default::default() };
    assert!(g.op(Op::Conv2d(p), &[x, w]).is_err());
    let up = |side: usize| Op::Upsample { mode: UpsampleMode::Nearest, out_h: side, out_w: side };
    assert!(matches!(g.op(up(1 << 31), &[x]), Err(GraphError::TooLarge { .. })));
    // 16 GiB: fits memory arithmetic, but not the CPU reference's budget or a device.
    let y = g.op(up(1 << 16), &[x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let err = CpuBackend.compile(&graph).unwrap_err();
    assert!(matches!(err, ocelli::CpuError::TooLarge { .. }), "{err}");
    assert!(gpu().compile(&graph).is_err());
    // Slice steps past 32 bits (and past usize, once multiplied by a stride) give the CPU's
    // answer on the GPU: a step past the axis leaves one entry.
    for step in [1usize << 32, usize::MAX] {
        let mut g = GraphBuilder::new();
        let x = g.input("x", [3, 4], DType::F32).unwrap();
        let y = g.op(Op::Slice { axis: 1, start: 1, end: 4, step }, &[x]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let input = [Tensor::from_f32([3, 4], (0..12).map(|v| v as f32).collect()).unwrap()];
        assert_eq!(CpuBackend.run(&graph, &input).unwrap()[0].as_f32().unwrap(), &[1.0, 5.0, 9.0]);
        assert_eq!(gpu().run(&graph, &input).unwrap()[0].as_f32().unwrap(), &[1.0, 5.0, 9.0], "step {step}");
    }
}
