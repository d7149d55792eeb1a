// The vision ops of the graph generator (fuzz/graph_gen.rs): demosaicking and resizing from
// packed samples, RoiAlign / RoiPool / CropResize, NMS, colour conversion and histograms.

use ocelli::{
    BayerPattern, DType, Demosaic, DemosaicMethod, HistogramOp, Nms, Op, Overlap, PoolKind, ResizePixels, RoiAlign,
    RoiPool, UpsampleMode,
};

use super::{Fill, Gen, Precision, ACCUM, EXACT, TRANSCENDENTAL};

impl Gen<'_> {
    /// Demosaicking or resizing straight from packed samples, fed by new word inputs.
    pub(super) fn raw_pixels(&mut self) -> Option<()> {
        let side = |gen: &mut Self| if gen.wild() { gen.b.size(1) } else { 4 + 2 * gen.b.below(4) };
        let bits = if self.b.flag() { 16 } else { 8 };
        let bits = if self.wild() && self.b.flag() { self.b.size(0) as u32 } else { bits };
        if self.b.flag() {
            let (h, w) = (side(self), side(self));
            let method = if self.b.flag() { DemosaicMethod::Mhc } else { DemosaicMethod::Bilinear };
            let pattern = BayerPattern::ALL[self.b.below(4)];
            let mut d = Demosaic::new(h, w, bits, pattern, method);
            d.srgb = self.b.flag();
            let words = h.checked_mul(w).and_then(|n| n.checked_mul(bits as usize)).map(|b| b.div_ceil(32))?;
            let input = self.input(vec![words], DType::U32, Fill::Words)?;
            let tol = if d.srgb { TRANSCENDENTAL } else { ACCUM };
            return self.apply(Op::Demosaic(d), &[input], Precision::Rounded, tol).map(drop);
        }
        let mode = [
            UpsampleMode::Nearest,
            UpsampleMode::Bilinear { align_corners: self.b.flag() },
            UpsampleMode::BilinearAsymmetric,
        ][self.b.below(3)];
        let r0 = ResizePixels {
            height: self.b.size(1),
            width: self.b.size(1),
            channels: 1 + self.b.below(4),
            bits,
            out_h: self.b.size(1),
            out_w: self.b.size(1),
            mode,
            segment_words: 0,
        };
        let words = r0.words()?;
        let r = ResizePixels {
            segment_words: if self.wild() { self.b.size(0) } else { words.div_ceil(1 + self.b.below(2)) },
            ..r0
        };
        let mut operands = vec![];
        for len in r.segment_lens().unwrap_or_default().into_iter().take(ResizePixels::MAX_SEGMENTS + 1) {
            operands.push(self.input(vec![len], DType::U32, Fill::Words)?);
        }
        self.apply(Op::ResizePixels(r), &operands, Precision::Rounded, ACCUM).map(drop)
    }

    pub(super) fn roi(&mut self) -> Option<()> {
        let x = self.operand(Some(4), Precision::Rounded)?;
        let n = self.dims(x)[0];
        let rois = self.b.size(1);
        let boxes = self.input(vec![rois, 4], DType::F32, Fill::Boxes)?;
        let limit = if self.wild() { self.b.size(0) } else { n };
        let batch = self.input(vec![rois], DType::I32, Fill::Index(limit))?;
        let (out_h, out_w) = (self.b.size(1) % 5 + 1, self.b.size(1) % 5 + 1);
        let spatial_scale = [1.0, 0.5, 0.25][self.b.below(3)];
        let op = match self.b.below(3) {
            0 => Op::RoiPool(RoiPool { out_h, out_w, spatial_scale }),
            1 => Op::CropResize { out_h, out_w },
            _ => Op::RoiAlign(RoiAlign {
                out_h,
                out_w,
                sampling_ratio: self.b.below(3),
                spatial_scale,
                mode: if self.b.flag() { PoolKind::Max } else { PoolKind::Avg },
                half_pixel: self.b.flag(),
            }),
        };
        self.apply(op, &[x, boxes, batch], Precision::Rounded, ACCUM).map(drop)
    }

    pub(super) fn nms(&mut self) -> Option<()> {
        let (b, n, c) = (1 + self.b.below(2), self.b.size(1), 1 + self.b.below(3));
        let boxes = self.input(vec![b, n, 4], DType::F32, Fill::Boxes)?;
        let scores = self.input(vec![b, c, n], DType::F32, Fill::Grid)?;
        let soft = self.b.below(4) == 0;
        let p = Nms {
            max_per_class: self.b.size(1),
            iou_threshold: [0.3, 0.45, 0.6, 0.9][self.b.below(4)],
            score_threshold: self.b.flag().then_some(-1.0 + self.b.below(16) as f32 / 8.0),
            center_point_box: self.b.flag(),
            class_agnostic: self.b.flag(),
            soft_sigma: soft.then_some(0.5),
            overlap: if self.b.flag() { Overlap::Min } else { Overlap::Iou },
        };
        let p = if self.wild() {
            Nms { iou_threshold: self.b.float(), soft_sigma: soft.then(|| self.b.float()), ..p }
        } else {
            p
        };
        let tol = if soft { TRANSCENDENTAL } else { EXACT };
        self.apply(Op::NonMaxSuppression(p), &[boxes, scores], Precision::Rounded, tol).map(drop)
    }

    pub(super) fn colour(&mut self) -> Option<()> {
        if self.b.flag() {
            let x = self.operand(Some(4), Precision::Exact)?;
            let op = if self.b.flag() {
                HistogramOp::Equalize
            } else {
                let low = self.b.below(50) as f32;
                HistogramOp::Stretch { low, high: low + 1.0 + self.b.below(50) as f32 }
            };
            return self.apply(Op::Histogram(op), &[x], Precision::Rounded, ACCUM).map(drop);
        }
        let mut shape = self.shape(4);
        shape[1] = 3;
        let x = self.input(shape, DType::F32, Fill::Grid)?;
        let to_hsv = self.b.flag();
        self.apply(Op::ColorSpace { to_hsv }, &[x], Precision::Rounded, TRANSCENDENTAL).map(drop)
    }
}
