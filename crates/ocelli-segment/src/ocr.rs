//! Reading text: PP-OCRv4's detector finds the lines, each line is straightened and scaled to
//! height 48 on the device ([`Op::PerspectiveCrops`] straight from the image's packed pixels),
//! PP-OCR's direction classifier turns upside-down lines, and the recogniser reads them (its
//! argmax and confidence per column computed on the device); CTC decoding on the host. Crops,
//! batching and thresholds follow rapidocr 1.4.4 (scripts/convert_ppocr.py's docstring), except
//! that rapidocr's bicubic crop followed by a bilinear resize is one bilinear sample here.

use ocelli_graph::{Backend, BinaryOp, Graph, GraphBuilder, Op, Plan, Tensor, ValueId};
use ocelli_nn::{NnError, Weights};
use ocelli_vision::{ops, resize_pixels, PackedImage, PixelLayout};

use crate::{ppocr_cls, ppocr_rec, Model, SegmentError, Segmenter};

/// One line of text, in the image's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// What it reads.
    pub text: String,
    /// The recogniser's mean confidence over the characters it kept.
    pub score: f32,
    /// Corners `(x, y)` clockwise from the top left.
    pub polygon: Vec<[f32; 2]>,
}

/// rapidocr's `text_score`: lines read with less confidence are dropped.
pub const TEXT_SCORE: f32 = 0.5;
/// Lines per classifier and recogniser batch, as rapidocr batches them.
const BATCH: usize = 6;
/// The recogniser's least input width: rapidocr's 320 at height 48.
const MIN_RATIO: f64 = 320.0 / 48.0;

/// Which network a batch of crops feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Classify,
    Recognise,
}

/// One detected line's crop: its homography from crop to image pixels and its size.
#[derive(Debug, Clone, Copy)]
struct Crop {
    /// Crop pixels to image pixels.
    h: [f64; 9],
    /// Width and height of the (turned) crop.
    w: f64,
    ht: f64,
}

impl Crop {
    /// rapidocr's `get_rotate_crop_image`: the box straightened to `int` of its longer side
    /// lengths, turned a quarter counter-clockwise when it is at least 1.5 times taller than wide.
    fn of(q: &[[f32; 2]]) -> Crop {
        let p: Vec<[f64; 2]> = q.iter().map(|&[x, y]| [f64::from(x), f64::from(y)]).collect();
        let d = |a: [f64; 2], b: [f64; 2]| (a[0] - b[0]).hypot(a[1] - b[1]);
        let cw = d(p[0], p[1]).max(d(p[2], p[3])).trunc().max(1.0);
        let ch = d(p[0], p[3]).max(d(p[1], p[2])).trunc().max(1.0);
        let h = homography([[0.0, 0.0], [cw, 0.0], [cw, ch], [0.0, ch]], [p[0], p[1], p[2], p[3]]);
        if ch / cw >= 1.5 {
            // np.rot90: turned pixel (x, y) is crop pixel (cw − 1 − y, x).
            let turn = [0.0, -1.0, cw - 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0];
            Crop { h: mul(&h, &turn), w: ch, ht: cw }
        } else {
            Crop { h, w: cw, ht: ch }
        }
    }

    /// The same crop turned by 180° (`cv2.rotate(ROTATE_180)`).
    fn turned(self) -> Crop {
        let turn = [-1.0, 0.0, self.w - 1.0, 0.0, -1.0, self.ht - 1.0, 0.0, 0.0, 1.0];
        Crop { h: mul(&self.h, &turn), ..self }
    }

    /// Width over height.
    fn ratio(&self) -> f64 {
        self.w / self.ht
    }

    /// The homography from the network input's pixels (the crop resized to `width`×48 by
    /// `cv2.resize`'s half-pixel mapping) to image pixels, as f32.
    fn sampling(&self, width: usize) -> [f32; 9] {
        let (sx, sy) = (self.w / width as f64, self.ht / ppocr_rec::HEIGHT as f64);
        let scale = [sx, 0.0, 0.5 * sx - 0.5, 0.0, sy, 0.5 * sy - 0.5, 0.0, 0.0, 1.0];
        mul(&self.h, &scale).map(|v| v as f32)
    }

    /// rapidocr's resized width at height 48, at most `max`.
    fn resized_width(&self, max: usize) -> usize {
        ((ppocr_rec::HEIGHT as f64 * self.ratio()).ceil() as usize).clamp(1, max)
    }
}

/// 3×3 matrix product.
fn mul(a: &[f64; 9], b: &[f64; 9]) -> [f64; 9] {
    let mut c = [0.0; 9];
    for i in 0..3 {
        for j in 0..3 {
            c[i * 3 + j] = (0..3).map(|k| a[i * 3 + k] * b[k * 3 + j]).sum();
        }
    }
    c
}

