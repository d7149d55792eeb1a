//! Detectors against goldens of their original runtimes (assets/golden/detect/), on the GPU and
//! on the CPU reference.

mod common;

use common::{floats, gpu, ASSETS};
use ocelli::detect::{blazeface, iou, Detection};
use ocelli::nn::Weights;
use ocelli::{Backend, CpuBackend, Tensor};
use serde_json::Value;

fn golden(name: &str) -> Value {
    common::golden("detect", name)
}

/// Runs `graph` on `backend` with the image's segments.
fn run<B: Backend>(backend: &B, graph: &ocelli::Graph, inputs: &[Tensor]) -> Vec<Tensor> {
    backend.run(graph, inputs).unwrap_or_else(|e| panic!("{}: {e}", backend.name()))
}

/// Raw outputs within 1e-3 of LiteRT's (regressions, in input pixels, reach ~100) and face
/// probabilities within 1e-4; the faces MediaPipe's post-processing finds: same count, IoU >=
/// 0.95, |Δscore| <= 0.01, keypoints within 0.5 image pixels. Astronaut: one face, chelsea and
/// coffee: none.
#[test]
fn blazeface_matches_litert_on_both_backends() {
    let golden = golden("blazeface");
    let weights = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/blazeface.safetensors"))).unwrap();
    let anchors = blazeface::anchors();
    for (name, want) in golden["images"].as_object().unwrap() {
        let image = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
        let (graph, lb) = blazeface::graph(&weights, &image.layout, blazeface::THRESHOLDS).unwrap();
        let lw = &want["letterbox"];
        assert_eq!(
            (lb.top, lb.left),
            (lw["pad_top"].as_u64().unwrap() as usize, lw["pad_left"].as_u64().unwrap() as usize)
        );
        let want_reg = floats(&want["regressors"]);
        let want_scores: Vec<f32> = floats(&want["classificators"]).iter().map(|c| 1.0 / (1.0 + (-c).exp())).collect();
        let inputs = image.segments();
        let gpu = gpu();
        for (backend, outputs) in [("gpu", run(&gpu, &graph, &inputs)), ("cpu", run(&CpuBackend, &graph, &inputs))] {
            let decoded = outputs[1].as_f32().unwrap();
            let scores = outputs[2].as_f32().unwrap();
            let mut worst = (0f32, 0f32);
            for i in 0..blazeface::ANCHORS {
                for k in 0..blazeface::REGRESSED {
                    let centre = match k {
                        2 | 3 => 0.0,
                        k => anchors[i][k % 2],
                    };
                    let raw = (decoded[i * blazeface::REGRESSED + k] - centre) * blazeface::INPUT as f32;
                    worst.0 = worst.0.max((raw - want_reg[i * blazeface::REGRESSED + k]).abs());
                }
                worst.1 = worst.1.max((scores[i] - want_scores[i]).abs());
            }
            assert!(
                worst.0 < 1e-3 && worst.1 < 1e-4,
                "{name} on {backend}: max |Δ| regressions {} scores {}",
                worst.0,
                worst.1
            );
            let faces: Vec<Detection> = blazeface::faces(&outputs);
            let want_faces = want["detections"].as_array().unwrap();
            assert_eq!(faces.len(), want_faces.len(), "{name} on {backend}: {faces:?}");
            for (got, want) in faces.iter().zip(want_faces) {
                let wb: [f32; 4] = floats(&want["box"]).try_into().unwrap();
                assert!(iou(got.bbox, wb) >= 0.95, "{name} on {backend}: {:?} against {wb:?}", got.bbox);
                assert!((got.score - want["score"].as_f64().unwrap() as f32).abs() <= 0.01, "{name}: {got:?}");
                let wk = floats(&want["keypoints"]);
                for (p, kp) in got.keypoints.iter().enumerate() {
                    let d = (kp[0] - wk[2 * p]).hypot(kp[1] - wk[2 * p + 1]);
                    assert!(d <= 0.5, "{name} on {backend}: keypoint {p} {kp:?} is {d} px off");
                }
            }
        }
    }
}

