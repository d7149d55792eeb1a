use std::path::Path;

use ocelli_graph::{BayerPattern, DType, Demosaic, Graph, GraphBuilder, Op, Tensor};

use crate::{Result, VisionError};

/// A raw sensor frame: one sample per pixel, `bits` (8 or 16) wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Bits per sample (8 or 16).
    pub bits: u32,
    /// The largest value a sample may take (a PGM's maxval, 4095 for 12-bit sensors stored in 16
    /// bits; `2^bits − 1` for headerless frames): demosaicing's default white level.
    pub white: u32,
    /// Samples, row-major.
    pub samples: Vec<u16>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VisionError + '_ {
    move |error| VisionError::Io { path: path.to_path_buf(), error }
}

impl RawFrame {
    /// The samples packed little-endian into u32 words (4 per word at 8 bits, 2 at 16): the input
    /// of [`Op::Demosaic`]. Other bit depths are an error.
    pub fn packed(&self) -> Result<Tensor> {
        if self.bits != 8 && self.bits != 16 {
            return Err(VisionError::Unsupported(format!("{}-bit frames (8 and 16 are supported)", self.bits)));
        }
        let per = (32 / self.bits) as usize;
        let words: Vec<u32> = self
            .samples
            .chunks(per)
            .map(|c| c.iter().enumerate().fold(0u32, |w, (k, &s)| w | (u32::from(s) << (k as u32 * self.bits))))
            .collect();
        let n = words.len();
        Ok(Tensor::new([n], ocelli_graph::TensorData::U32(words))?)
    }

    /// Reads a binary PGM (P5, 8 or 16 bits; 16-bit PGM is big-endian) or, failing the magic
    /// number, nothing: use [`read_raw`] for headerless frames.
    pub fn read_pgm(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        Self::from_pgm_bytes(path, &bytes)
    }

    /// [`RawFrame::read_pgm`] of a file's bytes; `path` names it in errors.
    pub fn from_pgm_bytes(path: &Path, bytes: &[u8]) -> Result<Self> {
        let bad = |why: &str| VisionError::Unsupported(format!("{}: {why}", path.display()));
        if !bytes.starts_with(b"P5") {
            return Err(bad("not a binary PGM (P5); for headerless raw give --width --height --bits"));
        }
        // Header: magic, width, height, maxval, separated by whitespace and comments.
        let mut fields: Vec<usize> = Vec::new();
        let mut i = 2;
        while fields.len() < 3 {
            if i >= bytes.len() {
                return Err(bad("the header ends before width, height and maxval"));
            }
            while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < bytes.len() && bytes[i] == b'#' {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let text = std::str::from_utf8(&bytes[start..i]).map_err(|_| bad("bad header"))?;
            fields.push(text.parse::<usize>().map_err(|_| bad("bad header"))?);
        }
        // One whitespace byte ends the header; the samples follow.
        if i >= bytes.len() || !bytes[i].is_ascii_whitespace() {
            return Err(bad("no samples follow the header"));
        }
        let data = &bytes[i + 1..];
        let (width, height, maxval) = (fields[0], fields[1], fields[2]);
        if maxval == 0 {
            return Err(bad("maxval 0"));
        }
        let bits = if maxval < 256 {
            8
        } else if maxval < 65536 {
            16
        } else {
            return Err(bad("maxval above 65535"));
        };
        let need = frame_bytes(path, width, height, bits)?;
        if data.len() < need {
            return Err(VisionError::RawSize {
                path: path.to_path_buf(),
                width,
                height,
                bits,
                expected: need,
                got: data.len(),
            });
        }
        let samples = if bits == 8 {
            data[..need].iter().map(|&b| u16::from(b)).collect()
        } else {
            data[..need].chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect()
        };
        Ok(Self { width, height, bits, white: maxval as u32, samples })
    }

    /// Writes a binary PGM (16-bit samples big-endian, as the format says).
    pub fn write_pgm(&self, path: &Path) -> Result<()> {
        let mut out = format!("P5\n{} {}\n{}\n", self.width, self.height, self.white).into_bytes();
        for &s in &self.samples {
            if self.bits == 8 {
                out.push(s as u8);
            } else {
                out.extend(s.to_be_bytes());
            }
        }
        std::fs::write(path, out).map_err(io_err(path))
    }
}

/// Reads a headerless frame of `width`×`height` samples, `bits` = 8 or 16 (little-endian). A file
/// whose size is not exactly `width·height·bytes` is an error (checked before reading it).
pub fn read_raw(path: &Path, width: usize, height: usize, bits: u32) -> Result<RawFrame> {
    let expected = frame_bytes(path, width, height, bits)?;
    let size = std::fs::metadata(path).map_err(io_err(path))?.len();
    raw_size(path, (width, height, bits), expected, usize::try_from(size).unwrap_or(usize::MAX))?;
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    RawFrame::from_raw_bytes(path, &bytes, width, height, bits)
}

impl RawFrame {
    /// [`read_raw`] of a file's bytes; `path` names it in errors.
    pub fn from_raw_bytes(path: &Path, bytes: &[u8], width: usize, height: usize, bits: u32) -> Result<Self> {
        let expected = frame_bytes(path, width, height, bits)?;
        raw_size(path, (width, height, bits), expected, bytes.len())?;
        let samples = if bits == 8 {
            bytes.iter().map(|&b| u16::from(b)).collect()
        } else {
            bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect()
        };
        Ok(RawFrame { width, height, bits, white: (1 << bits) - 1, samples })
    }
}

/// An error naming the file when a headerless frame holds `got` bytes instead of `expected`.
fn raw_size(path: &Path, (width, height, bits): (usize, usize, u32), expected: usize, got: usize) -> Result<()> {
    if got == expected {
        return Ok(());
    }
    Err(VisionError::RawSize { path: path.to_path_buf(), width, height, bits, expected, got })
}

/// Bytes of a `width`×`height` frame of `bits`-bit samples, or an error naming the file when
/// the count overflows.
fn frame_bytes(path: &Path, width: usize, height: usize, bits: u32) -> Result<usize> {
    if bits != 8 && bits != 16 {
        return Err(VisionError::Unsupported(format!("{bits}-bit raw frames (8 and 16 are supported)")));
    }
    width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(bits as usize / 8))
        .ok_or_else(|| VisionError::Unsupported(format!("{}: a {width}x{height} frame is too large", path.display())))
}

