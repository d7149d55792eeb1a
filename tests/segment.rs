//! Segmentation models against goldens of their original runtimes (assets/golden/segment/), on
//! the GPU and on the CPU reference.

mod common;

use common::{gpu, ASSETS};
use ocelli::nn::Weights;
use ocelli::segment::{Background, Model, Segmenter};
use ocelli::{Backend, CpuBackend, GraphBuilder};
use serde_json::Value;

fn image(name: &str) -> ocelli::vision::PackedImage {
    ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/images/{name}"))).unwrap()
}

/// Intersection over union of the pixels above 0.5 in `a` and `b`.
fn mask_iou(a: &[f32], b: &[f32]) -> f64 {
    let (mut inter, mut union) = (0usize, 0usize);
    for (&p, &q) in a.iter().zip(b) {
        inter += usize::from(p > 0.5 && q > 0.5);
        union += usize::from(p > 0.5 || q > 0.5);
    }
    inter as f64 / union.max(1) as f64
}

/// MediaPipe's selfie segmentation on three photos with both models, against two goldens of
/// convert_selfie.py: MediaPipe's own Python solution (XNNPACK), and a float64 numpy pass on
/// the input that the exact scale gives (MediaPipe's OpenCV warp uses an inverse matrix that can
/// be 1 ulp off the exact scale, which moves some of its 1/32-pixel ties: for chelsea at
/// 256×256 that changes 2495 input values by up to 2/255 and the mask by up to 0.073; elsewhere
/// the two inputs are identical). Checks: the preprocessed input sums to the exact-scale one;
/// the mask at the image's size is within 1e-3 of the exact-scale pass everywhere, has IoU >=
/// 0.98 with MediaPipe's and the same coverage within 0.001; the coverage is counted on the device.
#[test]
fn selfie_masks_match_mediapipe_on_both_backends() {
    let golden = common::golden("segment", "selfie");
    let masks =
        Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/segment/selfie_masks.safetensors"))).unwrap();
    let gpu = gpu();
    for (name, want) in golden["images"].as_object().unwrap() {
        let img = image(name);
        let (hh, ww) = (img.layout.height, img.layout.width);
        for model in [Model::Selfie, Model::SelfieLandscape] {
            let w: &Value = &want[model.name()];
            let exact = &w["exact_scale_input"];
            let what = format!("{name} {}", model.name());
            let (h, wd) = model.input_size(hh, ww);
            let mut g = GraphBuilder::new();
            let x = ocelli::segment::selfie::preprocess(&mut g, &img.layout, h, wd).unwrap();
            let input = CpuBackend.run(&g.build(&[x]).unwrap(), &img.segments()).unwrap();
            let sum: f64 = input[0].as_f32().unwrap().iter().map(|&v| f64::from(v)).sum();
            let want_sum = exact["input_sum"].as_f64().unwrap();
            assert!((sum - want_sum).abs() < 0.01, "{what}: input sum {sum} vs {want_sum}");

            let tensor = |key: &str| masks.get(key, &[hh, ww]).unwrap().as_f32().unwrap().to_vec();
            let mediapipe = tensor(w["mask"]["key"].as_str().unwrap());
            let numpy = tensor(exact["mask_key"].as_str().unwrap());
            let want_cov = w["coverage"].as_f64().unwrap();
            for backend in ["cpu", "gpu"] {
                let s = match backend {
                    "cpu" => Segmenter::shipped(model, CpuBackend).unwrap().segment(&img).unwrap(),
                    _ => Segmenter::shipped(model, gpu.clone()).unwrap().segment(&img).unwrap(),
                };
                let diff = s.mask.probs.iter().zip(&numpy).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
                let iou = mask_iou(&s.mask.probs, &mediapipe);
                let cov = f64::from(s.mask.coverage);
                let host_cov = s.mask.binary().iter().map(|&b| f64::from(b)).sum::<f64>() / (hh * ww) as f64;
                println!("{what} {backend}: max |Δ| {diff:.2e} to the exact-scale pass, IoU {iou:.5} and coverage {cov:.6} vs MediaPipe's {want_cov}");
                assert!(diff <= 1e-3, "{what} on {backend}: max |Δprob| {diff}");
                assert!(iou >= 0.98, "{what} on {backend}: IoU {iou}");
                assert!((cov - want_cov).abs() <= 1e-3, "{what} on {backend}: coverage {cov} vs {want_cov}");
                assert!((cov - host_cov).abs() < 1e-6, "{what} on {backend}: device coverage {cov} vs {host_cov}");
            }
        }
    }
}

