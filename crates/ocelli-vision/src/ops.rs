//! Preprocessing and filters as graph ops, so pixels go up to the GPU once with the model.
//! Most are compositions of existing ops (a blur is two depthwise convolutions, a grey image a
//! 1×1 convolution); colour spaces, area resizing and histogram ops have kernels of their own.
//! Every function takes and returns NCHW f32 values with pixels in [0, 1].

use ocelli_graph::{
    BinaryOp, Conv2d, GraphBuilder, GraphError, HistogramOp, Op, PadMode, Padding, Tensor, UnaryOp, UpsampleMode,
    ValueId,
};

type R = Result<ValueId, GraphError>;

fn dims(g: &GraphBuilder, x: ValueId) -> Result<[usize; 4], GraphError> {
    let d = g.shape(x)?.dims();
    if d.len() != 4 {
        return Err(GraphError::InvalidParam {
            op: "image",
            why: format!("images are [N, C, H, W], got rank {}", d.len()),
        });
    }
    Ok([d[0], d[1], d[2], d[3]])
}

fn channel_constant(g: &mut GraphBuilder, values: &[f32]) -> R {
    g.constant(Tensor::from_f32([1, values.len(), 1, 1], values.to_vec())?)
}

/// Resize to `h`×`w`: nearest, bilinear (half-pixel centres) or area (antialiased downscale).
pub fn resize(g: &mut GraphBuilder, x: ValueId, h: usize, w: usize, mode: UpsampleMode) -> R {
    g.op(Op::Upsample { mode, out_h: h, out_w: w }, &[x])
}

/// The central `h`×`w` window.
pub fn center_crop(g: &mut GraphBuilder, x: ValueId, h: usize, w: usize) -> R {
    let [_, _, ih, iw] = dims(g, x)?;
    if h > ih || w > iw || h == 0 || w == 0 {
        return Err(GraphError::InvalidParam { op: "center_crop", why: format!("cannot take {w}x{h} from {iw}x{ih}") });
    }
    let (top, left) = ((ih - h) / 2, (iw - w) / 2);
    let y = g.op(Op::Slice { axis: 2, start: top, end: top + h, step: 1 }, &[x])?;
    g.op(Op::Slice { axis: 3, start: left, end: left + w, step: 1 }, &[y])
}

/// Scales the image to fit a `size`×`size` square keeping its aspect ratio (bilinear), then
/// centres it on a `fill`-coloured canvas.
pub fn letterbox(g: &mut GraphBuilder, x: ValueId, size: usize, fill: f32) -> R {
    if size == 0 {
        return Err(GraphError::InvalidParam {
            op: "letterbox",
            why: "size 0: the square needs a side of at least 1".into(),
        });
    }
    let [_, _, h, w] = dims(g, x)?;
    let scale = size as f64 / h.max(w) as f64;
    let (nh, nw) =
        (((h as f64 * scale).round() as usize).clamp(1, size), ((w as f64 * scale).round() as usize).clamp(1, size));
    let y = resize(g, x, nh, nw, UpsampleMode::Bilinear { align_corners: false })?;
    let (top, left) = ((size - nh) / 2, (size - nw) / 2);
    let pads = vec![(0, 0), (0, 0), (top, size - nh - top), (left, size - nw - left)];
    g.op(Op::Pad { pads, mode: PadMode::Constant(fill) }, &[y])
}

/// `(x − mean[c]) / std[c]` per channel.
pub fn normalize(g: &mut GraphBuilder, x: ValueId, mean: &[f32], std: &[f32]) -> R {
    let m = channel_constant(g, mean)?;
    let s = channel_constant(g, std)?;
    let centred = g.op(Op::Binary(BinaryOp::Sub), &[x, m])?;
    g.op(Op::Binary(BinaryOp::Div), &[centred, s])
}

/// Three colour channels from an image of `channels` (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA):
/// grey repeated, alpha dropped.
pub fn to_rgb(g: &mut GraphBuilder, x: ValueId, channels: usize) -> R {
    match channels {
        3 => Ok(x),
        1 | 2 => {
            let grey = g.op(Op::Slice { axis: 1, start: 0, end: 1, step: 1 }, &[x])?;
            g.op(Op::Concat { axis: 1 }, &[grey, grey, grey])
        }
        _ => g.op(Op::Slice { axis: 1, start: 0, end: 3, step: 1 }, &[x]),
    }
}

/// RGB <-> BGR: the channel order reversed.
pub fn swap_red_blue(g: &mut GraphBuilder, x: ValueId) -> R {
    let parts = (0..3)
        .rev()
        .map(|c| g.op(Op::Slice { axis: 1, start: c, end: c + 1, step: 1 }, &[x]))
        .collect::<Result<Vec<_>, _>>()?;
    g.op(Op::Concat { axis: 1 }, &parts)
}

