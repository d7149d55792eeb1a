//! `ocelli detect`: a thin layer over [`ocelli::detect::Detector`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::Args;
use ocelli::detect::{Detection, Detector, Model};
use ocelli::vision::{load_packed, Canvas, PackedImage};
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend};

use crate::bench::Which;
use crate::inputs;

/// Arguments of `ocelli detect`.
#[derive(Args, Debug)]
pub struct DetectArgs {
    /// Images (PNG, JPEG, BMP, TIFF, PNM).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Model: blazeface, tiny_face, mtcnn (faces with five landmarks) or nanodet (COCO objects).
    #[arg(long, default_value = "blazeface")]
    pub model: String,
    /// Minimum score (default: the model's own).
    #[arg(long)]
    pub score: Option<f32>,
    /// Suppression IoU (default: the model's own).
    #[arg(long)]
    pub iou: Option<f32>,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    pub backend: Which,
    /// One JSON object per image.
    #[arg(long)]
    pub json: bool,
    /// Draw the detections on the image and write it here (one image only).
    #[arg(short, long, conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Draw the detections on every image and write them to this folder, as NAME.png.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Weights file instead of the shipped ones.
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

/// Runs the detector on every image; prints the detections and writes the overlays asked for.
pub fn detect(a: DetectArgs) -> anyhow::Result<()> {
    let model = inputs::pick(&a.model, &Model::ALL, Model::name)?;
    for v in [a.score, a.iou].into_iter().flatten() {
        if !(0.0..=1.0).contains(&v) {
            bail!("--score and --iou take values in [0, 1], got {v}");
        }
    }
    inputs::check_images(&a.images, a.output.as_deref())?;
    let weights = inputs::weights(a.weights.as_deref(), model.name())?;
    match a.backend {
        Which::Gpu => run(Detector::new(model, weights, GpuBackend::new(Arc::new(Gpu::new()?))), &a),
        Which::Cpu => run(Detector::new(model, weights, CpuBackend), &a),
    }
}

fn run<B: Backend>(detector: Detector<B>, a: &DetectArgs) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let defaults = detector.model().default_thresholds();
    let thresholds =
        ocelli::detect::Thresholds { score: a.score.unwrap_or(defaults.score), iou: a.iou.unwrap_or(defaults.iou) };
    let mut detector = detector.with_thresholds(thresholds);
    for path in &a.images {
        let img = load_packed(path)?;
        let found = detector.detect(&img)?;
        print(a, path, &found);
        if let Some(out) = inputs::picture_path(a.output.as_deref(), a.out_dir.as_deref(), path)? {
            overlay(&img, &found).save(&out)?;
            if !a.json {
                println!("  -> {}", out.display());
            }
        }
    }
    Ok(())
}

/// One image's detections as text or one JSON line.
fn print(a: &DetectArgs, path: &Path, found: &[Detection]) {
    let round = |v: f32| (f64::from(v) * 100.0).round() / 100.0;
    if a.json {
        let dets: Vec<_> = found
            .iter()
            .map(|d| {
                serde_json::json!({
                    "label": d.label,
                    "class": d.class,
                    "score": (f64::from(d.score) * 1e4).round() / 1e4,
                    "bbox": d.bbox.map(round),
                    "keypoints": d.keypoints.iter().map(|k| k.map(round)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let line = serde_json::json!({"image": path.display().to_string(), "model": a.model, "detections": dets});
        println!("{line}");
        return;
    }
    println!("{}: {} detection{}", path.display(), found.len(), if found.len() == 1 { "" } else { "s" });
    for d in found {
        let [x1, y1, x2, y2] = d.bbox;
        println!("  {:6.4}  {:<14} ({x1:.0}, {y1:.0})-({x2:.0}, {y2:.0})", d.score, d.label);
    }
}

/// The image with each detection's box, label and score, and keypoints drawn on it.
pub fn overlay(img: &PackedImage, found: &[Detection]) -> Canvas {
    const BOX: [u8; 3] = [0, 230, 64];
    const POINT: [u8; 3] = [255, 40, 40];
    let mut canvas = Canvas::from_image(img);
    let s = canvas.scale();
    // Lowest score first, so that the best detections' labels end on top.
    for d in found.iter().rev() {
        canvas.rect(d.bbox, BOX, 2 * s);
        for &[x, y] in &d.keypoints {
            canvas.dot(x, y, s + 1, POINT);
        }
        let label = format!("{} {:.2}", d.label, d.score);
        let top = (d.bbox[1] - 9.0 * s as f32).max(0.0);
        canvas.text(d.bbox[0].max(0.0), top, &label, s, [0, 0, 0], BOX);
    }
    canvas
}

/// `ocelli bench model --model <detector>`: images/s end to end over the shipped photos
/// (decode, preprocessing, network, decoding and suppression, results), after one warm-up pass
/// that compiles each image size.
pub fn bench(model: Model, runs: usize, backend: Which, json: bool) -> anyhow::Result<()> {
    let photos = shipped_photos()?;
    match backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            let name = gpu.name();
            let mut d = Detector::shipped(model, gpu)?;
            inputs::time_images(model.name(), &name, &photos, runs, json, |img| Ok(d.detect(img).map(drop)?))
        }
        Which::Cpu => {
            let mut d = Detector::shipped(model, CpuBackend)?;
            inputs::time_images(model.name(), "cpu", &photos, runs, json, |img| Ok(d.detect(img).map(drop)?))
        }
    }
}

/// The photos in the assets' `images/`, sorted, as the user would type them.
pub fn shipped_photos() -> anyhow::Result<Vec<PathBuf>> {
    let dir = ocelli::nn::assets_dir().join("images");
    let mut images: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| dir.display().to_string())?
        .map(|e| e.map(|e| crate::classify::as_typed(e.path())))
        .collect::<Result<_, _>>()?;
    images.sort();
    Ok(images)
}

/// `ocelli demo`'s detection part: every detector on the shipped photos, on the GPU, with the
/// overlays written to a folder under the system's temporary directory.
pub fn demo() -> anyhow::Result<()> {
    let out_dir = std::env::temp_dir().join("ocelli-demo");
    for model in Model::ALL {
        println!("\n{} on the shipped photos, on the GPU (overlays in {}):", model.name(), out_dir.display());
        detect(DetectArgs {
            images: shipped_photos()?,
            model: model.name().into(),
            score: None,
            iou: None,
            backend: Which::Gpu,
            json: false,
            output: None,
            out_dir: Some(out_dir.join(model.name())),
            weights: None,
        })?;
    }
    Ok(())
}