/// Cut-outs composite on the device: transparent gives the image with the mask as alpha; a
/// flat colour gives `colour + mask · (image − colour)`; a blur lies between the two; the CPU
/// reference and the GPU agree.
#[test]
fn cutouts_composite_the_image_by_its_mask() {
    let img = image("coffee.png");
    let (h, w) = (img.layout.height, img.layout.width);
    let gpu = gpu();
    let mut cpu = Segmenter::shipped(Model::Selfie, CpuBackend).unwrap();
    let mut on_gpu = Segmenter::shipped(Model::Selfie, gpu).unwrap();
    let mask = cpu.segment(&img).unwrap().mask.probs;
    let pixels = ocelli::vision::Canvas::from_image(&img).rgb;
    let rgb = |c: usize, p: usize| f32::from(pixels[p * 3 + c]) / 255.0;
    let transparent = cpu.cutout(&img, Background::Transparent).unwrap();
    assert_eq!(transparent.shape().dims(), [1, 4, h, w]);
    let t = transparent.as_f32().unwrap();
    let colour = [0.0, 1.0, 0.25];
    let flat = cpu.cutout(&img, Background::Color(colour)).unwrap();
    let f = flat.as_f32().unwrap();
    let mut worst = 0f32;
    for p in 0..h * w {
        worst = worst.max((t[3 * h * w + p] - mask[p]).abs());
        for c in 0..3 {
            worst = worst.max((t[c * h * w + p] - rgb(c, p)).abs());
            let want = colour[c] + mask[p] * (rgb(c, p) - colour[c]);
            worst = worst.max((f[c * h * w + p] - want).abs());
        }
    }
    assert!(worst < 1e-5, "cut-out composites off by {worst}");
    for background in [Background::Transparent, Background::Color(colour), Background::Blur(4.0)] {
        let a = cpu.cutout(&img, background).unwrap();
        let b = on_gpu.cutout(&img, background).unwrap();
        let d = a.as_f32().unwrap().iter().zip(b.as_f32().unwrap()).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
        assert!(d < 1e-3, "{background:?}: GPU vs CPU max |Δ| {d}");
    }
}

/// Bad input gets a typed error: a threshold outside [0, 1], weights of another model.
#[test]
fn bad_thresholds_and_weights_are_errors() {
    let err = Segmenter::shipped(Model::Selfie, CpuBackend).unwrap().with_threshold(1.5).err().unwrap();
    assert!(err.to_string().contains("threshold 1.5"), "{err}");
    let wrong = Weights::load(std::path::Path::new(&format!("{ASSETS}/models/blazeface.safetensors"))).unwrap();
    let err = Segmenter::new(Model::Selfie, wrong, CpuBackend).segment(&image("coffee.png")).err().unwrap();
    assert!(err.to_string().contains("stem"), "{err}");
}

/// PP-OCRv4's text detector on the exact input rapidocr fed onnxruntime for page.png (its
/// 736×1472 resize, stored by convert_ppocr.py): the probability map within 1e-3 of
/// onnxruntime's everywhere, on both backends.
#[test]
fn ppocr_det_map_matches_onnxruntime_on_both_backends() {
    let raw = Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/ocr/ppocr_raw.safetensors"))).unwrap();
    let (h, w) = (736, 1472);
    let resized = raw.get("det.resized", &[h, w]).unwrap();
    let want = raw.get("det.prob", &[1, 1, h, w]).unwrap();
    let grey: Vec<f32> = resized.as_f32().unwrap().iter().map(|&v| (v / 255.0 - 0.5) / 0.5).collect();
    let input = ocelli::Tensor::from_f32([1, 3, h, w], grey.repeat(3)).unwrap();
    for (backend, got) in network_on_both("ppocr_det", &input, ocelli::segment::ppocr_det::network) {
        let diff = max_abs_diff(&got, want.as_f32().unwrap());
        println!("ppocr_det on {backend}: max |Δ| {diff:.2e}");
        assert!(diff <= 1e-3, "ppocr_det on {backend}: max |Δprob| {diff}");
    }
}

