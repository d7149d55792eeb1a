use ocelli::{BinaryOp, DType, GraphBuilder, Op, UnaryOp};

use crate::harness::{check, rng, uniform, EXACT, TRANSCENDENTAL};

#[test]
fn binary_ops_with_broadcasting() {
    let mut r = rng(41);
    let shapes: &[(&[usize], &[usize])] = &[
        (&[1], &[1]),
        (&[257], &[257]),
        (&[3, 1, 5], &[4, 1]),
        (&[2, 3, 4, 5], &[5]),
        (&[1, 6, 1, 7], &[2, 1, 3, 1]),
        (&[1, 1, 1, 1, 1, 1, 2, 3], &[3]),
        // Per-image, per-channel terms (a U-Net's time embedding), which the plan merges to
        // [N·C, H·W]; the second over 200 000 elements.
        (&[3, 5, 7, 9], &[3, 5, 1, 1]),
        (&[2, 7, 150, 101], &[2, 7, 1, 1]),
        // Rows of whole groups of 4 (`binary4`): an operand stepping through them, broadcast
        // along them, or both ways round; [2, 8, 150, 100] over 240 000 elements. A per-row term of
        // 18 elements (not whole vectors) keeps the scalar kernel.
        (&[2, 3, 4, 8], &[8]),
        (&[2, 6, 8, 12], &[2, 6, 1, 1]),
        (&[4, 1], &[1, 8]),
        (&[8, 1, 1], &[8, 3, 4]),
        (&[2, 8, 150, 100], &[2, 8, 1, 1]),
        (&[3, 6, 8, 12], &[3, 6, 1, 1]),
    ];
    let ops = [
        BinaryOp::Add,
        BinaryOp::Sub,
        BinaryOp::Mul,
        BinaryOp::Div,
        BinaryOp::Max,
        BinaryOp::Min,
        BinaryOp::Pow,
        BinaryOp::PRelu,
        BinaryOp::Greater,
    ];
    for op in ops {
        for &(sa, sb) in shapes {
            let mut g = GraphBuilder::new();
            let a = g.input("a", sa, DType::F32).unwrap();
            let b = g.input("b", sb, DType::F32).unwrap();
            let y = g.op(Op::Binary(op), &[a, b]).unwrap();
            let graph = g.build(&[y]).unwrap();
            let (ta, tb) = match op {
                // Positive bases, and negative bases with integral exponents.
                BinaryOp::Pow => {
                    let a = uniform(&mut r, sa, 0.1, 3.0);
                    let b = uniform(&mut r, sb, -2.0, 2.0);
                    (a, b)
                }
                BinaryOp::Div => (uniform(&mut r, sa, -2.0, 2.0), uniform(&mut r, sb, 0.5, 2.0)),
                _ => (uniform(&mut r, sa, -2.0, 2.0), uniform(&mut r, sb, -2.0, 2.0)),
            };
            let tol = if op == BinaryOp::Pow { TRANSCENDENTAL } else { EXACT };
            check(&format!("binary {op:?} {sa:?} {sb:?}"), &graph, &[ta, tb], tol);
        }
    }
}

#[test]
fn pow_of_negative_bases_with_integral_exponents() {
    let mut g = GraphBuilder::new();
    let a = g.input("a", [6], DType::F32).unwrap();
    let b = g.input("b", [6], DType::F32).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Pow), &[a, b]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let ta = ocelli::Tensor::from_f32([6], vec![-2.0, -2.0, -1.5, 0.0, 0.0, -3.0]).unwrap();
    let tb = ocelli::Tensor::from_f32([6], vec![2.0, 3.0, -1.0, 2.0, 0.0, 0.0]).unwrap();
    check("pow negative bases", &graph, &[ta, tb], TRANSCENDENTAL);
}

#[test]
fn unary_ops() {
    let mut r = rng(42);
    let ops = [
        UnaryOp::Relu,
        UnaryOp::Relu6,
        UnaryOp::LeakyRelu(0.1),
        UnaryOp::Sigmoid,
        UnaryOp::Tanh,
        UnaryOp::Silu,
        UnaryOp::Gelu,
        UnaryOp::HardSwish,
        UnaryOp::HardSigmoid,
        UnaryOp::Exp,
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Abs,
        UnaryOp::Neg,
        UnaryOp::Clamp { min: -0.5, max: 0.75 },
        UnaryOp::Affine { scale: -1.25, shift: 0.375 },
    ];
    for op in ops {
        for shape in [&[1][..], &[255], &[3, 7, 11], &[1, 70_001]] {
            let mut g = GraphBuilder::new();
            let x = g.input("x", shape, DType::F32).unwrap();
            let y = g.op(Op::Unary(op), &[x]).unwrap();
            let graph = g.build(&[y]).unwrap();
            let (lo, hi) = match op {
                UnaryOp::Log | UnaryOp::Sqrt => (0.01, 8.0),
                _ => (-8.0, 8.0),
            };
            let tol = match op {
                UnaryOp::Relu
                | UnaryOp::Relu6
                | UnaryOp::LeakyRelu(_)
                | UnaryOp::Abs
                | UnaryOp::Neg
                | UnaryOp::Clamp { .. } => EXACT,
                _ => TRANSCENDENTAL,
            };
            check(&format!("unary {op:?} {shape:?}"), &graph, &[uniform(&mut r, shape, lo, hi)], tol);
        }
    }
}

#[test]
fn greater_is_strict_and_false_for_nan() {
    let mut g = GraphBuilder::new();
    let a = g.input("a", [6], DType::F32).unwrap();
    let b = g.input("b", [6], DType::F32).unwrap();
    let y = g.op(Op::Binary(BinaryOp::Greater), &[a, b]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let ta = ocelli::Tensor::from_f32([6], vec![1.0, 0.5, f32::NAN, 2.0, -0.0, f32::INFINITY]).unwrap();
    let tb = ocelli::Tensor::from_f32([6], vec![1.0, 0.4999999, 1.0, f32::NAN, 0.0, 1e38]).unwrap();
    let want = ocelli::Tensor::from_f32([6], vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
    let got = ocelli::Backend::run(&ocelli::CpuBackend, &graph, &[ta.clone(), tb.clone()]).unwrap();
    assert_eq!(got[0], want);
    check("greater edges", &graph, &[ta, tb], EXACT);
}
