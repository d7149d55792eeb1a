//! Generative models against the goldens their JAX training script wrote
//! (assets/golden/diffusion/), on the GPU and on the CPU reference.

use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock};

use ocelli::diffusion::{network_graph, time_embedding, Method, Model, Request, Sampler};
use ocelli::nn::Weights;
use ocelli::{Backend, CpuBackend, Gpu, GpuBackend, Tensor};
use serde_json::Value;

const ASSETS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets");

fn gpu() -> GpuBackend {
    static GPU: OnceLock<Arc<Gpu>> = OnceLock::new();
    let g = GPU.get_or_init(|| {
        Arc::new(Gpu::new().unwrap_or_else(|e| {
            panic!("these tests need a GPU adapter: {e}; install mesa-vulkan-drivers for lavapipe")
        }))
    });
    GpuBackend::new(g.clone())
}

fn golden(name: &str) -> Value {
    let text = std::fs::read_to_string(format!("{ASSETS}/golden/diffusion/{name}.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(items) => items.iter().flat_map(floats).collect(),
        other => vec![other.as_f64().expect("a number") as f32],
    }
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array().unwrap().iter().map(|c| c.as_u64().unwrap() as usize).collect()
}

fn weights(name: &str) -> Weights {
    Weights::load(std::path::Path::new(&format!("{ASSETS}/models/{name}.safetensors"))).unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// One raw U-Net evaluation of the golden's 8-batch (4 classes, 4 null) at its time input,
/// within 1e-4 of JAX's (outputs are O(1)).
fn network_matches<B: Backend>(backend: &B, model: &str, golden: &Value) -> f32 {
    let raw = &golden["raw_eval"];
    let classes: Vec<i32> = usizes(&raw["classes"]).iter().map(|&c| c as i32).collect();
    let noise = floats(&golden["noise"]);
    let x: Vec<f32> = noise.iter().chain(&noise).copied().collect();
    let time = time_embedding(raw["time_input"].as_f64().unwrap() as f32);
    let graph = network_graph(&weights(model), 8).unwrap();
    let inputs = [
        Tensor::from_f32([8, 1, 28, 28], x).unwrap(),
        Tensor::from_f32([1, 64], time).unwrap(),
        Tensor::from_i32([8], classes).unwrap(),
    ];
    let out = backend.run(&graph, &inputs).unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
    max_diff(out[0].as_f32().unwrap(), &floats(&raw["output"]))
}

#[test]
fn unet_matches_jax_on_both_backends() {
    for (model, file) in [("ddpm_mnist", "ddpm_mnist_ddim20"), ("flow_mnist", "flow_mnist_euler10")] {
        let golden = golden(file);
        for (name, diff) in
            [("gpu", network_matches(&gpu(), model, &golden)), ("cpu", network_matches(&CpuBackend, model, &golden))]
        {
            eprintln!("{model} raw evaluation on {name}: max |Δ| {diff:.2e}");
            assert!(diff <= 1e-4, "{model} on {name}: max |Δ| {diff}");
        }
    }
}

/// Follows a golden trajectory from its own initial noise: every step's images within 1e-3.
fn trajectory_matches<B: Backend>(backend: B, model: Model, golden: &Value, method: Method) -> f32
where
    B::Error: Send + Sync + 'static,
{
    let classes = usizes(&golden["classes"]);
    let steps = golden["steps"].as_u64().unwrap() as usize;
    let want: Vec<Vec<f32>> = golden["trajectory"].as_array().unwrap().iter().map(floats).collect();
    assert_eq!(want.len(), steps);
    let noise = Tensor::from_f32([classes.len(), 1, 28, 28], floats(&golden["noise"])).unwrap();
    let request = Request {
        classes,
        method,
        steps,
        guidance: golden["guidance"].as_f64().unwrap() as f32,
        seed: 0,
        preview_every: 1,
    };
    let mut sampler = Sampler::new(model, weights(model.name()), backend);
    let (mut worst, mut last) = (0f32, Vec::new());
    let out = sampler
        .sample_from(noise, &request, |p| {
            let got = p.preview.expect("a preview every step").as_f32().unwrap();
            worst = worst.max(max_diff(got, &want[p.step - 1]));
            last = got.to_vec();
            ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(out.as_f32().unwrap(), &last[..], "the result is the last step's images");
    worst
}

#[test]
fn ddim_and_flow_trajectories_match_jax_on_both_backends() {
    let cases = [
        (Model::DdpmMnist, "ddpm_mnist_ddim20", Method::Ddim { eta: 0.0 }),
        (Model::FlowMnist, "flow_mnist_euler10", Method::Euler),
        (Model::FlowMnist, "flow_mnist_heun10", Method::Heun),
    ];
    for (model, file, method) in cases {
        let golden = golden(file);
        if let Some(alpha_bar) = golden.get("alpha_bar") {
            // The host's schedule is numpy's, to the last f32 bit.
            let schedule = ocelli::diffusion::Schedule::linear();
            for (t, want) in golden["time_inputs"].as_array().unwrap().iter().zip(floats(alpha_bar)) {
                assert_eq!(schedule.alphas_bar[t.as_f64().unwrap() as usize], want, "alpha_bar at {t}");
            }
        }
        for (name, diff) in [
            ("gpu", trajectory_matches(gpu(), model, &golden, method)),
            ("cpu", trajectory_matches(CpuBackend, model, &golden, method)),
        ] {
            eprintln!("{file} on {name}: worst step max |Δ| {diff:.2e}");
            assert!(diff <= 1e-3, "{file} on {name}: max |Δ| {diff}");
        }
    }
}