/// The homography mapping each `from` corner onto the matching `to` corner (h33 = 1), by
/// Gaussian elimination with partial pivoting; the identity for a degenerate quadrilateral.
fn homography(from: [[f64; 2]; 4], to: [[f64; 2]; 4]) -> [f64; 9] {
    let mut a = [[0.0; 9]; 8];
    for k in 0..4 {
        let ([x, y], [u, v]) = (from[k], to[k]);
        a[2 * k] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * k + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs())).expect("rows");
        if a[pivot][col].abs() < 1e-12 {
            return [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];
        }
        a.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let f = a[row][col] / a[col][col];
                for k in col..9 {
                    a[row][k] -= f * a[col][k];
                }
            }
        }
    }
    let mut h = [1.0; 9];
    for i in 0..8 {
        h[i] = a[i][8] / a[i][i];
    }
    h
}

/// A graph from the image's packed pixels, `n` homographies `[n, 9]` and widths `[n]` to the
/// direction classifier's `[n, 2]`, or the recogniser's best class and its probability per
/// column (`[n, T]` each), for crops `width` wide.
fn lines_graph(stage: Stage, w: &Weights, layout: &PixelLayout, n: usize, width: usize) -> Result<Graph, NnError> {
    let mut g = GraphBuilder::new();
    let image = resize_pixels(&mut g, layout, layout.height, layout.width, ocelli_graph::UpsampleMode::Nearest)?;
    let rgb = ops::to_rgb(&mut g, image, layout.channels)?;
    let bgr = ops::swap_red_blue(&mut g, rgb)?;
    let matrices = g.input("matrices", [n, 9], ocelli_graph::DType::F32)?;
    let widths = g.input("widths", [n], ocelli_graph::DType::I32)?;
    // Padding at 0.5 becomes 0 once mapped to [−1, 1], as rapidocr pads the normalised line.
    let crops = Op::PerspectiveCrops { out_h: ppocr_rec::HEIGHT, out_w: width, fill: 0.5 };
    let x = g.op(crops, &[bgr, matrices, widths])?;
    let x = to_signed(&mut g, x)?;
    let outputs = match stage {
        Stage::Classify => vec![ppocr_cls::network(&mut g, w, x)?],
        Stage::Recognise => {
            let probs = ppocr_rec::network(&mut g, w, x)?;
            let best = g.op(Op::ArgMax { axis: 2, keep_dims: false }, &[probs])?;
            let p = g.op(Op::Reduce { op: ocelli_graph::ReduceOp::Max, axis: 2, keep_dims: false }, &[probs])?;
            vec![best, p]
        }
    };
    Ok(g.build(&outputs)?)
}

/// [0, 1] to [−1, 1].
fn to_signed(g: &mut GraphBuilder, x: ValueId) -> Result<ValueId, NnError> {
    let two = g.constant(Tensor::from_f32([1], vec![2.0])?)?;
    let one = g.constant(Tensor::from_f32([1], vec![1.0])?)?;
    let x = g.op(Op::Binary(BinaryOp::Mul), &[x, two])?;
    Ok(g.op(Op::Binary(BinaryOp::Sub), &[x, one])?)
}

/// What a compiled line plan is for: the image layout, the network, lines, crop width.
type PlanKey = (PixelLayout, Stage, usize, usize);

/// The text reader: detector, direction classifier and recogniser on one backend, each batch
/// shape compiled once.
pub struct Ocr<B: Backend> {
    detector: Segmenter<B>,
    backend: B,
    cls: Weights,
    rec: Weights,
    keys: Vec<String>,
    plans: Vec<(PlanKey, B::Plan)>,
}

