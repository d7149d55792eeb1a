//! Ocelli as a library: build a small graph, run it on the GPU and on the CPU reference, compare.
//!
//! `cargo run --release -p ocelli --example matmul`

use std::sync::Arc;

use ocelli::{Backend, BinaryOp, CpuBackend, DType, Gpu, GpuBackend, GraphBuilder, Op, Tensor, UnaryOp};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let gpu = Arc::new(Gpu::new()?);
    println!("running on {}", gpu.adapter_info().name);

    // y = softmax(relu(x · w + b))
    let mut g = GraphBuilder::new();
    let x = g.input("x", [2, 3], DType::F32)?;
    let w = g.constant(Tensor::from_f32([3, 4], (0..12).map(|i| i as f32 / 10.0 - 0.5).collect())?)?;
    let b = g.constant(Tensor::from_f32([4], vec![0.1, -0.2, 0.3, 0.0])?)?;
    let xw = g.op(Op::MatMul { trans_a: false, trans_b: false }, &[x, w])?;
    let h = g.op(Op::Binary(BinaryOp::Add), &[xw, b])?;
    let h = g.op(Op::Unary(UnaryOp::Relu), &[h])?;
    let y = g.op(Op::Softmax { axis: 1, log: false }, &[h])?;
    let graph = g.build(&[y])?;

    let input = Tensor::from_f32([2, 3], vec![1.0, 2.0, 3.0, -1.0, 0.5, 2.0])?;
    let on_gpu = GpuBackend::new(gpu).run(&graph, std::slice::from_ref(&input))?;
    let on_cpu = CpuBackend.run(&graph, &[input])?;
    println!("gpu: {:?}", on_gpu[0].as_f32().unwrap_or_default());
    println!("cpu: {:?}", on_cpu[0].as_f32().unwrap_or_default());
    Ok(())
}
