//! MobileNetV2 and EfficientNet-Lite0 on the shipped photos: both backends against logits from
//! independent float64 numpy implementations (scripts/convert_*.py), same top-5.

use std::path::PathBuf;
use std::sync::Arc;

use ocelli::classify::{top_k, Model};
use ocelli::nn::{NnError, Weights};
use ocelli::vision::load_packed;
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, GpuOptions, Plan, Tensor};

fn assets() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets"))
}

fn golden(model: Model) -> serde_json::Value {
    let path = assets().join(format!("golden/classify/{}.json", model.name()));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn softmax(v: &[f64]) -> Vec<f64> {
    let m = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = v.iter().map(|x| (x - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| x / s).collect()
}

fn matches_the_numpy_reference_on_both_backends(model: Model) {
    let weights = Weights::load(&assets().join(format!("models/{}.safetensors", model.name()))).unwrap();
    let gold = golden(model);
    let gpu = GpuBackend::new(Arc::new(Gpu::new().expect("a GPU adapter (apt-get install mesa-vulkan-drivers)")));
    for name in ["astronaut.png", "chelsea.png", "coffee.png"] {
        let img = load_packed(&assets().join("images").join(name)).unwrap();
        let graph = model.image_graph(&weights, &img.layout).unwrap();
        let img = img.segments();
        let want: Vec<f64> = gold[name].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        let want_t = Tensor::from_f32([1, 1000], want.iter().map(|&v| v as f32).collect()).unwrap();
        let want_top: Vec<usize> = top_k(&want_t, 5).iter().map(|t| t.0).collect();
        let want_p = softmax(&want);
        let mut runs = vec![("cpu".to_string(), CpuBackend.run(&graph, &img).unwrap())];
        let mut plan = gpu.compile(&graph).unwrap();
        runs.push((gpu.name(), plan.run(&img).unwrap()));
        for (backend, out) in runs {
            let logits = out[0].to_f64_vec();
            let worst = logits.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let probs = out[1].to_f64_vec();
            let worst_p = probs.iter().zip(&want_p).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            let top: Vec<usize> = top_k(&out[1], 5).iter().map(|t| t.0).collect();
            eprintln!("{} {name} on {backend}:", model.name());
            eprintln!("   top-5 {top:?}, max |Δlogit| {worst:.2e}, max |Δprob| {worst_p:.2e}");
            assert_eq!(top, want_top, "{name} on {backend}: top-5");
            assert!(worst < 2e-4, "{name} on {backend}: logits differ by {worst}");
            assert!(worst_p < 1e-5, "{name} on {backend}: probabilities differ by {worst_p}");
        }
    }
}

#[test]
fn mobilenet_v2_matches_the_numpy_reference_on_both_backends() {
    matches_the_numpy_reference_on_both_backends(Model::MobileNetV2);
}

#[test]
fn efficientnet_lite0_matches_the_numpy_reference_on_both_backends() {
    matches_the_numpy_reference_on_both_backends(Model::EfficientNetLite0);
}

#[test]
fn missing_and_misshaped_weights_are_clear_errors() {
    let weights = Weights::load(&assets().join("models/mobilenet_v2.safetensors")).unwrap();
    assert_eq!(weights.len(), 262);
    let err = weights.get("features.0.0.weight", &[32, 3, 5, 5]).unwrap_err();
    assert!(matches!(err, NnError::Shape { .. }), "{err}");
    assert!(err.to_string().contains("has shape [32, 3, 3, 3], the model needs [32, 3, 5, 5]"), "{err}");
    let err = weights.get("features.99.weight", &[1]).unwrap_err();
    assert!(matches!(err, NnError::Missing { .. }) && err.to_string().contains("features.99.weight"), "{err}");
    let err = Weights::from_bytes("junk", b"not safetensors").unwrap_err();
    assert!(matches!(err, NnError::Format { .. }), "{err}");
    assert!(matches!(Weights::load(&assets().join("models/nope.safetensors")), Err(NnError::Io { .. })));
}

#[test]
fn mnist_linear_reaches_92_percent_and_both_backends_agree() {
    use ocelli::classify::mnist;
    let (images, labels) = mnist::load(&assets().join("mnist"), mnist::Split::Test).unwrap();
    assert_eq!(images.shape().dims(), &[10_000, 1, 28, 28]);
    let weights = Weights::load(&assets().join("models/mnist_linear.safetensors")).unwrap();
    let graph = mnist::linear_graph(&weights, 10_000).unwrap();
    let gpu = GpuBackend::new(Arc::new(Gpu::new().expect("a GPU adapter")));
    let out = gpu.run(&graph, std::slice::from_ref(&images)).unwrap();
    let pred: Vec<f64> = out[1].to_f64_vec();
    let correct = pred.iter().zip(&labels).filter(|(p, l)| **p as u8 == **l).count();
    let accuracy = correct as f64 / labels.len() as f64;
    eprintln!("mnist_linear accuracy on the GPU: {accuracy:.4}");
    assert!(accuracy >= 0.92, "accuracy {accuracy}");
    let cpu = CpuBackend.run(&graph, &[images]).unwrap();
    let agree = cpu[1].to_f64_vec().iter().zip(&pred).filter(|(a, b)| a == b).count();
    assert!(agree >= 9_995, "CPU and GPU predictions differ on {} images", 10_000 - agree);
}

#[test]
fn mnist_files_that_are_not_idx_are_clear_errors() {
    use ocelli::classify::mnist;
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(mnist::load(dir.path(), mnist::Split::Test), Err(mnist::MnistError::Io { .. })));
}

#[test]
fn mnist_knn_on_the_gpu_finds_the_reference_neighbours() {
    use ocelli::classify::mnist;
    let (train, train_labels) = mnist::load(&assets().join("mnist"), mnist::Split::Train).unwrap();
    let (test, test_labels) = mnist::load(&assets().join("mnist"), mnist::Split::Test).unwrap();
    let (k, batch) = (3, 8);
    let l1 = mnist::knn_graph(&train, batch, k, mnist::Metric::L1, mnist::KNN_CHUNK).unwrap();
    let graph = mnist::knn_graph(&train, batch, k, mnist::Metric::L2, mnist::KNN_CHUNK).unwrap();
    let queries = Tensor::from_f32([batch, 1, 28, 28], test.as_f32().unwrap()[..batch * 784].to_vec()).unwrap();
    let gpu = GpuBackend::new(Arc::new(Gpu::new().expect("a GPU adapter")));
    let on_gpu = mnist::knn_neighbours(&gpu.run(&graph, std::slice::from_ref(&queries)).unwrap(), k, mnist::KNN_CHUNK);
    let on_cpu = mnist::knn_neighbours(&CpuBackend.run(&graph, &[queries]).unwrap(), k, mnist::KNN_CHUNK);
    assert_eq!(on_gpu, on_cpu);
    // Independent check of the nearest neighbour by brute force.
    let px = train.as_f32().unwrap();
    let q0 = &test.as_f32().unwrap()[..784];
    let nearest = (0..60_000)
        .min_by(|&a, &b| {
            let d = |i: usize| px[i * 784..(i + 1) * 784].iter().zip(q0).map(|(x, y)| (x - y) * (x - y)).sum::<f32>();
            d(a).total_cmp(&d(b))
        })
        .unwrap();
    assert_eq!(on_gpu[0][0], nearest);
    let predicted: Vec<u8> = on_gpu.iter().map(|nb| mnist::vote(nb, &train_labels)).collect();
    let correct = predicted.iter().zip(&test_labels).filter(|(p, l)| p == l).count();
    assert!(correct >= 7, "{predicted:?} vs {:?}", &test_labels[..batch]);
    // L1: the GPU's neighbours are the reference's too.
    let queries = Tensor::from_f32([batch, 1, 28, 28], test.as_f32().unwrap()[..batch * 784].to_vec()).unwrap();
    let l1_gpu = mnist::knn_neighbours(&gpu.run(&l1, std::slice::from_ref(&queries)).unwrap(), k, mnist::KNN_CHUNK);
    let l1_cpu =
        mnist::knn_neighbours(&CpuBackend.run(&l1, std::slice::from_ref(&queries)).unwrap(), k, mnist::KNN_CHUNK);
    assert_eq!(l1_gpu, l1_cpu);
    // A device with 16 MiB bindings takes chunks of 5349 training images (12 of them) and
    // finds the same neighbours.
    let small = GpuOptions { max_binding_bytes: Some(16 << 20), ..GpuOptions::default() };
    let small = GpuBackend::new(Arc::new(Gpu::with_options(&small).unwrap()));
    let chunk = mnist::knn_chunk(small.max_binding_bytes());
    assert_eq!((chunk, mnist::knn_batch(small.max_binding_bytes(), chunk)), (5349, 250));
    let graph = mnist::knn_graph(&train, batch, k, mnist::Metric::L2, chunk).unwrap();
    let whole = mnist::knn_graph(&train, batch, k, mnist::Metric::L2, mnist::KNN_CHUNK).unwrap();
    assert!(small.compile(&whole).is_err(), "30 000 training images exceed a 16 MiB binding");
    let chunked = mnist::knn_neighbours(&small.run(&graph, &[queries]).unwrap(), k, chunk);
    assert_eq!(chunked, on_cpu);
}

#[test]
fn mnist_cnn_matches_jax_on_both_backends_and_reaches_99_percent() {
    use ocelli::classify::mnist;
    let (images, labels) = mnist::load(&assets().join("mnist"), mnist::Split::Test).unwrap();
    let weights = Weights::load(&assets().join("models/mnist_cnn.safetensors")).unwrap();
    let gold: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(assets().join("golden/classify/mnist_cnn.json")).unwrap())
            .unwrap();
    let want: Vec<Vec<f64>> = gold["logits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect())
        .collect();
    let n = want.len();
    let pixels = images.as_f32().unwrap();
    let head = Tensor::from_f32([n, 1, 28, 28], pixels[..n * 784].to_vec()).unwrap();
    let graph = mnist::cnn_graph(&weights, n).unwrap();
    let gpu = GpuBackend::new(Arc::new(Gpu::new().expect("a GPU adapter (apt-get install mesa-vulkan-drivers)")));
    let runs = [
        ("cpu".to_string(), CpuBackend.run(&graph, std::slice::from_ref(&head)).unwrap()),
        (gpu.name(), gpu.run(&graph, std::slice::from_ref(&head)).unwrap()),
    ];
    for (backend, out) in &runs {
        let logits = out[2].to_f64_vec();
        let (mut worst, mut at) = (0.0f64, 0);
        for (i, (a, b)) in logits.iter().zip(want.iter().flatten()).enumerate() {
            if (a - b).abs() > worst {
                (worst, at) = ((a - b).abs(), i);
            }
        }
        eprintln!(
            "mnist_cnn on {backend}: max |Δlogit| against JAX {worst:.2e} at image {}, class {}",
            at / 10,
            at % 10
        );
        assert!(worst < 1e-4, "{backend}: logits differ from JAX's by {worst} (image {}, class {})", at / 10, at % 10);
        let classes = out[1].to_f64_vec();
        for (i, row) in want.iter().enumerate() {
            let best = (0..10).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert_eq!(classes[i] as usize, best, "{backend}: image {i}");
        }
    }

    // The whole test set on the GPU, in batches that keep the im2col scratch under the binding limit.
    let batch = 250;
    let mut plan = gpu.compile(&mnist::cnn_graph(&weights, batch).unwrap()).unwrap();
    let mut correct = 0;
    for (chunk, truth) in pixels.chunks(batch * 784).zip(labels.chunks(batch)) {
        let out = plan.run(&[Tensor::from_f32([batch, 1, 28, 28], chunk.to_vec()).unwrap()]).unwrap();
        correct += out[1].to_f64_vec().iter().zip(truth).filter(|(p, l)| **p as u8 == **l).count();
    }
    let accuracy = correct as f64 / labels.len() as f64;
    eprintln!("mnist_cnn accuracy on the GPU: {accuracy:.4} (JAX measured {})", gold["test_accuracy"]);
    assert!(accuracy >= 0.99, "accuracy {accuracy}");
}

/// Photos larger than one storage binding as f32 (4000×3000: 144 MB; 8000×6000: 576 MB, and
/// 144 MB even as packed 8-bit samples, which then go up in three segments) classify on the GPU
/// with the CPU reference's top-5.
#[test]
fn twelve_and_forty_eight_megapixel_jpegs_classify_on_the_gpu_like_the_cpu_reference() {
    let photo = image::open(assets().join("images/coffee.png")).unwrap().to_rgb8();
    let tmp = tempfile::tempdir().unwrap();
    let weights = Weights::load(&assets().join("models/mobilenet_v2.safetensors")).unwrap();
    let gpu = GpuBackend::new(Arc::new(Gpu::new().expect("a GPU adapter (apt-get install mesa-vulkan-drivers)")));
    // A device opened with 16 MiB bindings, as a small GPU might have: 4000×3000 then goes up
    // in three segments.
    let small = GpuOptions { max_binding_bytes: Some(16 << 20), ..GpuOptions::default() };
    let small = GpuBackend::new(Arc::new(Gpu::with_options(&small).unwrap()));
    for (w, h) in [(4000, 3000), (8000, 6000)] {
        let path = tmp.path().join(format!("coffee_{w}x{h}.jpg"));
        image::imageops::resize(&photo, w, h, image::imageops::FilterType::Triangle).save(&path).unwrap();
        let mut img = load_packed(&path).unwrap();
        if w == 4000 {
            assert_eq!(small.max_binding_bytes(), Some(16 << 20));
            let mut fits = img.clone();
            fits.layout.segment_bytes = 16 << 20;
            let graph = Model::MobileNetV2.image_graph(&weights, &fits.layout).unwrap();
            assert_eq!(fits.segments().len(), 3);
            let want = top_k(&CpuBackend.run(&graph, &fits.segments()).unwrap()[1], 5);
            let got = top_k(&small.run(&graph, &fits.segments()).unwrap()[1], 5);
            let ids = |t: &[(usize, f32)]| t.iter().map(|p| p.0).collect::<Vec<_>>();
            assert_eq!(ids(&got), ids(&want), "{w}x{h} with 16 MiB bindings: top-5");
        }
        img.layout.segment_bytes = ocelli::vision::SEGMENT_BYTES;
        assert_eq!((img.layout.width, img.layout.height, img.layout.bits), (w as usize, h as usize, 8));
        let graph = Model::MobileNetV2.image_graph(&weights, &img.layout).unwrap();
        let inputs = img.segments();
        let cpu = CpuBackend.run(&graph, &inputs).unwrap();
        let on_gpu = gpu.run(&graph, &inputs).unwrap();
        let (want, got) = (top_k(&cpu[1], 5), top_k(&on_gpu[1], 5));
        eprintln!("{w}x{h} in {} segments: cpu {want:?}, gpu {got:?}", inputs.len());
        let ids = |t: &[(usize, f32)]| t.iter().map(|p| p.0).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{w}x{h}: top-5");
        for ((_, p), (_, q)) in got.iter().zip(&want) {
            assert!((p - q).abs() < 1e-4, "{w}x{h}: probabilities {got:?} against {want:?}");
        }
    }
}

/// MNIST files that are not 28×28 idx images, whose header dims wrap, or whose labels are not
/// digits are errors naming the file (the CLI indexed past its arrays on them).
#[test]
fn mnist_files_with_wrong_dims_wrapping_headers_or_bad_labels_are_errors() {
    use ocelli::classify::mnist;
    use std::io::Write;
    let gz = |path: &std::path::Path, bytes: &[u8]| {
        let mut e = flate2::write::GzEncoder::new(std::fs::File::create(path).unwrap(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap();
    };
    let idx = |magic: u32, dims: &[u32], body: &[u8]| {
        let mut v = magic.to_be_bytes().to_vec();
        dims.iter().for_each(|d| v.extend(d.to_be_bytes()));
        v.extend(body);
        v
    };
    let cases: [(&[u32], usize, &[u8], &str); 3] = [
        (&[2, 27, 28], 2 * 27 * 28, &[1, 2], "28x27"),
        (&[2, 0x8000_0000, 0x8000_0000], 0, &[1, 2], "size does not match"),
        (&[2, 28, 28], 2 * 28 * 28, &[1, 12], "label 12"),
    ];
    for (dims, pixels, labels, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        gz(&dir.path().join("t10k-images.idx3-ubyte.gz"), &idx(0x803, dims, &vec![0; pixels]));
        gz(&dir.path().join("t10k-labels.idx1-ubyte.gz"), &idx(0x801, &[2], labels));
        let err = mnist::load(dir.path(), mnist::Split::Test).unwrap_err().to_string();
        assert!(err.contains(want) && err.contains("t10k-"), "{dims:?}: {err}");
    }
}
