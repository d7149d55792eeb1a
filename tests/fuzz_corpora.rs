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
