use ocelli::vision::{load_image, ops};
use ocelli::{Backend, CpuBackend, DType, GraphBuilder, Plan, Tensor, UpsampleMode, ValueId};

use crate::harness::{check, Tol, ACCUM, EXACT};

fn photo() -> Tensor {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/chelsea.png");
    load_image(std::path::Path::new(path)).unwrap().tensor
}

/// Runs `build` on a downscaled photo on every backend against the CPU reference.
fn on_photo(what: &str, tol: Tol, build: impl Fn(&mut GraphBuilder, ValueId) -> ValueId) {
    let img = photo();
    let mut g = GraphBuilder::new();
    let x = g.input("image", img.shape().clone(), DType::F32).unwrap();
    let small = ops::resize(&mut g, x, 75, 113, UpsampleMode::Area).unwrap();
    let y = build(&mut g, small);
    let graph = g.build(&[y]).unwrap();
    check(what, &graph, &[img], tol);
}

#[test]
fn preprocessing_ops_match_reference() {
    for mode in [UpsampleMode::Area, UpsampleMode::Nearest, UpsampleMode::Bilinear { align_corners: false }] {
        on_photo(&format!("resize {mode:?}"), ACCUM, |g, x| ops::resize(g, x, 33, 47, mode).unwrap());
    }
    on_photo("center crop", EXACT, |g, x| ops::center_crop(g, x, 41, 64).unwrap());
    on_photo("letterbox", ACCUM, |g, x| ops::letterbox(g, x, 96, 0.5).unwrap());
    on_photo("normalize", EXACT, |g, x| ops::normalize(g, x, &[0.485, 0.456, 0.406], &[0.229, 0.224, 0.225]).unwrap());
    on_photo("swap red/blue", EXACT, |g, x| ops::swap_red_blue(g, x).unwrap());
    on_photo("gray", ACCUM, |g, x| ops::to_gray(g, x).unwrap());
}

#[test]
fn filters_and_colour_ops_match_reference() {
    on_photo("rgb to hsv", Tol { rel: 1e-5, abs: 1e-6 }, |g, x| ops::rgb_to_hsv(g, x).unwrap());
    on_photo("hsv round trip", Tol { rel: 1e-5, abs: 1e-6 }, |g, x| {
        let hsv = ops::rgb_to_hsv(g, x).unwrap();
        ops::hsv_to_rgb(g, hsv).unwrap()
    });
    on_photo("gaussian blur", ACCUM, |g, x| ops::gaussian_blur(g, x, 1.5).unwrap());
    on_photo("unsharp mask", ACCUM, |g, x| ops::unsharp_mask(g, x, 1.0, 0.8).unwrap());
    on_photo("sobel", ACCUM, |g, x| ops::sobel(g, x).unwrap());
    // Histogram ops are discontinuous at bin edges, so they get the photo's exact 8-bit values
    // rather than a resize whose last bits differ between backends.
    let img = photo();
    for (name, op) in [
        ("equalize", ocelli::HistogramOp::Equalize),
        ("contrast stretch", ocelli::HistogramOp::Stretch { low: 2.0, high: 98.0 }),
    ] {
        let mut g = GraphBuilder::new();
        let x = g.input("image", img.shape().clone(), DType::F32).unwrap();
        let y = g.op(ocelli::Op::Histogram(op), &[x]).unwrap();
        check(name, &g.build(&[y]).unwrap(), std::slice::from_ref(&img), EXACT);
    }
}

fn cpu(build: impl Fn(&mut GraphBuilder, ValueId) -> ValueId, input: Tensor) -> Vec<f64> {
    let mut g = GraphBuilder::new();
    let x = g.input("x", input.shape().clone(), DType::F32).unwrap();
    let y = build(&mut g, x);
    CpuBackend.run(&g.build(&[y]).unwrap(), &[input]).unwrap()[0].to_f64_vec()
}

