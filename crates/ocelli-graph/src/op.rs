use crate::DType;

/// Spatial padding of a convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// Explicit padding `[top, left, bottom, right]` (may be asymmetric).
    Explicit([usize; 4]),
    /// TensorFlow "SAME": output = ceil(input / stride), extra padding at the bottom/right.
    Same,
}

/// Parameters of a 2-D convolution. Inputs: x `[N, C, H, W]`, weight `[O, C/groups, KH, KW]`,
/// optional bias `[O]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Padding.
    pub padding: Padding,
    /// Dilation `[dh, dw]`.
    pub dilation: [usize; 2],
    /// Groups (C for depthwise).
    pub groups: usize,
}

impl Default for Conv2d {
    fn default() -> Self {
        Self { stride: [1, 1], padding: Padding::Explicit([0; 4]), dilation: [1, 1], groups: 1 }
    }
}

/// Parameters of a 2-D transposed convolution (PyTorch semantics). Inputs: x `[N, C, H, W]`,
/// weight `[C, O/groups, KH, KW]`, optional bias `[O]`.
/// Output size: `(in - 1)·stride − 2·padding + dilation·(k − 1) + output_padding + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvTranspose2d {
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Padding `[ph, pw]` removed from both sides.
    pub padding: [usize; 2],
    /// Extra rows/columns added at the bottom/right.
    pub output_padding: [usize; 2],
    /// Dilation `[dh, dw]`.
    pub dilation: [usize; 2],
    /// Groups.
    pub groups: usize,
}

impl Default for ConvTranspose2d {
    fn default() -> Self {
        Self { stride: [1, 1], padding: [0, 0], output_padding: [0, 0], dilation: [1, 1], groups: 1 }
    }
}

/// Which reduction a pooling window applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolKind {
    /// Maximum of the window (padding never wins).
    Max,
    /// Mean of the window.
    Avg,
}

/// Parameters of 2-D pooling over `[N, C, H, W]` (PyTorch semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2d {
    /// Max or average.
    pub kind: PoolKind,
    /// Window `[kh, kw]`.
    pub kernel: [usize; 2],
    /// Stride `[sh, sw]`.
    pub stride: [usize; 2],
    /// Padding `[top, left, bottom, right]`.
    pub padding: [usize; 4],
    /// Round the output size up instead of down.
    pub ceil_mode: bool,
    /// Average pooling divides by the full window, padding included.
    pub count_include_pad: bool,
}

impl Pool2d {
    /// A `k`×`k` window with stride `s` and no padding.
    pub fn new(kind: PoolKind, k: usize, s: usize) -> Self {
        Self { kind, kernel: [k, k], stride: [s, s], padding: [0; 4], ceil_mode: false, count_include_pad: false }
    }
}

/// Interpolation of [`Op::Upsample`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpsampleMode {
    /// Nearest neighbour, `src = floor(dst · in / out)` (PyTorch "nearest").
    Nearest,
    /// Bilinear; `align_corners` as in PyTorch.
    Bilinear {
        /// Map corner pixel centres onto each other.
        align_corners: bool,
    },
    /// Bilinear with TensorFlow 1's coordinates (`half_pixel_centers = false`, as TF.js and
    /// older TFLite graphs resize): `src = dst · in/out`, the neighbours clamped to the edge.
    BilinearAsymmetric,
    /// OpenCV's fixed-point `INTER_LINEAR` warp of 8-bit images (`cv::warpAffine`/
    /// `warpPerspective` with a scale matrix, as MediaPipe's ImageToTensorCalculator stretches
    /// images): `src = dst · in/out` quantised to 1/32 pixel (ties to even), integer weights
    /// `(32 − a)(32 − b)…`, taps outside the image read 0, and the result rounded to the 8-bit
    /// grid before it is scaled to [0, 1]. Only [`Op::ResizePixels`] of 8-bit samples takes it.
    BilinearFixedPoint,
    /// Area (antialiased downscale): the mean of input pixels `floor(o·in/out) ..
    /// ceil((o+1)·in/out)` per axis, as PyTorch's "area" (adaptive average pooling).
    Area,
}

