//! DBNet's post-processing on the host, after the device has thresholded, dilated and labelled
//! the probability map: per connected component its minimum-area rectangle, the mean probability
//! inside it, the rectangle grown by `area · ratio / perimeter` (the unclip), mapped to image
//! pixels and put in reading order — rapidocr 1.4.4's rules (scripts/convert_ppocr.py's docstring
//! gives them), with the component's convex hull where rapidocr traces its contour (both give
//! the same rectangle).

use crate::ppocr_det::Frame;
use crate::Region;

/// rapidocr's DB settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DbParams {
    /// Probability above which a map pixel is text (`thresh`).
    pub thresh: f32,
    /// Least mean probability inside a box (`box_thresh`).
    pub box_thresh: f32,
    /// Growth of each box, as a multiple of area / perimeter (`unclip_ratio`).
    pub unclip_ratio: f64,
    /// Most components considered (`max_candidates`).
    pub max_candidates: usize,
}

/// rapidocr 1.4.4's `config.yaml` values.
pub const DB_PARAMS: DbParams = DbParams { thresh: 0.3, box_thresh: 0.5, unclip_ratio: 1.6, max_candidates: 1000 };

/// Shortest side a candidate rectangle may have (`min_size`), and 2 more once grown.
const MIN_SIZE: f64 = 3.0;

/// A rectangle: centre, unit axis `u`, half-extents along `u` and its normal.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Rect {
    centre: [f64; 2],
    u: [f64; 2],
    half: [f64; 2],
}

impl Rect {
    fn corners(&self) -> [[f64; 2]; 4] {
        let v = [-self.u[1], self.u[0]];
        let [c, [a, b]] = [self.centre, self.half];
        [[-a, -b], [a, -b], [a, b], [-a, b]]
            .map(|[s, t]| [c[0] + s * self.u[0] + t * v[0], c[1] + s * self.u[1] + t * v[1]])
    }

    fn short_side(&self) -> f64 {
        2.0 * self.half[0].min(self.half[1])
    }

    fn grown(&self, d: f64) -> Rect {
        Rect { half: [self.half[0] + d, self.half[1] + d], ..*self }
    }
}

/// Makes `labels` exact where the device's rounds left a component with several labels (every
/// label a pixel of its own component, at most its own index, as the rounds leave them): merges
/// touching (8-connected) pixels with a union-find, so that each pixel ends with its component's
/// least index. Returns whether any pixel changed.
pub fn finish_labels(labels: &mut [i32], h: usize, w: usize) -> bool {
    fn find(parent: &mut [i32], mut a: usize) -> usize {
        while parent[a] as usize != a {
            let up = parent[parent[a] as usize];
            parent[a] = up;
            a = up as usize;
        }
        a
    }
    let mut parent = labels.to_vec();
    for p in 0..h * w {
        if labels[p] < 0 {
            continue;
        }
        let (y, x) = (p / w, p % w);
        // The neighbours after p in scan order: right, and the three below.
        let next = [(y, x + 1), (y + 1, x.wrapping_sub(1)), (y + 1, x), (y + 1, x + 1)];
        for (qy, qx) in next {
            if qy >= h || qx >= w || labels[qy * w + qx] < 0 {
                continue;
            }
            let (a, b) = (find(&mut parent, p), find(&mut parent, qy * w + qx));
            if a != b {
                parent[a.max(b)] = a.min(b) as i32;
            }
        }
    }
    let mut changed = false;
    for p in 0..h * w {
        if labels[p] >= 0 {
            let root = find(&mut parent, p) as i32;
            changed |= root != labels[p];
            labels[p] = root;
        }
    }
    changed
}

/// The text regions of the probability map `prob` (`frame`'s size) with its component `labels`
/// (exact, see [`finish_labels`]), for an image of `image_h`×`image_w`, in reading order.
pub fn text_regions(
    prob: &[f32],
    labels: &[i32],
    frame: &Frame,
    (image_h, image_w): (usize, usize),
    p: &DbParams,
) -> Vec<Region> {
    let (h, w) = (frame.height, frame.width);
    let mut boxes: Vec<([[f64; 2]; 4], f32)> = Vec::new();
    for points in component_outlines(labels, h, w).into_iter().take(p.max_candidates) {
        let hull = convex_hull(points);
        let Some(rect) = min_area_rect(&hull) else { continue };
        if rect.short_side() < MIN_SIZE {
            continue;
        }
        let quad = order_corners(rect.corners());
        let score = box_score(prob, (h, w), &quad);
        if score < p.box_thresh {
            continue;
        }
        let d = polygon_area(&quad) * p.unclip_ratio / polygon_perimeter(&quad);
        let grown = rect.grown(d);
        if grown.short_side() < MIN_SIZE + 2.0 {
            continue;
        }
        let to_image = |[x, y]: [f64; 2]| {
            let sx = (x / w as f64 * image_w as f64).round_ties_even().clamp(0.0, image_w as f64);
            let sy = ((y - frame.top as f64) / frame.rows as f64 * image_h as f64)
                .round_ties_even()
                .clamp(0.0, image_h as f64);
            [sx, sy]
        };
        let quad = order_corners(grown.corners()).map(to_image);
        // rapidocr's filter_tag_det_res: clockwise from the top left, clipped, not too thin.
        let quad = clockwise(quad)
            .map(|[x, y]| [x.clamp(0.0, (image_w - 1) as f64).trunc(), y.clamp(0.0, (image_h - 1) as f64).trunc()]);
        let side = |a: [f64; 2], b: [f64; 2]| ((a[0] - b[0]).hypot(a[1] - b[1])).trunc();
        if side(quad[0], quad[1]) <= 3.0 || side(quad[0], quad[3]) <= 3.0 {
            continue;
        }
        boxes.push((quad, score));
    }
    reading_order(&mut boxes);
    boxes
        .into_iter()
        .map(|(q, score)| Region { score, polygon: q.iter().map(|&[x, y]| [x as f32, y as f32]).collect() })
        .collect()
}

