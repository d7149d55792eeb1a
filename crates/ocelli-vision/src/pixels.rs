//! Images as packed samples: the way pixels go to the device. An 8-bit image travels as four
//! samples per u32 word (16-bit: two), a quarter (half) of its f32 size, in up to four segments
//! so that one larger than a storage binding still goes up whole; `Op::ResizePixels` unpacks,
//! converts and resizes it on the device (a 12-megapixel photo is 36 MB there instead of 144 MB
//! of f32, and never exists there as f32).

use std::path::Path;

use ocelli_graph::{DType, GraphBuilder, GraphError, Op, ResizePixels, Tensor, TensorData, UpsampleMode, ValueId};

use crate::image_io::{decode, decode_bytes};
use crate::Result;

/// Bytes of one segment of packed samples, unless an image needs larger ones to fit in
/// [`ResizePixels::MAX_SEGMENTS`]: half the 128 MiB storage binding every WebGPU device has.
pub const SEGMENT_BYTES: usize = 64 << 20;

/// Size and sample format of a packed image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelLayout {
    /// Height in pixels.
    pub height: usize,
    /// Width in pixels.
    pub width: usize,
    /// Samples per pixel: 1 (grey), 3 (RGB) or 4 (RGBA).
    pub channels: usize,
    /// Bits per sample: 8 or 16.
    pub bits: u32,
    /// Bytes of one segment of packed samples: [`SEGMENT_BYTES`] as loaded; lower it to a
    /// device's binding limit when that is smaller ([`ocelli_graph::Backend::max_binding_bytes`]).
    /// An image too large for four segments of this size gets larger ones.
    pub segment_bytes: usize,
}

impl PixelLayout {
    /// The op that unpacks this image into `[1, channels, out_h, out_w]` f32 in [0, 1].
    pub fn resize_op(&self, out_h: usize, out_w: usize, mode: UpsampleMode) -> ResizePixels {
        let mut op = ResizePixels {
            height: self.height,
            width: self.width,
            channels: self.channels,
            bits: self.bits,
            out_h,
            out_w,
            mode,
            segment_words: 1,
        };
        let words = op.words().unwrap_or(usize::MAX);
        op.segment_words = (self.segment_bytes / 4).max(1).max(words.div_ceil(ResizePixels::MAX_SEGMENTS));
        op
    }

    /// Words per segment (`segment_bytes / 4`, or more for images too large for four).
    pub fn segment_words(&self) -> usize {
        self.resize_op(1, 1, UpsampleMode::Nearest).segment_words
    }

    /// The same layout with segments no larger than `max_binding` bytes (a backend's
    /// [`ocelli_graph::Backend::max_binding_bytes`]; `None` leaves it as it is).
    pub fn within(self, max_binding: Option<u64>) -> Self {
        let max = max_binding.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
        PixelLayout { segment_bytes: self.segment_bytes.min(max), ..self }
    }
}

/// A decoded image: its layout and samples, interleaved, packed little-endian into u32 words.
#[derive(Debug, Clone, PartialEq)]
pub struct PackedImage {
    /// Size and sample format.
    pub layout: PixelLayout,
    /// The packed samples.
    pub words: Vec<u32>,
}

/// Interleaved samples packed little-endian, `bits` each, into u32 words.
fn pack<T: Copy + Into<u32>>(samples: &[T], bits: u32) -> Vec<u32> {
    let per = (32 / bits) as usize;
    samples
        .chunks(per)
        .map(|c| c.iter().enumerate().fold(0u32, |w, (k, &s)| w | (s.into() << (k as u32 * bits))))
        .collect()
}

impl PackedImage {
    /// Packs interleaved samples (each below 2^bits).
    pub fn new(layout: PixelLayout, samples: &[u16]) -> Self {
        Self { layout, words: pack(samples, layout.bits) }
    }

    /// Sample `e` of the interleaved samples (pixel `e / channels`, channel `e % channels`).
    pub fn sample(&self, e: usize) -> u32 {
        let bits = self.layout.bits;
        let per = (32 / bits) as usize;
        (self.words[e / per] >> ((e % per) as u32 * bits)) & ((1u64 << bits) - 1) as u32
    }