/// Elementwise binary ops with NumPy broadcasting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    /// a + b
    Add,
    /// a − b
    Sub,
    /// a · b
    Mul,
    /// a / b
    Div,
    /// max(a, b)
    Max,
    /// min(a, b)
    Min,
    /// a^b
    Pow,
    /// PReLU: a where a > 0, else b·a (b is the broadcast slope).
    PRelu,
    /// 1 where a > b, else 0 (also where either is NaN): a mask.
    Greater,
}

/// Elementwise unary ops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    /// max(x, 0)
    Relu,
    /// min(max(x, 0), 6)
    Relu6,
    /// x where x > 0, else alpha·x
    LeakyRelu(f32),
    /// 1 / (1 + e^−x)
    Sigmoid,
    /// tanh(x)
    Tanh,
    /// x·sigmoid(x)
    Silu,
    /// x·Φ(x) with the exact normal CDF (erf)
    Gelu,
    /// x·relu6(x + 3) / 6
    HardSwish,
    /// relu6(x + 3) / 6
    HardSigmoid,
    /// e^x
    Exp,
    /// ln x
    Log,
    /// √x
    Sqrt,
    /// |x|
    Abs,
    /// −x
    Neg,
    /// min(max(x, min), max)
    Clamp {
        /// Lower bound.
        min: f32,
        /// Upper bound.
        max: f32,
    },
    /// scale·x + shift (what a product and sum with scalar constants become, so that they fuse
    /// into their producer's epilogue: [`crate::passes::scalars_to_affine`])
    Affine {
        /// Factor.
        scale: f32,
        /// Offset added after the product.
        shift: f32,
    },
}

/// Reductions over one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReduceOp {
    /// Sum.
    Sum,
    /// Arithmetic mean.
    Mean,
    /// Maximum.
    Max,
}

/// Border handling of [`Op::Pad`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PadMode {
    /// Fill with a constant.
    Constant(f32),
    /// Mirror without repeating the edge (`[a b c] -> b a b c b`).
    Reflect,
    /// Repeat the edge value.
    Edge,
}

