use ocelli::{Backend, DType, GraphBuilder, Nms, Op, Overlap, PoolKind, RoiAlign, RoiPool, Tensor};
use rand::Rng;

use crate::harness::{check, rng, uniform, ACCUM, EXACT};

fn rois(r: &mut rand::rngs::StdRng, count: usize, h: f32, w: f32) -> (Tensor, Tensor) {
    let mut coords = Vec::new();
    let mut batch = Vec::new();
    for i in 0..count {
        let (x1, y1) = (r.random_range(-2.0..w), r.random_range(-2.0..h));
        // Some regions degenerate (x2 < x1) or past the border.
        let (x2, y2) = (x1 + r.random_range(-1.0..w * 0.8), y1 + r.random_range(-1.0..h * 0.8));
        coords.extend([x1, y1, x2, y2]);
        // The last region names a batch that does not exist: it pools to zeros.
        batch.push(if i == count - 1 { 5 } else { r.random_range(0..2) });
    }
    (Tensor::from_f32([count, 4], coords).unwrap(), Tensor::from_i32([count], batch).unwrap())
}

#[test]
fn roi_align_roi_pool_and_crop_resize_match_reference() {
    let mut r = rng(101);
    let x_shape = [2, 3, 11, 13];
    for scale in [1.0f32, 0.5] {
        let (boxes, batch) = rois(&mut r, 9, 11.0 / scale, 13.0 / scale);
        let x = uniform(&mut r, &x_shape, -1.0, 1.0);
        let mut ops = vec![
            Op::RoiPool(RoiPool { out_h: 3, out_w: 4, spatial_scale: scale }),
            Op::CropResize { out_h: 5, out_w: 3 },
            Op::CropResize { out_h: 1, out_w: 1 },
            Op::CropResize { out_h: 24, out_w: 24 },
        ];
        for mode in [PoolKind::Avg, PoolKind::Max] {
            for half_pixel in [false, true] {
                for sampling_ratio in [0, 2] {
                    ops.push(Op::RoiAlign(RoiAlign {
                        out_h: 5,
                        out_w: 3,
                        sampling_ratio,
                        spatial_scale: scale,
                        mode,
                        half_pixel,
                    }));
                }
            }
        }
        for op in ops {
            let mut g = GraphBuilder::new();
            let xi = g.input("x", x_shape, DType::F32).unwrap();
            let ri = g.input("rois", [9, 4], DType::F32).unwrap();
            let bi = g.input("batch", [9], DType::I32).unwrap();
            let y = g.op(op.clone(), &[xi, ri, bi]).unwrap();
            let graph = g.build(&[y]).unwrap();
            // loop_chunk 3: every bin's rows split among parts combined by the fold.
            let options =
                [ocelli::CompileOptions::default(), ocelli::CompileOptions { loop_chunk: 3, ..Default::default() }];
            let data = [x.clone(), boxes.clone(), batch.clone()];
            crate::harness::check_with(&format!("{op:?}"), &graph, &data, ACCUM, &options);
        }
    }
}

/// A region far larger than the map with adaptive sampling: 4300² samples for the one bin,
/// of which only those inside the map are visited (and split among parts), the rest weigh 0;
/// RoIPool over a whole 300×300 map, and crops of it (clipped) to 1×1 and 7×5.
#[test]
fn region_pooling_of_regions_far_larger_than_the_map() {
    let mut r = rng(105);
    let x_shape = [1, 2, 300, 300];
    let x = uniform(&mut r, &x_shape, -1.0, 1.0);
    let boxes = Tensor::from_f32([2, 4], vec![-2000.0, -2000.0, 2300.0, 2300.0, 0.0, 0.0, 299.0, 299.0]).unwrap();
    let batch = Tensor::from_i32([2], vec![0, 0]).unwrap();
    let mut ops = vec![
        Op::RoiPool(RoiPool { out_h: 1, out_w: 1, spatial_scale: 1.0 }),
        Op::CropResize { out_h: 1, out_w: 1 },
        Op::CropResize { out_h: 7, out_w: 5 },
    ];
    for mode in [PoolKind::Avg, PoolKind::Max] {
        ops.push(Op::RoiAlign(RoiAlign {
            out_h: 1,
            out_w: 1,
            sampling_ratio: 0,
            spatial_scale: 1.0,
            mode,
            half_pixel: true,
        }));
    }
    for op in ops {
        let mut g = GraphBuilder::new();
        let xi = g.input("x", x_shape, DType::F32).unwrap();
        let ri = g.input("rois", [2, 4], DType::F32).unwrap();
        let bi = g.input("batch", [2], DType::I32).unwrap();
        let y = g.op(op.clone(), &[xi, ri, bi]).unwrap();
        let graph = g.build(&[y]).unwrap();
        check(&format!("{op:?} of a huge region"), &graph, &[x.clone(), boxes.clone(), batch.clone()], ACCUM);
    }
}