#[test]
fn the_ops_do_what_their_names_say() {
    // Pure red is 0.299 grey; HSV of pure green is (1/3, 1, 1) and comes back.
    let red = Tensor::from_f32([1, 3, 1, 1], vec![1.0, 0.0, 0.0]).unwrap();
    assert!((cpu(|g, x| ops::to_gray(g, x).unwrap(), red)[0] - 0.299).abs() < 1e-6);
    let green = Tensor::from_f32([1, 3, 1, 1], vec![0.0, 1.0, 0.0]).unwrap();
    let hsv = cpu(|g, x| ops::rgb_to_hsv(g, x).unwrap(), green);
    assert!((hsv[0] - 1.0 / 3.0).abs() < 1e-6 && hsv[1] == 1.0 && hsv[2] == 1.0, "{hsv:?}");
    // Blurring a constant changes nothing; a horizontal ramp has a constant x-gradient, no y.
    let flat = Tensor::from_f32([1, 1, 8, 8], vec![0.25; 64]).unwrap();
    assert!(cpu(|g, x| ops::gaussian_blur(g, x, 1.0).unwrap(), flat).iter().all(|v| (v - 0.25).abs() < 1e-6));
    let ramp = Tensor::from_f32([1, 1, 6, 6], (0..36).map(|i| (i % 6) as f32 * 0.1).collect()).unwrap();
    let grad = cpu(|g, x| ops::sobel(g, x).unwrap(), ramp);
    // Interior columns: 8 · 0.1 (Sobel's weights sum to 4 per side, 2 columns apart).
    assert!((grad[6 + 2] - 0.8).abs() < 1e-5 && grad[36 + 14].abs() < 1e-6, "{grad:?}");
    // Letterbox keeps the aspect ratio and fills the rest.
    let wide = Tensor::from_f32([1, 1, 2, 4], vec![1.0; 8]).unwrap();
    let boxed = cpu(|g, x| ops::letterbox(g, x, 8, 0.0).unwrap(), wide);
    assert_eq!(boxed.len(), 64);
    assert_eq!(boxed.iter().filter(|&&v| v == 1.0).count(), 32, "the 8x4 image sits in rows 2..6");
    // Equalisation spreads a two-level image to 0 and 1; the stretch maps percentiles to the ends.
    let two = Tensor::from_f32([1, 1, 2, 2], vec![0.4, 0.4, 0.6, 0.6]).unwrap();
    assert_eq!(cpu(|g, x| ops::equalize_histogram(g, x).unwrap(), two.clone()), vec![0.0, 0.0, 1.0, 1.0]);
    // Percentiles resolve to bin edges (1/256), so the lowest value lands within a bin of 0.
    let stretched = cpu(|g, x| ops::contrast_stretch(g, x, 0.0, 100.0).unwrap(), two);
    assert!(stretched[0] < 1.0 / 64.0 && stretched[3] == 1.0, "{stretched:?}");
}

