//! The `ocelli` binary end to end.

use std::process::Command;

fn ocelli(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ocelli")).args(args).output().expect("ocelli runs");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn info_names_the_adapter_backend_features_and_limits() {
    let (ok, out, err) = ocelli(&["info"]);
    assert!(ok, "{err}");
    for field in ["adapter", "backend", "device type", "driver", "shader-f16", "max storage binding"] {
        assert!(out.contains(field), "missing {field}:\n{out}");
    }
}

#[test]
fn bench_json_reports_op_backend_ms_and_gflops() {
    for (args, op) in [
        (vec!["bench", "gemm", "--m", "33", "--n", "17", "--k", "9", "--runs", "2", "--json"], "gemm"),
        (
            vec![
                "bench",
                "conv2d",
                "--c",
                "3",
                "--h",
                "9",
                "--w",
                "7",
                "--k",
                "5",
                "--runs",
                "1",
                "--json",
                "--backend",
                "cpu",
            ],
            "conv2d",
        ),
    ] {
        let (ok, out, err) = ocelli(&args);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).expect("one JSON object");
        assert_eq!(v["op"], op);
        assert!(v["ms"].as_f64().unwrap() > 0.0);
        assert!(v["gflops"].as_f64().unwrap() > 0.0);
        assert!(v["backend"] == "gpu" || v["backend"] == "cpu");
    }
}

