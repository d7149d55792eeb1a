use ocelli::{passes, DType, GraphBuilder, Op, UnaryOp};

use crate::harness::{check, rng, uniform, ACCUM};

#[test]
fn batch_norm_inference() {
    let mut r = rng(61);
    for x in [&[1, 1][..], &[2, 3, 5, 7], &[1, 16, 9, 9], &[4, 5, 3]] {
        let c = x[1];
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let ps: Vec<_> =
            ["gamma", "beta", "mean", "var"].iter().map(|n| g.input(n, [c], DType::F32).unwrap()).collect();
        let y = g.op(Op::BatchNorm { eps: 1e-5 }, &[xi, ps[0], ps[1], ps[2], ps[3]]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let data = vec![
            uniform(&mut r, x, -2.0, 2.0),
            uniform(&mut r, &[c], 0.5, 1.5),
            uniform(&mut r, &[c], -0.5, 0.5),
            uniform(&mut r, &[c], -0.5, 0.5),
            uniform(&mut r, &[c], 0.1, 2.0),
        ];
        check(&format!("batch_norm {x:?}"), &graph, &data, ACCUM);
    }
}

#[test]
fn group_norm_including_one_group_and_one_channel_per_group() {
    let mut r = rng(62);
    // Planes of a multiple of 4 ([1, 32, 16, 16] on) apply in groups of 4; the last has rows of
    // 240 000 elements.
    let cases = [([1, 1, 1, 1], 1), ([2, 6, 5, 7], 3), ([1, 8, 9, 9], 1), ([2, 4, 3, 3], 4), ([1, 32, 16, 16], 8)];
    let by_four = [([2, 8, 12, 20], 4), ([1, 16, 150, 200], 2)];
    for (x, groups) in cases.into_iter().chain(by_four) {
        let c = x[1];
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let gm = g.input("gamma", [c], DType::F32).unwrap();
        let bt = g.input("beta", [c], DType::F32).unwrap();
        let y = g.op(Op::GroupNorm { groups, eps: 1e-5 }, &[xi, gm, bt]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let data =
            vec![uniform(&mut r, &x, -2.0, 3.0), uniform(&mut r, &[c], 0.5, 1.5), uniform(&mut r, &[c], -0.5, 0.5)];
        check(&format!("group_norm {x:?} groups {groups}"), &graph, &data, ACCUM);
    }
}

#[test]
fn layer_norm_over_trailing_dimensions() {
    let mut r = rng(63);
    for (x, axis) in
        [(&[1, 1][..], 1), (&[3, 7][..], 1), (&[2, 5, 33][..], 2), (&[2, 5, 6][..], 1), (&[70_000, 3][..], 1)]
    {
        let tail = &x[axis..];
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x, DType::F32).unwrap();
        let gm = g.input("gamma", tail, DType::F32).unwrap();
        let bt = g.input("beta", tail, DType::F32).unwrap();
        let y = g.op(Op::LayerNorm { axis, eps: 1e-5 }, &[xi, gm, bt]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let data =
            vec![uniform(&mut r, x, -2.0, 3.0), uniform(&mut r, tail, 0.5, 1.5), uniform(&mut r, tail, -0.5, 0.5)];
        check(&format!("layer_norm {x:?} axis {axis}"), &graph, &data, ACCUM);
    }
}

/// Group and layer norm absorb the activations after them (the U-Net's GroupNorm → SiLU) into
/// their apply kernel, at sizes that split rows into several segments and leave partial ones.
#[test]
fn group_and_layer_norm_with_fused_activations() {
    let mut r = rng(64);
    let acts = [UnaryOp::Silu, UnaryOp::Clamp { min: -0.2, max: 1.5 }];
    let cases = [
        (vec![3, 12, 17, 19], Op::GroupNorm { groups: 4, eps: 1e-5 }, vec![12]),
        (vec![1, 5, 9, 9], Op::GroupNorm { groups: 5, eps: 1e-5 }, vec![5]),
        (vec![2, 8, 12, 20], Op::GroupNorm { groups: 4, eps: 1e-5 }, vec![8]),
        (vec![7, 301], Op::LayerNorm { axis: 1, eps: 1e-5 }, vec![301]),
        (vec![2, 3, 1000], Op::LayerNorm { axis: 1, eps: 1e-5 }, vec![3, 1000]),
    ];
    for (x, op, affine) in cases {
        for n_acts in 1..=2 {
            let mut g = GraphBuilder::new();
            let xi = g.input("x", &x[..], DType::F32).unwrap();
            let gm = g.input("gamma", &affine[..], DType::F32).unwrap();
            let bt = g.input("beta", &affine[..], DType::F32).unwrap();
            let mut y = g.op(op.clone(), &[xi, gm, bt]).unwrap();
            for &a in &acts[..n_acts] {
                y = g.op(Op::Unary(a), &[y]).unwrap();
            }
            let graph = g.build(&[y]).unwrap();
            let opt = passes::optimize(&graph).unwrap();
            let fused =
                opt.nodes().iter().any(|n| matches!(&n.op, Op::Fused(f) if *f.base == op && f.acts.len() == n_acts));
            assert!(fused, "{} + {n_acts} activations in one node: {:?}", op.name(), opt.nodes());
            let data = vec![
                uniform(&mut r, &x, -2.0, 3.0),
                uniform(&mut r, &affine, 0.5, 1.5),
                uniform(&mut r, &affine, -0.5, 0.5),
            ];
            check(&format!("{} {x:?} + {n_acts} activations", op.name()), &graph, &data, ACCUM);
        }
    }
}
