//! `ocelli segment`: a thin layer over [`ocelli::segment::Segmenter`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use clap::{Args, ValueEnum};
use ocelli::segment::{Background, Model, Segmentation, Segmenter};
use ocelli::vision::{load_packed, save_image, Canvas, PackedImage};
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend};

use crate::bench::Which;
use crate::inputs;

/// Arguments of `ocelli segment`.
#[derive(Args, Debug)]
pub struct SegmentArgs {
    /// Images (PNG, JPEG, BMP, TIFF, PNM).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Model: selfie (256×256) or selfie_landscape (144×256), person vs background; ppocr_det, text regions.
    #[arg(long, default_value = "selfie")]
    pub model: String,
    /// Probability above which a pixel counts as foreground (default: the model's, 0.5 for
    /// selfie, 0.3 for ppocr_det, where it is also where text boxes are read).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    pub backend: Which,
    /// One JSON object per image.
    #[arg(long)]
    pub json: bool,
    /// Write the probability mask (8-bit grey, 255 = 1.0) at the image's size here (one image only).
    #[arg(short, long, conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Write every image's mask to this folder, as NAME.png.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Write the mask blended over the image instead of the bare mask.
    #[arg(long, conflicts_with = "cutout")]
    pub overlay: bool,
    /// Write the foreground cut out instead: over nothing (RGBA) or over the blurred image.
    #[arg(long, value_enum)]
    pub cutout: Option<CutoutKind>,
    /// Weights file instead of the shipped ones.
    #[arg(long)]
    pub weights: Option<PathBuf>,
}

/// What `--cutout` puts behind the foreground.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CutoutKind {
    /// Transparent: an RGBA PNG whose alpha is the mask.
    Transparent,
    /// The image Gaussian-blurred (σ = 2% of its long side).
    Blur,
}

/// Segments every image; prints coverage (and regions) and writes the images asked for.
pub fn segment(a: SegmentArgs) -> anyhow::Result<()> {
    let model = inputs::pick(&a.model, &Model::ALL, Model::name)?;
    if (a.overlay || a.cutout.is_some()) && a.output.is_none() && a.out_dir.is_none() {
        bail!("--overlay and --cutout need -o FILE or --out-dir DIR");
    }
    inputs::check_images(&a.images, a.output.as_deref())?;
    let weights = inputs::weights(a.weights.as_deref(), model.name())?;
    match a.backend {
        Which::Gpu => run(Segmenter::new(model, weights, GpuBackend::new(Arc::new(Gpu::new()?))), &a),
        Which::Cpu => run(Segmenter::new(model, weights, CpuBackend), &a),
    }
}

fn run<B: Backend>(segmenter: Segmenter<B>, a: &SegmentArgs) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    let threshold = a.threshold.unwrap_or(segmenter.model().default_threshold());
    let mut segmenter = segmenter.with_threshold(threshold)?;
    for path in &a.images {
        let img = load_packed(path)?;
        let found = segmenter.segment(&img)?;
        print(a, path, &found);
        let Some(out) = inputs::picture_path(a.output.as_deref(), a.out_dir.as_deref(), path)? else {
            continue;
        };
        if let Some(kind) = a.cutout {
            let background = match kind {
                CutoutKind::Transparent => Background::Transparent,
                CutoutKind::Blur => Background::Blur((img.layout.height.max(img.layout.width) as f32 / 50.0).max(1.0)),
            };
            save_image(&segmenter.cutout(&img, background)?, &out, false)?;
        } else if a.overlay {
            overlay(&img, &found).save(&out)?;
        } else {
            save_image(&found.mask.to_tensor(), &out, false)?;
        }
        if !a.json {
            println!("  -> {}", out.display());
        }
    }
    Ok(())
}

/// One image's coverage and regions as text or one JSON line.
fn print(a: &SegmentArgs, path: &Path, s: &Segmentation) {
    let round = |v: f32| (f64::from(v) * 100.0).round() / 100.0;
    if a.json {
        let regions: Vec<_> = s
            .regions
            .iter()
            .map(|r| {
                serde_json::json!({
                    "score": (f64::from(r.score) * 1e4).round() / 1e4,
                    "polygon": r.polygon.iter().map(|p| p.map(round)).collect::<Vec<_>>(),
                })
            })
            .collect();
        let coverage = (f64::from(s.mask.coverage) * 1e6).round() / 1e6;
        let line = serde_json::json!({
            "image": path.display().to_string(), "model": a.model, "coverage": coverage, "regions": regions,
        });
        println!("{line}");
        return;
    }
    println!(
        "{}: {:.1}% of pixels above {} ({}x{})",
        path.display(),
        100.0 * s.mask.coverage,
        s.mask.threshold,
        s.mask.width,
        s.mask.height
    );
    for r in &s.regions {
        let pts: Vec<String> = r.polygon.iter().map(|[x, y]| format!("({x:.0}, {y:.0})")).collect();
        println!("  {:6.4}  {}", r.score, pts.join(" "));
    }
}

/// The image with the mask tinted over it at half opacity and the regions outlined.
pub fn overlay(img: &PackedImage, s: &Segmentation) -> Canvas {
    const TINT: [u8; 3] = [255, 0, 170];
    const OUTLINE: [u8; 3] = [0, 230, 64];
    let mut canvas = Canvas::from_image(img);
    canvas.tint(&s.mask.probs, TINT, 0.5);
    let t = 2 * canvas.scale();
    for r in &s.regions {
        canvas.polygon(&r.polygon, OUTLINE, t);
    }
    canvas
}

/// `ocelli bench model` for a segmentation model: the shipped photos (the OCR page for
/// ppocr_det), images/s end to end.
pub fn bench(model: Model, runs: usize, backend: Which, json: bool) -> anyhow::Result<()> {
    let images = match model {
        Model::PpocrDet => vec![ocelli::nn::assets_dir().join("ocr").join("page.png")],
        _ => crate::detect::shipped_photos()?,
    };
    match backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            let name = gpu.name();
            let mut s = Segmenter::shipped(model, gpu)?;
            inputs::time_images(model.name(), &name, &images, runs, json, |img| Ok(s.segment(img).map(drop)?))
        }
        Which::Cpu => {
            let mut s = Segmenter::shipped(model, CpuBackend)?;
            inputs::time_images(model.name(), "cpu", &images, runs, json, |img| Ok(s.segment(img).map(drop)?))
        }
    }
}

/// `ocelli demo`'s segmentation part, on the GPU: person masks overlaid on the shipped photos
/// and the text regions of the OCR page, written under the system's temporary directory.
pub fn demo() -> anyhow::Result<()> {
    let out_dir = std::env::temp_dir().join("ocelli-demo");
    let page = ocelli::nn::assets_dir().join("ocr").join("page.png");
    for (model, images) in [("selfie", crate::detect::shipped_photos()?), ("ppocr_det", vec![page])] {
        println!("\n{model} on the GPU (overlays in {}):", out_dir.join(model).display());
        segment(SegmentArgs {
            images,
            model: model.into(),
            threshold: None,
            backend: Which::Gpu,
            json: false,
            output: None,
            out_dir: Some(out_dir.join(model)),
            overlay: true,
            cutout: None,
            weights: None,
        })?;
    }
    Ok(())
}