/// BlazeFace's blending on the device against a plain host implementation of MediaPipe's
/// weighted suppression over the same decoded anchors, at a threshold low enough (0.05) that
/// several boxes are kept and each absorbs several candidates: same faces, corners and keypoints
/// within 1e-3 image pixels, on both backends.
#[test]
fn blazeface_blends_suppressed_boxes_as_mediapipe_does() {
    use ocelli::detect::Thresholds;
    let weights = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/blazeface.safetensors"))).unwrap();
    let t = Thresholds { score: 0.05, iou: blazeface::THRESHOLDS.iou };
    let mut most = 0;
    for name in ["astronaut.png", "chelsea.png", "coffee.png"] {
        let image = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
        let (graph, lb) = blazeface::graph(&weights, &image.layout, t).unwrap();
        let inputs = image.segments();
        for (backend, outputs) in [("gpu", run(&gpu(), &graph, &inputs)), ("cpu", run(&CpuBackend, &graph, &inputs))] {
            let (d, s) = (outputs[1].as_f32().unwrap(), outputs[2].as_f32().unwrap());
            let r = blazeface::REGRESSED;
            let corners = |i: usize| {
                let v = &d[i * r..i * r + 4];
                [v[0] - v[2] / 2.0, v[1] - v[3] / 2.0, v[0] + v[2] / 2.0, v[1] + v[3] / 2.0]
            };
            // Greedy suppression by score (ties: lower index), then each kept box averages the
            // candidates it overlaps that no earlier kept box does, weighted by score.
            let mut order: Vec<usize> = (0..blazeface::ANCHORS).filter(|&i| s[i] > t.score).collect();
            order.sort_by(|&a, &b| s[b].total_cmp(&s[a]).then(a.cmp(&b)));
            let overlaps = |a: usize, b: usize| iou(corners(a), corners(b)) > t.iou;
            let mut kept: Vec<usize> = Vec::new();
            for &i in &order {
                if kept.len() < blazeface::MAX_FACES && !kept.iter().any(|&k| overlaps(i, k)) {
                    kept.push(i);
                }
            }
            let faces = blazeface::faces(&outputs);
            assert_eq!(faces.len(), kept.len(), "{name} on {backend}");
            most = most.max(kept.len());
            for (k, (&seed, face)) in kept.iter().zip(&faces).enumerate() {
                let members: Vec<usize> = order
                    .iter()
                    .copied()
                    .filter(|&i| overlaps(i, seed) && !kept[..k].iter().any(|&e| overlaps(i, e)))
                    .collect();
                let total: f32 = members.iter().map(|&i| s[i]).sum();
                let mean = |j: usize| {
                    members.iter().map(|&i| s[i] * if j < 4 { corners(i)[j] } else { d[i * r + j] }).sum::<f32>()
                        / total
                };
                let [x1, y1] = lb.to_image(mean(0), mean(1));
                let [x2, y2] = lb.to_image(mean(2), mean(3));
                let mut want = vec![x1, y1, x2, y2];
                for p in 0..blazeface::KEYPOINTS {
                    want.extend(lb.to_image(mean(4 + 2 * p), mean(5 + 2 * p)));
                }
                let got: Vec<f32> = face.bbox.iter().copied().chain(face.keypoints.iter().flatten().copied()).collect();
                let worst = max_diff(&got, &want);
                assert!(worst <= 1e-3, "{name} on {backend}: face {k} off by {worst} px ({} members)", members.len());
                assert_eq!(face.score, s[seed], "{name} on {backend}");
            }
        }
    }
    assert!(most >= 3, "the low threshold keeps several faces somewhere (at most {most})");
}