/// The outputs of network `build` (shipped weights `model`) on `input`, on the GPU and on the
/// CPU reference.
fn network_on_both(
    model: &str,
    input: &ocelli::Tensor,
    build: impl Fn(&mut GraphBuilder, &Weights, ocelli::ValueId) -> Result<ocelli::ValueId, ocelli::nn::NnError>,
) -> Vec<(&'static str, Vec<f32>)> {
    let weights = Weights::shipped(model).unwrap();
    let mut g = GraphBuilder::new();
    let x = g.input("x", input.shape().clone(), ocelli::DType::F32).unwrap();
    let y = build(&mut g, &weights, x).unwrap();
    let graph = g.build(&[y]).unwrap();
    let inputs = std::slice::from_ref(input);
    let gpu = gpu().run(&graph, inputs).unwrap();
    let cpu = CpuBackend.run(&graph, inputs).unwrap();
    vec![("gpu", gpu[0].as_f32().unwrap().to_vec()), ("cpu", cpu[0].as_f32().unwrap().to_vec())]
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max)
}

/// Intersection over union of two convex quadrilaterals, by sampling a 1/4-pixel grid.
fn quad_iou(a: &[[f32; 2]], b: &[[f32; 2]]) -> f64 {
    let inside = |q: &[[f32; 2]], x: f32, y: f32| {
        let s: Vec<f32> = (0..4)
            .map(|i| {
                let ([x0, y0], [x1, y1]) = (q[i], q[(i + 1) % 4]);
                (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
            })
            .collect();
        s.iter().all(|&v| v >= 0.0) || s.iter().all(|&v| v <= 0.0)
    };
    let all: Vec<&[f32; 2]> = a.iter().chain(b).collect();
    let (x0, x1) = all.iter().fold((f32::MAX, f32::MIN), |(l, h), p| (l.min(p[0]), h.max(p[0])));
    let (y0, y1) = all.iter().fold((f32::MAX, f32::MIN), |(l, h), p| (l.min(p[1]), h.max(p[1])));
    let (mut inter, mut union) = (0usize, 0usize);
    let mut y = y0;
    while y <= y1 {
        let mut x = x0;
        while x <= x1 {
            let (ia, ib) = (inside(a, x, y), inside(b, x, y));
            inter += usize::from(ia && ib);
            union += usize::from(ia || ib);
            x += 0.25;
        }
        y += 0.25;
    }
    inter as f64 / union.max(1) as f64
}

/// PP-OCRv4's text boxes through the whole pipeline (Ocelli's resize, the network, threshold,
/// dilation and connected components on the device, the box geometry on the host) against
/// rapidocr's own: the same boxes, each with IoU >= 0.9 and its score within 0.005.
#[test]
fn ppocr_det_boxes_match_rapidocr_on_both_backends() {
    let golden = common::golden("ocr", "ppocr");
    let gpu = gpu();
    for (name, want) in golden["images"].as_object().unwrap() {
        let img = golden_image(want);
        let boxes: Vec<(Vec<[f32; 2]>, f64)> = want["det"]["db_boxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| (polygon(&b["box"]), b["score"].as_f64().unwrap()))
            .collect();
        for backend in ["cpu", "gpu"] {
            let t = std::time::Instant::now();
            let s = match backend {
                "cpu" => Segmenter::shipped(Model::PpocrDet, CpuBackend).unwrap().segment(&img).unwrap(),
                _ => Segmenter::shipped(Model::PpocrDet, gpu.clone()).unwrap().segment(&img).unwrap(),
            };
            println!("{name} on {backend} ({:.1} s):", t.elapsed().as_secs_f64());
            for r in &s.regions {
                println!("  {:.4} {:?}", r.score, r.polygon);
            }
            for (q, score) in &boxes {
                println!("  want {score:.4} {q:?}");
            }
            assert_eq!(s.regions.len(), boxes.len(), "{name} on {backend}: box count");
            for (q, score) in &boxes {
                let best = s.regions.iter().map(|r| (quad_iou(&r.polygon, q), r.score)).fold((0.0, 0.0), |a, b| {
                    if b.0 > a.0 {
                        b
                    } else {
                        a
                    }
                });
                assert!(best.0 >= 0.9, "{name} on {backend}: rapidocr's box {q:?} (score {score}) best IoU {}", best.0);
                assert!(
                    (f64::from(best.1) - score).abs() <= 5e-3,
                    "{name} on {backend}: box score {} vs rapidocr's {score}",
                    best.1
                );
            }
        }
    }
}

/// rapidocr's box score on onnxruntime's own map of page.png, for each of its candidate
/// rectangles (map pixels): the same mean probability (the fill of the box matches
/// `cv2.fillPoly` pixel for pixel, so only summation order differs).
#[test]
fn ppocr_box_scores_match_rapidocr() {
    let golden = common::golden("ocr", "ppocr");
    let raw = Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/ocr/ppocr_raw.safetensors"))).unwrap();
    let (h, w) = (736, 1472);
    let map = raw.get("det.prob", &[1, 1, h, w]).unwrap();
    let candidates = golden["images"]["page.png"]["det"]["candidates"].as_array().unwrap();
    assert!(candidates.len() >= 5);
    for c in candidates {
        let r: Vec<[f64; 2]> =
            c["rect"].as_array().unwrap().iter().map(|p| [p[0].as_f64().unwrap(), p[1].as_f64().unwrap()]).collect();
        let got = ocelli::segment::text_boxes::box_score(map.as_f32().unwrap(), (h, w), &[r[0], r[1], r[2], r[3]]);
        let want = c["score"].as_f64().unwrap();
        assert!((f64::from(got) - want).abs() < 1e-5, "candidate {r:?}: score {got} vs rapidocr's {want}");
    }
}

/// PP-OCRv4's recogniser on the exact batch rapidocr fed onnxruntime for page.png's five lines
/// ([5, 3, 48, 1000], stored by convert_ppocr.py): the class probabilities within 1e-3 of
/// onnxruntime's, and CTC greedy decoding gives rapidocr's text and score for every line, on
/// both backends.
#[test]
fn ppocr_rec_reads_page_lines_like_onnxruntime_on_both_backends() {
    let golden = common::golden("ocr", "ppocr");
    let page = &golden["images"]["page.png"];
    let raw = Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/ocr/ppocr_raw.safetensors"))).unwrap();
    let raw_rec =
        Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/ocr/ppocr_raw_rec.safetensors"))).unwrap();
    let (n, wd, t) = (5, 1000, 125);
    let input = raw.get("rec.input", &[n, 3, 48, wd]).unwrap();
    let want = raw_rec.get("rec.output", &[n, t, ocelli::segment::ppocr_rec::CLASSES]).unwrap();
    let keys: Vec<String> =
        std::fs::read_to_string(format!("{ASSETS}/models/ppocr_keys.txt")).unwrap().lines().map(String::from).collect();
    assert_eq!(keys.len(), 6623);
    let order: Vec<usize> =
        page["rec_order"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    for (backend, got) in network_on_both("ppocr_rec", &input, ocelli::segment::ppocr_rec::network) {
        let diff = max_abs_diff(&got, want.as_f32().unwrap());
        println!("ppocr_rec on {backend}: max |Δ| {diff:.2e}");
        assert!(diff <= 1e-3, "ppocr_rec on {backend}: max |Δprob| {diff}");
        for (k, &line) in order.iter().enumerate() {
            let per = t * ocelli::segment::ppocr_rec::CLASSES;
            let (text, score) = ocelli::segment::ppocr_rec::ctc_decode(
                &got[k * per..(k + 1) * per],
                ocelli::segment::ppocr_rec::CLASSES,
                &keys,
            );
            let rec = &page["lines"][line]["rec"];
            println!("  {text:?} {score:.4}");
            assert_eq!(text, rec["text"].as_str().unwrap(), "line {line} on {backend}");
            assert!(
                (f64::from(score) - rec["score"].as_f64().unwrap()).abs() < 1e-4,
                "line {line} on {backend}: score {score}"
            );
        }
    }
}

/// PP-OCR's direction classifier on the exact batch rapidocr fed onnxruntime for page.png
/// ([5, 3, 48, 192]): probabilities within 1e-4 of onnxruntime's, on both backends.
#[test]
fn ppocr_cls_matches_onnxruntime_on_both_backends() {
    let raw = Weights::load(std::path::Path::new(&format!("{ASSETS}/golden/ocr/ppocr_raw.safetensors"))).unwrap();
    let input = raw.get("cls.input", &[5, 3, 48, 192]).unwrap();
    let want = raw.get("cls.output", &[5, 2]).unwrap();
    for (backend, got) in network_on_both("ppocr_cls", &input, ocelli::segment::ppocr_cls::network) {
        let diff = max_abs_diff(&got, want.as_f32().unwrap());
        println!("ppocr_cls on {backend}: max |Δ| {diff:.2e}");
        assert!(diff <= 1e-4, "ppocr_cls on {backend}: max |Δprob| {diff}");
    }
}

/// The whole reader on page.png (detector, crops on the device, direction classifier,
/// recogniser, CTC): rapidocr's five lines, the same text in the same order, each confidence
/// within 0.01 and each box with IoU >= 0.9; coffee.png: nothing read with confidence (rapidocr
/// drops its one box, read below 0.5), on both backends.
#[test]
fn ocr_reads_the_page_like_rapidocr_on_both_backends() {
    let golden = common::golden("ocr", "ppocr");
    let gpu = gpu();
    for (name, want) in golden["images"].as_object().unwrap() {
        let img = golden_image(want);
        let lines = want["result"].as_array().unwrap();
        for backend in ["gpu", "cpu"] {
            let t = std::time::Instant::now();
            let got = match backend {
                "cpu" => ocelli::segment::Ocr::shipped(CpuBackend).unwrap().read(&img).unwrap(),
                _ => ocelli::segment::Ocr::shipped(gpu.clone()).unwrap().read(&img).unwrap(),
            };
            println!("{name} on {backend} ({:.1} s):", t.elapsed().as_secs_f64());
            for l in &got {
                println!("  {:?} {:.4} {:?}", l.text, l.score, l.polygon);
            }
            let texts: Vec<&str> = got.iter().map(|l| l.text.as_str()).collect();
            let want_texts: Vec<&str> = lines.iter().map(|l| l[1].as_str().unwrap()).collect();
            assert_eq!(texts, want_texts, "{name} on {backend}");
            for (l, w) in got.iter().zip(lines) {
                let q = polygon(&w[0]);
                assert!(
                    quad_iou(&l.polygon, &q) >= 0.9,
                    "{name} on {backend}: {:?} box {:?} vs {q:?}",
                    l.text,
                    l.polygon
                );
                assert!(
                    (f64::from(l.score) - w[2].as_f64().unwrap()).abs() <= 0.01,
                    "{name} on {backend}: {:?} score {}",
                    l.text,
                    l.score
                );
            }
        }
    }
}

/// A 2304×40 strip (page.png's title tiled six times) is framed as rapidocr frames it — scaled
/// to 1984×32, padded with black rows to 496, detected at 736×2944 rather than 42 400 columns —
/// and each copy of the title is read.
#[test]
fn ocr_frames_a_long_strip_and_reads_every_copy() {
    let page = image_at("ocr/page.png");
    let l = page.layout;
    let (h, copies) = (40, 6);
    let mut samples = Vec::with_capacity(h * l.width * copies * l.channels);
    for y in 0..h {
        for _ in 0..copies {
            for e in (y * l.width * l.channels)..((y + 1) * l.width * l.channels) {
                samples.push(page.sample(e) as u16);
            }
        }
    }
    let layout = ocelli::vision::PixelLayout { height: h, width: l.width * copies, ..l };
    let strip = ocelli::vision::PackedImage::new(layout, &samples);
    let frame = ocelli::segment::ppocr_det::Frame::of(h, l.width * copies);
    assert_eq!((frame.height, frame.width), (736, 2944));
    let lines = ocelli::segment::Ocr::shipped(CpuBackend).unwrap().read(&strip).unwrap();
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts.len(), copies, "{texts:?}");
    assert!(texts.iter().all(|t| t.replace(' ', "") == "Region-basedsegmentation"), "{texts:?}");
}

/// The image a golden entry names by its repository path (`assets/...`).
fn golden_image(entry: &Value) -> ocelli::vision::PackedImage {
    image_at(entry["file"].as_str().unwrap().strip_prefix("assets/").unwrap())
}

/// A polygon `[[x, y], ...]` of a golden.
fn polygon(v: &Value) -> Vec<[f32; 2]> {
    v.as_array().unwrap().iter().map(|p| [p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32]).collect()
}

fn image_at(rel: &str) -> ocelli::vision::PackedImage {
    ocelli::vision::load_packed(std::path::Path::new(&format!("{ASSETS}/{rel}"))).unwrap()
}
