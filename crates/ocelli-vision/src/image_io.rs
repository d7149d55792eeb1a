use std::path::Path;

use image::codecs::pnm::{PnmEncoder, PnmSubtype, SampleEncoding};
use image::ImageEncoder;
use ocelli_graph::Tensor;

use crate::{Result, VisionError};

/// A decoded image as an NCHW f32 tensor `[1, channels, height, width]` in [0, 1], with the
/// bit depth it had on disk.
#[derive(Debug, Clone)]
pub struct Image {
    /// Pixels, `[1, C, H, W]`, C = 1 (gray), 3 (RGB) or 4 (RGBA).
    pub tensor: Tensor,
    /// Bits per channel in the file (8 or 16).
    pub bits: u32,
}

pub(crate) fn image_err(path: &Path, e: impl std::fmt::Display) -> VisionError {
    VisionError::Image { path: path.to_path_buf(), message: e.to_string() }
}

/// Decodes the image file at `path`, by its contents.
/// Largest side of an image Ocelli decodes.
pub const MAX_IMAGE_SIDE: u32 = 1 << 16;

/// Most bytes the decoder may allocate for one image: a 60-megapixel RGB photo at 16 bits fits,
/// a small file claiming gigapixels (a decompression bomb) is refused before it is inflated.
pub const MAX_DECODE_BYTES: u64 = 512 << 20;

/// Decodes the image file at `path`, by its contents, within [`MAX_IMAGE_SIDE`] and
/// [`MAX_DECODE_BYTES`]. A JPEG without its end-of-image marker after its last scan (a truncated
/// file, which the decoder would fill with grey) is an error.
pub(crate) fn decode(path: &Path) -> Result<image::DynamicImage> {
    let bytes = std::fs::read(path).map_err(|error| VisionError::Io { path: path.to_path_buf(), error })?;
    decode_bytes(path, &bytes)
}

/// [`decode`] of a file's bytes; `path` names it in errors.
pub(crate) fn decode_bytes(path: &Path, bytes: &[u8]) -> Result<image::DynamicImage> {
    let io = |error| VisionError::Io { path: path.to_path_buf(), error };
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes)).with_guessed_format().map_err(io)?;
    if reader.format() == Some(image::ImageFormat::Jpeg) && !jpeg_is_complete(bytes) {
        return Err(image_err(path, "truncated JPEG: no end-of-image marker after the last scan"));
    }
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_IMAGE_SIDE);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| image_err(path, e))?;
    if img.width() == 0 || img.height() == 0 {
        return Err(image_err(path, format!("an empty {}x{} image", img.width(), img.height())));
    }
    Ok(img)
}

/// Whether a JPEG's last start-of-scan marker (FF DA) is followed by an end-of-image marker
/// (FF D9). Entropy-coded data escapes FF bytes, so neither appears inside a scan; an EXIF
/// thumbnail's markers come before the main image's scans.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    matches!((last(0xDA), last(0xD9)), (Some(sos), Some(eoi)) if eoi > sos)
}

/// Decodes PNG, JPEG, BMP, TIFF or PNM (8- or 16-bit; gray, RGB or RGBA).
pub fn load_image(path: &Path) -> Result<Image> {
    let img = decode(path)?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let color = img.color();
    let channels = usize::from(color.channel_count());
    let bits = u32::from(color.bits_per_pixel()) / u32::from(color.channel_count());
    let (channels, interleaved): (usize, Vec<f32>) = match (channels, bits) {
        (1 | 2, 8) => (1, img.to_luma8().into_raw().iter().map(|&v| f32::from(v) / 255.0).collect()),
        (1 | 2, _) => (1, img.to_luma16().into_raw().iter().map(|&v| f32::from(v) / 65535.0).collect()),
        (3, 8) => (3, img.to_rgb8().into_raw().iter().map(|&v| f32::from(v) / 255.0).collect()),
        (3, _) => (3, img.to_rgb16().into_raw().iter().map(|&v| f32::from(v) / 65535.0).collect()),
        (_, 8) => (4, img.to_rgba8().into_raw().iter().map(|&v| f32::from(v) / 255.0).collect()),
        (_, _) => (4, img.to_rgba16().into_raw().iter().map(|&v| f32::from(v) / 65535.0).collect()),
    };
    let mut planar = vec![0f32; interleaved.len()];
    for (i, v) in interleaved.iter().enumerate() {
        planar[(i % channels) * h * w + i / channels] = *v;
    }
    Ok(Image { tensor: Tensor::from_f32([1, channels, h, w], planar)?, bits: if bits > 8 { 16 } else { 8 } })
}

/// An RGB tensor `[1, 3, H, W]` in [0, 1] from interleaved 8-bit RGB.
pub fn tensor_from_rgb8(width: usize, height: usize, rgb: &[u8]) -> Result<Tensor> {
    let mut planar = vec![0f32; 3 * width * height];
    for (i, v) in rgb.iter().enumerate() {
        planar[(i % 3) * width * height + i / 3] = f32::from(*v) / 255.0;
    }
    Ok(Tensor::from_f32([1, 3, height, width], planar)?)
}

