//! Demosaicing frames larger than one storage binding: the frame runs as horizontal bands, each
//! with two rows of its neighbours above and below (the reach of the 5×5 Malvar–He–Cutler
//! filters), so every kept row sees exactly the pixels it would see in the whole frame, and
//! only the band's own rows are kept. Bands start on even rows, so the colour filter phase of
//! every band is the frame's; the frame's own top and bottom edges mirror as in one piece.

use ocelli_graph::{Backend, DType, Demosaic, GraphBuilder, GraphError, Op, Plan, Shape, Tensor};

use crate::raw::RawFrame;

/// Rows of context a band reads past its own rows, above and below.
const HALO: usize = 2;

/// Bytes of the f32 RGB output of `rows` rows of `width` pixels.
fn rgb_bytes(rows: usize, width: usize) -> usize {
    12 * rows * width
}

/// The bands of a `height`-row frame of `width` pixels whose f32 RGB output (halo included)
/// needs at most `max_bytes`: (first kept row, end of kept rows), or `None` when not even a
/// band of two rows fits.
pub fn demosaic_bands(height: usize, width: usize, max_bytes: usize) -> Option<Vec<(usize, usize)>> {
    if rgb_bytes(height, width) <= max_bytes {
        return Some(vec![(0, height)]);
    }
    let rows = (max_bytes / rgb_bytes(1, width)).checked_sub(2 * HALO)? / 2 * 2;
    if rows < 2 {
        return None;
    }
    Some((0..height).step_by(rows).map(|r0| (r0, (r0 + rows).min(height))).collect())
}

/// Demosaics `frame` with `params` on `backend`, in bands whose output fits `max_bytes` (a
/// device's `max_storage_buffer_binding_size`), into one `[1, 3, height, width]` f32 tensor.
/// Each distinct band height is compiled once. The result equals demosaicing the whole frame
/// at once.
pub fn demosaic_in_bands<B: Backend>(
    backend: &B,
    frame: &RawFrame,
    params: Demosaic,
    max_bytes: usize,
) -> Result<Tensor, B::Error> {
    let (h, w) = (frame.height, frame.width);
    let bands = demosaic_bands(h, w, max_bytes).ok_or_else(|| ocelli_graph::GraphError::InvalidParam {
        op: "demosaic",
        why: format!("a {w}-pixel-wide frame does not fit {max_bytes} bytes even two rows at a time"),
    })?;
    let mut plans: Vec<(usize, B::Plan)> = Vec::new();
    let mut rgb = vec![0f32; 3 * h * w];
    for (r0, r1) in bands {
        let (in0, in1) = (r0.saturating_sub(HALO), (r1 + HALO).min(h));
        let rows = in1 - in0;
        let plan = match plans.iter().position(|(r, _)| *r == rows) {
            Some(i) => &mut plans[i].1,
            None => {
                let d = Demosaic { height: rows, width: w, bits: frame.bits, ..params };
                let mut g = GraphBuilder::new();
                let words = d
                    .words()
                    .ok_or_else(|| GraphError::TooLarge { what: "raw band".into(), shape: Shape::new([rows, w]) })?;
                let x = g.input("raw", [words], DType::U32)?;
                let y = g.op(Op::Demosaic(d), &[x])?;
                plans.push((rows, backend.compile(&g.build(&[y])?)?));
                &mut plans.last_mut().expect("just pushed").1
            }
        };
        let samples = frame.samples[in0 * w..in1 * w].to_vec();
        let band = RawFrame { width: w, height: rows, bits: frame.bits, white: frame.white, samples };
        let packed =
            band.packed().map_err(|e| ocelli_graph::GraphError::InvalidParam { op: "demosaic", why: e.to_string() })?;
        let out = plan.run(&[packed])?.remove(0);
        let v = out.as_f32().expect("demosaic writes f32");
        for c in 0..3 {
            let src = (c * rows + (r0 - in0)) * w;
            let dst = (c * h + r0) * w;
            rgb[dst..dst + (r1 - r0) * w].copy_from_slice(&v[src..src + (r1 - r0) * w]);
        }
    }
    Ok(Tensor::from_f32([1, 3, h, w], rgb)?)
}

#[cfg(test)]
mod tests {
    use super::demosaic_bands;

    #[test]
    fn bands_cover_the_frame_in_even_rows_that_fit() {
        assert_eq!(demosaic_bands(8, 10, 12 * 80), Some(vec![(0, 8)]));
        // 20 rows fit, 4 of them context: bands of 16 rows.
        let bands = demosaic_bands(50, 10, 12 * 10 * 20).unwrap();
        assert_eq!(bands, vec![(0, 16), (16, 32), (32, 48), (48, 50)]);
        assert!(bands.iter().all(|&(r0, _)| r0 % 2 == 0));
        assert_eq!(demosaic_bands(50, 10, 12 * 10 * 5), None);
    }
}