/// Per component (in order of its least pixel index), the leftmost and rightmost pixel of each of
/// its rows: enough for its convex hull.
fn component_outlines(labels: &[i32], h: usize, w: usize) -> Vec<Vec<[i64; 2]>> {
    let mut index = std::collections::HashMap::new();
    let mut outlines: Vec<Vec<[i64; 2]>> = Vec::new();
    for y in 0..h {
        let mut x = 0;
        while x < w {
            let l = labels[y * w + x];
            if l < 0 {
                x += 1;
                continue;
            }
            let start = x;
            while x + 1 < w && labels[y * w + x + 1] == l {
                x += 1;
            }
            let k = *index.entry(l).or_insert_with(|| {
                outlines.push(Vec::new());
                outlines.len() - 1
            });
            outlines[k].extend([[start as i64, y as i64], [x as i64, y as i64]]);
            x += 1;
        }
    }
    outlines
}

/// The convex hull (Andrew's monotone chain), counter-clockwise in image axes, no collinear
/// points.
fn convex_hull(mut pts: Vec<[i64; 2]>) -> Vec<[i64; 2]> {
    pts.sort_unstable();
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: [i64; 2], a: [i64; 2], b: [i64; 2]| (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
    let mut hull: Vec<[i64; 2]> = Vec::with_capacity(2 * pts.len());
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &[i64; 2]>> =
            if pass == 0 { Box::new(pts.iter()) } else { Box::new(pts.iter().rev()) };
        for &p in iter {
            while hull.len() >= start + 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// The minimum-area enclosing rectangle of a convex polygon (one side lies on a hull edge);
/// `None` for fewer than one point.
fn min_area_rect(hull: &[[i64; 2]]) -> Option<Rect> {
    let pts: Vec<[f64; 2]> = hull.iter().map(|&[x, y]| [x as f64, y as f64]).collect();
    if pts.is_empty() {
        return None;
    }
    if pts.len() == 1 {
        return Some(Rect { centre: pts[0], u: [1.0, 0.0], half: [0.0, 0.0] });
    }
    let mut best: Option<(f64, Rect)> = None;
    for i in 0..pts.len() {
        let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
        let len = (b[0] - a[0]).hypot(b[1] - a[1]);
        if len == 0.0 {
            continue;
        }
        let u = [(b[0] - a[0]) / len, (b[1] - a[1]) / len];
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in &pts {
            let s = [p[0] * u[0] + p[1] * u[1], -p[0] * u[1] + p[1] * u[0]];
            for k in 0..2 {
                lo[k] = lo[k].min(s[k]);
                hi[k] = hi[k].max(s[k]);
            }
        }
        let area = (hi[0] - lo[0]) * (hi[1] - lo[1]);
        if best.is_none_or(|(a, _)| area < a) {
            let (s, t) = ((lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0);
            let centre = [s * u[0] - t * u[1], s * u[1] + t * u[0]];
            best = Some((area, Rect { centre, u, half: [(hi[0] - lo[0]) / 2.0, (hi[1] - lo[1]) / 2.0] }));
        }
    }
    best.map(|(_, r)| r)
}

/// rapidocr's `get_mini_boxes` order: sorted by x; of the two leftmost the upper is first and
/// the lower last; of the two rightmost the upper is second and the lower third.
fn order_corners(mut q: [[f64; 2]; 4]) -> [[f64; 2]; 4] {
    q.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (p1, p4) = if q[1][1] > q[0][1] { (q[0], q[1]) } else { (q[1], q[0]) };
    let (p2, p3) = if q[3][1] > q[2][1] { (q[2], q[3]) } else { (q[3], q[2]) };
    [p1, p2, p3, p4]
}

/// rapidocr's `order_points_clockwise`: top-left, top-right, bottom-right, bottom-left from the
/// two leftmost and the two rightmost corners, each pair by y.
fn clockwise(mut q: [[f64; 2]; 4]) -> [[f64; 2]; 4] {
    q.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let by_y = |a: [f64; 2], b: [f64; 2]| if a[1] <= b[1] { (a, b) } else { (b, a) };
    let (tl, bl) = by_y(q[0], q[1]);
    let (tr, br) = by_y(q[2], q[3]);
    [tl, tr, br, bl]
}

fn polygon_area(q: &[[f64; 2]; 4]) -> f64 {
    (0..4).map(|i| q[i][0] * q[(i + 1) % 4][1] - q[(i + 1) % 4][0] * q[i][1]).sum::<f64>().abs() / 2.0
}

fn polygon_perimeter(q: &[[f64; 2]; 4]) -> f64 {
    (0..4).map(|i| (q[(i + 1) % 4][0] - q[i][0]).hypot(q[(i + 1) % 4][1] - q[i][1])).sum()
}

/// rapidocr's `box_score_fast`: the mean probability of the `h`×`w` map `prob` over the pixels
/// `cv2.fillPoly` fills for the box's corners `q` (map pixels) truncated to integers, within the
/// box's clipped bounding rectangle.
pub fn box_score(prob: &[f32], (h, w): (usize, usize), q: &[[f64; 2]; 4]) -> f32 {
    let clip = |v: f64, n: usize| v.clamp(0.0, (n - 1) as f64) as i64;
    let x0 = clip(q.iter().map(|p| p[0]).fold(f64::MAX, f64::min).floor(), w);
    let x1 = clip(q.iter().map(|p| p[0]).fold(f64::MIN, f64::max).ceil(), w);
    let y0 = clip(q.iter().map(|p| p[1]).fold(f64::MAX, f64::min).floor(), h);
    let y1 = clip(q.iter().map(|p| p[1]).fold(f64::MIN, f64::max).ceil(), h);
    let poly = q.map(|[x, y]| [(x - x0 as f64) as i64, (y - y0 as f64) as i64]);
    let (bh, bw) = ((y1 - y0 + 1) as usize, (x1 - x0 + 1) as usize);
    let (mut sum, mut n) = (0f64, 0usize);
    let inside = crate::fill::fill_polygon(&poly, bh, bw);
    for (k, _) in inside.iter().enumerate().filter(|(_, &v)| v) {
        sum += f64::from(prob[(y0 as usize + k / bw) * w + x0 as usize + k % bw]);
        n += 1;
    }
    if n == 0 {
        0.0
    } else {
        (sum / n as f64) as f32
    }
}

/// rapidocr's `sorted_boxes`: by top-left (y, x), then a box moves before its left neighbour
/// when their tops are less than 10 pixels apart.
fn reading_order(boxes: &mut [([[f64; 2]; 4], f32)]) {
    boxes.sort_by(|a, b| (a.0[0][1], a.0[0][0]).partial_cmp(&(b.0[0][1], b.0[0][0])).expect("finite corners"));
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            let (a, b) = (boxes[j].0[0], boxes[j + 1].0[0]);
            if (b[1] - a[1]).abs() < 10.0 && b[0] < a[0] {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn min_area_rect_of_a_tilted_rectangle_is_its_own() {
        // The integer points of a rectangle 20 × 6 rotated by atan(1/2).
        let pts = vec![[0, 0], [16, 8], [13, 14], [-3, 6]];
        let r = min_area_rect(&convex_hull(pts)).unwrap();
        let (a, b) = (r.half[0].max(r.half[1]) * 2.0, r.half[0].min(r.half[1]) * 2.0);
        assert!((a - 320f64.sqrt()).abs() < 1e-9 && (b - 45f64.sqrt()).abs() < 1e-9, "{a} x {b}");
    }

    #[test]
    fn labels_are_finished_to_each_components_least_index() {
        // Two components; the first has two labels left (0 and 4), as after too few rounds.
        let (h, w) = (2, 4);
        let mut labels = vec![0, 0, -1, 3, 4, 4, -1, 3];
        assert!(finish_labels(&mut labels, h, w));
        assert_eq!(labels, [0, 0, -1, 3, 0, 0, -1, 3]);
        assert!(!finish_labels(&mut labels, h, w));
    }

    #[test]
    fn reading_order_puts_a_line_left_to_right() {
        let quad = |x: f64, y: f64| [[x, y], [x + 5.0, y], [x + 5.0, y + 4.0], [x, y + 4.0]];
        let mut boxes = vec![(quad(50.0, 3.0), 0.9), (quad(10.0, 8.0), 0.8), (quad(0.0, 40.0), 0.7)];
        reading_order(&mut boxes);
        let xs: Vec<f64> = boxes.iter().map(|b| b.0[0][0]).collect();
        assert_eq!(xs, [10.0, 50.0, 0.0]);
    }
}
