use ocelli::{DType, GraphBuilder, Op, ReduceOp};

use rand::Rng;

use crate::harness::{check, rng, uniform, ACCUM, EXACT, TRANSCENDENTAL};

const SHAPES: &[&[usize]] = &[&[1], &[7], &[3, 5], &[2, 3, 4, 5], &[1, 1000], &[4, 1, 3]];

#[test]
fn softmax_and_log_softmax_on_every_axis() {
    let mut r = rng(51);
    for &shape in SHAPES {
        for axis in 0..shape.len() {
            for log in [false, true] {
                let mut g = GraphBuilder::new();
                let x = g.input("x", shape, DType::F32).unwrap();
                let y = g.op(Op::Softmax { axis, log }, &[x]).unwrap();
                let graph = g.build(&[y]).unwrap();
                check(
                    &format!("softmax {shape:?} axis {axis} log {log}"),
                    &graph,
                    &[uniform(&mut r, shape, -10.0, 10.0)],
                    TRANSCENDENTAL,
                );
            }
        }
    }
}

#[test]
fn sum_mean_max_and_argmax_on_every_axis() {
    let mut r = rng(52);
    for &shape in SHAPES {
        for axis in 0..shape.len() {
            for keep_dims in [false, true] {
                for op in [ReduceOp::Sum, ReduceOp::Mean, ReduceOp::Max] {
                    let mut g = GraphBuilder::new();
                    let x = g.input("x", shape, DType::F32).unwrap();
                    let y = g.op(Op::Reduce { op, axis, keep_dims }, &[x]).unwrap();
                    let graph = g.build(&[y]).unwrap();
                    check(
                        &format!("reduce {op:?} {shape:?} axis {axis}"),
                        &graph,
                        &[uniform(&mut r, shape, -1.0, 1.0)],
                        ACCUM,
                    );
                }
                let mut g = GraphBuilder::new();
                let x = g.input("x", shape, DType::F32).unwrap();
                let y = g.op(Op::ArgMax { axis, keep_dims }, &[x]).unwrap();
                let graph = g.build(&[y]).unwrap();
                check(&format!("argmax {shape:?} axis {axis}"), &graph, &[uniform(&mut r, shape, -1.0, 1.0)], EXACT);
            }
        }
    }
}

#[test]
fn argmax_takes_the_first_of_equal_maxima() {
    let mut g = GraphBuilder::new();
    let x = g.input("x", [2, 4], DType::F32).unwrap();
    let y = g.op(Op::ArgMax { axis: 1, keep_dims: false }, &[x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let t = ocelli::Tensor::from_f32([2, 4], vec![1.0, 3.0, 3.0, 0.0, 5.0, 5.0, 5.0, 5.0]).unwrap();
    check("argmax ties", &graph, std::slice::from_ref(&t), EXACT);
    let got = ocelli::Backend::run(&crate::harness::gpus()[0], &graph, &[t]).unwrap();
    assert_eq!(got[0], ocelli::Tensor::from_i32([2], vec![1, 0]).unwrap());
}

#[test]
fn top_k_largest_and_smallest_with_ties() {
    let mut r = rng(53);
    for (shape, k) in [(&[1][..], 1), (&[7][..], 3), (&[3, 50][..], 5), (&[2, 3, 1000][..], 32), (&[4, 9][..], 9)] {
        for largest in [true, false] {
            let mut g = GraphBuilder::new();
            let x = g.input("x", shape, DType::F32).unwrap();
            let outs = g.apply(Op::TopK { k, largest }, &[x]).unwrap();
            let graph = g.build(&outs).unwrap();
            // Quantised values: many ties, broken by the lower index.
            let n: usize = shape.iter().product();
            let t = ocelli::Tensor::from_f32(
                shape.to_vec(),
                (0..n).map(|_| (r.random_range(0..20) as f32) / 4.0).collect(),
            )
            .unwrap();
            check(&format!("top_k {shape:?} k{k} largest {largest}"), &graph, &[t], EXACT);
        }
    }
}