/// The network's raw grid within 1e-4 · max(1, |value|) of face-api's on tfjs (confidence logits
/// reach −50), and its faces at face-api's threshold and at 0.02 (more boxes, some suppressed):
/// same count and order, IoU >= 0.95, |Δscore| <= 0.01, on both backends.
#[test]
fn tiny_face_matches_face_api_on_both_backends() {
    use ocelli::detect::{tiny_face, Detector, Model, Thresholds};
    let golden = golden("tiny_face");
    let weights = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/tiny_face.safetensors"))).unwrap();
    for (name, want) in golden["images"].as_object().unwrap() {
        let image = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
        let mut g = ocelli::GraphBuilder::new();
        let (x, _) = tiny_face::preprocess(&mut g, &image.layout).unwrap();
        let y = tiny_face::network(&mut g, &weights, x).unwrap();
        let y = g.op(ocelli::Op::Transpose { perm: vec![0, 2, 3, 1] }, &[y]).unwrap();
        let graph = g.build(&[y]).unwrap();
        let want_raw = floats(&want["raw"]);
        let inputs = image.segments();
        for (backend, out) in [("gpu", run(&gpu(), &graph, &inputs)), ("cpu", run(&CpuBackend, &graph, &inputs))] {
            let got = out[0].as_f32().unwrap();
            assert_eq!(got.len(), want_raw.len());
            let worst = got.iter().zip(&want_raw).map(|(g, w)| (g - w).abs() / w.abs().max(1.0)).fold(0f32, f32::max);
            assert!(worst <= 1e-4, "{name} on {backend}: raw grid off by {worst} (relative)");
        }
        for (key, score) in [("detections", 0.5), ("low_threshold", 0.02)] {
            let want_faces = if key == "detections" { &want[key] } else { &want[key]["detections"] };
            let want_faces = want_faces.as_array().unwrap();
            let t = Thresholds { score, iou: tiny_face::THRESHOLDS.iou };
            let gpu_faces =
                Detector::new(Model::TinyFace, weights.clone(), gpu()).with_thresholds(t).detect(&image).unwrap();
            let cpu_faces =
                Detector::new(Model::TinyFace, weights.clone(), CpuBackend).with_thresholds(t).detect(&image).unwrap();
            for (backend, faces) in [("gpu", gpu_faces), ("cpu", cpu_faces)] {
                assert_eq!(faces.len(), want_faces.len(), "{name} at {score} on {backend}: {faces:?}");
                for (got, want) in faces.iter().zip(want_faces) {
                    let wb: [f32; 4] = floats(&want["box"]).try_into().unwrap();
                    assert!(iou(got.bbox, wb) >= 0.95, "{name} on {backend}: {:?} against {wb:?}", got.bbox);
                    assert!((got.score - want["score"].as_f64().unwrap() as f32).abs() <= 0.01, "{name}: {got:?}");
                }
            }
        }
    }
}

/// The network's per-level class scores and distance logits within 2e-4 of TF.js's (measured:
/// 6.6e-5 on the GPU, 1.3e-5 on the CPU),
/// and the objects NanoDet's post-processing finds: the same classes in the same order, IoU
/// >= 0.95, |Δscore| <= 0.01, on both backends.
#[test]
fn nanodet_matches_tfjs_on_both_backends() {
    use ocelli::detect::{nanodet, Detector, Model};
    let golden = golden("nanodet");
    let raw = Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/detect/nanodet_raw.safetensors"))).unwrap();
    let weights = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/nanodet.safetensors"))).unwrap();
    for (name, want) in golden["images"].as_object().unwrap() {
        let image = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
        let mut g = ocelli::GraphBuilder::new();
        let x = nanodet::preprocess(&mut g, &image.layout).unwrap();
        let levels = nanodet::network(&mut g, &weights, x).unwrap();
        let outs: Vec<_> = levels.iter().flat_map(|&(s, d)| [s, d]).collect();
        let graph = g.build(&outs).unwrap();
        let inputs = image.segments();
        for (backend, out) in [("gpu", run(&gpu(), &graph, &inputs)), ("cpu", run(&CpuBackend, &graph, &inputs))] {
            for (k, stride) in nanodet::STRIDES.iter().enumerate() {
                for (j, what) in ["scores", "distributions"].iter().enumerate() {
                    let key = format!("{}.stride{stride}.{what}", name.trim_end_matches(".png"));
                    let w = raw.get(&key, out[2 * k + j].shape().dims()).unwrap();
                    let worst = out[2 * k + j]
                        .as_f32()
                        .unwrap()
                        .iter()
                        .zip(w.as_f32().unwrap())
                        .map(|(a, b)| (a - b).abs())
                        .fold(0f32, f32::max);
                    assert!(worst < 2e-4, "{key} on {backend}: max |Δ| {worst}");
                }
            }
        }
        let want_objects = want["detections"].as_array().unwrap();
        for (backend, found) in [
            ("gpu", Detector::new(Model::NanoDet, weights.clone(), gpu()).detect(&image).unwrap()),
            ("cpu", Detector::new(Model::NanoDet, weights.clone(), CpuBackend).detect(&image).unwrap()),
        ] {
            let names: Vec<&str> = found.iter().map(|d| d.label.as_str()).collect();
            assert_eq!(found.len(), want_objects.len(), "{name} on {backend}: {names:?}");
            for (got, want) in found.iter().zip(want_objects) {
                assert_eq!(got.class as u64, want["class"].as_u64().unwrap(), "{name} on {backend}: {names:?}");
                assert_eq!(got.label, want["name"].as_str().unwrap());
                let wb: [f32; 4] = floats(&want["box"]).try_into().unwrap();
                assert!(iou(got.bbox, wb) >= 0.95, "{name} on {backend}: {:?} against {wb:?}", got.bbox);
                assert!((got.score - want["score"].as_f64().unwrap() as f32).abs() <= 0.01, "{name}: {got:?}");
            }
        }
    }
}

