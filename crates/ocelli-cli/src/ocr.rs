//! `ocelli ocr`: a thin layer over [`ocelli::segment::Ocr`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use ocelli::segment::{Ocr, TextLine};
use ocelli::vision::{load_packed, Canvas, PackedImage};
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend};

use crate::bench::Which;
use crate::inputs;

/// Arguments of `ocelli ocr`.
#[derive(Args, Debug)]
pub struct OcrArgs {
    /// Images (PNG, JPEG, BMP, TIFF, PNM).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    pub backend: Which,
    /// One JSON object per image.
    #[arg(long)]
    pub json: bool,
    /// Draw the lines' boxes on the image and write it here (one image only).
    #[arg(short, long, conflicts_with = "out_dir")]
    pub output: Option<PathBuf>,
    /// Draw the boxes on every image and write them to this folder, as NAME.png.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// Reads every image; prints its lines and writes the pictures asked for.
pub fn ocr(a: OcrArgs) -> anyhow::Result<()> {
    inputs::check_images(&a.images, a.output.as_deref())?;
    match a.backend {
        Which::Gpu => run(Ocr::shipped(GpuBackend::new(Arc::new(Gpu::new()?)))?, &a),
        Which::Cpu => run(Ocr::shipped(CpuBackend)?, &a),
    }
}

fn run<B: Backend + Clone>(mut reader: Ocr<B>, a: &OcrArgs) -> anyhow::Result<()>
where
    B::Error: Send + Sync + 'static,
{
    for path in &a.images {
        let img = load_packed(path)?;
        let lines = reader.read(&img)?;
        print(a.json, path, &lines);
        if let Some(out) = inputs::picture_path(a.output.as_deref(), a.out_dir.as_deref(), path)? {
            boxes(&img, &lines).save(&out)?;
            if !a.json {
                println!("  -> {}", out.display());
            }
        }
    }
    Ok(())
}

/// One image's lines as text or one JSON line.
fn print(json: bool, path: &Path, lines: &[TextLine]) {
    if json {
        let lines: Vec<_> = lines
            .iter()
            .map(|l| {
                serde_json::json!({
                    "text": l.text,
                    "score": (f64::from(l.score) * 1e4).round() / 1e4,
                    "polygon": l.polygon.iter().map(|p| p.map(|v| (f64::from(v) * 100.0).round() / 100.0)).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::json!({"image": path.display().to_string(), "lines": lines}));
        return;
    }
    println!("{}: {} line{}", path.display(), lines.len(), if lines.len() == 1 { "" } else { "s" });
    for l in lines {
        println!("  {:6.4}  {}", l.score, l.text);
    }
}

/// The image with each line's box outlined.
fn boxes(img: &PackedImage, lines: &[TextLine]) -> Canvas {
    const OUTLINE: [u8; 3] = [0, 230, 64];
    let mut canvas = Canvas::from_image(img);
    let t = 2 * canvas.scale();
    for l in lines {
        canvas.polygon(&l.polygon, OUTLINE, t);
    }
    canvas
}

/// `ocelli demo`'s OCR part: the shipped page read on the GPU.
pub fn demo() -> anyhow::Result<()> {
    let page = ocelli::nn::assets_dir().join("ocr").join("page.png");
    println!("\nPP-OCRv4 reading the shipped page, on the GPU:");
    ocr(OcrArgs { images: vec![page], backend: Which::Gpu, json: false, output: None, out_dir: None })
}

/// `ocelli bench model --model ppocr`: the whole reader on the shipped page, images/s end to end.
pub fn bench(runs: usize, backend: Which, json: bool) -> anyhow::Result<()> {
    let page = vec![ocelli::nn::assets_dir().join("ocr").join("page.png")];
    match backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            let name = gpu.name();
            let mut r = Ocr::shipped(gpu)?;
            inputs::time_images("ppocr", &name, &page, runs, json, |img| Ok(r.read(img).map(drop)?))
        }
        Which::Cpu => {
            let mut r = Ocr::shipped(CpuBackend)?;
            inputs::time_images("ppocr", "cpu", &page, runs, json, |img| Ok(r.read(img).map(drop)?))
        }
    }
}