/// Every operator Ocelli knows. A closed set: each has a shape rule here, a reference in
/// `ocelli-cpu` and a kernel in `ocelli-exec`.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Batched matrix product. Inputs: a `[.., M, K]` (`[.., K, M]` when `trans_a`),
    /// b `[.., K, N]` (`[.., N, K]` when `trans_b`), optional bias `[N]`. Batch dimensions must
    /// match, or one side has none (it is broadcast).
    MatMul {
        /// Read a transposed.
        trans_a: bool,
        /// Read b transposed.
        trans_b: bool,
    },
    /// L1 distances between the rows of a `[M, D]` and the rows of b `[N, D]`: `[M, N]`.
    L1Distance,
    /// 2-D convolution, NCHW.
    Conv2d(Conv2d),
    /// 2-D transposed convolution, NCHW.
    ConvTranspose2d(ConvTranspose2d),
    /// Max or average pooling.
    Pool2d(Pool2d),
    /// Max pooling that also returns, per output, the flat index `h·W + w` of the maximum in its
    /// input plane (i32). Two outputs: values and indices.
    MaxPool2dWithIndices(Pool2d),
    /// Entries of x (f32, i32 or u32) along `axis` picked by indices (i32, any shape): the
    /// output's shape is x's with `axis` replaced by the indices' shape. An index outside
    /// `0..len` gives zeros (so NMS's −1 rows pick nothing; unlike ONNX, negative indices do not
    /// count from the end).
    Gather {
        /// The axis indexed.
        axis: usize,
    },
    /// Inverse of [`Op::MaxPool2dWithIndices`]: scatters x to the remembered indices of a zeroed
    /// `[N, C, out_h, out_w]` plane. Inputs: x, indices (i32, same shape as x). Indices outside
    /// the plane are skipped; where two entries share an index (max pooling's overlapping windows
    /// give the same value twice) the GPU writes one of them, in no defined order, as PyTorch's
    /// CUDA kernel does.
    MaxUnpool2d {
        /// Output height.
        out_h: usize,
        /// Output width.
        out_w: usize,
    },
    /// Mean over H and W: `[N, C, H, W] -> [N, C, 1, 1]`.
    GlobalAvgPool,
    /// Resize `[N, C, H, W] -> [N, C, out_h, out_w]`.
    Upsample {
        /// Interpolation.
        mode: UpsampleMode,
        /// Output height.
        out_h: usize,
        /// Output width.
        out_w: usize,
    },
    /// Elementwise binary op with broadcasting.
    Binary(BinaryOp),
    /// Elementwise unary op.
    Unary(UnaryOp),
    /// Softmax (or log-softmax) along `axis`.
    Softmax {
        /// Axis to normalise.
        axis: usize,
        /// Return log-probabilities.
        log: bool,
    },
    /// Inference batch norm over axis 1. Inputs: x, gamma, beta, running mean, running var, each
    /// of the latter `[C]`.
    BatchNorm {
        /// Added to the variance.
        eps: f32,
    },
    /// Group norm over `[N, C, ...]`. Inputs: x, gamma `[C]`, beta `[C]`.
    GroupNorm {
        /// Number of groups (divides C).
        groups: usize,
        /// Added to the variance.
        eps: f32,
    },
    /// Layer norm over the dimensions from `axis` on. Inputs: x, gamma, beta shaped like those
    /// dimensions.
    LayerNorm {
        /// First normalised axis.
        axis: usize,
        /// Added to the variance.
        eps: f32,
    },
    /// Sum, mean or max along `axis`.
    Reduce {
        /// Which reduction.
        op: ReduceOp,
        /// Axis reduced.
        axis: usize,
        /// Keep the axis with size 1.
        keep_dims: bool,
    },
    /// Index of the maximum along `axis` (first one on ties), as i32.
    ArgMax {
        /// Axis reduced.
        axis: usize,
        /// Keep the axis with size 1.
        keep_dims: bool,
    },
    /// The `k` largest (or smallest) entries along the last axis, best first, ties by lower
    /// index. Two outputs: values and their indices (i32), last axis `k`. At most
    /// [`Op::MAX_TOP_K`].
    TopK {
        /// How many.
        k: usize,
        /// Largest (else smallest).
        largest: bool,
    },
    /// Concatenation along `axis`; any number of inputs.
    Concat {
        /// Axis joined.
        axis: usize,
    },
    /// Elements `start, start+step, ... < end` along `axis`.
    Slice {
        /// Axis sliced.
        axis: usize,
        /// First index.
        start: usize,
        /// One past the last index (clamped to the dimension).
        end: usize,
        /// Step, at least 1.
        step: usize,
    },
    /// Same data, new shape with the same number of elements.
    Reshape {
        /// New dimensions.
        shape: Vec<usize>,
    },
    /// Permutation of the dimensions: output dim `i` is input dim `perm[i]`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Padding of every dimension by `(before, after)`.
    Pad {
        /// One pair per dimension.
        pads: Vec<(usize, usize)>,
        /// Border handling.
        mode: PadMode,
    },
    /// Conversion between f32 and f16.
    Cast {
        /// Target dtype.
        to: DType,
    },
    /// Raw Bayer mosaic -> RGB. Input: the frame's pixels packed little-endian into u32 words
    /// (4 per word at 8 bits, 2 at 16), shape `[ceil(height·width·bits/32)]`. Output
    /// `[1, 3, height, width]` f32 in [0, 1].
    Demosaic(Demosaic),
    /// Decoded image pixels -> a resized f32 image: the interleaved (HWC) 8- or 16-bit samples
    /// of a `height`×`width` image packed little-endian into u32 words (4 per word at 8 bits, 2
    /// at 16), split into 1 to [`ResizePixels::MAX_SEGMENTS`] inputs of `segment_words` words
    /// (the last one shorter) so that an image larger than one storage binding still goes to
    /// the device whole, at a quarter (half) of its f32 size. Output `[1, channels, out_h,
    /// out_w]` f32 in [0, 1]: samples over the largest value of `bits`, resized like
    /// [`Op::Upsample`] (nearest or bilinear).
    ResizePixels(ResizePixels),
    /// ONNX RoiAlign: bilinear samples averaged (or maxed) over each bin of each region. Inputs:
    /// x `[N, C, H, W]`, rois `[R, 4]` as (x1, y1, x2, y2) in input coordinates before
    /// `spatial_scale`, batch indices `[R]` (i32). Output `[R, C, out_h, out_w]`.
    RoiAlign(RoiAlign),
    /// Fast R-CNN RoIPool: the maximum over each bin of each rounded region. Inputs as
    /// [`Op::RoiAlign`]; output `[R, C, out_h, out_w]` (0 for empty bins).
    RoiPool(RoiPool),
    /// Crops resized by area averaging (PyTorch's adaptive average pooling of each crop, as
    /// MTCNN's cascade crops its proposals). Inputs as [`Op::RoiAlign`]: region r is the integer
    /// rectangle `[⌊x1⌋, ⌊x2⌋) × [⌊y1⌋, ⌊y2⌋)` of its batch entry's map, clipped to the map;
    /// output bin (i, j) is the mean of the crop's rows `⌊i·h/out_h⌋ .. ⌈(i+1)·h/out_h⌉` and
    /// columns likewise (h, w: the clipped crop's size). An empty or non-finite region, or one
    /// of a batch that does not exist, gives zeros. Output `[R, C, out_h, out_w]`.
    CropResize {
        /// Output rows per region.
        out_h: usize,
        /// Output columns per region.
        out_w: usize,
    },
    /// Standard normal samples from a counter-based generator: Philox4x32-10 under the key
    /// (input `[2]` u32: seed and stream, e.g. a sampler step), Box–Muller over each block's
    /// four words. Element e comes from block e / 4, so the same key gives the same samples on
    /// Perspective crops of one image x `[1, C, H, W]`: region r's output pixel (column u, row
    /// v) samples x bilinearly at the point the homography `matrices[r]` (`[R, 9]`, row-major)
    /// maps (u, v, 1) to (OpenCV's convention: integer coordinates are pixel centres), the
    /// nearest edge pixel standing in outside the image (`BORDER_REPLICATE`); columns at or past
    /// `widths[r]` (`[R]`, i32), and points at infinity, hold `fill`. Text lines for a
    /// recogniser: rotated or skewed boxes straightened and scaled to one height, padded on the
    /// right. Output `[R, C, out_h, out_w]`.
    PerspectiveCrops {
        /// Output height.
        out_h: usize,
        /// Output width.
        out_w: usize,
        /// Value of the padding.
        fill: f32,
    },
    /// every backend and for every prefix of `shape`. Output f32 `shape`.
    RandomNormal {
        /// Output shape.
        shape: Vec<usize>,
    },
    /// ONNX NonMaxSuppression, or its class-agnostic form. Inputs: boxes `[B, N, 4]`, scores
    /// `[B, C, N]`. Output `[B·C·max_per_class, 3]` i32 rows (batch, class, box) in selection
    /// order per (batch, class), padded with rows of −1 (`[B·max_per_class, 3]` class-agnostic).
    NonMaxSuppression(Nms),
    /// RGB <-> HSV on `[N, 3, H, W]` in [0, 1]; hue in [0, 1) (fraction of a turn).
    ColorSpace {
        /// RGB to HSV (else HSV to RGB).
        to_hsv: bool,
    },
    /// Per-plane intensity remapping through a 256-bin histogram of `[N, C, H, W]` in [0, 1]:
    /// histogram equalisation, or a contrast stretch between two percentiles.
    Histogram(HistogramOp),
    /// Connected-component labelling of a mask `[H, W]` (foreground where x ≠ 0; f32, i32
    /// labels out, −1 on the background) by `rounds` rounds of label propagation with pointer
    /// jumping, 8-connected: labels start as each pixel's own index `y·W + x`; one round sets
    /// every foreground pixel's label to the least `L[L[q]]` over itself and its foreground
    /// neighbours q. Labels only shrink toward the least index of the component; about
    /// 2·log2 of the longest path inside it suffice (the result is exact once no round changes
    /// it, which the caller can check: every pixel's label equals its neighbours' and its
    /// label's own label).
    ConnectedComponents {
        /// Rounds of propagation.
        rounds: usize,
    },
    /// A producer with its elementwise tail, made by [`crate::passes::fuse_epilogues`]:
    /// `acts(base(inputs) + residual)`. Inputs: the base op's inputs, then the residual when
    /// `residual` is set (same shape as the output).
    Fused(Fused),
}