/// Encodes a `[1, C, H, W]` f32 tensor in [0, 1] (C = 1, 3 or 4) to the format the extension
/// names, at 8 bits (16 for PNG and TIFF when `sixteen_bits`).
pub fn save_image(tensor: &Tensor, path: &Path, sixteen_bits: bool) -> Result<()> {
    let d = tensor.shape().dims();
    let data =
        tensor.as_f32().ok_or_else(|| VisionError::Unsupported(format!("saving a {} tensor", tensor.dtype())))?;
    if d.len() != 4 || d[0] != 1 || ![1, 3, 4].contains(&d[1]) {
        return Err(VisionError::Unsupported(format!(
            "saving a tensor of shape {} (want [1, 1|3|4, H, W])",
            tensor.shape()
        )));
    }
    let (c, h, w) = (d[1], d[2], d[3]);
    let interleaved = |scale: f32| -> Vec<f32> {
        (0..c * h * w).map(|i| (data[(i % c) * h * w + i / c].clamp(0.0, 1.0) * scale).round()).collect()
    };
    let (w32, h32) = (w as u32, h as u32);
    let err = |e: image::ImageError| image_err(path, e);
    let img: image::DynamicImage = if sixteen_bits {
        let v: Vec<u16> = interleaved(65535.0).iter().map(|&x| x as u16).collect();
        match c {
            1 => image::ImageBuffer::<image::Luma<u16>, _>::from_raw(w32, h32, v).map(image::DynamicImage::ImageLuma16),
            3 => image::ImageBuffer::<image::Rgb<u16>, _>::from_raw(w32, h32, v).map(image::DynamicImage::ImageRgb16),
            _ => image::ImageBuffer::<image::Rgba<u16>, _>::from_raw(w32, h32, v).map(image::DynamicImage::ImageRgba16),
        }
    } else {
        let v: Vec<u8> = interleaved(255.0).iter().map(|&x| x as u8).collect();
        match c {
            1 => image::ImageBuffer::<image::Luma<u8>, _>::from_raw(w32, h32, v).map(image::DynamicImage::ImageLuma8),
            3 => image::ImageBuffer::<image::Rgb<u8>, _>::from_raw(w32, h32, v).map(image::DynamicImage::ImageRgb8),
            _ => image::ImageBuffer::<image::Rgba<u8>, _>::from_raw(w32, h32, v).map(image::DynamicImage::ImageRgba8),
        }
    }
    .expect("buffer length matches the tensor");
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let pnm = match (ext.as_deref(), c) {
        (Some("pgm" | "pnm"), 1) => Some(PnmSubtype::Graymap(SampleEncoding::Binary)),
        (Some("ppm" | "pnm"), 3) => Some(PnmSubtype::Pixmap(SampleEncoding::Binary)),
        (Some(kind @ ("pgm" | "ppm" | "pnm" | "pbm")), _) => {
            return Err(VisionError::Unsupported(format!(
                "{}: a .{kind} file cannot hold a {c}-channel image (PGM: grey, PPM: RGB; PNG keeps alpha)",
                path.display()
            )))
        }
        _ => None,
    };
    let Some(subtype) = pnm else {
        return img.save(path).map_err(err);
    };
    // The image crate would write a PAM (P7) for these extensions; P5/P6 is what they mean.
    let file = std::fs::File::create(path).map_err(|error| VisionError::Io { path: path.to_path_buf(), error })?;
    let mut out = std::io::BufWriter::new(file);
    PnmEncoder::new(&mut out)
        .with_subtype(subtype)
        .write_image(img.as_bytes(), w32, h32, img.color().into())
        .map_err(err)?;
    std::io::Write::flush(&mut out).map_err(|error| VisionError::Io { path: path.to_path_buf(), error })
}

/// `[N, C, H, W]` -> `[N, H, W, C]` (for models that take channels last), or back with
/// `to_nchw = true`.
pub fn permute_channels(t: &Tensor, to_nchw: bool) -> Result<Tensor> {
    let d = t.shape().dims();
    let data = t.as_f32().filter(|_| d.len() == 4).ok_or_else(|| {
        VisionError::Unsupported(format!("channel permutation of a {} tensor of shape {}", t.dtype(), t.shape()))
    })?;
    // (n, a, b, c) -> (n, b, c, a) moves channels last; (n, a, b, c) -> (n, c, a, b) first.
    let (n, a, b, c) = (d[0], d[1], d[2], d[3]);
    let mut out = vec![0f32; data.len()];
    for i in 0..n {
        for p in 0..a {
            for q in 0..b {
                for r in 0..c {
                    let src = ((i * a + p) * b + q) * c + r;
                    let dst = if to_nchw { ((i * c + r) * a + p) * b + q } else { ((i * b + q) * c + r) * a + p };
                    out[dst] = data[src];
                }
            }
        }
    }
    let shape = if to_nchw { [n, c, a, b] } else { [n, b, c, a] };
    Ok(Tensor::from_f32(shape, out)?)
}
