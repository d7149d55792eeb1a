//! What every per-image command checks and decides the same way: the images exist, the weights
//! load, and where each image's picture goes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ocelli::nn::Weights;

/// Fails on the first image that cannot be read (before the GPU starts), and on `-o` with
/// several images.
pub fn check_images(images: &[PathBuf], output: Option<&Path>) -> anyhow::Result<()> {
    if output.is_some() && images.len() > 1 {
        bail!("-o writes one image; use --out-dir for {} images", images.len());
    }
    for path in images {
        std::fs::metadata(path).with_context(|| path.display().to_string())?;
    }
    Ok(())
}

/// The model of `all` that `name_of` calls `name`, or an error listing the names there are.
pub fn pick<M: Copy>(name: &str, all: &[M], name_of: impl Fn(M) -> &'static str) -> anyhow::Result<M> {
    match all.iter().copied().find(|&m| name_of(m) == name) {
        Some(m) => Ok(m),
        None => {
            let names: Vec<&str> = all.iter().map(|&m| name_of(m)).collect();
            bail!("unknown model '{name}' (available: {})", names.join(", "))
        }
    }
}

/// The weights file given, else the model's shipped weights.
pub fn weights(file: Option<&Path>, model: &str) -> anyhow::Result<Weights> {
    Ok(match file {
        Some(path) => Weights::load(path)?,
        None => Weights::shipped(model)?,
    })
}

/// Where the picture of `image` goes: `-o`, else `DIR/STEM.png`, else nowhere. Creates `DIR`.
pub fn picture_path(output: Option<&Path>, out_dir: Option<&Path>, image: &Path) -> anyhow::Result<Option<PathBuf>> {
    Ok(match (output, out_dir) {
        (Some(o), _) => Some(o.to_path_buf()),
        (None, Some(dir)) => {
            std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
            let stem = image.file_stem().map_or("image".into(), |s| s.to_string_lossy().into_owned());
            Some(dir.join(format!("{stem}.png")))
        }
        _ => None,
    })
}

/// `ocelli bench model` for a per-image model: runs `one` over `images` once cold (compiles
/// included), then `runs` times, and prints images/s end to end (the median pass).
pub fn time_images(
    model: &str,
    device: &str,
    images: &[PathBuf],
    runs: usize,
    json: bool,
    mut one: impl FnMut(&ocelli::vision::PackedImage) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let loaded = images.iter().map(|p| ocelli::vision::load_packed(p)).collect::<Result<Vec<_>, _>>()?;
    let mut pass = || -> anyhow::Result<f64> {
        let start = std::time::Instant::now();
        for img in &loaded {
            one(img)?;
        }
        Ok(start.elapsed().as_secs_f64())
    };
    let cold = pass()?;
    let mut times = (0..runs.max(1)).map(|_| pass()).collect::<anyhow::Result<Vec<f64>>>()?;
    times.sort_by(f64::total_cmp);
    let per_pass = times[times.len() / 2];
    let ips = images.len() as f64 / per_pass;
    if json {
        let line = serde_json::json!({"op": "model", "model": model, "images": images.len(), "device": device, "images_per_s": ips, "cold_start_s": cold});
        println!("{line}");
    } else {
        println!(
            "{model} on {device}: {ips:.2} images/s end to end over {} images (median of {} passes); first pass with compiles {cold:.2} s",
            images.len(),
            times.len()
        );
    }
    Ok(())
}