/// Colour filter layout of a Bayer sensor, named by its top-left 2×2 cell read row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BayerPattern {
    /// R G / G B
    Rggb,
    /// B G / G R
    Bggr,
    /// G R / B G
    Grbg,
    /// G B / R G
    Gbrg,
}

impl BayerPattern {
    /// Every pattern.
    pub const ALL: [BayerPattern; 4] = [Self::Rggb, Self::Bggr, Self::Grbg, Self::Gbrg];

    /// Colour (0 red, 1 green, 2 blue) of the cell at `(y mod 2, x mod 2)`.
    pub fn color_at(self, y: usize, x: usize) -> usize {
        let cell = match self {
            Self::Rggb => [0, 1, 1, 2],
            Self::Bggr => [2, 1, 1, 0],
            Self::Grbg => [1, 0, 2, 1],
            Self::Gbrg => [1, 2, 0, 1],
        };
        cell[(y % 2) * 2 + x % 2]
    }

    /// Parses "rggb", "bggr", "grbg" or "gbrg" (any case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name.to_ascii_lowercase())
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rggb => "rggb",
            Self::Bggr => "bggr",
            Self::Grbg => "grbg",
            Self::Gbrg => "gbrg",
        }
    }
}

/// Interpolation of [`Op::Demosaic`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DemosaicMethod {
    /// Average of the nearest samples of each missing colour.
    Bilinear,
    /// Malvar, He and Cutler (ICASSP 2004): bilinear corrected by the gradient of the sampled
    /// colour, 5×5 linear filters.
    Mhc,
}

