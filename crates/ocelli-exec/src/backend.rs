//! [`GpuBackend`]: runs a whole graph in one command encoder and one submit.

use std::sync::Arc;

use ocelli_device::{Gpu, PooledBuffer};
use ocelli_graph::{Backend, DType, Graph, Tensor, ValueDef, ValueId, ValueInfo};

use crate::dispatch::{Dispatch, Step};
use crate::lower::{lower, Lowering};
use crate::ExecError;

/// The GPU backend: lowers each op to WGSL kernels on a [`Gpu`].
#[derive(Debug, Clone)]
pub struct GpuBackend {
    gpu: Arc<Gpu>,
}

impl GpuBackend {
    /// A backend running on `gpu`.
    pub fn new(gpu: Arc<Gpu>) -> Self {
        Self { gpu }
    }

    /// The device this backend runs on.
    pub fn gpu(&self) -> &Arc<Gpu> {
        &self.gpu
    }
}

/// Bytes a value occupies on the device: f16 is packed two to a 32-bit word.
fn device_bytes(v: &ValueInfo) -> u64 {
    let n = v.shape.numel() as u64;
    match v.dtype {
        DType::F16 => n.div_ceil(2) * 4,
        _ => n * 4,
    }
}

fn describe(graph: &Graph, id: ValueId) -> String {
    match &graph.value(id).def {
        ValueDef::Input(name) => format!("input '{name}' {}", graph.value(id).shape),
        ValueDef::Constant(_) => format!("constant {}", graph.value(id).shape),
        ValueDef::Node { node, .. } => {
            format!("output of node {node} ({}) {}", graph.nodes()[*node].op.name(), graph.value(id).shape)
        }
    }
}

/// Buffers of one run: each value points at a slot; aliases (reshape) share their input's slot.
struct Buffers {
    slot_of: Vec<Option<usize>>,
    slots: Vec<PooledBuffer>,
}

impl Buffers {
    fn get(&self, id: ValueId) -> &wgpu::Buffer {
        self.slots[self.slot_of[id.0].expect("every used value has a buffer")].buffer()
    }
}

impl Backend for GpuBackend {
    type Error = ExecError;

    fn name(&self) -> String {
        let info = self.gpu.adapter_info();
        format!("gpu ({}, {:?})", info.name, info.backend)
    }

    fn run(&self, graph: &Graph, inputs: &[Tensor]) -> Result<Vec<Tensor>, ExecError> {
        graph.check_inputs(inputs)?;
        let gpu = &*self.gpu;
        for (i, v) in graph.values().iter().enumerate() {
            gpu.check_binding_size(&describe(graph, ValueId(i)), device_bytes(v))?;
        }
        let lowered = graph.nodes().iter().map(|n| lower(n, graph)).collect::<Result<Vec<_>, _>>()?;
        let mut bufs = Buffers { slot_of: vec![None; graph.values().len()], slots: Vec::new() };
        let result = self.allocate_and_run(graph, inputs, &lowered, &mut bufs);
        for b in bufs.slots.drain(..) {
            gpu.release(b);
        }
        result
    }
}