/// Samples an RGB tensor `[1, 3, H, W]` in [0, 1] through a Bayer filter: each pixel keeps the
/// colour its site records, quantised to `bits`.
pub fn mosaic(rgb: &Tensor, pattern: BayerPattern, bits: u32) -> Result<RawFrame> {
    let d = rgb.shape().dims();
    let data = rgb.as_f32().filter(|_| d.len() == 4 && d[0] == 1 && d[1] == 3).ok_or_else(|| {
        VisionError::Unsupported(format!(
            "mosaicking a {} tensor of shape {} (want f32 [1, 3, H, W])",
            rgb.dtype(),
            rgb.shape()
        ))
    })?;
    if bits != 8 && bits != 16 {
        return Err(VisionError::Unsupported(format!("{bits}-bit mosaics (8 and 16 are supported)")));
    }
    let (h, w) = (d[2], d[3]);
    let full = f32::from(u16::try_from((1u32 << bits) - 1).expect("at most 16 bits"));
    let samples = (0..h * w)
        .map(|i| {
            let (y, x) = (i / w, i % w);
            (data[pattern.color_at(y, x) * h * w + i].clamp(0.0, 1.0) * full).round() as u16
        })
        .collect();
    Ok(RawFrame { width: w, height: h, bits, white: (1 << bits) - 1, samples })
}

/// u32 words of a packed `d`-sized frame, or an error when its size overflows.
fn frame_words(d: &Demosaic) -> Result<usize> {
    d.words().ok_or_else(|| VisionError::Unsupported(format!("a {}x{} frame is too large", d.width, d.height)))
}

/// A one-op graph demosaicing `frame`-sized inputs with `params` (its size and depth are taken
/// from the frame).
pub fn demosaic_graph(frame: &RawFrame, params: Demosaic) -> Result<Graph> {
    let d = Demosaic { height: frame.height, width: frame.width, bits: frame.bits, ..params };
    let mut g = GraphBuilder::new();
    let x = g.input("raw", [frame_words(&d)?], DType::U32)?;
    let y = g.op(Op::Demosaic(d), &[x])?;
    Ok(g.build(&[y])?)
}
