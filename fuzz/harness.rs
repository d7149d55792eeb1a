// What each fuzz target does with one input; shared by the targets (fuzz/fuzz_targets/) and by
// the corpus replay that the regular tests run (tests/fuzz_corpora.rs). Any input may be
// refused with an error; none may panic, abort or allocate without bound.

use std::path::Path;

use ocelli_graph::{BayerPattern, Demosaic, DemosaicMethod};
use ocelli_vision::{demosaic_graph, PackedImage, RawFrame};

/// A PGM file: parsed, packed and turned into a demosaic graph.
pub fn pgm(data: &[u8]) {
    let Ok(frame) = RawFrame::from_pgm_bytes(Path::new("fuzz.pgm"), data) else { return };
    assert_eq!(frame.samples.len(), frame.width * frame.height);
    if let Ok(packed) = frame.packed() {
        let p = Demosaic::new(frame.height, frame.width, frame.bits, BayerPattern::Rggb, DemosaicMethod::Mhc);
        if let Ok(graph) = demosaic_graph(&frame, p) {
            assert_eq!(graph.inputs().len(), 1);
            assert_eq!(graph.value(graph.inputs()[0]).shape.numel(), packed.shape().numel());
        }
    }
}

/// An image file of any format: decoded within the budget into packed samples.
pub fn image(data: &[u8]) {
    let Ok(img) = PackedImage::from_bytes(Path::new("fuzz.img"), data) else { return };
    let l = img.layout;
    assert!(l.height > 0 && l.width > 0 && (1..=4).contains(&l.channels));
    let mean = img.mean(l.channels);
    assert!((0.0..=1.0).contains(&mean), "{mean}");
    assert_eq!(img.segments().iter().map(|t| t.shape().numel()).sum::<usize>(), img.words.len());
}

/// A safetensors file: loaded, then every tensor read at its own shape.
pub fn weights(data: &[u8]) {
    let Ok(w) = ocelli_nn::Weights::from_bytes("fuzz.safetensors", data) else { return };
    for name in w.names() {
        let shape = w.shape(name).expect("listed").clone();
        let t = w.get(name, shape.dims()).expect("a listed tensor reads at its own shape");
        assert_eq!(t.shape(), &shape);
    }
}