impl GpuBackend {
    fn allocate_and_run(
        &self,
        graph: &Graph,
        inputs: &[Tensor],
        lowered: &[Lowering],
        bufs: &mut Buffers,
    ) -> Result<Vec<Tensor>, ExecError> {
        let gpu = &*self.gpu;
        let new_slot = |bufs: &mut Buffers, id: ValueId, b: PooledBuffer| {
            bufs.slots.push(b);
            bufs.slot_of[id.0] = Some(bufs.slots.len() - 1);
        };
        for (id, t) in graph.inputs().iter().zip(inputs) {
            let b = gpu.upload(&describe(graph, *id), &t.to_bytes())?;
            new_slot(bufs, *id, b);
        }
        for (i, v) in graph.values().iter().enumerate() {
            if let ValueDef::Constant(t) = &v.def {
                let b = gpu.upload(&describe(graph, ValueId(i)), &t.to_bytes())?;
                new_slot(bufs, ValueId(i), b);
            }
        }
        for (node, low) in graph.nodes().iter().zip(lowered) {
            match low {
                Lowering::Alias => bufs.slot_of[node.outputs[0].0] = bufs.slot_of[node.inputs[0].0],
                Lowering::Steps(_) => {
                    for &o in &node.outputs {
                        let b = gpu.acquire(&describe(graph, o), device_bytes(graph.value(o)))?;
                        new_slot(bufs, o, b);
                    }
                }
            }
        }
        let steps: Vec<&Step> = lowered
            .iter()
            .flat_map(|l| match l {
                Lowering::Steps(s) => s.iter().collect(),
                Lowering::Alias => Vec::new(),
            })
            .collect();
        let pipelines = steps
            .iter()
            .filter_map(|s| match s {
                Step::Dispatch(d) => Some(d),
                Step::Clear(_) => None,
            })
            .map(|d| gpu.pipeline(d.family.kernel(), d.entry, &d.constants))
            .collect::<Result<Vec<_>, _>>()?;
        let (uniforms, offsets) = self.upload_params(&steps);

        let bytes = gpu.scoped("graph", || {
            let mut encoder =
                gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ocelli graph") });
            let mut next = 0;
            for step in &steps {
                match step {
                    Step::Clear(id) => encoder.clear_buffer(bufs.get(*id), 0, None),
                    Step::Dispatch(d) => {
                        let pipeline = &pipelines[next];
                        let bind_group = bind(gpu, graph, bufs, d, pipeline, &uniforms, offsets[next]);
                        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                            label: Some(d.family.kernel().label),
                            timestamp_writes: None,
                        });
                        pass.set_pipeline(pipeline);
                        pass.set_bind_group(0, &bind_group, &[]);
                        pass.dispatch_workgroups(d.groups[0], d.groups[1], d.groups[2]);
                        next += 1;
                    }
                }
            }
            let reads: Vec<(&wgpu::Buffer, u64)> =
                graph.outputs().iter().map(|&o| (bufs.get(o), device_bytes(graph.value(o)))).collect();
            gpu.submit_and_read(encoder, &reads)
        })?;
        graph
            .outputs()
            .iter()
            .zip(bytes)
            .map(|(&o, b)| {
                let v = graph.value(o);
                Ok(Tensor::from_bytes(v.shape.clone(), v.dtype, &b)?)
            })
            .collect()
    }

    /// Writes every dispatch's parameters into one uniform buffer at aligned offsets.
    fn upload_params(&self, steps: &[&Step]) -> (wgpu::Buffer, Vec<(u64, u64)>) {
        let gpu = &*self.gpu;
        let align = u64::from(gpu.limits().min_uniform_buffer_offset_alignment).max(16);
        let mut data: Vec<u8> = Vec::new();
        let mut offsets = Vec::new();
        for s in steps {
            if let Step::Dispatch(d) = s {
                let start = (data.len() as u64).div_ceil(align) * align;
                data.resize(start as usize, 0);
                data.extend(d.params.iter().flat_map(|w| w.to_le_bytes()));
                let len = (data.len() as u64 - start).div_ceil(16).max(1) * 16;
                data.resize((start + len) as usize, 0);
                offsets.push((start, len));
            }
        }
        data.resize(data.len().max(16), 0);
        let buffer = gpu.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some("ocelli params"),
            size: data.len() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        gpu.queue().write_buffer(&buffer, 0, &data);
        (buffer, offsets)
    }
}

fn bind(
    gpu: &Gpu,
    graph: &Graph,
    bufs: &Buffers,
    d: &Dispatch,
    pipeline: &wgpu::ComputePipeline,
    uniforms: &wgpu::Buffer,
    (offset, len): (u64, u64),
) -> wgpu::BindGroup {
    let mut entries: Vec<wgpu::BindGroupEntry<'_>> = d
        .bindings
        .iter()
        .enumerate()
        .map(|(i, &id)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: bufs.get(id),
                offset: 0,
                size: wgpu::BufferSize::new(device_bytes(graph.value(id))),
            }),
        })
        .collect();
    entries.push(wgpu::BindGroupEntry {
        binding: d.bindings.len() as u32,
        resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
            buffer: uniforms,
            offset,
            size: wgpu::BufferSize::new(len),
        }),
    });
    gpu.device().create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(d.entry),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &entries,
    })
}
