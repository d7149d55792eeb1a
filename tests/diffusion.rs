//! Generative models against the goldens their JAX training script wrote
//! (assets/golden/diffusion/), on the GPU and on the CPU reference.

mod common;

use std::ops::ControlFlow;

use common::{floats, gpu, ASSETS};
use ocelli::diffusion::{
    mean_psnr, network_graph, time_embedding, Autoencoder, DiffusionError, Method, Model, Request, Sampler,
};
use ocelli::nn::Weights;
use ocelli::{Backend, CpuBackend, Tensor};
use serde_json::Value;

fn golden(name: &str) -> Value {
    common::golden("diffusion", name)
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

/// The autoencoders reproduce JAX's outputs and latents on the golden's test digits, and the
/// denoiser improves on its noisy input.
#[test]
fn autoencoders_match_jax_on_both_backends() {
    let golden = golden("autoencoders");
    let tensor = |key: &str| Tensor::from_f32([8, 1, 28, 28], floats(&golden[key])).unwrap();
    let (clean, noisy) = (tensor("clean"), tensor("noisy"));
    fn check<B: Backend + Clone>(backend: B, golden: &Value, clean: &Tensor, noisy: &Tensor)
    where
        B::Error: Send + Sync + 'static,
    {
        let name = backend.name();
        let mut ae = Autoencoder::new(weights("ae_mnist"), backend.clone());
        let r = ae.run(clean, 0.0, 0, 0).unwrap();
        assert_eq!(r.noisy.as_f32().unwrap(), clean.as_f32().unwrap(), "σ = 0 leaves the input alone");
        let d = max_diff(r.output.as_f32().unwrap(), &floats(&golden["ae_output"]));
        let l = max_diff(r.latent.as_f32().unwrap(), &floats(&golden["ae_latent"]));
        eprintln!("ae on {name}: output max |Δ| {d:.2e}, latent {l:.2e}");
        assert!(d <= 1e-4 && l <= 1e-3, "ae on {name}: output {d}, latent {l}");
        let mut dae = Autoencoder::new(weights("dae_mnist"), backend);
        let r = dae.run(noisy, 0.0, 0, 0).unwrap();
        let d = max_diff(r.output.as_f32().unwrap(), &floats(&golden["dae_output"]));
        eprintln!("dae on {name}: output max |Δ| {d:.2e}");
        assert!(d <= 1e-4, "dae on {name}: {d}");
        // Its own noise at σ = 0.5: the output is much closer to the clean digits than the input.
        let r = dae.run(clean, 0.5, 7, 0).unwrap();
        let px = |t: &Tensor| t.as_f32().unwrap().to_vec();
        let before = mean_psnr(&px(&r.noisy), &px(clean), 784);
        let after = mean_psnr(&px(&r.output), &px(clean), 784);
        assert!(after > before + 6.0, "dae on {name}: {before:.2} dB noisy → {after:.2} dB");
    }
    check(gpu(), &golden, &clean, &noisy);
    check(CpuBackend, &golden, &clean, &noisy);
}

/// A seed gives the same samples on both backends, the stochastic samplers included (their
/// noise comes from the same counter-based generator); other seeds give other samples.
#[test]
fn seeds_give_the_same_samples_on_both_backends() {
    let request =
        |method, seed| Request { classes: vec![3, 8], method, steps: 4, guidance: 2.0, seed, preview_every: 0 };
    for (model, method) in [(Model::DdpmMnist, Method::Ddim { eta: 1.0 }), (Model::FlowMnist, Method::Heun)] {
        let mut on_gpu = Sampler::new(model, weights(model.name()), gpu());
        let mut on_cpu = Sampler::new(model, weights(model.name()), CpuBackend);
        let go = |_: ocelli::diffusion::Progress<'_>| ControlFlow::Continue(());
        let a = on_gpu.sample(&request(method, 5), go).unwrap();
        let b = on_cpu.sample(&request(method, 5), go).unwrap();
        let c = on_gpu.sample(&request(method, 6), go).unwrap();
        let d = max_diff(a.as_f32().unwrap(), b.as_f32().unwrap());
        eprintln!("{} {}: gpu vs cpu max |Δ| {d:.2e}", model.name(), method.name());
        assert!(d <= 1e-3, "{}: gpu vs cpu {d}", model.name());
        assert!(max_diff(a.as_f32().unwrap(), c.as_f32().unwrap()) > 0.1, "another seed, other samples");
        // Image i's noise does not depend on the batch: the first image alone is the same.
        let one = Request { classes: vec![3], ..request(method, 5) };
        let alone = on_gpu.sample(&one, go).unwrap();
        assert!(max_diff(alone.as_f32().unwrap(), &a.as_f32().unwrap()[..784]) <= 1e-4);
    }
}

/// Guidance 0 and 1 take one network pass per evaluation (the null class, the classes asked
/// for), and give the two-pass guided samples: those of a scale just off 0 and 1.
#[test]
fn guidance_0_and_1_take_one_pass_with_the_guided_value() {
    fn check<B: Backend + Clone>(backend: B)
    where
        B::Error: Send + Sync + 'static,
    {
        let go = |_: ocelli::diffusion::Progress<'_>| ControlFlow::Continue(());
        for (model, method) in [(Model::DdpmMnist, Method::Ddim { eta: 1.0 }), (Model::FlowMnist, Method::Heun)] {
            let mut sampler = Sampler::new(model, weights(model.name()), backend.clone());
            let request =
                |guidance| Request { classes: vec![3, 8], method, steps: 2, guidance, seed: 7, preview_every: 0 };
            let mut plain = Vec::new();
            for w in [0.0f32, 1.0] {
                let one = sampler.sample(&request(w), go).unwrap();
                let two = sampler.sample(&request(w + 1e-6), go).unwrap();
                let d = max_diff(one.as_f32().unwrap(), two.as_f32().unwrap());
                eprintln!(
                    "{} {} guidance {w} on {}: one pass vs two max |Δ| {d:.2e}",
                    model.name(),
                    method.name(),
                    backend.name()
                );
                assert!(d <= 1e-4, "{} guidance {w} on {}: {d}", model.name(), backend.name());
                plain.push(one);
            }
            let apart = max_diff(plain[0].as_f32().unwrap(), plain[1].as_f32().unwrap());
            assert!(apart > 0.1, "guidance 0 and 1 sample differently ({apart})");
        }
    }
    check(gpu());
    check(CpuBackend);
}

/// Bad requests are refused with a message; a callback can cancel a run.
#[test]
fn bad_requests_and_cancellation() {
    let mut s = Sampler::new(Model::DdpmMnist, weights("ddpm_mnist"), CpuBackend);
    let base = Request {
        classes: vec![1],
        method: Method::Ddim { eta: 0.0 },
        steps: 3,
        guidance: 1.0,
        seed: 0,
        preview_every: 0,
    };
    let cases = [
        (Request { classes: vec![], ..base.clone() }, "batch is empty"),
        (Request { classes: vec![10], ..base.clone() }, "class 10"),
        (Request { method: Method::Euler, ..base.clone() }, "euler cannot sample ddpm_mnist"),
        (Request { method: Method::Ddpm, ..base.clone() }, "runs all 1000 steps"),
        (Request { steps: 0, ..base.clone() }, "at least 1"),
        (Request { steps: 1001, ..base.clone() }, "at most 1000"),
        (Request { method: Method::Ddim { eta: 1.5 }, ..base.clone() }, "eta"),
        (Request { guidance: f32::NAN, ..base.clone() }, "guidance"),
    ];
    for (request, want) in cases {
        let e = s.sample(&request, |_| ControlFlow::Continue(())).unwrap_err().to_string();
        assert!(e.contains(want), "{e:?} should mention {want:?}");
    }
    let e = s.sample(&base, |p| if p.step == 2 { ControlFlow::Break(()) } else { ControlFlow::Continue(()) });
    assert!(matches!(e, Err(DiffusionError::Cancelled(2))), "{e:?}");
    let wrong = Tensor::from_f32([2, 1, 28, 28], vec![0.0; 2 * 784]).unwrap();
    let e = s.sample_from(wrong, &base, |_| ControlFlow::Continue(())).unwrap_err().to_string();
    assert!(e.contains("initial noise"), "{e}");
    let mut ae = Autoencoder::new(weights("ae_mnist"), CpuBackend);
    let e = ae.run(&Tensor::from_f32([1, 1, 14, 14], vec![0.0; 196]).unwrap(), 0.0, 0, 0).unwrap_err();
    assert!(e.to_string().contains("[B, 1, 28, 28]"), "{e}");
    assert!(
        Sampler::new(Model::FlowMnist, weights("ddpm_mnist"), CpuBackend)
            .sample(&Request { method: Method::Euler, ..base.clone() }, |_| ControlFlow::Continue(()))
            .is_ok(),
        "same architecture, any weights"
    );
    let broken = Weights::from_bytes("broken", &[1, 2, 3]).unwrap_err();
    assert!(broken.to_string().contains("not a safetensors file"));
}

/// The network in f16 (f16 kernels on lavapipe, which has shader-f16) follows the f32
/// trajectory of the flow model closely, and the CPU reference's f16 agrees with the GPU's.
#[test]
fn f16_sampling_follows_the_f32_trajectory() {
    let golden = golden("flow_mnist_euler10");
    let want = floats(golden["trajectory"].as_array().unwrap().last().unwrap());
    let noise = Tensor::from_f32([4, 1, 28, 28], floats(&golden["noise"])).unwrap();
    let request = Request {
        classes: usizes(&golden["classes"]),
        method: Method::Euler,
        steps: 10,
        guidance: 3.0,
        seed: 0,
        preview_every: 0,
    };
    let go = |_: ocelli::diffusion::Progress<'_>| ControlFlow::Continue(());
    let f16 = ocelli::DType::F16;
    let g = Sampler::new(Model::FlowMnist, weights("flow_mnist"), gpu()).with_dtype(f16);
    let c = Sampler::new(Model::FlowMnist, weights("flow_mnist"), CpuBackend).with_dtype(f16);
    let on_gpu = {
        let mut g = g;
        g.sample_from(noise.clone(), &request, go).unwrap()
    };
    let on_cpu = {
        let mut c = c;
        c.sample_from(noise, &request, go).unwrap()
    };
    let (dg, dc) = (max_diff(on_gpu.as_f32().unwrap(), &want), max_diff(on_cpu.as_f32().unwrap(), &want));
    let mean = |a: &[f32]| a.iter().zip(&want).map(|(x, y)| (x - y).abs()).sum::<f32>() / want.len() as f32;
    eprintln!(
        "f16 Euler-10 vs JAX f32: gpu max {dg:.3} mean {:.4}, cpu max {dc:.3} mean {:.4}",
        mean(on_gpu.as_f32().unwrap()),
        mean(on_cpu.as_f32().unwrap())
    );
    // Measured: max 0.007–0.008, mean 4e-4 (pixels in [−1, 1]); f16 rounding alone is ~1e-3 per value.
    assert!(mean(on_gpu.as_f32().unwrap()) <= 5e-3 && mean(on_cpu.as_f32().unwrap()) <= 5e-3);
    assert!(dg <= 0.05 && dc <= 0.05, "f16 trajectories stay near f32's: {dg}, {dc}");
}

/// `tensors` as a safetensors file (F32).
fn safetensors_bytes(tensors: &[(String, Tensor)]) -> Vec<u8> {
    let (mut header, mut data) = (serde_json::Map::new(), Vec::new());
    for (name, t) in tensors {
        let start = data.len();
        data.extend(t.as_f32().unwrap().iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": t.shape().dims(), "data_offsets": [start, data.len()]}),
        );
    }
    let mut json = serde_json::to_vec(&Value::Object(header)).unwrap();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend(json);
    out.extend(data);
    out
}

/// The U-Net builder's 1×1 head (a per-pixel classifier, as segmenters end): with `out_kernel`
/// 1 a 3×3 `out.conv` weight is refused by name and shape; the shipped model with its head cut
/// to the 3×3 kernel's centre taps gives exactly what the 3×3 head with only those taps gives.
#[test]
fn unet_builds_a_one_by_one_classifier_head() {
    let shipped = weights("ddpm_mnist");
    let mut u = ocelli::diffusion::unet();
    let build = |u: &ocelli::nn::UNet, w: &Weights| {
        let mut g = ocelli::GraphBuilder::new();
        let x = g.input("x", [1, 1, 28, 28], ocelli::DType::F32).unwrap();
        let cond = g.input("cond", [1, u.cond_width.unwrap()], ocelli::DType::F32).unwrap();
        let y = u.build(&mut g, &w.root(), x, Some(cond))?;
        Ok::<_, ocelli::nn::NnError>(g.build(&[y]).unwrap())
    };
    u.out_kernel = 1;
    let err = build(&u, &shipped).expect_err("a 3x3 head refused");
    assert!(err.to_string().contains("out.conv.weight") && err.to_string().contains("[1, 32, 1, 1]"), "{err}");

    let head = shipped.get("out.conv.weight", &[1, 32, 3, 3]).unwrap();
    let centre: Vec<f32> = head.as_f32().unwrap().chunks(9).map(|k| k[4]).collect();
    let only_centre: Vec<f32> = centre.iter().flat_map(|&c| [0.0, 0.0, 0.0, 0.0, c, 0.0, 0.0, 0.0, 0.0]).collect();
    let with_head = |t: Tensor| {
        let mut all: Vec<(String, Tensor)> = shipped
            .names()
            .into_iter()
            .filter(|&n| n != "out.conv.weight")
            .map(|n| (n.to_string(), shipped.get(n, shipped.shape(n).unwrap().dims()).unwrap()))
            .collect();
        all.push(("out.conv.weight".into(), t));
        Weights::from_bytes("test", &safetensors_bytes(&all)).unwrap()
    };
    let one = with_head(Tensor::from_f32([1, 32, 1, 1], centre).unwrap());
    let three = with_head(Tensor::from_f32([1, 32, 3, 3], only_centre).unwrap());
    let x = ocelli::builtin::data(&[1, 1, 28, 28], 3, 1.0);
    let cond = ocelli::builtin::data(&[1, u.cond_width.unwrap()], 4, 1.0);
    let a = CpuBackend.run(&build(&u, &one).unwrap(), &[x.clone(), cond.clone()]).unwrap();
    u.out_kernel = 3;
    let b = CpuBackend.run(&build(&u, &three).unwrap(), &[x, cond]).unwrap();
    let d = max_diff(a[0].as_f32().unwrap(), b[0].as_f32().unwrap());
    assert!(d < 1e-5, "1x1 head vs centre-only 3x3 head: max |Δ| {d}");
}