impl<B: Backend + Clone> Ocr<B>
where
    B::Error: Send + Sync + 'static,
{
    /// The shipped PP-OCR models (`ppocr_det`, `ppocr_cls`, `ppocr_rec` and the dictionary
    /// `ppocr_keys.txt`) on `backend`.
    pub fn shipped(backend: B) -> Result<Self, SegmentError> {
        let keys_path = ocelli_nn::assets_dir().join("models").join("ppocr_keys.txt");
        let keys = std::fs::read_to_string(&keys_path)
            .map_err(|source| NnError::Io { path: keys_path.clone(), source })?
            .lines()
            .map(String::from)
            .collect();
        Ok(Ocr {
            detector: Segmenter::shipped(Model::PpocrDet, backend.clone())?,
            backend,
            cls: Weights::shipped("ppocr_cls")?,
            rec: Weights::shipped("ppocr_rec")?,
            keys,
            plans: Vec::new(),
        })
    }

    /// The lines of text in `image`, in reading order, those read with a confidence below
    /// [`TEXT_SCORE`] left out.
    pub fn read(&mut self, image: &PackedImage) -> Result<Vec<TextLine>, SegmentError> {
        let layout = image.layout.within(self.backend.max_binding_bytes());
        let resegmented;
        let image = if layout == image.layout {
            image
        } else {
            resegmented = PackedImage { layout, words: image.words.clone() };
            &resegmented
        };
        let regions = self.detector.segment(image)?.regions;
        let mut crops: Vec<Crop> = regions.iter().map(|r| Crop::of(&r.polygon)).collect();
        // Direction: batches of 6 by width over height, each crop scaled into 192 columns.
        let (cls_h, cls_w) = ppocr_cls::INPUT;
        debug_assert_eq!(cls_h, ppocr_rec::HEIGHT);
        for batch in by_ratio(&crops).chunks(BATCH) {
            let out = self.run(
                image,
                Stage::Classify,
                batch.iter().map(|&i| (crops[i], crops[i].resized_width(cls_w))),
                cls_w,
            )?;
            let p = out[0].as_f32().expect("f32 probabilities");
            for (k, &i) in batch.iter().enumerate() {
                if p[2 * k + 1] > p[2 * k] && p[2 * k + 1] > ppocr_cls::TURN_THRESHOLD {
                    crops[i] = crops[i].turned();
                }
            }
        }
        let mut read: Vec<Option<(String, f32)>> = vec![None; crops.len()];
        for batch in by_ratio(&crops).chunks(BATCH) {
            let ratio = batch.iter().map(|&i| crops[i].ratio()).fold(MIN_RATIO, f64::max);
            let width = (ppocr_rec::HEIGHT as f64 * ratio) as usize;
            let out = self.run(
                image,
                Stage::Recognise,
                batch.iter().map(|&i| (crops[i], crops[i].resized_width(width))),
                width,
            )?;
            let best = out[0].as_i32().expect("i32 classes");
            let p = out[1].as_f32().expect("f32 probabilities");
            let t = best.len() / batch.len();
            for (k, &i) in batch.iter().enumerate() {
                let columns =
                    best[k * t..(k + 1) * t].iter().zip(&p[k * t..(k + 1) * t]).map(|(&c, &q)| (c as usize, q));
                read[i] = Some(ppocr_rec::ctc_greedy(columns, &self.keys));
            }
        }
        Ok(regions
            .into_iter()
            .zip(read)
            .filter_map(|(r, line)| line.map(|(text, score)| TextLine { text, score, polygon: r.polygon }))
            .filter(|l| l.score >= TEXT_SCORE)
            .collect())
    }

    /// Runs the `stage` plan for `width`-wide crops of `image`, compiling it first if need be.
    fn run(
        &mut self,
        image: &PackedImage,
        stage: Stage,
        crops: impl Iterator<Item = (Crop, usize)>,
        width: usize,
    ) -> Result<Vec<Tensor>, SegmentError> {
        let (mut matrices, mut widths) = (Vec::new(), Vec::new());
        for (crop, w) in crops {
            matrices.extend(crop.sampling(w));
            widths.push(w as i32);
        }
        let n = widths.len();
        let key = (image.layout, stage, n, width);
        let backend_err = |e: B::Error| SegmentError::Backend(Box::new(e));
        let at = match self.plans.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let w = if stage == Stage::Classify { &self.cls } else { &self.rec };
                let graph = lines_graph(stage, w, &image.layout, n, width)?;
                self.plans.push((key, self.backend.compile(&graph).map_err(backend_err)?));
                self.plans.len() - 1
            }
        };
        let mut inputs = image.segments();
        inputs.push(Tensor::from_f32([n, 9], matrices).map_err(NnError::from)?);
        inputs.push(Tensor::from_i32([n], widths).map_err(NnError::from)?);
        self.plans[at].1.run(&inputs).map_err(backend_err)
    }
}

/// Crop indices by width over height (ties in index order), as rapidocr sorts before batching.
fn by_ratio(crops: &[Crop]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..crops.len()).collect();
    order.sort_by(|&a, &b| crops[a].ratio().total_cmp(&crops[b].ratio()));
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn homographies_map_corners_onto_corners() {
        let from = [[0.0, 0.0], [10.0, 0.0], [10.0, 4.0], [0.0, 4.0]];
        let to = [[3.0, 1.0], [13.0, 3.0], [12.0, 8.0], [2.0, 6.0]];
        let h = homography(from, to);
        for (f, t) in from.iter().zip(&to) {
            let z = h[6] * f[0] + h[7] * f[1] + h[8];
            let (x, y) = ((h[0] * f[0] + h[1] * f[1] + h[2]) / z, (h[3] * f[0] + h[4] * f[1] + h[5]) / z);
            assert!((x - t[0]).abs() < 1e-9 && (y - t[1]).abs() < 1e-9, "{f:?} -> ({x}, {y}), want {t:?}");
        }
    }

    #[test]
    fn tall_crops_turn_a_quarter_and_keep_their_size() {
        let c = Crop::of(&[[0.0, 0.0], [10.0, 0.0], [10.0, 40.0], [0.0, 40.0]]);
        assert_eq!((c.w, c.ht), (40.0, 10.0));
        // Turned pixel (0, 0) is crop pixel (9, 0): image (9, 0).
        let z = c.h[8];
        assert!(((c.h[2] / z) - 9.0).abs() < 1e-9 && (c.h[5] / z).abs() < 1e-9);
    }
}