/// Parameters of [`Op::Demosaic`]: `rgb = clamp(wb[c] · (raw − black) / (white − black))`,
/// interpolated, then optionally sRGB-encoded. Borders mirror without repeating the edge, which
/// keeps the colour filter phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Demosaic {
    /// Frame height (even, at least 4).
    pub height: usize,
    /// Frame width (even, at least 4).
    pub width: usize,
    /// Bits per stored sample: 8 or 16.
    pub bits: u32,
    /// Colour filter layout.
    pub pattern: BayerPattern,
    /// Interpolation.
    pub method: DemosaicMethod,
    /// Raw value of black.
    pub black: f32,
    /// Raw value of full scale.
    pub white: f32,
    /// White-balance gains for red, green and blue.
    pub wb: [f32; 3],
    /// Encode the output with the sRGB transfer curve.
    pub srgb: bool,
}

impl Demosaic {
    /// Defaults for a frame: full range of `bits`, unit gains, linear output.
    pub fn new(height: usize, width: usize, bits: u32, pattern: BayerPattern, method: DemosaicMethod) -> Self {
        let white = if bits >= 32 { f32::MAX } else { ((1u64 << bits) - 1) as f32 };
        Self { height, width, bits, pattern, method, black: 0.0, white, wb: [1.0; 3], srgb: false }
    }

