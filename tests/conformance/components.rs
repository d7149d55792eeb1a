use ocelli::{Backend, CpuBackend, DType, GraphBuilder, Op, Tensor};
use rand::Rng;

use crate::harness::{check, EXACT};

fn graph(h: usize, w: usize, rounds: usize) -> ocelli::Graph {
    let mut g = GraphBuilder::new();
    let x = g.input("mask", [h, w], DType::F32).unwrap();
    let y = g.op(Op::ConnectedComponents { rounds }, &[x]).unwrap();
    g.build(&[y]).unwrap()
}

/// The least pixel index of each pixel's 8-connected component (−1 on the background), by a
/// flood fill: what enough rounds must converge to.
fn flood_fill(mask: &[f32], h: usize, w: usize) -> Vec<i32> {
    let mut labels = vec![-1i32; h * w];
    for start in 0..h * w {
        if mask[start] == 0.0 || labels[start] >= 0 {
            continue;
        }
        let mut stack = vec![start];
        labels[start] = start as i32;
        while let Some(p) = stack.pop() {
            let (y, x) = (p / w, p % w);
            for yy in y.saturating_sub(1)..(y + 2).min(h) {
                for xx in x.saturating_sub(1)..(x + 2).min(w) {
                    let q = yy * w + xx;
                    if mask[q] != 0.0 && labels[q] < 0 {
                        labels[q] = start as i32;
                        stack.push(q);
                    }
                }
            }
        }
    }
    labels
}

/// Every round on the device equals the CPU reference's, bit for bit, on random masks of odd
/// sizes at several densities, after 0, 1, 2, 5 rounds (partly converged) and after enough
/// rounds to converge, which then equals a flood fill.
#[test]
fn connected_components_match_reference_round_for_round() {
    let mut r = crate::harness::rng(97);
    for (h, w, density) in [(1, 1, 1.0), (7, 5, 0.5), (13, 67, 0.6), (64, 48, 0.55), (3, 301, 0.7)] {
        let mask: Vec<f32> = (0..h * w).map(|_| f32::from(u8::from(r.random::<f64>() < density))).collect();
        let input = Tensor::from_f32([h, w], mask.clone()).unwrap();
        for rounds in [0, 1, 2, 5, 64] {
            check(
                &format!("connected components {h}x{w} at {density}, {rounds} rounds"),
                &graph(h, w, rounds),
                std::slice::from_ref(&input),
                EXACT,
            );
        }
        let got = CpuBackend.run(&graph(h, w, 64), &[input]).unwrap();
        assert_eq!(got[0].as_i32().unwrap().to_vec(), flood_fill(&mask, h, w), "{h}x{w} at {density}");
    }
}

/// A 300 000-pixel line and column converge in about log2 of their length (24 rounds), and a
/// serpentine (one component whose path turns 31 times) stays consistent, on the device as on
/// the reference.
#[test]
fn connected_components_converge_along_long_paths() {
    for (h, w) in [(1, 300_000), (300_000, 1)] {
        let input = Tensor::from_f32([h, w], vec![1.0; h * w]).unwrap();
        check(&format!("connected components {h}x{w}"), &graph(h, w, 24), std::slice::from_ref(&input), EXACT);
        let got = CpuBackend.run(&graph(h, w, 24), &[input]).unwrap();
        assert!(
            got[0].as_i32().unwrap().to_vec().iter().all(|&l| l == 0),
            "a {h}x{w} line is one component after 24 rounds"
        );
    }
    // Rows 0, 2, 4, ... full, joined alternately at the right and left ends.
    let (h, w) = (63, 97);
    let mask: Vec<f32> = (0..h * w)
        .map(|p| {
            let (y, x) = (p / w, p % w);
            let on = y % 2 == 0 || (y % 4 == 1 && x == w - 1) || (y % 4 == 3 && x == 0);
            f32::from(u8::from(on))
        })
        .collect();
    let input = Tensor::from_f32([h, w], mask.clone()).unwrap();
    let rounds = 40;
    check("connected components of a serpentine", &graph(h, w, rounds), std::slice::from_ref(&input), EXACT);
    // Propagation moves a label about one turn of the serpentine per round, so 40 rounds leave
    // it partly labelled (the caller finishes such labels on the host, see ocelli-segment);
    // every label is still a pixel of the same component, at most the pixel's own index.
    let got = CpuBackend.run(&graph(h, w, rounds), &[input]).unwrap();
    let want = flood_fill(&mask, h, w);
    for (p, &l) in got[0].as_i32().unwrap().iter().enumerate() {
        assert!(l <= p as i32 && (l < 0) == (want[p] < 0), "pixel {p}: label {l}");
        assert!(l < 0 || want[l as usize] == want[p], "pixel {p}: label {l} lies in another component");
    }
}