/// Crops as PyTorch's adaptive average pooling of the clipped crop: a hand-checked case, NaN,
/// empty and off-map regions, and a crop of a 2×300 001 map to 1×2 (150 001 pixels per bin,
/// one flattened loop split among dispatches).
#[test]
fn crop_resize_averages_clipped_integer_crops_and_long_rows() {
    // Map 0..24 as 4×6; region [1.7, 0.2, 5.9, 3.5) floors to columns 1..5, rows 0..3, a 3×4
    // crop; 2×3 bins: rows 0..2 / 1..3, columns 1..3 / 2..4 / 3..5 (PyTorch's windows).
    let mut g = GraphBuilder::new();
    let xi = g.input("x", [1, 1, 4, 6], DType::F32).unwrap();
    let ri = g.input("rois", [4, 4], DType::F32).unwrap();
    let bi = g.input("batch", [4], DType::I32).unwrap();
    let y = g.op(Op::CropResize { out_h: 2, out_w: 3 }, &[xi, ri, bi]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let x = Tensor::from_f32([1, 1, 4, 6], (0..24).map(|v| v as f32).collect()).unwrap();
    let rois = vec![1.7, 0.2, 5.9, 3.5, f32::NAN, 0.0, 3.0, 3.0, 2.0, 2.0, 2.0, 4.0, -9.0, -9.0, -1.0, 30.0];
    let data = [x, Tensor::from_f32([4, 4], rois).unwrap(), Tensor::from_i32([4], vec![0; 4]).unwrap()];
    let mean = |rows: [usize; 2], cols: [usize; 2]| {
        let cells: Vec<f32> =
            (rows[0]..rows[1]).flat_map(|r| (cols[0]..cols[1]).map(move |c| (r * 6 + c) as f32)).collect();
        cells.iter().sum::<f32>() / cells.len() as f32
    };
    let mut want = Vec::new();
    for rows in [[0, 2], [1, 3]] {
        for cols in [[1, 3], [2, 4], [3, 5]] {
            want.push(mean(rows, cols));
        }
    }
    want.extend([0.0; 18]); // NaN, zero-width and off-map regions
    let got = ocelli::CpuBackend.run(&graph, &data).unwrap();
    assert_eq!(got[0].as_f32().unwrap(), &want[..]);
    check("crop_resize hand case", &graph, &data, ACCUM);

    let mut r = rng(106);
    let x_shape = [1, 2, 2, 300_001];
    let x = uniform(&mut r, &x_shape, 0.0, 1.0);
    let mut g = GraphBuilder::new();
    let xi = g.input("x", x_shape, DType::F32).unwrap();
    let ri = g.input("rois", [2, 4], DType::F32).unwrap();
    let bi = g.input("batch", [2], DType::I32).unwrap();
    let y = g.op(Op::CropResize { out_h: 1, out_w: 2 }, &[xi, ri, bi]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let rois = Tensor::from_f32([2, 4], vec![0.0, 0.0, 300_001.0, 2.0, 17.5, 1.0, 250_000.0, 2.0]).unwrap();
    check("crop_resize of 2x300001", &graph, &[x, rois, Tensor::from_i32([2], vec![0, 0]).unwrap()], ACCUM);
}

fn nms_graph(b: usize, c: usize, n: usize, p: Nms) -> ocelli::Graph {
    let mut g = GraphBuilder::new();
    let bx = g.input("boxes", [b, n, 4], DType::F32).unwrap();
    let sc = g.input("scores", [b, c, n], DType::F32).unwrap();
    let y = g.op(Op::NonMaxSuppression(p), &[bx, sc]).unwrap();
    g.build(&[y]).unwrap()
}

/// Boxes in clusters so suppression happens, with identical boxes, zero-area boxes, tied scores
/// and NaN scores mixed in.
fn detections(r: &mut rand::rngs::StdRng, b: usize, c: usize, n: usize, center: bool) -> (Tensor, Tensor) {
    let mut boxes = Vec::with_capacity(b * n * 4);
    for _ in 0..b {
        for i in 0..n {
            let (cy, cx) = (r.random_range(0..8) as f32 * 10.0, r.random_range(0..8) as f32 * 10.0);
            let (h, w) = (r.random_range(2.0..12.0f32), r.random_range(2.0..12.0f32));
            let (y, x) = (cy + r.random_range(-3.0..3.0f32), cx + r.random_range(-3.0..3.0f32));
            let v = match i % 17 {
                0 => [y, x, y, x + w],                             // zero area
                1 => boxes[boxes.len() - 4..].try_into().unwrap(), // identical to the previous box
                _ if center => [x, y, w, h],
                _ => [y, x, y + h, x + w],
            };
            boxes.extend(v);
        }
    }
    let scores: Vec<f32> = (0..b * c * n)
        .map(|i| match i % 23 {
            0 => f32::NAN,
            // Quantised scores: many exact ties, broken by box index.
            _ => (r.random_range(0..40) as f32) / 40.0,
        })
        .collect();
    (Tensor::from_f32([b, n, 4], boxes).unwrap(), Tensor::from_f32([b, c, n], scores).unwrap())
}

#[test]
fn nms_matches_reference_with_ties_duplicates_zero_areas_and_nans() {
    let mut r = rng(102);
    for (b, c, n) in [(1, 1, 1), (2, 3, 70), (1, 2, 300)] {
        for center in [false, true] {
            let (boxes, scores) = detections(&mut r, b, c, n, center);
            for class_agnostic in [false, true] {
                let cases = [(5, 0.5, Some(0.2), Overlap::Iou), (n + 3, 0.3, None, Overlap::Iou)];
                for (max_per_class, iou, thr, overlap) in cases.into_iter().chain([(20, 0.7, Some(0.0), Overlap::Min)])
                {
                    let p = Nms {
                        max_per_class,
                        iou_threshold: iou,
                        score_threshold: thr,
                        center_point_box: center,
                        class_agnostic,
                        soft_sigma: None,
                        overlap,
                    };
                    check(
                        &format!("nms b{b} c{c} n{n} {p:?}"),
                        &nms_graph(b, c, n, p),
                        &[boxes.clone(), scores.clone()],
                        EXACT,
                    );
                }
            }
        }
    }
}

#[test]
fn nms_scales_to_20000_boxes() {
    let mut r = rng(103);
    let (boxes, scores) = detections(&mut r, 1, 1, 20_000, false);
    for overlap in [Overlap::Iou, Overlap::Min] {
        let p = Nms {
            max_per_class: 200,
            iou_threshold: 0.5,
            score_threshold: Some(0.1),
            center_point_box: false,
            class_agnostic: false,
            soft_sigma: None,
            overlap,
        };
        check(&format!("nms 20k {overlap:?}"), &nms_graph(1, 1, 20_000, p), &[boxes.clone(), scores.clone()], EXACT);
    }
}

/// The fast path takes the top candidates of a segment by histograms of their keys: scores all
/// equal (one run of ties larger than its list), scores a few ulps apart (only the second level
/// tells them apart), and several batches and classes, each against the reference.
#[test]
fn nms_top_candidate_search_edges() {
    let mut r = rng(104);
    let n = 6000;
    let (boxes, _) = detections(&mut r, 1, 1, n, false);
    let tied = vec![0.75f32; n];
    let close: Vec<f32> = (0..n).map(|i| 0.5 + ((i * 7919) % n) as f32 * 2f32.powi(-20)).collect();
    for (what, scores) in [("tied", tied), ("ulps apart", close)] {
        for max_per_class in [1, 200, 3000] {
            let p = Nms {
                max_per_class,
                iou_threshold: 0.5,
                score_threshold: Some(0.1),
                center_point_box: false,
                class_agnostic: false,
                soft_sigma: None,
                overlap: Overlap::Iou,
            };
            let scores = Tensor::from_f32([1, 1, n], scores.clone()).unwrap();
            check(&format!("nms {what} max {max_per_class}"), &nms_graph(1, 1, n, p), &[boxes.clone(), scores], EXACT);
        }
    }
    let (boxes, scores) = detections(&mut r, 2, 4, 2500, false);
    for class_agnostic in [false, true] {
        let p = Nms {
            max_per_class: 150,
            iou_threshold: 0.4,
            score_threshold: Some(0.3),
            center_point_box: false,
            class_agnostic,
            soft_sigma: None,
            overlap: Overlap::Iou,
        };
        let what = format!("nms 2 batches 4 classes agnostic={class_agnostic}");
        check(&what, &nms_graph(2, 4, 2500, p), &[boxes.clone(), scores.clone()], EXACT);
    }
}

/// 5000 disjoint boxes, all kept: the selection's loops (every candidate against every kept
/// box) run far past llvmpipe's 65 535 iterations per invocation unless split into dispatches;
/// also under a forced-small loop_chunk, and soft-NMS keeping 300 of 3000.
#[test]
fn nms_keeps_thousands_of_disjoint_boxes() {
    use ocelli::CompileOptions;
    let n = 5000;
    let boxes: Vec<f32> = (0..n)
        .flat_map(|i| {
            let (y, x) = ((i / 100) as f32 * 10.0, (i % 100) as f32 * 10.0);
            [y, x, y + 5.0, x + 5.0]
        })
        .collect();
    let boxes = Tensor::from_f32([1, n, 4], boxes).unwrap();
    let scores = Tensor::from_f32([1, 1, n], (0..n).map(|i| ((i * 7919) % n) as f32 / n as f32).collect()).unwrap();
    let p = Nms {
        max_per_class: n,
        iou_threshold: 0.5,
        score_threshold: None,
        center_point_box: false,
        class_agnostic: false,
        soft_sigma: None,
        overlap: Overlap::Iou,
    };
    let options = [CompileOptions::default(), CompileOptions { loop_chunk: 3, ..Default::default() }];
    crate::harness::check_with(
        "nms keeping 5000",
        &nms_graph(1, 1, n, p),
        &[boxes.clone(), scores.clone()],
        EXACT,
        &options,
    );
    let m = 3000;
    let soft = Nms { max_per_class: 300, soft_sigma: Some(0.5), ..p };
    let mut g = GraphBuilder::new();
    let bx = g.input("boxes", [1, m, 4], DType::F32).unwrap();
    let sc = g.input("scores", [1, 1, m], DType::F32).unwrap();
    let outs = g.apply(Op::NonMaxSuppression(soft), &[bx, sc]).unwrap();
    let graph = g.build(&outs).unwrap();
    let sub = |t: &Tensor, len: usize| {
        let v = t.as_f32().unwrap()[..len].to_vec();
        Tensor::from_f32(if len == m * 4 { vec![1, m, 4] } else { vec![1, 1, m] }, v).unwrap()
    };
    let data = [sub(&boxes, m * 4), sub(&scores, m)];
    crate::harness::check_with("soft-nms keeping 300 of 3000", &graph, &data, ACCUM, &options);
}

#[test]
fn soft_nms_matches_reference() {
    let mut r = rng(104);
    for (b, c, n) in [(1, 1, 5), (2, 2, 150)] {
        let (boxes, _) = detections(&mut r, b, c, n, false);
        // Continuous scores: decayed scores are compared with a tolerance, so near-ties in the
        // selection order must not come from the input.
        let scores =
            Tensor::from_f32([b, c, n], (0..b * c * n).map(|_| r.random_range(0.05..1.0f32)).collect()).unwrap();
        for class_agnostic in [false, true] {
            for (sigma, thr) in [(0.5, Some(0.3)), (0.1, None)] {
                let p = Nms {
                    max_per_class: 12,
                    iou_threshold: 0.5,
                    score_threshold: thr,
                    center_point_box: false,
                    class_agnostic,
                    soft_sigma: Some(sigma),
                    overlap: Overlap::Iou,
                };
                let mut g = GraphBuilder::new();
                let bx = g.input("boxes", [b, n, 4], DType::F32).unwrap();
                let sc = g.input("scores", [b, c, n], DType::F32).unwrap();
                let outs = g.apply(Op::NonMaxSuppression(p), &[bx, sc]).unwrap();
                let graph = g.build(&outs).unwrap();
                check(&format!("soft-nms b{b} c{c} n{n} {p:?}"), &graph, &[boxes.clone(), scores.clone()], ACCUM);
            }
        }
    }
}

/// Perspective crops against the reference: rotations, scalings, a perspective tilt, regions
/// reaching outside the image (edge pixels repeat), widths of 0, partial and past the output,
/// a map to infinity (fill), on odd sizes; and known values: the identity gives the image, a
/// quarter turn its transpose.
#[test]
fn perspective_crops_match_reference() {
    use ocelli::{Backend, CpuBackend, DType, GraphBuilder, Op, Tensor};
    use rand::Rng;
    let mut r = crate::harness::rng(131);
    let (c, h, w) = (3, 37, 53);
    let image: Vec<f32> = (0..c * h * w).map(|_| r.random::<f32>()).collect();
    let x = Tensor::from_f32([1, c, h, w], image.clone()).unwrap();
    let (a, s) = (0.3f32, 0.7f32);
    let matrices: Vec<f32> = [
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        [s * a.cos(), -s * a.sin(), 20.0, s * a.sin(), s * a.cos(), 3.0, 0.0, 0.0, 1.0],
        [1.9, 0.2, -6.0, -0.1, 1.3, 30.0, 0.0, 0.0, 1.0],
        [0.8, 0.05, 2.0, 0.02, 0.9, 1.0, 0.003, -0.002, 1.0],
        [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
    ]
    .concat();
    let widths = Tensor::from_i32([5], vec![29, 17, 0, 1000, 29]).unwrap();
    let m = Tensor::from_f32([5, 9], matrices).unwrap();
    for (oh, ow) in [(7, 29), (48, 201)] {
        let mut g = GraphBuilder::new();
        let xi = g.input("x", [1, c, h, w], DType::F32).unwrap();
        let mi = g.input("m", [5, 9], DType::F32).unwrap();
        let wi = g.input("w", [5], DType::I32).unwrap();
        let y = g.op(Op::PerspectiveCrops { out_h: oh, out_w: ow, fill: 0.25 }, &[xi, mi, wi]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let inputs = [x.clone(), m.clone(), widths.clone()];
        crate::harness::check(&format!("perspective crops to {oh}x{ow}"), &graph, &inputs, crate::harness::ACCUM);
        let out = CpuBackend.run(&graph, &inputs).unwrap();
        let y = out[0].as_f32().unwrap();
        let at = |roi: usize, ch: usize, v: usize, u: usize| y[((roi * c + ch) * oh + v) * ow + u];
        for ch in 0..c {
            for v in 0..oh.min(h) {
                for u in 0..29 {
                    assert_eq!(at(0, ch, v, u), image[(ch * h + v) * w + u], "identity at ({v}, {u})");
                    assert_eq!(at(4, ch, v, u), 0.25, "a map to infinity gives the fill");
                }
                assert!((29..ow).all(|u| at(0, ch, v, u) == 0.25), "past the width: the fill");
                assert!((0..ow).all(|u| at(2, ch, v, u) == 0.25), "width 0: all fill");
            }
        }
    }
    // A quarter turn: output (u, v) reads image (v, u).
    let mut g = GraphBuilder::new();
    let xi = g.input("x", [1, c, h, w], DType::F32).unwrap();
    let mi = g.input("m", [1, 9], DType::F32).unwrap();
    let wi = g.input("w", [1], DType::I32).unwrap();
    let y = g.op(Op::PerspectiveCrops { out_h: w, out_w: h, fill: 0.0 }, &[xi, mi, wi]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let turn = Tensor::from_f32([1, 9], vec![0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0]).unwrap();
    let inputs = [x, turn, Tensor::from_i32([1], vec![h as i32]).unwrap()];
    crate::harness::check("a quarter-turned crop", &graph, &inputs, crate::harness::EXACT);
    let y = CpuBackend.run(&graph, &inputs).unwrap();
    let y = y[0].as_f32().unwrap();
    for v in 0..w {
        for u in 0..h {
            assert_eq!(y[v * h + u], image[u * w + v], "({v}, {u})");
        }
    }
}
