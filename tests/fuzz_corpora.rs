//! Replays the fuzz corpora (`fuzz/corpus/<target>/`) and the inputs fuzzing found crashing or
//! slow (`fuzz/regressions/<target>/`) through the same harness the fuzz targets run, so CI
//! checks them without fuzzing (`cargo +nightly fuzz run <target>` does that; fuzz/README.md).

#[path = "../fuzz/harness.rs"]
mod harness;

fn replay(target: &str, run: fn(&[u8])) {
    let fuzz = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fuzz"));
    let dir = fuzz.join("corpus").join(target);
    let regressions = std::fs::read_dir(fuzz.join("regressions").join(target)).into_iter().flatten();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).chain(regressions) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} panics", path.display());
        n += 1;
    }
    assert!(n > 0, "{target}: an empty corpus at {}", dir.display());
}

#[test]
fn pgm_corpus() {
    replay("pgm", harness::pgm);
}

#[test]
fn image_corpus() {
    replay("image", harness::image);
}

#[test]
fn weights_corpus() {
    replay("weights", harness::weights);
}

#[test]
fn raw_corpus() {
    replay("raw", harness::raw);
}

#[test]
fn graph_corpus() {
    replay("graph", harness::graph);
}

#[test]
fn differential_corpus() {
    replay("differential", harness::differential);
}

#[test]
fn differential_comparison_catches_a_wrong_answer() {
    use harness::{disagreement, graph_gen::Tol};
    let want = ocelli::Tensor::from_f32([3], vec![1.0, f32::NAN, 100.0]).unwrap();
    let tol = Tol { rel: 1e-6, abs: 1e-6 };
    assert_eq!(disagreement(&want, &want, tol), None);
    for got in [vec![1.0, f32::NAN, 100.01], vec![1.0, 0.0, 100.0], vec![1.0, f32::NAN, f32::INFINITY]] {
        let got = ocelli::Tensor::from_f32([3], got).unwrap();
        assert!(disagreement(&want, &got, tol).is_some(), "{got:?}");
    }
    let other = ocelli::Tensor::from_f32([1, 3], vec![1.0, f32::NAN, 100.0]).unwrap();
    assert!(disagreement(&want, &other, tol).is_some());
}