/// COCO mAP@[.5:.95] of each detector on the GPU, scored against its original runtime's own
/// detections on the shipped photos as the ground truth (agreement, not accuracy).
#[test]
fn detectors_agree_with_their_original_runtimes_in_coco_map() {
    use ocelli::detect::{coco_map, Detector, GroundTruth, Model, Prediction};
    let models = [
        (Model::BlazeFace, "blazeface"),
        (Model::TinyFace, "tiny_face"),
        (Model::NanoDet, "nanodet"),
        (Model::Mtcnn, "mtcnn"),
    ];
    for (model, file) in models {
        let golden = golden(file);
        let mut detector = Detector::shipped(model, gpu()).unwrap();
        let (mut predictions, mut truths) = (Vec::new(), Vec::new());
        for (image, (name, want)) in golden["images"].as_object().unwrap().iter().enumerate() {
            let img = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
            for d in detector.detect(&img).unwrap() {
                predictions.push(Prediction { image, class: d.class, score: d.score, bbox: d.bbox });
            }
            let key = if model == Model::Mtcnn { "faces" } else { "detections" };
            for w in want[key].as_array().unwrap() {
                let class = w.get("class").and_then(Value::as_u64).unwrap_or(0) as usize;
                truths.push(GroundTruth { image, class, bbox: floats(&w["box"]).try_into().unwrap() });
            }
        }
        let map = coco_map(&predictions, &truths);
        eprintln!("{file}: COCO mAP@[.5:.95] {map:.4} against the original runtime ({} boxes)", truths.len());
        assert!(map >= 0.99, "{file}: COCO mAP {map} against the original runtime");
    }
}

/// The image of `name` as a graph value `[1, 3, H, W]` in 0..255, as MTCNN's cascade reads it.
fn mtcnn_image(g: &mut ocelli::GraphBuilder, image: &ocelli::vision::PackedImage) -> ocelli::ValueId {
    let l = &image.layout;
    let x = ocelli::vision::resize_pixels(g, l, l.height, l.width, ocelli::UpsampleMode::Nearest).unwrap();
    let x = ocelli::vision::ops::to_rgb(g, x, l.channels).unwrap();
    let full = g.constant(Tensor::from_f32([1], vec![255.0]).unwrap()).unwrap();
    g.op(ocelli::Op::Binary(ocelli::BinaryOp::Mul), &[x, full]).unwrap()
}

