//! Per-node GPU time of a plan from timestamp queries, with FLOP counts where they apply.

use std::time::Instant;

use ocelli_graph::{Graph, Op, Tensor};

use crate::plan::{device_bytes, Command, GpuPlan, MemoryReport};
use crate::ExecError;

/// One node of a profile.
#[derive(Debug, Clone)]
pub struct ProfileRow {
    /// Node index in the plan's (optimized) graph.
    pub node: usize,
    /// Op name (fused ops read `fused(conv2d+residual+relu)`).
    pub op: String,
    /// Output shape.
    pub shape: String,
    /// GPU time of the node's dispatches, in milliseconds.
    pub ms: f64,
    /// Floating-point operations of the node, for GEMM and convolutions.
    pub flops: Option<f64>,
    /// The node's dispatches in order (a Winograd convolution three per band of images, an
    /// im2col one two per band).
    pub dispatches: Vec<DispatchTime>,
}

/// One dispatch of a profiled node.
#[derive(Debug, Clone, Copy)]
pub struct DispatchTime {
    /// Kernel family label, such as `gemm_subgroup_texels`.
    pub kernel: &'static str,
    /// Entry point, such as `winograd_input`.
    pub entry: &'static str,
    /// GPU time in milliseconds.
    pub ms: f64,
}

/// Timing of one run of a plan.
#[derive(Debug, Clone)]
pub struct Profile {
    /// Per-node GPU times; empty when the adapter has no timestamp queries.
    pub rows: Vec<ProfileRow>,
    /// Wall time of the whole run (upload, kernels, readback), in milliseconds.
    pub wall_ms: f64,
    /// Memory of the plan.
    pub memory: MemoryReport,
}

impl Profile {
    /// Sum of the per-node GPU times.
    pub fn gpu_ms(&self) -> f64 {
        self.rows.iter().map(|r| r.ms).sum()
    }
}

fn op_label(op: &Op) -> String {
    match op {
        Op::Fused(f) => {
            let mut parts = vec![f.base.name().to_string()];
            if f.residual {
                parts.push("residual".into());
            }
            parts.extend(f.acts.iter().map(|a| format!("{a:?}").to_lowercase()));
            format!("fused({})", parts.join("+"))
        }
        other => other.name().to_string(),
    }
}

/// FLOPs of GEMMs and convolutions (2 per multiply-add).
fn flops(graph: &Graph, node: usize) -> Option<f64> {
    let n = &graph.nodes()[node];
    let op = match &n.op {
        Op::Fused(f) => &*f.base,
        other => other,
    };
    let out = graph.value(n.outputs[0]).shape.numel() as f64;
    let w = &graph.value(*n.inputs.get(1)?).shape;
    match op {
        Op::MatMul { trans_a, .. } => {
            let a = graph.value(n.inputs[0]).shape.dims();
            let k = if *trans_a { a[a.len() - 2] } else { a[a.len() - 1] };
            Some(2.0 * out * k as f64)
        }
        Op::Conv2d(_) => Some(2.0 * out * (w.numel() / w.dims()[0]) as f64),
        Op::ConvTranspose2d(_) => {
            let x = graph.value(n.inputs[0]).shape.numel() as f64;
            Some(2.0 * x * (w.numel() / w.dims()[0]) as f64)
        }
        _ => None,
    }
}

impl GpuPlan {
    /// Runs the plan once with a timestamp around every dispatch and returns per-node GPU
    /// times. Without timestamp queries only the wall time is filled in.
    pub fn profile(&mut self, inputs: &[Tensor]) -> Result<Profile, ExecError> {
        self.upload_inputs(inputs)?;
        let gpu = self.gpu.clone();
        let dispatches = self.dispatch_count() as u32;
        let timed = gpu.capabilities().timestamp_query && dispatches > 0;
        let start = Instant::now();
        let ticks = gpu.scoped("plan profile", || -> Result<Option<Vec<u64>>, ExecError> {
            let mut encoder =
                gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ocelli profile") });
            if !timed {
                self.record(&mut encoder, |_| None);
                self.finish_and_read(encoder)?;
                return Ok(None);
            }
            let queries = gpu.device().create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("ocelli timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * dispatches,
            });
            let resolved = gpu.device().create_buffer(&wgpu::BufferDescriptor {
                label: Some("ocelli timestamps"),
                size: u64::from(2 * dispatches) * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            self.record(&mut encoder, |k| {
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: &queries,
                    beginning_of_pass_write_index: Some(2 * k as u32),
                    end_of_pass_write_index: Some(2 * k as u32 + 1),
                })
            });
            encoder.resolve_query_set(&queries, 0..2 * dispatches, &resolved, 0);
            let mut reads: Vec<(&wgpu::Buffer, u64)> = vec![(&resolved, u64::from(2 * dispatches) * 8)];
            reads.extend(self.graph.outputs().iter().map(|&o| (self.buffer(o), device_bytes(self.graph.value(o)))));
            let bytes = gpu.submit_and_read(encoder, &reads)?;
            Ok(Some(bytes[0].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes"))).collect()))
        })?;
        let wall_ms = start.elapsed().as_secs_f64() * 1e3;
        let mut rows: Vec<ProfileRow> = Vec::new();
        if let Some(ticks) = ticks {
            let period_ns = f64::from(gpu.queue().get_timestamp_period());
            let nodes = self.commands.iter().filter_map(|c| match c {
                Command::Dispatch { node, label, entry, .. } => Some((*node, *label, *entry)),
                Command::Clear { .. } => None,
            });
            for (k, (node, kernel, entry)) in nodes.enumerate() {
                let ms = ticks[2 * k + 1].saturating_sub(ticks[2 * k]) as f64 * period_ns / 1e6;
                let time = DispatchTime { kernel, entry, ms };
                match rows.last_mut() {
                    Some(r) if r.node == node => {
                        r.ms += ms;
                        r.dispatches.push(time);
                    }
                    _ => {
                        let n = &self.graph.nodes()[node];
                        rows.push(ProfileRow {
                            node,
                            op: op_label(&n.op),
                            shape: self.graph.value(n.outputs[0]).shape.to_string(),
                            ms,
                            flops: flops(&self.graph, node),
                            dispatches: vec![time],
                        })
                    }
                }
            }
        }
        Ok(Profile { rows, wall_ms, memory: self.memory() })
    }
}