#[test]
fn a_bad_flag_fails_with_usage_not_a_panic() {
    let (ok, _, err) = ocelli(&["bench", "gemm", "--m", "zero"]);
    assert!(!ok);
    assert!(err.contains("invalid value"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn profile_prints_a_row_per_node_and_the_memory_figures() {
    let (ok, out, err) = ocelli(&["profile", "--graph", "cnn", "--runs", "1"]);
    assert!(ok, "{err}");
    assert!(out.contains("fused(conv2d+residual+relu)"), "{out}");
    assert!(out.contains("planned vs"), "{out}");
    assert!(out.contains("GFLOP/s"), "{out}");
}

#[test]
fn mosaic_then_demosaic_round_trips_a_photo() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/chelsea.png");
    let raw = dir.join("chelsea.pgm");
    let (ok, _, err) = ocelli(&["mosaic", photo, "--pattern", "grbg", "--bits", "16", "-o", raw.to_str().unwrap()]);
    assert!(ok, "{err}");
    for method in ["bilinear", "mhc"] {
        let out = dir.join(format!("chelsea-{method}.png"));
        let (ok, stdout, err) = ocelli(&[
            "demosaic",
            raw.to_str().unwrap(),
            "--pattern",
            "grbg",
            "--method",
            method,
            "-o",
            out.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        assert!(stdout.contains("450x300 16-bit grbg"), "{stdout}");
        assert!(out.exists());
    }
}

#[test]
fn demosaic_errors_are_one_line_with_exit_code_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let raw = dir.join("short.raw");
    std::fs::write(&raw, vec![0u8; 10]).unwrap();
    let out = dir.join("x.png");
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_ocelli")).args(args).output().unwrap();
    let o = run(&["demosaic", raw.to_str().unwrap(), "--width", "4", "--height", "4", "-o", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("needs 32 bytes, the file has 10"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let o = run(&[
        "demosaic",
        raw.to_str().unwrap(),
        "--pattern",
        "rgbg",
        "--width",
        "2",
        "--height",
        "5",
        "--bits",
        "8",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown Bayer pattern 'rgbg'"), "{err}");
}

#[test]
fn classify_prints_json_with_the_top_classes() {
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/coffee.png");
    let (ok, out, err) = ocelli(&["classify", photo, "--top", "3", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["model"], "mobilenet_v2");
    assert_eq!(v["top"].as_array().unwrap().len(), 3);
    assert_eq!(v["top"][0]["label"], "espresso");
    assert!(v["top"][0]["score"].as_f64().unwrap() > 0.9);
}

#[test]
fn detect_finds_the_astronaut_face_and_draws_it() {
    let tmp = tempfile::tempdir().unwrap();
    let images = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images");
    let (astronaut, chelsea) = (format!("{images}/astronaut.png"), format!("{images}/chelsea.png"));
    let out = tmp.path().join("faces");
    for backend in ["gpu", "cpu"] {
        let args = ["detect", &astronaut, &chelsea, "--json", "--backend", backend, "--out-dir", out.to_str().unwrap()];
        let (ok, stdout, err) = ocelli(&args);
        assert!(ok, "{err}");
        let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2, "{stdout}");
        assert_eq!(lines[0]["model"], "blazeface");
        let faces = lines[0]["detections"].as_array().unwrap();
        assert_eq!(faces.len(), 1, "{stdout}");
        assert_eq!(faces[0]["label"], "face");
        let bbox: Vec<f64> = faces[0]["bbox"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let want = [179.08, 81.36, 271.65, 173.93];
        assert!(bbox.iter().zip(want).all(|(g, w)| (g - w).abs() < 0.5), "{backend}: {bbox:?}");
        assert_eq!(faces[0]["keypoints"].as_array().unwrap().len(), 6);
        assert!(lines[1]["detections"].as_array().unwrap().is_empty(), "no face on the cat: {stdout}");
    }
    let drawn = image::open(out.join("astronaut.png")).unwrap().to_rgb8();
    assert_eq!(drawn.dimensions(), (512, 512));
    // The box's top edge is drawn in the overlay's green.
    assert_eq!(drawn.get_pixel(225, 81).0, [0, 230, 64]);
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_ocelli")).args(args).output().unwrap();
    for (args, want) in [
        (vec!["detect", &astronaut, "--model", "yolo9000"], "unknown model 'yolo9000'"),
        (vec!["detect", &astronaut, &chelsea, "-o", "x.png"], "use --out-dir"),
        (vec!["detect", &astronaut, "--score", "2"], "in [0, 1]"),
        (vec!["detect", "/no/such/face.png"], "/no/such/face.png"),
    ] {
        let o = run(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
}

#[test]
fn classify_errors_exit_2_with_one_line() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_ocelli")).args(args).output().unwrap();
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/coffee.png");
    let o = run(&["classify", photo, "--model", "resnet9000"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("unknown model 'resnet9000'"), "{err}");
    let o = run(&["classify", "/no/such/image.png"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/no/such/image.png") && err.trim().lines().count() == 1, "{err}");
}

#[test]
fn embed_writes_one_1280_wide_row_per_image() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let out = dir.join("emb.safetensors");
    let a = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/coffee.png");
    let b = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/chelsea.png");
    let (ok, _, err) = ocelli(&["embed", a, b, "--model", "efficientnet_lite0", "-o", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let bytes = std::fs::read(&out).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor("embeddings").unwrap();
    assert_eq!(t.shape(), &[2, 1280]);
    let v: Vec<f32> = t.data().chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    assert!(v.iter().all(|x| x.is_finite() && *x >= 0.0 && *x <= 6.0), "ReLU6 features");
    assert!(v[..1280] != v[1280..], "different images, different embeddings");
}

#[test]
fn eval_mnist_reports_accuracy_and_throughput() {
    let (ok, out, err) =
        ocelli(&["eval", "mnist", "--model", "mnist_linear", "--limit", "777", "--batch", "500", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["images"], 777);
    assert!(v["accuracy"].as_f64().unwrap() > 0.88);
    assert!(v["images_per_s"].as_f64().unwrap() > 0.0);
    let (ok, _, err) = ocelli(&["eval", "cifar"]);
    assert!(!ok && err.contains("unknown dataset 'cifar'"), "{err}");
}

#[test]
fn eval_mnist_knn_with_both_distances() {
    for metric in ["l2", "l1"] {
        let (ok, out, err) =
            ocelli(&["eval", "mnist", "--model", "mnist_knn", "--metric", metric, "--limit", "20", "--json"]);
        assert!(ok, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["images"], 20);
        assert!(v["accuracy"].as_f64().unwrap() >= 0.9, "{metric}: {v}");
    }
    let (ok, _, err) = ocelli(&["eval", "mnist", "--model", "mnist_knn", "--metric", "cosine"]);
    assert!(!ok && err.contains("unknown distance 'cosine'"), "{err}");
}

#[test]
fn classify_reads_handwritten_digits_with_every_mnist_model() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/digits");
    let mut images: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path().display().to_string()).collect();
    images.sort();
    assert_eq!(images.len(), 11, "ten MNIST digits and one on paper");
    for model in ["mnist_cnn", "mnist_linear", "mnist_knn"] {
        let mut args = vec!["classify", "--model", model, "--top", "2", "--json"];
        args.extend(images.iter().map(String::as_str));
        let (ok, out, err) = ocelli(&args);
        assert!(ok, "{model}: {err}");
        let mut right = 0;
        for line in out.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let path = v["image"].as_str().unwrap();
            let want = path.trim_end_matches(".png").rsplit("digit").next().unwrap();
            let top = &v["top"][0];
            assert_eq!(top["label"].as_str().unwrap(), top["index"].to_string(), "{line}");
            assert!(top["score"].as_f64().unwrap() >= v["top"][1]["score"].as_f64().unwrap(), "{line}");
            right += usize::from(top["label"] == want);
        }
        assert_eq!(out.lines().count(), 11, "{model}: {out}");
        // The CNN reads all eleven; the weaker rungs may miss one.
        let need = if model == "mnist_cnn" { 11 } else { 10 };
        assert!(right >= need, "{model}: {right} of 11 right:\n{out}");
    }
}

#[test]
fn classify_runs_knn_on_more_digits_than_one_distance_matrix_holds() {
    // 1130 queries × 30 000 training images of distances would exceed a 128 MiB binding.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/digits");
    let mut digits: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| !p.contains("paper"))
        .collect();
    digits.sort();
    assert_eq!(digits.len(), 10);
    let mut args = vec!["classify", "--model", "mnist_knn", "--top", "1", "--json"];
    args.extend((0..113).flat_map(|_| digits.iter().map(String::as_str)));
    let (ok, out, err) = ocelli(&args);
    assert!(ok, "{err}");
    let labels: Vec<String> = out
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap()["top"][0]["label"].to_string())
        .collect();
    assert_eq!(labels.len(), 1130);
    // Every copy of a digit gets the label of its first copy, across batches.
    for (i, label) in labels.iter().enumerate() {
        assert_eq!(label, &labels[i % 10], "image {i}");
    }
}

#[test]
fn demosaic_runs_the_readme_example_larger_than_one_binding() {
    // 4000×3000 as f32 RGB is 144 MB, past a 128 MiB binding: the frame runs in bands.
    let tmp = tempfile::tempdir().unwrap();
    let (raw, out) = (tmp.path().join("frame.raw"), tmp.path().join("out.png"));
    let samples: Vec<u8> = (0..4000u32 * 3000).flat_map(|i| (i.wrapping_mul(7919) as u16).to_le_bytes()).collect();
    std::fs::write(&raw, samples).unwrap();
    let (raw, out_s) = (raw.display().to_string(), out.display().to_string());
    let args =
        ["demosaic", &raw, "--width", "4000", "--height", "3000", "--bits", "16", "--pattern", "bggr", "-o", &out_s];
    let (ok, stdout, err) = ocelli(&args);
    assert!(ok, "{err}");
    assert!(stdout.contains("4000x3000 16-bit bggr"), "{stdout}");
    // The PNG header: width and height, big-endian, at bytes 16..24.
    let png = std::fs::read(&out).unwrap();
    assert_eq!(png[16..24], [0, 0, 0x0f, 0xa0, 0, 0, 0x0b, 0xb8]);
}

#[test]
fn classify_reads_a_digit_photographed_at_12_megapixels() {
    // The paper digit blown up to 4000×3000: 144 MB as f32, past a 128 MiB binding.
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/digits");
    let small = image::open(format!("{dir}/paper_test3_digit0.png")).unwrap().to_rgb8();
    let tmp = tempfile::tempdir().unwrap();
    let big = tmp.path().join("digit0_12mp.png");
    image::imageops::resize(&small, 4000, 3000, image::imageops::FilterType::Nearest).save(&big).unwrap();
    let big = big.display().to_string();
    for backend in ["gpu", "cpu"] {
        let (ok, out, err) =
            ocelli(&["classify", "--model", "mnist_cnn", "--top", "1", "--json", "--backend", backend, &big]);
        assert!(ok, "{backend}: {err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(v["top"][0]["label"], "0", "{backend}: {out}");
    }
}

/// The bad inputs of the CLI that used to panic or answer wrongly: each exits 2 with one line
/// naming the problem (issue 17's table, the part that is done).
#[test]
fn bad_cli_input_exits_2_with_one_line_naming_the_problem() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let path = |name: &str| dir.join(name).display().to_string();
    let tiny = path("tiny.png");
    image::RgbImage::new(1, 1).save(&tiny).unwrap();
    let row = path("row.png");
    image::RgbImage::new(9, 1).save(&row).unwrap();
    let pgm = path("ends.pgm");
    std::fs::write(&pgm, b"P5\n64 48\n255").unwrap();
    let wraps = path("wraps.pgm");
    std::fs::write(&wraps, b"P5\n4611686018427387906 4\n255\n\0\0\0\0\0\0\0\0").unwrap();
    let frame = path("frame.raw");
    std::fs::write(&frame, [0u8; 8]).unwrap();
    let out = path("out.png");
    // 143 bytes of PNG whose ImageNet resize (short side 256) is 15.7 GB of f32.
    let wide = path("wide.png");
    image::RgbImage::new(20_000, 1).save(&wide).unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["eval", "mnist", "--limit", "0"], "--limit"),
        (vec!["bench", "gemm", "--runs", "0"], "--runs"),
        (vec!["mosaic", &tiny, "-o", &out], "too small for a Bayer mosaic"),
        (vec!["mosaic", &row, "-o", &out], "too small for a Bayer mosaic"),
        (vec!["demosaic", &pgm, "-o", &out], "no samples follow the header"),
        (vec!["demosaic", &wraps, "-o", &out], "too large"),
        (vec!["demosaic", &wraps, "-o", &out, "--backend", "cpu"], "too large"),
        (
            vec!["demosaic", &frame, "--width", "4611686018427387906", "--height", "4", "--bits", "8", "-o", &out],
            "too large",
        ),
        (vec!["classify", "/no/such/image.png"], "/no/such/image.png: No such file"),
        (vec!["classify", &wide, "--backend", "cpu"], "more than the CPU reference's"),
        (vec!["classify", &wide], "max_storage_buffer_binding_size"),
        (vec!["bench", "gemm", "--m", "1000000", "--n", "1000000", "--k", "1000000"], "choose smaller sizes"),
        (vec!["bench", "conv2d", "--h", "100000", "--w", "100000"], "choose smaller sizes"),
        (vec!["bench", "model", "--batch", "100000"], "choose smaller sizes"),
        (vec!["bench", "nms", "--max-per-class", "18446744073709551615", "--backend", "cpu"], "too large"),
    ];
    for (args, want) in cases {
        let o = Command::new(env!("CARGO_BIN_EXE_ocelli")).args(&args).env_remove("XDG_RUNTIME_DIR").output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        // Usage errors (a flag's range) come with clap's usage lines; the others are one line.
        if !want.starts_with("--") {
            assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
            assert_eq!(err.matches("No such file").count(), usize::from(want.contains("No such file")), "{err}");
        }
    }
}

/// Files that decoded to a wrong answer with exit 0 (a truncated JPEG, a 12-bit PGM taken as
/// 16-bit, an odd-sized mosaic cropped in silence) and the fuzzers' decoder findings.
#[test]
fn damaged_or_unusual_files_are_errors_or_say_what_changed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).display().to_string();
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_ocelli")).args(args).env_remove("XDG_RUNTIME_DIR").output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let assets = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");
    let found = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz/regressions/image");
    let whole = path("whole.jpg");
    image::open(format!("{assets}/images/coffee.png")).unwrap().to_rgb8().save(&whole).unwrap();
    let bytes = std::fs::read(&whole).unwrap();
    let cut = path("cut.jpg");
    std::fs::write(&cut, &bytes[..bytes.len() * 14 / 100]).unwrap();
    let zero = path("zero.pgm");
    std::fs::write(&zero, b"P5\n4 4\n0\n").unwrap();
    let out = path("out.png");
    let (claims, empty) = (format!("{found}/claims_35228x6891.jpg"), format!("{found}/decodes_to_84x0.ppm"));
    let cases: [(&[&str], &str); 4] = [
        (&["classify", &cut], "truncated JPEG"),
        (&["classify", &claims], "limit"),
        (&["classify", &empty], "an empty 0x84 image"),
        (&["demosaic", &zero, "-o", &out], "maxval 0"),
    ];
    for (args, want) in cases {
        let (code, err) = run(args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(want) && err.trim().lines().count() == 1, "{args:?}: {err}");
    }
    assert_eq!(run(&["classify", &whole]).0, Some(0));
    // A 12-bit sensor's white frame in a 16-bit PGM (maxval 4095) demosaics to white.
    let twelve = path("twelve.pgm");
    let mut pgm = b"P5\n8 8\n4095\n".to_vec();
    pgm.extend((0..64).flat_map(|_| 4095u16.to_be_bytes()));
    std::fs::write(&twelve, pgm).unwrap();
    let (code, err) = run(&["demosaic", &twelve, "-o", &out]);
    assert_eq!(code, Some(0), "{err}");
    let rgb = image::open(&out).unwrap().to_rgb8();
    assert!(rgb.pixels().all(|p| p.0 == [255, 255, 255]), "a white 12-bit frame is white");
    // Odd sides: the mosaic says which row and column it drops.
    let odd = path("odd.png");
    image::RgbImage::new(9, 7).save(&odd).unwrap();
    let (code, err) = run(&["mosaic", &odd, "-o", &path("odd.pgm")]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("9x7") && err.contains("drops the last row and column"), "{err}");
}

#[test]
fn demosaic_writes_the_pnm_its_extension_names() {
    let tmp = tempfile::tempdir().unwrap();
    let photo = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/images/chelsea.png");
    let raw = tmp.path().join("c.pgm").display().to_string();
    assert!(ocelli(&["mosaic", photo, "--bits", "8", "-o", &raw]).0);
    let ppm = tmp.path().join("c.ppm");
    let (ok, _, err) = ocelli(&["demosaic", &raw, "-o", &ppm.display().to_string()]);
    assert!(ok, "{err}");
    assert!(std::fs::read(&ppm).unwrap().starts_with(b"P6\n"), "a binary PPM");
    // A PGM holds grey: an RGB result there is an error naming the file, not a PAM.
    let pgm = tmp.path().join("c_rgb.pgm").display().to_string();
    let (ok, _, err) = ocelli(&["demosaic", &raw, "-o", &pgm]);
    assert!(!ok && err.contains("c_rgb.pgm") && err.contains("cannot hold a 3-channel image"), "{err}");
}

#[test]
fn demo_prints_clean_paths() {
    let (ok, out, err) = ocelli(&["demo"]);
    assert!(ok, "{err}");
    assert!(out.contains("images/coffee.png") && !out.contains("/../"), "{out}");
}

#[test]
fn a_short_class_list_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let shipped = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");
    std::os::unix::fs::symlink(format!("{shipped}/models"), tmp.path().join("models")).unwrap();
    let names: String = (0..999).map(|i| format!("class {i}\n")).collect();
    std::fs::write(tmp.path().join("imagenet_classes.txt"), names).unwrap();
    let photo = format!("{shipped}/images/coffee.png");
    let o = Command::new(env!("CARGO_BIN_EXE_ocelli"))
        .args(["classify", &photo])
        .env("OCELLI_ASSETS", tmp.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("imagenet_classes.txt") && err.contains("999 class names"), "{err}");
}
