//! `ocelli demosaic` and `ocelli mosaic`.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use ocelli::vision::{demosaic_in_bands, load_image, mosaic, read_raw, save_image, RawFrame};
use ocelli::{Backend, BayerPattern, CpuBackend, Demosaic, DemosaicMethod, Gpu, GpuBackend, Tensor};

use crate::bench::Which;

/// Interpolation methods on the command line.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum Method {
    /// Bilinear interpolation.
    Bilinear,
    /// Malvar–He–Cutler gradient-corrected linear interpolation.
    Mhc,
}

/// Arguments of `ocelli demosaic`.
#[derive(Args, Debug)]
pub struct DemosaicArgs {
    /// Raw frame: binary PGM (P5, 8/16-bit) or, with --width/--height, headerless little-endian.
    raw: PathBuf,
    /// Colour filter layout: rggb, bggr, grbg or gbrg.
    #[arg(long, default_value = "rggb")]
    pattern: String,
    /// Interpolation.
    #[arg(long, value_enum, default_value = "mhc")]
    method: Method,
    /// Width of a headerless frame.
    #[arg(long, requires = "height")]
    width: Option<usize>,
    /// Height of a headerless frame.
    #[arg(long, requires = "width")]
    height: Option<usize>,
    /// Bits per sample of a headerless frame (8 or 16).
    #[arg(long, default_value_t = 16)]
    bits: u32,
    /// Raw value of black.
    #[arg(long)]
    black: Option<f32>,
    /// Raw value of full scale (default: the largest value of the bit depth).
    #[arg(long)]
    white: Option<f32>,
    /// White-balance gains "R,G,B".
    #[arg(long, default_value = "1,1,1")]
    wb: String,
    /// Encode the output with the sRGB curve.
    #[arg(long)]
    srgb: bool,
    /// Where to run.
    #[arg(long, value_enum, default_value = "gpu")]
    backend: Which,
    /// Output image (PNG, TIFF, BMP, JPEG or PPM by extension).
    #[arg(short, long)]
    output: PathBuf,
}

/// Output bytes per band of the CPU reference: the usual storage-binding limit.
const CPU_BAND_BYTES: usize = 128 << 20;

fn pattern(name: &str) -> anyhow::Result<BayerPattern> {
    BayerPattern::from_name(name).with_context(|| format!("unknown Bayer pattern '{name}' (rggb, bggr, grbg, gbrg)"))
}

pub fn demosaic(a: DemosaicArgs) -> anyhow::Result<()> {
    let frame = match (a.width, a.height) {
        (Some(w), Some(h)) => read_raw(&a.raw, w, h, a.bits)?,
        _ => RawFrame::read_pgm(&a.raw)?,
    };
    let gains: Vec<f32> =
        a.wb.split(',')
            .map(|g| g.trim().parse::<f32>())
            .collect::<Result<_, _>>()
            .context("--wb takes R,G,B numbers")?;
    let [r, g, b] = gains[..] else { bail!("--wb takes three gains R,G,B, got {}", gains.len()) };
    let method = match a.method {
        Method::Bilinear => DemosaicMethod::Bilinear,
        Method::Mhc => DemosaicMethod::Mhc,
    };
    let mut p = Demosaic::new(frame.height, frame.width, frame.bits, pattern(&a.pattern)?, method);
    p.black = a.black.unwrap_or(p.black);
    // The frame's own white level (a PGM's maxval) unless --white says otherwise.
    p.white = a.white.unwrap_or(frame.white as f32);
    p.wb = [r, g, b];
    p.srgb = a.srgb;
    // Frames whose RGB output exceeds one storage binding run in bands (on the CPU reference
    // too, which keeps its memory bounded the same way).
    let rgb: Tensor = match a.backend {
        Which::Gpu => {
            let gpu = GpuBackend::new(Arc::new(Gpu::new()?));
            let max = gpu.max_binding_bytes().map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
            demosaic_in_bands(&gpu, &frame, p, max)?
        }
        Which::Cpu => demosaic_in_bands(&CpuBackend, &frame, p, CPU_BAND_BYTES)?,
    };
    save_image(&rgb, &a.output, frame.bits > 8)?;
    println!(
        "{}x{} {}-bit {} frame -> {} ({:?})",
        frame.width,
        frame.height,
        frame.bits,
        p.pattern.name(),
        a.output.display(),
        a.method
    );
    Ok(())
}

/// Arguments of `ocelli mosaic`.
#[derive(Args, Debug)]
pub struct MosaicArgs {
    /// RGB image to sample.
    image: PathBuf,
    /// Colour filter layout: rggb, bggr, grbg or gbrg.
    #[arg(long, default_value = "rggb")]
    pattern: String,
    /// Bits per sample (8 or 16).
    #[arg(long, default_value_t = 16)]
    bits: u32,
    /// Output PGM.
    #[arg(short, long)]
    output: PathBuf,
}

pub fn mosaic_cmd(a: MosaicArgs) -> anyhow::Result<()> {
    let img = load_image(&a.image)?.tensor;
    let d = img.shape().dims();
    if d[1] < 3 {
        bail!("{}: a colour image is needed to make a Bayer mosaic", a.image.display());
    }
    // Whole Bayer cells: drop an odd last row/column (and any alpha channel).
    let (h, w) = (d[2] / 2 * 2, d[3] / 2 * 2);
    if h < 4 || w < 4 {
        bail!("{}: a {}x{} image is too small for a Bayer mosaic (at least 4x4 pixels)", a.image.display(), d[3], d[2]);
    }
    if (h, w) != (d[2], d[3]) {
        eprintln!(
            "note: {}x{} is not whole 2x2 Bayer cells; the mosaic drops the last {}",
            d[3],
            d[2],
            match (h != d[2], w != d[3]) {
                (true, true) => "row and column",
                (true, false) => "row",
                _ => "column",
            }
        );
    }
    let src = img.as_f32().expect("images decode to f32");
    let mut rgb = Vec::with_capacity(3 * h * w);
    for c in 0..3 {
        for y in 0..h {
            let row = (c * d[2] + y) * d[3];
            rgb.extend_from_slice(&src[row..row + w]);
        }
    }
    let frame = mosaic(&Tensor::from_f32([1, 3, h, w], rgb)?, pattern(&a.pattern)?, a.bits)?;
    frame.write_pgm(&a.output)?;
    println!("{w}x{h} {}-bit {} mosaic -> {}", a.bits, a.pattern, a.output.display());
    Ok(())
}
