//! Images and raw frames: decoding, encoding, PGM and headerless raw, and their errors.

use std::path::PathBuf;

use ocelli::vision::{load_image, mosaic, read_raw, save_image, RawFrame, VisionError};
use ocelli::{BayerPattern, Demosaic, DemosaicMethod, GraphError, Tensor};

fn asset(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images")).join(name)
}

#[test]
fn png_decodes_to_nchw_and_round_trips_through_8_and_16_bits() {
    let dir = tempfile::tempdir().unwrap();
    let img = load_image(&asset("chelsea.png")).unwrap();
    assert_eq!(img.tensor.shape().dims(), &[1, 3, 300, 451]);
    assert_eq!(img.bits, 8);
    for (ext, sixteen) in [("png", false), ("png", true), ("bmp", false), ("tiff", true), ("ppm", false)] {
        let path = dir.path().join(format!("round.{ext}"));
        save_image(&img.tensor, &path, sixteen).unwrap();
        let back = load_image(&path).unwrap();
        let worst = img
            .tensor
            .to_f64_vec()
            .iter()
            .zip(back.tensor.to_f64_vec())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-6, "{ext} sixteen={sixteen}: lossless formats give the pixels back (worst {worst})");
    }
    let jpg = dir.path().join("lossy.jpg");
    save_image(&img.tensor, &jpg, false).unwrap();
    assert_eq!(load_image(&jpg).unwrap().tensor.shape(), img.tensor.shape());
}

#[test]
fn pgm_frames_round_trip_at_8_and_16_bits() {
    let dir = tempfile::tempdir().unwrap();
    let img = load_image(&asset("coffee.png")).unwrap().tensor;
    for bits in [8, 16] {
        let frame = mosaic(&img, BayerPattern::Grbg, bits).unwrap();
        let path = dir.path().join(format!("frame{bits}.pgm"));
        frame.write_pgm(&path).unwrap();
        assert_eq!(RawFrame::read_pgm(&path).unwrap(), frame);
    }
}

#[test]
fn headerless_raw_of_the_wrong_size_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.raw");
    std::fs::write(&path, vec![0u8; 100]).unwrap();
    let err = read_raw(&path, 8, 8, 16).unwrap_err();
    assert!(matches!(err, VisionError::RawSize { expected: 128, got: 100, .. }), "{err}");
    assert!(err.to_string().contains("needs 128 bytes"), "{err}");
    std::fs::write(&path, vec![7u8; 128]).unwrap();
    let frame = read_raw(&path, 8, 8, 16).unwrap();
    assert_eq!(frame.samples[0], 0x0707);
    assert!(matches!(read_raw(&path, 8, 8, 12), Err(VisionError::Unsupported(_))));
}

#[test]
fn unsupported_files_and_shapes_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-an-image.png");
    std::fs::write(&path, b"hello").unwrap();
    assert!(matches!(load_image(&path), Err(VisionError::Image { .. })));
    assert!(matches!(load_image(&dir.path().join("missing.png")), Err(VisionError::Io { .. })));
    assert!(matches!(RawFrame::read_pgm(&path), Err(VisionError::Unsupported(_))));
    let flat = Tensor::from_f32([4], vec![0.0; 4]).unwrap();
    assert!(matches!(save_image(&flat, &dir.path().join("x.png"), false), Err(VisionError::Unsupported(_))));
}

#[test]
fn a_bayer_pattern_that_does_not_fit_the_frame_is_rejected() {
    let frame = RawFrame { width: 7, height: 4, bits: 8, white: 255, samples: vec![0; 28] };
    let err = ocelli::vision::demosaic_graph(&frame, Demosaic::new(4, 7, 8, BayerPattern::Rggb, DemosaicMethod::Mhc))
        .unwrap_err();
    assert!(matches!(err, VisionError::Graph(GraphError::InvalidParam { op: "demosaic", .. })), "{err}");
    assert!(err.to_string().contains("2x2 Bayer cells"), "{err}");
    let bad_levels = Demosaic {
        black: 300.0,
        white: 200.0,
        ..Demosaic::new(4, 4, 16, BayerPattern::Rggb, DemosaicMethod::Bilinear)
    };
    let ok_frame = RawFrame { width: 4, height: 4, bits: 16, white: 65535, samples: vec![0; 16] };
    assert!(ocelli::vision::demosaic_graph(&ok_frame, bad_levels).is_err());
    assert!(BayerPattern::from_name("RGGB").is_some() && BayerPattern::from_name("rgbg").is_none());
}

#[test]
fn channels_last_and_back() {
    let t = Tensor::from_f32([1, 3, 2, 2], (0..12).map(|v| v as f32).collect()).unwrap();
    let nhwc = ocelli::vision::permute_channels(&t, false).unwrap();
    assert_eq!(nhwc.shape().dims(), &[1, 2, 2, 3]);
    // Pixel (0, 0) holds channels 0, 4, 8.
    assert_eq!(&nhwc.as_f32().unwrap()[..3], &[0.0, 4.0, 8.0]);
    assert_eq!(ocelli::vision::permute_channels(&nhwc, true).unwrap(), t);
}

#[test]
fn gray_and_rgba_images_round_trip_at_8_and_16_bits() {
    let dir = tempfile::tempdir().unwrap();
    for channels in [1usize, 4] {
        let t =
            Tensor::from_f32([1, channels, 3, 5], (0..channels * 15).map(|i| (i % 7) as f32 / 6.0).collect()).unwrap();
        for (ext, sixteen) in [("png", false), ("png", true), ("tiff", false)] {
            let path = dir.path().join(format!("c{channels}-{sixteen}.{ext}"));
            save_image(&t, &path, sixteen).unwrap();
            let back = load_image(&path).unwrap();
            assert_eq!(back.tensor.shape(), t.shape(), "{channels} channels as {ext}");
            assert_eq!(back.bits, if sixteen { 16 } else { 8 });
            let worst =
                t.to_f64_vec().iter().zip(back.tensor.to_f64_vec()).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(worst < 0.5 / 255.0 + 1e-6, "{channels} channels {ext} sixteen={sixteen}: {worst}");
        }
    }
}

