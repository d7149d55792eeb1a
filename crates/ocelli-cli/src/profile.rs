//! `ocelli profile --graph NAME | --model NAME`: per-node GPU time of a compiled plan and its
//! memory.

use std::sync::Arc;

use anyhow::Context;
use ocelli::builtin::{build, Builtin};
use ocelli::{Backend, Gpu, GpuBackend, Plan};

/// Profiles a built-in graph or a model on the default adapter and prints a table: the fastest
/// of `runs` after a warm-up, or with `cold` the first run. `batch` sizes the generative models'
/// sampler steps.
pub fn run(graph: Option<&str>, model: Option<&str>, batch: usize, runs: usize, cold: bool) -> anyhow::Result<()> {
    let (what, graph, inputs) = match (graph, model) {
        (_, Some(name)) if ocelli::diffusion::Model::from_name(name).is_some() => {
            let (graph, inputs) = crate::sample::step_inputs(name, batch)?;
            (format!("{name} sampler step, batch {batch} (network batch {})", 2 * batch), graph, inputs)
        }
        (_, Some(name)) if ocelli::segment::Model::from_name(name).is_some() => {
            let model = ocelli::segment::Model::from_name(name).expect("checked");
            let file = if model == ocelli::segment::Model::PpocrDet { "ocr/page.png" } else { "images/astronaut.png" };
            let image = ocelli::vision::load_packed(&ocelli::nn::assets_dir().join(file))?;
            let weights = ocelli::nn::Weights::shipped(name)?;
            let graph = model.graph(&weights, &image.layout, model.default_threshold())?;
            (format!("{name} on {file}"), graph, image.segments())
        }
        (_, Some(name)) => match ocelli::detect::Model::from_name(name) {
            Some(model) => {
                let photo = ocelli::nn::assets_dir().join("images/astronaut.png");
                let image = ocelli::vision::load_packed(&photo)?;
                let weights = ocelli::nn::Weights::shipped(name)?;
                let graph = model.graph(&weights, &image.layout, model.default_thresholds())?;
                (format!("{name} on astronaut.png"), graph, image.segments())
            }
            None => {
                let (graph, input) = crate::classify::model_graph(name, 1)?;
                (name.to_string(), graph, vec![input])
            }
        },
        (Some(name), None) => {
            let which = Builtin::from_name(name).context("unknown built-in graph")?;
            let (graph, inputs) = build(which)?;
            (format!("{which:?}"), graph, inputs)
        }
        (None, None) => anyhow::bail!("give --graph or --model"),
    };
    let backend = GpuBackend::new(Arc::new(Gpu::new()?));
    let mut plan = backend.compile(&graph)?;
    let runs = if cold { 1 } else { runs.max(1) };
    if !cold {
        plan.run(&inputs)?; // warm-up
    }
    let mut best = plan.profile(&inputs)?;
    for _ in 1..runs {
        let p = plan.profile(&inputs)?;
        if p.wall_ms < best.wall_ms {
            best = p;
        }
    }
    println!(
        "{what} on {}: {} nodes after passes ({} before), {} dispatches",
        backend.name(),
        plan.graph().nodes().len(),
        graph.nodes().len(),
        plan.dispatch_count()
    );
    if best.rows.is_empty() {
        println!("(this adapter has no timestamp queries: only the whole-run time is known)");
    } else {
        let total = best.gpu_ms();
        println!("{:>4}  {:<36} {:<18} {:>9} {:>6} {:>9}", "node", "op", "shape", "ms", "%", "GFLOP/s");
        for r in &best.rows {
            let gf = r.flops.map(|f| format!("{:.2}", f / (r.ms * 1e6))).unwrap_or_default();
            println!(
                "{:>4}  {:<36} {:<18} {:>9.3} {:>5.1}% {:>9}",
                r.node,
                r.op,
                r.shape,
                r.ms,
                100.0 * r.ms / total,
                gf
            );
            if r.dispatches.len() > 1 {
                for d in &r.dispatches {
                    println!("{:>4}    {:<53} {:>9.3}", "", format!("{} ({})", d.entry, d.kernel), d.ms);
                }
            }
        }
        println!("GPU time {total:.3} ms");
    }
    println!("whole run {:.3} ms (upload, kernels, readback)", best.wall_ms);
    let m = best.memory;
    println!(
        "intermediate memory: {:.1} KiB planned vs {:.1} KiB naive ({:.1}x less); inputs + weights {:.1} KiB; \
         operand textures {:.1} KiB",
        m.planned as f64 / 1024.0,
        m.naive as f64 / 1024.0,
        m.naive as f64 / m.planned.max(1) as f64,
        m.inputs_and_constants as f64 / 1024.0,
        m.operand_textures as f64 / 1024.0
    );
    Ok(())
}