    /// Mean of the first `channels` samples of every pixel, in [0, 1].
    pub fn mean(&self, channels: usize) -> f64 {
        let l = &self.layout;
        let pixels = l.height * l.width;
        let keep = channels.min(l.channels);
        let mut sum = 0u64;
        for p in 0..pixels {
            for c in 0..keep {
                sum += u64::from(self.sample(p * l.channels + c));
            }
        }
        let max = ((1u64 << l.bits) - 1) as f64;
        sum as f64 / (max * (pixels * keep).max(1) as f64)
    }

    /// The inputs of [`resize_pixels`]'s graph: the words in segments of
    /// [`PixelLayout::segment_words`].
    pub fn segments(&self) -> Vec<Tensor> {
        self.words
            .chunks(self.layout.segment_words())
            .map(|c| Tensor::new([c.len()], TensorData::U32(c.to_vec())).expect("length matches"))
            .collect()
    }
}

/// Decodes PNG, JPEG, BMP, TIFF or PNM into packed samples (8 or 16 bits as in the file; grey,
/// RGB or RGBA; grey with alpha becomes grey).
pub fn load_packed(path: &Path) -> Result<PackedImage> {
    PackedImage::from_decoded(decode(path)?)
}

impl PackedImage {
    /// [`load_packed`] of a file's bytes; `path` names it in errors.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        Self::from_decoded(decode_bytes(path, bytes)?)
    }

    fn from_decoded(img: image::DynamicImage) -> Result<Self> {
        let (width, height) = (img.width() as usize, img.height() as usize);
        let color = img.color();
        let channels = usize::from(color.channel_count());
        let sixteen = u32::from(color.bits_per_pixel()) / u32::from(color.channel_count()) > 8;
        let bits = if sixteen { 16 } else { 8 };
        // Packed from the decoder's own buffer: no wider copy of a large image on the host.
        let (channels, words) = match (channels, sixteen) {
            (1 | 2, false) => (1, pack(&img.to_luma8().into_raw(), bits)),
            (1 | 2, true) => (1, pack(&img.to_luma16().into_raw(), bits)),
            (3, false) => match img.as_rgb8() {
                Some(rgb) => (3, pack(rgb.as_raw(), bits)),
                None => (3, pack(&img.to_rgb8().into_raw(), bits)),
            },
            (3, true) => (3, pack(&img.to_rgb16().into_raw(), bits)),
            (_, false) => (4, pack(&img.to_rgba8().into_raw(), bits)),
            (_, true) => (4, pack(&img.to_rgba16().into_raw(), bits)),
        };
        let layout = PixelLayout { height, width, channels, bits, segment_bytes: SEGMENT_BYTES };
        Ok(PackedImage { layout, words })
    }
}

/// Graph inputs `pixels0`, `pixels1`, ... for the segments of an image of `layout`, resized on
/// the device to `out_h`×`out_w` (nearest or bilinear): `[1, channels, out_h, out_w]` f32 in
/// [0, 1]. Feed it [`PackedImage::segments`]. Inputs the builder already has (a second resize of
/// the same image) are shared.
pub fn resize_pixels(
    g: &mut GraphBuilder,
    layout: &PixelLayout,
    out_h: usize,
    out_w: usize,
    mode: UpsampleMode,
) -> std::result::Result<ValueId, GraphError> {
    let op = layout.resize_op(out_h, out_w, mode);
    let lens = op.segment_lens().ok_or_else(|| GraphError::InvalidParam {
        op: "resize_pixels",
        why: format!("a {}x{}x{} image is too large", layout.width, layout.height, layout.channels),
    })?;
    let inputs: Vec<ValueId> = lens
        .iter()
        .enumerate()
        .map(|(k, &len)| {
            let name = format!("pixels{k}");
            let shared = g.find_input(&name).filter(|&v| g.shape(v).is_ok_and(|s| s.dims() == [len]));
            shared.map_or_else(|| g.input(&name, [len], DType::U32), Ok)
        })
        .collect::<std::result::Result<_, _>>()?;
    g.op(Op::ResizePixels(op), &inputs)
}