    /// u32 words holding the packed frame, or `None` when the count overflows.
    pub fn words(&self) -> Option<usize> {
        let bits = self.height.checked_mul(self.width)?.checked_mul(self.bits as usize)?;
        Some(bits.div_ceil(32))
    }
}

/// Parameters of [`Op::ResizePixels`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResizePixels {
    /// Image height.
    pub height: usize,
    /// Image width.
    pub width: usize,
    /// Samples per pixel, interleaved (1 to 4).
    pub channels: usize,
    /// Bits per sample: 8 or 16.
    pub bits: u32,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Nearest or bilinear.
    pub mode: UpsampleMode,
    /// Words per input segment.
    pub segment_words: usize,
}

impl ResizePixels {
    /// Most inputs (segments) one op reads.
    pub const MAX_SEGMENTS: usize = 4;

    /// u32 words holding the packed samples, or `None` when the count overflows.
    pub fn words(&self) -> Option<usize> {
        let bits = self.height.checked_mul(self.width)?.checked_mul(self.channels)?.checked_mul(self.bits as usize)?;
        Some(bits.div_ceil(32))
    }

    /// The inputs' lengths in words: segments of `segment_words`, the last one shorter.
    pub fn segment_lens(&self) -> Option<Vec<usize>> {
        let (words, seg) = (self.words()?, self.segment_words);
        (seg > 0).then(|| (0..words.div_ceil(seg)).map(|i| seg.min(words - i * seg)).collect())
    }
}

/// Parameters of [`Op::RoiAlign`] (ONNX opset 16 semantics).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiAlign {
    /// Output bins per region, vertically.
    pub out_h: usize,
    /// Output bins per region, horizontally.
    pub out_w: usize,
    /// Samples per bin side; 0 takes ceil(region size / bins).
    pub sampling_ratio: usize,
    /// Scale from region coordinates to feature-map coordinates.
    pub spatial_scale: f32,
    /// Average or maximum of the samples.
    pub mode: PoolKind,
    /// `half_pixel` coordinates (shift by −0.5); `false` is ONNX's "output_half_pixel" (legacy,
    /// regions at least 1×1).
    pub half_pixel: bool,
}

/// Parameters of [`Op::RoiPool`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoiPool {
    /// Output bins per region, vertically.
    pub out_h: usize,
    /// Output bins per region, horizontally.
    pub out_w: usize,
    /// Scale from region coordinates to feature-map coordinates.
    pub spatial_scale: f32,
}

/// Parameters of [`Op::NonMaxSuppression`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nms {
    /// At most this many boxes per (batch, class) — per batch when class-agnostic.
    pub max_per_class: usize,
    /// A box is suppressed by a kept box when their overlap is above this.
    pub iou_threshold: f32,
    /// Only boxes scoring above this are candidates. NaN scores are never candidates.
    pub score_threshold: Option<f32>,
    /// Boxes are (x_center, y_center, width, height) instead of two corners (y1, x1, y2, x2).
    pub center_point_box: bool,
    /// One suppression over all classes, each box under its best class.
    pub class_agnostic: bool,
    /// Gaussian soft-NMS (Bodla et al., ICCV 2017) with this σ: instead of removing boxes that
    /// overlap a kept one, their scores decay by `exp(−IoU² / σ)`, and the best remaining score
    /// is kept next while it is above the score threshold. Adds a second output, the kept
    /// boxes' decayed scores `[rows]` (0 on padding rows).
    pub soft_sigma: Option<f32>,
    /// How the overlap of two boxes is measured.
    pub overlap: Overlap,
}

/// The overlap of two boxes that [`Op::NonMaxSuppression`] compares with its threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Overlap {
    /// Intersection over union (ONNX, torchvision).
    #[default]
    Iou,
    /// Intersection over the smaller box's area (MTCNN's "Min" suppression).
    Min,
}