/// Packed 8- and 16-bit samples (grey, RGB, RGBA) unpacked and resized on the device, from one
/// segment and from up to four (segments forced small here), against the CPU reference.
#[test]
fn resize_pixels_from_packed_segments_matches_reference() {
    use ocelli::vision::{PackedImage, PixelLayout};
    use ocelli::{Op, ResizePixels};
    use rand::Rng;
    let mut r = crate::harness::rng(71);
    let modes = [
        UpsampleMode::Nearest,
        UpsampleMode::Bilinear { align_corners: false },
        UpsampleMode::Bilinear { align_corners: true },
        UpsampleMode::BilinearAsymmetric,
        UpsampleMode::BilinearFixedPoint,
    ];
    for (h, w, channels, bits, out) in [
        (7, 5, 3, 8, (4, 3)),
        (9, 6, 4, 16, (13, 7)),
        (13, 11, 1, 8, (5, 9)),
        (64, 48, 3, 8, (31, 17)),
        (5, 7, 3, 8, (12, 16)),
        (300, 451, 3, 8, (256, 256)),
    ] {
        let layout = PixelLayout { height: h, width: w, channels, bits, segment_bytes: ocelli::vision::SEGMENT_BYTES };
        let max = (1u32 << bits) - 1;
        let samples: Vec<u16> = (0..h * w * channels).map(|_| r.random_range(0..=max) as u16).collect();
        let img = PackedImage::new(layout, &samples);
        for mode in modes.into_iter().filter(|&m| bits == 8 || m != UpsampleMode::BilinearFixedPoint) {
            let whole = layout.resize_op(out.0, out.1, mode);
            let words = whole.words().unwrap();
            for segment_words in [whole.segment_words, words.div_ceil(4), words.div_ceil(3)] {
                let op = ResizePixels { segment_words, ..whole };
                let inputs: Vec<Tensor> = img
                    .words
                    .chunks(segment_words)
                    .map(|c| Tensor::new([c.len()], ocelli::TensorData::U32(c.to_vec())).unwrap())
                    .collect();
                let mut g = GraphBuilder::new();
                let xs: Vec<ValueId> = inputs
                    .iter()
                    .enumerate()
                    .map(|(k, t)| g.input(&format!("s{k}"), t.shape().clone(), DType::U32).unwrap())
                    .collect();
                let y = g.op(Op::ResizePixels(op), &xs).unwrap();
                let graph = g.build(&[y]).unwrap();
                let what = format!("resize_pixels {w}x{h}x{channels} {bits}-bit {mode:?} in {} segments", xs.len());
                check(&what, &graph, &inputs, ACCUM);
            }
        }
    }
}

/// OpenCV's fixed-point bilinear on known values: 1/32-pixel source positions, rounding of the
/// integer sum, zero outside the image; 16-bit samples and f32 resizing refuse the mode.
#[test]
fn fixed_point_resize_rounds_like_opencv() {
    use ocelli::vision::{PackedImage, PixelLayout};
    use ocelli::{Op, ResizePixels};
    let layout =
        PixelLayout { height: 1, width: 2, channels: 1, bits: 8, segment_bytes: ocelli::vision::SEGMENT_BYTES };
    let img = PackedImage::new(layout, &[0, 255]);
    let op: ResizePixels = layout.resize_op(1, 4, UpsampleMode::BilinearFixedPoint);
    let mut g = GraphBuilder::new();
    let x = g.input("s0", [img.words.len()], DType::U32).unwrap();
    let y = g.op(Op::ResizePixels(op), &[x]).unwrap();
    let graph = g.build(&[y]).unwrap();
    let input = Tensor::new([img.words.len()], ocelli::TensorData::U32(img.words.clone())).unwrap();
    // src = o / 2: 0, half way (255 · 16/32 rounds to 128), 255, half way to the zero border.
    let want = [0.0, 128.0 / 255.0, 1.0, 128.0 / 255.0];
    let cpu = CpuBackend.compile(&graph).unwrap().run(std::slice::from_ref(&input)).unwrap();
    assert_eq!(cpu[0].as_f32().unwrap(), want);
    for gpu in crate::harness::gpus() {
        let got = gpu.compile(&graph).unwrap().run(std::slice::from_ref(&input)).unwrap();
        assert_eq!(got[0].as_f32().unwrap(), want);
    }

    let wide = PixelLayout { bits: 16, ..layout };
    let mut g = GraphBuilder::new();
    let x = g.input("s0", [1], DType::U32).unwrap();
    let err = g.op(Op::ResizePixels(wide.resize_op(1, 4, UpsampleMode::BilinearFixedPoint)), &[x]).unwrap_err();
    assert!(err.to_string().contains("8 only"), "{err}");
    let mut g = GraphBuilder::new();
    let x = g.input("x", [1, 1, 2, 2], DType::F32).unwrap();
    let err = g.op(Op::Upsample { mode: UpsampleMode::BilinearFixedPoint, out_h: 3, out_w: 3 }, &[x]).unwrap_err();
    assert!(err.to_string().contains("8-bit pixels"), "{err}");
}
