use ocelli::{Backend, DType, GraphBuilder, Op, Tensor, TensorData};

use crate::harness::{check, gpus, TRANSCENDENTAL};

fn normal_graph(shape: &[usize]) -> ocelli::Graph {
    let mut g = GraphBuilder::new();
    let key = g.input("key", [2], DType::U32).unwrap();
    let y = g.op(Op::RandomNormal { shape: shape.to_vec() }, &[key]).unwrap();
    g.build(&[y]).unwrap()
}

fn key(seed: u32, stream: u32) -> Tensor {
    Tensor::new([2], TensorData::U32(vec![seed, stream])).unwrap()
}

/// The GPU's Philox and Box–Muller give the CPU reference's samples, for sizes that do not fill
/// the last block of four or the workgroup, and a million-sample output whose moments are a
/// standard normal's; shapes are prefixes of one stream, and keys change it.
#[test]
fn random_normal_matches_reference_and_is_standard_normal() {
    for shape in [&[1][..], &[5], &[3, 257], &[2, 3, 7, 11]] {
        for (seed, stream) in [(0, 0), (42, 7), (u32::MAX, u32::MAX)] {
            check(
                &format!("random_normal {shape:?} key ({seed}, {stream})"),
                &normal_graph(shape),
                &[key(seed, stream)],
                TRANSCENDENTAL,
            );
        }
    }
    let big = normal_graph(&[1_000_003]);
    check("random_normal 1000003", &big, &[key(3, 1)], TRANSCENDENTAL);
    for gpu in gpus() {
        let v = gpu.run(&big, &[key(3, 1)]).unwrap().remove(0);
        let v = v.as_f32().unwrap();
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
        let var = v.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 0.005 && (var - 1.0).abs() < 0.005, "{}: mean {mean} variance {var}", gpu.name());
        let head = gpu.run(&normal_graph(&[7]), &[key(3, 1)]).unwrap().remove(0);
        assert_eq!(head.as_f32().unwrap(), &v[..7], "{}: a shorter shape is a prefix of the stream", gpu.name());
        let other = gpu.run(&normal_graph(&[7]), &[key(3, 2)]).unwrap().remove(0);
        assert_ne!(other, head, "{}: another stream", gpu.name());
    }
}