/// Luma (ITU-R BT.601 weights 0.299, 0.587, 0.114) as one channel.
pub fn to_gray(g: &mut GraphBuilder, x: ValueId) -> R {
    let w = g.constant(Tensor::from_f32([1, 3, 1, 1], vec![0.299, 0.587, 0.114])?)?;
    g.op(Op::Conv2d(Conv2d::default()), &[x, w])
}

/// RGB -> HSV (hue as a fraction of a turn).
pub fn rgb_to_hsv(g: &mut GraphBuilder, x: ValueId) -> R {
    g.op(Op::ColorSpace { to_hsv: true }, &[x])
}

/// HSV -> RGB.
pub fn hsv_to_rgb(g: &mut GraphBuilder, x: ValueId) -> R {
    g.op(Op::ColorSpace { to_hsv: false }, &[x])
}

/// Separable Gaussian blur of standard deviation `sigma` (taps to ±3σ, mirrored borders).
pub fn gaussian_blur(g: &mut GraphBuilder, x: ValueId, sigma: f32) -> R {
    let [_, c, h, w] = dims(g, x)?;
    if !(sigma > 0.0 && sigma.is_finite()) {
        return Err(GraphError::InvalidParam {
            op: "gaussian_blur",
            why: format!("sigma must be positive, got {sigma}"),
        });
    }
    let radius = ((3.0 * sigma).ceil() as usize).min(h.min(w).saturating_sub(1)).max(1);
    if radius >= h.min(w) {
        return Err(GraphError::InvalidParam {
            op: "gaussian_blur",
            why: format!("a {w}x{h} image is too small to blur"),
        });
    }
    let taps: Vec<f64> = (0..=2 * radius)
        .map(|i| (-((i as f64 - radius as f64).powi(2)) / (2.0 * f64::from(sigma).powi(2))).exp())
        .collect();
    let total: f64 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| (t / total) as f32).collect();
    let k = taps.len();
    let along = |g: &mut GraphBuilder, v: ValueId, vertical: bool| -> R {
        let (kh, kw) = if vertical { (k, 1) } else { (1, k) };
        let pads = if vertical {
            vec![(0, 0), (0, 0), (radius, radius), (0, 0)]
        } else {
            vec![(0, 0), (0, 0), (0, 0), (radius, radius)]
        };
        let padded = g.op(Op::Pad { pads, mode: PadMode::Reflect }, &[v])?;
        let weights =
            g.constant(Tensor::from_f32([c, 1, kh, kw], taps.iter().copied().cycle().take(c * k).collect())?)?;
        g.op(
            Op::Conv2d(Conv2d { groups: c, padding: Padding::Explicit([0; 4]), ..Default::default() }),
            &[padded, weights],
        )
    };
    let y = along(g, x, false)?;
    along(g, y, true)
}

/// Sharpening: `clamp(x + amount · (x − blur(x)), 0, 1)`.
pub fn unsharp_mask(g: &mut GraphBuilder, x: ValueId, sigma: f32, amount: f32) -> R {
    let blurred = gaussian_blur(g, x, sigma)?;
    let detail = g.op(Op::Binary(BinaryOp::Sub), &[x, blurred])?;
    let k = g.constant(Tensor::from_f32([1], vec![amount])?)?;
    let scaled = g.op(Op::Binary(BinaryOp::Mul), &[detail, k])?;
    let y = g.op(Op::Binary(BinaryOp::Add), &[x, scaled])?;
    g.op(Op::Unary(UnaryOp::Clamp { min: 0.0, max: 1.0 }), &[y])
}

/// Sobel gradients of the luma (or of a one-channel image): `[N, 2, H, W]`, channel 0 the
/// horizontal derivative, channel 1 the vertical one (edges repeated at the border).
pub fn sobel(g: &mut GraphBuilder, x: ValueId) -> R {
    let [_, c, _, _] = dims(g, x)?;
    let gray = if c == 3 { to_gray(g, x)? } else { x };
    if dims(g, gray)?[1] != 1 {
        return Err(GraphError::InvalidParam { op: "sobel", why: format!("needs 1 or 3 channels, got {c}") });
    }
    let padded = g.op(Op::Pad { pads: vec![(0, 0), (0, 0), (1, 1), (1, 1)], mode: PadMode::Edge }, &[gray])?;
    #[rustfmt::skip]
    let w = vec![
        -1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0,
        -1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0,
    ];
    let w = g.constant(Tensor::from_f32([2, 1, 3, 3], w)?)?;
    g.op(Op::Conv2d(Conv2d::default()), &[padded, w])
}

/// Histogram equalisation of every channel.
pub fn equalize_histogram(g: &mut GraphBuilder, x: ValueId) -> R {
    g.op(Op::Histogram(HistogramOp::Equalize), &[x])
}

/// Contrast stretch of every channel between the `low` and `high` percentiles.
pub fn contrast_stretch(g: &mut GraphBuilder, x: ValueId, low: f32, high: f32) -> R {
    g.op(Op::Histogram(HistogramOp::Stretch { low, high }), &[x])
}