/// `(v − 127.5) / 128`.
fn mtcnn_normalise(g: &mut ocelli::GraphBuilder, x: ocelli::ValueId) -> ocelli::ValueId {
    let mean = g.constant(Tensor::from_f32([1], vec![127.5]).unwrap()).unwrap();
    let scale = g.constant(Tensor::from_f32([1], vec![0.0078125]).unwrap()).unwrap();
    let x = g.op(ocelli::Op::Binary(ocelli::BinaryOp::Sub), &[x, mean]).unwrap();
    g.op(ocelli::Op::Binary(ocelli::BinaryOp::Mul), &[x, scale]).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

/// MTCNN's parts against the independent numpy implementation of facenet-pytorch (float64
/// networks; itself within 2.5e-6 of facenet-pytorch on torch): the pyramid's scales and
/// sizes; P-Net's probabilities and regressions at the first scale (within 1e-4); the first
/// three crops of each later stage, cropped and area-resized on the device (checksums within
/// 1e-2 over 1728 or 6912 values, the first crop within 1e-5 per value); R-Net's and O-Net's raw
/// outputs on the golden's own first crop (within 1e-4), on both backends.
#[test]
fn mtcnn_networks_and_crops_match_the_numpy_reference() {
    use ocelli::detect::mtcnn;
    let golden = golden("mtcnn");
    let weights = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/mtcnn.safetensors"))).unwrap();
    for (name, want) in golden["images"].as_object().unwrap() {
        let image = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
        let pyramid = mtcnn::pyramid(image.layout.height, image.layout.width);
        let scales: Vec<f64> = want["scales"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(pyramid.iter().map(|p| p.0).collect::<Vec<_>>(), scales, "{name}");
        let sizes: Vec<[usize; 2]> = pyramid.iter().map(|p| [p.1, p.2]).collect();
        let want_sizes: Vec<[usize; 2]> = serde_json::from_value(want["pyramid_hw"].clone()).unwrap();
        assert_eq!(sizes, want_sizes, "{name}");

        // P-Net at the first scale, and the crops of both later stages, in one graph.
        let mut g = ocelli::GraphBuilder::new();
        let full = mtcnn_image(&mut g, &image);
        let (_, hs, ws) = pyramid[0];
        let level =
            g.op(ocelli::Op::Upsample { mode: ocelli::UpsampleMode::Area, out_h: hs, out_w: ws }, &[full]).unwrap();
        let level = mtcnn_normalise(&mut g, level);
        let (prob, reg) = mtcnn::pnet(&mut g, &weights, level).unwrap();
        let mut outputs = vec![prob, reg];
        let mut crops = Vec::new();
        for (stage, side) in [("rnet_first_crops", 24), ("onet_first_crops", 48)] {
            let list = want[stage].as_array().unwrap();
            if list.is_empty() {
                continue;
            }
            let rects: Vec<f32> = list.iter().flat_map(|c| floats(&c["crop_0based"])).collect();
            let rects = g.constant(Tensor::from_f32([list.len(), 4], rects).unwrap()).unwrap();
            let batch = g.constant(Tensor::from_i32([list.len()], vec![0; list.len()]).unwrap()).unwrap();
            let x = g.op(ocelli::Op::CropResize { out_h: side, out_w: side }, &[full, rects, batch]).unwrap();
            outputs.push(mtcnn_normalise(&mut g, x));
            crops.push((stage, side, list));
        }
        let graph = g.build(&outputs).unwrap();
        let inputs = image.segments();
        let pnet_want = &want["pnet_first_scale"];
        for (backend, out) in [("gpu", run(&gpu(), &graph, &inputs)), ("cpu", run(&CpuBackend, &graph, &inputs))] {
            let dp = max_diff(out[0].as_f32().unwrap(), &floats(&pnet_want["prob"]));
            let dr = max_diff(out[1].as_f32().unwrap(), &floats(&pnet_want["reg"]));
            eprintln!("{name} P-Net on {backend}: max |Δ| prob {dp:.1e}, reg {dr:.1e}");
            assert!(dp <= 1e-4 && dr <= 1e-4, "{name} P-Net on {backend}: max |Δ| prob {dp}, reg {dr}");
            for (k, (stage, side, list)) in crops.iter().enumerate() {
                let got = out[2 + k].as_f32().unwrap();
                let per = 3 * side * side;
                for (c, crop) in list.iter().enumerate() {
                    let v = &got[c * per..(c + 1) * per];
                    let sum: f64 = v.iter().map(|&x| f64::from(x)).sum();
                    let abs: f64 = v.iter().map(|&x| f64::from(x).abs()).sum();
                    let want_sum = crop["input_checksum"]["sum"].as_f64().unwrap();
                    let want_abs = crop["input_checksum"]["abs_sum"].as_f64().unwrap();
                    assert!(
                        (sum - want_sum).abs() <= 1e-2 && (abs - want_abs).abs() <= 1e-2,
                        "{name} {stage} crop {c} on {backend}: sums {sum} {abs}, want {want_sum} {want_abs}"
                    );
                    if let Some(full_input) = crop.get("input") {
                        let d = max_diff(v, &floats(full_input));
                        assert!(d <= 1e-5, "{name} {stage} crop {c} on {backend}: max |Δ| {d}");
                    }
                }
            }
        }

        // R-Net and O-Net on the golden's own first crop.
        for (stage, side) in [("rnet_first_crops", 24usize), ("onet_first_crops", 48)] {
            let Some(crop) = want[stage].as_array().unwrap().first() else { continue };
            let mut g = ocelli::GraphBuilder::new();
            let x = g.input("crop", [1, 3, side, side], ocelli::DType::F32).unwrap();
            let outs = if side == 24 {
                let (p, r) = mtcnn::rnet(&mut g, &weights, x, 1).unwrap();
                vec![p, r]
            } else {
                mtcnn::onet(&mut g, &weights, x, 1).unwrap().to_vec()
            };
            let graph = g.build(&outs).unwrap();
            let input = [Tensor::from_f32([1, 3, side, side], floats(&crop["input"])).unwrap()];
            for (backend, out) in [("gpu", run(&gpu(), &graph, &input)), ("cpu", run(&CpuBackend, &graph, &input))] {
                let prob = floats(&crop["prob"]);
                let mut d = max_diff(out[0].as_f32().unwrap(), &prob[1..]);
                d = d.max(max_diff(out[1].as_f32().unwrap(), &floats(&crop["reg"])));
                if side == 48 {
                    d = d.max(max_diff(out[2].as_f32().unwrap(), &floats(&crop["landmarks"])));
                }
                eprintln!("{name} {stage} network on {backend}: max |Δ| {d:.1e}");
                assert!(d <= 1e-4, "{name} {stage} network on {backend}: max |Δ| {d}");
            }
        }
    }
}

/// The whole cascade on the device, against facenet-pytorch's pipeline (the numpy reference):
/// how many proposals stage 1 and stage 2 pass on, and the faces: same count, IoU >= 0.95,
/// |Δscore| <= 0.01, landmarks within 1 pixel, on both backends.
#[test]
fn mtcnn_matches_facenet_pytorch_on_both_backends() {
    use ocelli::detect::{mtcnn, Detector, Model};
    let golden = golden("mtcnn");
    let weights = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/mtcnn.safetensors"))).unwrap();
    for (name, want) in golden["images"].as_object().unwrap() {
        let image = ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap();
        let graph = mtcnn::graph(&weights, &image.layout, mtcnn::THRESHOLDS).unwrap();
        let inputs = image.segments();
        let counts = &want["counts"];
        for (backend, out) in [("gpu", run(&gpu(), &graph, &inputs)), ("cpu", run(&CpuBackend, &graph, &inputs))] {
            let count = |t: &Tensor| t.as_f32().unwrap().iter().sum::<f32>() as u64;
            assert_eq!(count(&out[1]), counts["stage1_after_nms_0.7"].as_u64().unwrap(), "{name} on {backend}");
            assert_eq!(count(&out[2]), counts["rnet_after_nms_0.7"].as_u64().unwrap(), "{name} on {backend}");
        }
        let want_faces = want["faces"].as_array().unwrap();
        for (backend, faces) in [
            ("gpu", Detector::new(Model::Mtcnn, weights.clone(), gpu()).detect(&image).unwrap()),
            ("cpu", Detector::new(Model::Mtcnn, weights.clone(), CpuBackend).detect(&image).unwrap()),
        ] {
            assert_eq!(faces.len(), want_faces.len(), "{name} on {backend}: {faces:?}");
            for (got, want) in faces.iter().zip(want_faces) {
                let wb: [f32; 4] = floats(&want["box"]).try_into().unwrap();
                eprintln!("{name} on {backend}: {got:?}, IoU {:.4} with the golden", iou(got.bbox, wb));
                assert!(iou(got.bbox, wb) >= 0.95, "{name} on {backend}: {:?} against {wb:?}", got.bbox);
                assert!((got.score - want["prob"].as_f64().unwrap() as f32).abs() <= 0.01, "{name}: {got:?}");
                let marks = floats(&want["landmarks"]);
                for (k, p) in got.keypoints.iter().enumerate() {
                    let d = (p[0] - marks[2 * k]).abs().max((p[1] - marks[2 * k + 1]).abs());
                    assert!(d <= 1.0, "{name} on {backend}: landmark {k} {p:?} against {:?}", &marks[2 * k..2 * k + 2]);
                }
            }
        }
    }
}