/// What [`Op::Histogram`] does with each plane's histogram (256 bins, value v in bin
/// `min(floor(256·v), 255)`, values clamped to [0, 1]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HistogramOp {
    /// `y = (cdf(bin) − cdf_min) / (count − cdf_min)`, as OpenCV's equalizeHist.
    Equalize,
    /// `y = clamp((x − lo) / (hi − lo), 0, 1)` with lo, hi the lower edges of the bins holding the
    /// `low` and `high` percentiles (0–100), hi at least one bin above lo.
    Stretch {
        /// Lower percentile.
        low: f32,
        /// Upper percentile.
        high: f32,
    },
}

/// Parameters of [`Op::Fused`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fused {
    /// The producer: MatMul, Conv2d, Binary, Unary, GroupNorm or LayerNorm (a residual only onto
    /// MatMul and Conv2d).
    pub base: Box<Op>,
    /// A residual tensor is added to the producer's output.
    pub residual: bool,
    /// Unary ops applied last, in order (at most [`Fused::MAX_ACTS`]).
    pub acts: Vec<UnaryOp>,
}

impl Fused {
    /// Longest activation chain one kernel applies.
    pub const MAX_ACTS: usize = 4;

    /// Number of inputs the base op takes out of `total` fused inputs.
    pub fn base_inputs(&self, total: usize) -> usize {
        total - usize::from(self.residual)
    }
}

impl Op {
    /// Largest `k` of [`Op::TopK`] (kept in registers by the kernel).
    pub const MAX_TOP_K: usize = 128;

    /// The op's name in errors and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul { .. } => "matmul",
            Op::L1Distance => "l1_distance",
            Op::Conv2d(_) => "conv2d",
            Op::ConvTranspose2d(_) => "conv_transpose2d",
            Op::Pool2d(p) if p.kind == PoolKind::Max => "max_pool2d",
            Op::Pool2d(_) => "avg_pool2d",
            Op::MaxPool2dWithIndices(_) => "max_pool2d_with_indices",
            Op::MaxUnpool2d { .. } => "max_unpool2d",
            Op::GlobalAvgPool => "global_avg_pool",
            Op::Upsample { .. } => "upsample",
            Op::Binary(_) => "binary",
            Op::Unary(_) => "unary",
            Op::Softmax { log: false, .. } => "softmax",
            Op::Softmax { log: true, .. } => "log_softmax",
            Op::BatchNorm { .. } => "batch_norm",
            Op::GroupNorm { .. } => "group_norm",
            Op::LayerNorm { .. } => "layer_norm",
            Op::Reduce { .. } => "reduce",
            Op::ArgMax { .. } => "argmax",
            Op::TopK { .. } => "top_k",
            Op::Concat { .. } => "concat",
            Op::Slice { .. } => "slice",
            Op::Gather { .. } => "gather",
            Op::Reshape { .. } => "reshape",
            Op::Transpose { .. } => "transpose",
            Op::Pad { .. } => "pad",
            Op::Cast { .. } => "cast",
            Op::Fused(_) => "fused",
            Op::Demosaic(_) => "demosaic",
            Op::ConnectedComponents { .. } => "connected_components",
            Op::ResizePixels(_) => "resize_pixels",
            Op::RoiAlign(_) => "roi_align",
            Op::RoiPool(_) => "roi_pool",
            Op::CropResize { .. } => "crop_resize",
            Op::PerspectiveCrops { .. } => "perspective_crops",
            Op::RandomNormal { .. } => "random_normal",
            Op::NonMaxSuppression(_) => "non_max_suppression",
            Op::ColorSpace { to_hsv: true } => "rgb_to_hsv",
            Op::ColorSpace { to_hsv: false } => "hsv_to_rgb",
            Op::Histogram(HistogramOp::Equalize) => "equalize_histogram",
            Op::Histogram(HistogramOp::Stretch { .. }) => "contrast_stretch",
        }
    }
}