/// Headers that end early or declare sizes that overflow, and maxval as the white level.
#[test]
fn pgm_headers_that_end_early_overflow_or_declare_maxval_0_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let cases: [(&str, &[u8], &str); 5] = [
        ("ends.pgm", b"P5\n64 48\n255", "no samples follow the header"),
        ("short.pgm", b"P5\n64 48", "header ends"),
        ("wraps.pgm", b"P5\n4611686018427387906 4\n255\n\0\0\0\0\0\0\0\0", "too large"),
        ("zero.pgm", b"P5\n4 4\n0\n", "maxval 0"),
        ("text.pgm", b"P5\nfour 4\n255\n", "bad header"),
    ];
    for (name, bytes, want) in cases {
        let err = RawFrame::read_pgm(&write(name, bytes)).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(want), "{name}: {err}");
    }
    let raw = write("frame.raw", &[0; 8]);
    let err = read_raw(&raw, 4_611_686_018_427_387_906, 4, 8).unwrap_err().to_string();
    assert!(err.contains("too large"), "{err}");
    // A 12-bit sensor's frame stored in 16 bits: white is 4095, not 65535.
    let mut twelve = b"P5\n4 4\n4095\n".to_vec();
    twelve.extend((0..16u16).flat_map(|i| (i * 273).to_be_bytes()));
    let frame = RawFrame::read_pgm(&write("twelve.pgm", &twelve)).unwrap();
    assert_eq!((frame.bits, frame.white, frame.samples[15]), (16, 4095, 4095));
    let back = dir.path().join("back.pgm");
    frame.write_pgm(&back).unwrap();
    assert_eq!(RawFrame::read_pgm(&back).unwrap(), frame);
}

/// A missing file is named once, with the OS's reason once.
#[test]
fn a_missing_file_is_named_once() {
    let err = load_image(std::path::Path::new("/no/such/image.png")).unwrap_err();
    let chain: Vec<String> =
        std::iter::successors(Some(&err as &dyn std::error::Error), |e| e.source()).map(|e| e.to_string()).collect();
    assert_eq!(chain.len(), 1, "{chain:?}");
    assert_eq!(chain[0].matches("No such file").count(), 1, "{chain:?}");
}

#[test]
fn odd_bit_depths_and_empty_letterboxes_are_errors() {
    let frame = RawFrame { width: 4, height: 4, bits: 12, white: 4095, samples: vec![0; 16] };
    assert!(matches!(frame.packed(), Err(VisionError::Unsupported(_))));
    let zero = RawFrame { bits: 0, ..frame };
    assert!(zero.packed().is_err());
    let mut g = ocelli::GraphBuilder::new();
    let x = g.input("x", [1, 3, 8, 8], ocelli::DType::F32).unwrap();
    let err = ocelli::vision::ops::letterbox(&mut g, x, 0, 0.5).unwrap_err();
    assert!(err.to_string().contains("size 0"), "{err}");
}

/// A JPEG cut short decodes to grey in the image crate; here it is an error, and a whole one
/// still loads.
#[test]
fn a_truncated_jpeg_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.jpg");
    let img = load_image(&asset("coffee.png")).unwrap();
    save_image(&img.tensor, &whole, false).unwrap();
    assert!(load_image(&whole).is_ok());
    let bytes = std::fs::read(&whole).unwrap();
    let cut = dir.path().join("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() * 14 / 100]).unwrap();
    let err = load_image(&cut).unwrap_err();
    assert!(matches!(err, VisionError::Image { .. }) && err.to_string().contains("truncated JPEG"), "{err}");
    assert!(ocelli::vision::load_packed(&cut).is_err());
}

/// A 100-byte PNG that claims 70 000 × 70 000 pixels is refused from its header, before
/// anything is inflated.
#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = !0u32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend(kind);
        out.extend(data);
        let body: Vec<u8> = kind.iter().chain(data).copied().collect();
        out.extend(crc32(&body).to_be_bytes());
        out
    };
    let zlib = |raw: &[u8]| {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(raw).unwrap();
        z.finish().unwrap()
    };
    let png = |side: u32, idat: &[u8]| {
        let mut ihdr = side.to_be_bytes().to_vec();
        ihdr.extend(side.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &ihdr));
        png.extend(chunk(b"IDAT", idat));
        png.extend(chunk(b"IEND", &[]));
        png
    };
    let dir = tempfile::tempdir().unwrap();
    // The same construction at 1 × 1 (filter byte and one RGB pixel) is a valid PNG.
    let one = dir.path().join("one.png");
    std::fs::write(&one, png(1, &zlib(&[0, 10, 20, 30]))).unwrap();
    assert_eq!(load_image(&one).unwrap().tensor.shape().dims(), [1, 3, 1, 1]);
    // A zlib stream of a few zero bytes: what a bomb's IDAT would start with.
    let path = dir.path().join("bomb.png");
    std::fs::write(&path, png(70_000, &zlib(&[0; 64]))).unwrap();
    let start = std::time::Instant::now();
    let err = load_image(&path).unwrap_err();
    assert!(matches!(err, VisionError::Image { .. }) && err.to_string().contains("limit"), "{err}");
    assert!(ocelli::vision::load_packed(&path).is_err());
    assert!(start.elapsed().as_secs() < 5, "refused from the header, not after inflating");
}
