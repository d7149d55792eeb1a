//! [`GpuPlan`]: a graph compiled once — passes run, kernels chosen, pipelines created, buffers
//! planned by liveness, weights uploaded, bind groups made. A run only uploads inputs, records
//! the prepared dispatches into one encoder, submits once and reads back the outputs.

use std::sync::Arc;

use ocelli_device::{Gpu, PooledBuffer};
use ocelli_graph::{passes, DType, Graph, Plan, Tensor, ValueDef, ValueId, ValueInfo};

use crate::dispatch::{Binding, Dispatch, Step};
use crate::lower::{has_f16_kernel, kernel_of, lower, Lowering};
use crate::planner::{self, MemoryPlan};
use crate::texels::{self, operand_texture, texel_format, texels_for};
use crate::tuning::Tuning;
use crate::ExecError;

/// What [`GpuPlan::new`] does besides lowering.
#[derive(Debug, Clone, Copy)]
pub struct CompileOptions {
    /// Run the graph passes (batch-norm folding, epilogue fusion, dead-code elimination).
    pub optimize: bool,
    /// Share intermediate buffers between values whose lifetimes do not overlap.
    pub reuse_buffers: bool,
    /// How ops on f16 values run.
    pub f16: F16Compute,
    /// On adapters that read textures faster than storage buffers (CPU drivers such as
    /// lavapipe), copy GEMM operands into textures before each GEMM. `false` keeps every
    /// operand in its storage buffer.
    pub texel_operands: bool,
    /// The most loop iterations a chunked kernel spends on one axis in one invocation: longer
    /// reductions, softmax and norm rows, top-k rows and GEMM K (in blocks of 4·`loop_chunk`)
    /// run in more passes or dispatches. Drivers may cap an invocation's loops: Mesa's llvmpipe
    /// (lavapipe, llvmpipe GL) silently stops them after 65 535 iterations in total. The
    /// default, [`CompileOptions::LOOP_CHUNK`], stays far below; tests lower it to run the
    /// multi-pass paths on small shapes.
    pub loop_chunk: usize,
    /// The largest scratch buffer, in bytes, that a convolution's im2col patch matrix or
    /// Winograd transforms may use (further capped by the device's storage-binding limit):
    /// bigger Winograd convolutions run in bands of images, and those where one image does not
    /// fit on im2col; bigger im2col convolutions run as several im2col + GEMM pairs over bands
    /// of images or of output rows, and one that cannot fit a single output row runs the direct
    /// kernel. The
    /// default, [`CompileOptions::SCRATCH_LIMIT`], keeps a plan's scratch small beside its
    /// activations; tests lower it to run the banded paths on small shapes.
    pub scratch_limit: u64,
}

impl CompileOptions {
    /// Default [`CompileOptions::loop_chunk`].
    pub const LOOP_CHUNK: usize = 4096;
    /// Default [`CompileOptions::scratch_limit`]: 64 MiB.
    pub const SCRATCH_LIMIT: u64 = 64 << 20;
}

impl Default for CompileOptions {
    fn default() -> Self {
        Self {
            optimize: true,
            reuse_buffers: true,
            f16: F16Compute::Auto,
            texel_operands: true,
            loop_chunk: Self::LOOP_CHUNK,
            scratch_limit: Self::SCRATCH_LIMIT,
        }
    }
}

/// How a plan runs ops on f16 values. Either way f16 values (inputs, weights, intermediates)
/// stay f16 in memory and arithmetic is f32 (GEMM and conv accumulate in f32); the difference
/// is who converts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum F16Compute {
    /// [`F16Compute::Native`] where the adapter has `shader-f16`, else [`F16Compute::Widened`].
    #[default]
    Auto,
    /// GEMM, conv, pooling and elementwise kernels read and write f16 themselves (no cast
    /// passes, half the traffic); the other ops are widened. Compiling an f16 graph fails with
    /// [`ExecError::MissingFeature`] on adapters without `shader-f16`.
    Native,
    /// Every op on f16 values runs its f32 kernel between cast kernels (any adapter).
    Widened,
}

/// Memory of a plan, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReport {
    /// Intermediate buffers after liveness planning (the plan's peak for intermediates).
    pub planned: u64,
    /// What the intermediates would take with one buffer each.
    pub naive: u64,
    /// Buffers of graph inputs and constants (weights) as uploaded: constants that the plan
    /// replaced by a padded or transformed form take the size of that form instead, and
    /// constants that kernels only read as texels are freed once their textures are filled.
    pub inputs_and_constants: u64,
    /// Operand textures (CPU adapters; see [`CompileOptions::texel_operands`]): weights read
    /// as texels, and one texture per binding slot for the other operands.
    pub operand_textures: u64,
}

/// One prepared command.
pub(crate) enum Command {
    Dispatch {
        /// Buffer → texture copies to record first: (buffer, texture, texels).
        copies: Vec<(usize, usize, u64)>,
        pipeline: Arc<wgpu::ComputePipeline>,
        bind_group: wgpu::BindGroup,
        groups: [u32; 3],
        /// Counts read from a buffer at a byte offset instead of `groups`.
        indirect: Option<(usize, u64)>,
        label: &'static str,
        entry: &'static str,
        node: usize,
    },
    Clear {
        buffer: usize,
    },
}

/// A graph compiled for a [`Gpu`]. Run it with [`Plan::run`]; time it with
/// [`GpuPlan::profile`].
pub struct GpuPlan {
    pub(crate) gpu: Arc<Gpu>,
    pub(crate) graph: Graph,
    /// Every buffer the plan owns (inputs, constants, shared intermediates); `None` for
    /// constants freed after compile because kernels only read them as texels.
    pub(crate) buffers: Vec<Option<PooledBuffer>>,
    /// Buffer index of each value (through aliases).
    pub(crate) buffer_of: Vec<Option<usize>>,
    pub(crate) commands: Vec<Command>,
    /// Operand textures ([`crate::texels`]).
    textures: Vec<wgpu::Texture>,
    memory: MemoryReport,
    _uniforms: wgpu::Buffer,
    /// Which inputs hold a value for [`Plan::advance`] (given or carried earlier).
    held: Vec<bool>,
    /// Whether an advance has run whose outputs [`Plan::outputs`] can read.
    advanced: bool,
}

impl std::fmt::Debug for GpuPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuPlan").field("nodes", &self.graph.nodes().len()).field("memory", &self.memory).finish()
    }
}

/// Bytes a value occupies on the device: f16 is packed two to a 32-bit word.
pub(crate) fn device_bytes(v: &ValueInfo) -> u64 {
    bytes_of(v.shape.numel(), v.dtype)
}

/// Bytes `numel` elements of `dtype` occupy on the device.
fn bytes_of(numel: usize, dtype: DType) -> u64 {
    let n = numel as u64;
    match dtype {
        DType::F16 => n.div_ceil(2) * 4,
        _ => n * 4,
    }
}

fn describe(graph: &Graph, id: ValueId) -> String {
    let v = graph.value(id);
    match &v.def {
        ValueDef::Input(name) => format!("input '{name}' {}", v.shape),
        ValueDef::Constant(_) => format!("constant {}", v.shape),
        ValueDef::Node { node, .. } => {
            format!("output of node {node} ({}) {}", graph.nodes()[*node].op.name(), v.shape)
        }
    }
}

/// Whether f16 ops of `graph` run f16 kernels, or why they cannot.
fn native_f16(gpu: &Gpu, graph: &Graph, mode: F16Compute) -> Result<bool, ExecError> {
    let has = gpu.capabilities().shader_f16;
    match mode {
        F16Compute::Auto => Ok(has),
        F16Compute::Widened => Ok(false),
        F16Compute::Native if has || graph.values().iter().all(|v| v.dtype != DType::F16) => Ok(true),
        F16Compute::Native => Err(ExecError::MissingFeature {
            feature: "shader-f16",
            adapter: gpu.adapter_info().name.clone(),
            needed_for: "F16Compute::Native on a graph with f16 values (F16Compute::Auto falls back to f32 kernels)",
        }),
    }
}

impl GpuPlan {
    /// Compiles `graph` for `gpu`.
    pub fn new(gpu: Arc<Gpu>, graph: &Graph, options: CompileOptions) -> Result<Self, ExecError> {
        let native = native_f16(&gpu, graph, options.f16)?;
        let graph = passes::widen_f16(graph, |op| native && has_f16_kernel(op))?;
        let graph = if options.optimize { passes::optimize(&graph)? } else { graph };
        for (i, v) in graph.values().iter().enumerate() {
            gpu.check_binding_size(&describe(&graph, ValueId(i)), device_bytes(v))?;
        }
        let tuning = Tuning::for_gpu(&gpu, &options);
        let lowered = graph.nodes().iter().map(|n| lower(n, &graph, tuning)).collect::<Result<Vec<_>, _>>()?;
        let alias: Vec<bool> = lowered.iter().map(|l| matches!(l, Lowering::Alias)).collect();
        let scratch: Vec<Vec<u64>> = lowered
            .iter()
            .map(|l| match l {
                Lowering::Steps { scratch, .. } => scratch.clone(),
                Lowering::Alias => Vec::new(),
            })
            .collect();
        let mem = planner::plan(&graph, &alias, &scratch, |v| device_bytes(graph.value(v)), options.reuse_buffers);
        let Allocation { buffers, buffer_of, derived, slot_base, placeholder, fixed_bytes } =
            allocate(&gpu, &graph, &lowered, &mem)?;
        let resolve = Resolver {
            buffer_of: &buffer_of,
            derived: &derived,
            fixed_bytes: &fixed_bytes,
            mem: &mem,
            slot_base,
            placeholder,
            scratch: &scratch,
        };
        // Bind groups are validated here: a mistake becomes a typed error, not a panic.
        let Prepared { commands, textures, uniforms, mut read_as_buffer } =
            gpu.scoped("compile", || prepare(&gpu, &graph, &lowered, &buffers, &resolve))?;
        for &v in graph.inputs().iter().chain(graph.outputs()) {
            read_as_buffer[buffer_of[v.0].expect("inputs and outputs have buffers")] = true;
        }
        // Constants read only as texels live in their textures from now on (the fill is already
        // submitted: wgpu keeps a dropped buffer alive until the copies that read it are done).
        let buffers: Vec<Option<PooledBuffer>> =
            buffers.into_iter().enumerate().map(|(i, b)| (i >= slot_base || read_as_buffer[i]).then_some(b)).collect();
        let inputs_and_constants = (0..slot_base).filter(|&i| buffers[i].is_some()).map(|i| fixed_bytes[i]).sum();
        let operand_textures = textures.iter().map(texels::texture_bytes).sum();
        let memory = MemoryReport {
            planned: mem.planned_bytes(),
            naive: mem.naive_bytes,
            inputs_and_constants,
            operand_textures,
        };
        let held = vec![false; graph.inputs().len()];
        Ok(Self {
            gpu,
            graph,
            buffers,
            buffer_of,
            commands,
            textures,
            memory,
            _uniforms: uniforms,
            held,
            advanced: false,
        })
    }

    /// Memory of this plan's buffers, with and without liveness planning.
    pub fn memory(&self) -> MemoryReport {
        self.memory
    }

    /// The graph this plan runs (after passes).
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Number of kernel dispatches one run records.
    pub fn dispatch_count(&self) -> usize {
        self.commands.iter().filter(|c| matches!(c, Command::Dispatch { .. })).count()
    }

    /// The kernel of each dispatch, in recording order (for instance `gemm_subgroup_texels`:
    /// which family, and whether its operands come from textures).
    pub fn kernels(&self) -> Vec<&'static str> {
        self.commands
            .iter()
            .filter_map(|c| match c {
                Command::Dispatch { label, .. } => Some(*label),
                Command::Clear { .. } => None,
            })
            .collect()
    }

    pub(crate) fn buffer(&self, id: ValueId) -> &wgpu::Buffer {
        self.buffer_at(self.buffer_of[id.0].expect("every value has a buffer"))
    }

    /// The plan's i-th buffer, which a command or an input or output uses (so it was kept).
    fn buffer_at(&self, i: usize) -> &wgpu::Buffer {
        self.buffers[i].as_ref().expect("buffers that commands read are kept").buffer()
    }

    /// Writes the inputs into their buffers.
    pub(crate) fn upload_inputs(&self, inputs: &[Tensor]) -> Result<(), ExecError> {
        self.graph.check_inputs(inputs)?;
        for (&id, t) in self.graph.inputs().iter().zip(inputs) {
            let mut bytes = t.to_bytes();
            bytes.resize(bytes.len().div_ceil(4) * 4, 0);
            self.gpu.queue().write_buffer(self.buffer(id), 0, &bytes);
        }
        Ok(())
    }

    /// Records every command into `encoder`; `timestamps(k)` may add timestamp writes around
    /// the k-th dispatch.
    pub(crate) fn record<'q>(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        mut timestamps: impl FnMut(usize) -> Option<wgpu::ComputePassTimestampWrites<'q>>,
    ) {
        let mut k = 0;
        for c in &self.commands {
            match c {
                Command::Clear { buffer } => encoder.clear_buffer(self.buffer_at(*buffer), 0, None),
                Command::Dispatch { copies, pipeline, bind_group, groups, indirect, label, .. } => {
                    for &(buffer, texture, texels) in copies {
                        texels::record_copy(encoder, self.buffer_at(buffer), &self.textures[texture], texels);
                    }
                    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                        label: Some(label),
                        timestamp_writes: timestamps(k),
                    });
                    pass.set_pipeline(pipeline);
                    pass.set_bind_group(0, bind_group, &[]);
                    match indirect {
                        Some((buffer, offset)) => pass.dispatch_workgroups_indirect(self.buffer_at(*buffer), *offset),
                        None => pass.dispatch_workgroups(groups[0], groups[1], groups[2]),
                    }
                    k += 1;
                }
            }
        }
    }

    /// Reads the outputs back after `encoder` (which must already hold the recorded commands).
    pub(crate) fn finish_and_read(&self, encoder: wgpu::CommandEncoder) -> Result<Vec<Tensor>, ExecError> {
        let reads: Vec<(&wgpu::Buffer, u64)> =
            self.graph.outputs().iter().map(|&o| (self.buffer(o), device_bytes(self.graph.value(o)))).collect();
        let bytes = self.gpu.submit_and_read(encoder, &reads)?;
        self.graph
            .outputs()
            .iter()
            .zip(bytes)
            .map(|(&o, b)| {
                let v = self.graph.value(o);
                Ok(Tensor::from_bytes(v.shape.clone(), v.dtype, &b)?)
            })
            .collect()
    }
}

impl Plan for GpuPlan {
    type Error = ExecError;

    fn run(&mut self, inputs: &[Tensor]) -> Result<Vec<Tensor>, ExecError> {
        self.upload_inputs(inputs)?;
        self.held.fill(true);
        self.advanced = false;
        let gpu = self.gpu.clone();
        gpu.scoped("plan run", || {
            let mut encoder =
                gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ocelli plan") });
            self.record(&mut encoder, |_| None);
            self.finish_and_read(encoder)
        })
    }

    fn advance(&mut self, inputs: &[Option<Tensor>], carry: &[(usize, usize)]) -> Result<(), ExecError> {
        self.graph.check_advance(inputs, &self.held, carry)?;
        for (k, t) in inputs.iter().enumerate() {
            if let Some(t) = t {
                let mut bytes = t.to_bytes();
                bytes.resize(bytes.len().div_ceil(4) * 4, 0);
                self.gpu.queue().write_buffer(self.buffer(self.graph.inputs()[k]), 0, &bytes);
                self.held[k] = true;
            }
        }
        let gpu = self.gpu.clone();
        gpu.scoped("plan advance", || {
            let mut encoder =
                gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ocelli advance") });
            self.record(&mut encoder, |_| None);
            for &(o, i) in carry {
                let (out, inp) = (self.graph.outputs()[o], self.graph.inputs()[i]);
                let (src, dst) = (self.buffer(out), self.buffer(inp));
                if src != dst {
                    encoder.copy_buffer_to_buffer(src, 0, dst, 0, device_bytes(self.graph.value(out)));
                }
                self.held[i] = true;
            }
            gpu.submit(encoder);
            Ok::<(), ExecError>(())
        })?;
        // Lets the device reclaim finished submissions without waiting for this one.
        let _ = gpu.device().poll(wgpu::PollType::Poll);
        self.advanced = true;
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<Tensor>, ExecError> {
        if !self.advanced {
            let why = "outputs asked for before any advance".to_string();
            return Err(ocelli_graph::GraphError::InputMismatch { name: "*".into(), why }.into());
        }
        let encoder =
            self.gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ocelli read") });
        self.finish_and_read(encoder)
    }
}

impl Drop for GpuPlan {
    fn drop(&mut self) {
        for b in self.buffers.drain(..).flatten() {
            self.gpu.release(b);
        }
    }
}

/// The buffers of a plan and which one each value uses.
struct Allocation {
    buffers: Vec<PooledBuffer>,
    buffer_of: Vec<Option<usize>>,
    /// For each node: the buffer of each of its derived constants.
    derived: Vec<Vec<usize>>,
    /// Index of the first shared intermediate buffer.
    slot_base: usize,
    /// Index of the buffer behind [`Binding::Placeholder`] (after the intermediates).
    placeholder: usize,
    /// Bytes of each input and constant buffer (those before `slot_base`).
    fixed_bytes: Vec<u64>,
}

/// Which values' storage (roots) a command binds or clears, or the graph returns: constants
/// that only derived constants replace need no buffer.
fn used_roots(graph: &Graph, lowered: &[Lowering], mem: &MemoryPlan) -> Vec<bool> {
    let mut used = vec![false; graph.values().len()];
    let mut mark = |id: ValueId| used[mem.root[id.0].0] = true;
    for l in lowered {
        let Lowering::Steps { steps, .. } = l else { continue };
        for step in steps {
            let (bindings, extra) = match step {
                Step::Clear(b) => (&[][..], Some(*b)),
                Step::Dispatch(d) => (&d.bindings[..], None),
                Step::Indirect { dispatch, args, .. } => (&dispatch.bindings[..], Some(*args)),
            };
            for b in bindings.iter().chain(&extra) {
                if let Binding::Value(id) = b {
                    mark(*id);
                }
            }
        }
    }
    graph.outputs().iter().for_each(|&o| mark(o));
    used
}

/// Buffers for inputs (empty, written per run), used constants and derived constants (uploaded
/// now) and the planned shared intermediates.
fn allocate(gpu: &Gpu, graph: &Graph, lowered: &[Lowering], mem: &MemoryPlan) -> Result<Allocation, ExecError> {
    let used = used_roots(graph, lowered, mem);
    let mut buffers = Vec::new();
    let mut own: Vec<Option<usize>> = vec![None; graph.values().len()];
    let mut fixed = Vec::new();
    for (i, v) in graph.values().iter().enumerate() {
        let id = ValueId(i);
        let b = match &v.def {
            ValueDef::Input(_) => gpu.acquire(&describe(graph, id), device_bytes(v))?,
            ValueDef::Constant(t) if used[i] => gpu.upload(&describe(graph, id), &t.to_bytes())?,
            ValueDef::Constant(_) | ValueDef::Node { .. } => continue,
        };
        fixed.push(device_bytes(v));
        buffers.push(b);
        own[i] = Some(buffers.len() - 1);
    }
    let mut derived = Vec::with_capacity(lowered.len());
    for (node, l) in lowered.iter().enumerate() {
        let tensors = match l {
            Lowering::Steps { derived, .. } => derived.as_slice(),
            Lowering::Alias => &[],
        };
        let mut of_node = Vec::with_capacity(tensors.len());
        for (k, t) in tensors.iter().enumerate() {
            let bytes = bytes_of(t.shape().numel(), t.dtype());
            let what = format!("constant {k} derived for node {node} {}", t.shape());
            gpu.check_binding_size(&what, bytes)?;
            buffers.push(gpu.upload(&what, &t.to_bytes())?);
            fixed.push(bytes);
            of_node.push(buffers.len() - 1);
        }
        derived.push(of_node);
    }
    let slot_base = buffers.len();
    for (s, &bytes) in mem.slot_bytes.iter().enumerate() {
        buffers.push(gpu.acquire(&format!("intermediate buffer {s}"), bytes)?);
    }
    let placeholder = buffers.len();
    buffers.push(gpu.acquire("placeholder for ignored bindings", PLACEHOLDER_BYTES)?);
    let buffer_of = (0..graph.values().len())
        .map(|i| {
            let r = mem.root[i].0;
            own[r].or(mem.slot_of[r].map(|s| slot_base + s))
        })
        .collect();
    Ok(Allocation { buffers, buffer_of, derived, slot_base, placeholder, fixed_bytes: fixed })
}

/// What [`prepare`] makes.
struct Prepared {
    commands: Vec<Command>,
    textures: Vec<wgpu::Texture>,
    uniforms: wgpu::Buffer,
    /// For each buffer: whether a command reads or writes it as a buffer (a storage binding, a
    /// clear, the source of a texture copy before a dispatch).
    read_as_buffer: Vec<bool>,
}

/// Pipelines, one uniform buffer with every dispatch's parameters, operand textures, and bind
/// groups.
fn prepare(
    gpu: &Gpu,
    graph: &Graph,
    lowered: &[Lowering],
    buffers: &[PooledBuffer],
    resolve: &Resolver<'_>,
) -> Result<Prepared, ExecError> {
    let steps: Vec<(usize, bool, &Step)> = lowered
        .iter()
        .enumerate()
        .flat_map(|(node, l)| match l {
            Lowering::Steps { steps, f16, .. } => steps.iter().map(|st| (node, *f16, st)).collect(),
            Lowering::Alias => Vec::new(),
        })
        .collect();
    let uniforms = upload_params(gpu, &steps);
    let requests: Vec<_> = steps
        .iter()
        .filter_map(|&(_, f16, s)| s.dispatch().map(|d| (kernel_of(d, f16), d.entry, d.constants.as_slice())))
        .collect();
    gpu.prepare_pipelines(&requests)?;
    let textures = OperandTextures::new(gpu, graph, &steps, buffers, resolve)?;
    let views: Vec<wgpu::TextureView> = textures.textures.iter().map(|t| t.create_view(&Default::default())).collect();
    let mut commands = Vec::with_capacity(steps.len());
    let mut read_as_buffer = vec![false; buffers.len()];
    let mut k = 0;
    for (node, f16, s) in steps {
        match s {
            Step::Clear(b) => {
                let (buffer, _) = resolve.get(graph, node, *b);
                read_as_buffer[buffer] = true;
                commands.push(Command::Clear { buffer });
            }
            Step::Dispatch(d) | Step::Indirect { dispatch: d, .. } => {
                let indirect = match s {
                    Step::Indirect { args, offset, .. } => {
                        let (buffer, _) = resolve.get(graph, node, *args);
                        read_as_buffer[buffer] = true;
                        Some((buffer, *offset))
                    }
                    _ => None,
                };
                let kernel = kernel_of(d, f16);
                let pipeline = gpu.pipeline(kernel, d.entry, &d.constants)?;
                let mut copies = Vec::new();
                let mut entries = Vec::new();
                for (slot, &b) in d.bindings.iter().enumerate() {
                    let (i, bytes) = resolve.get(graph, node, b);
                    if slot < d.family.texel_inputs(d.entry) {
                        let key = TexelKey::of(graph, b, i, slot, f16);
                        let t = textures.index(key);
                        if let TexelKey::Slot(_, format) = key {
                            copies.push((i, t, texels_for(bytes, format)));
                            read_as_buffer[i] = true;
                        }
                        entries.push(wgpu::BindingResource::TextureView(&views[t]));
                    } else {
                        read_as_buffer[i] = true;
                        entries.push(wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                            buffer: buffers[i].buffer(),
                            offset: 0,
                            size: wgpu::BufferSize::new(bytes.div_ceil(16) * 16),
                        }));
                    }
                }
                let (offset, len) = uniforms.offsets[k];
                entries.push(wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &uniforms.buffer,
                    offset,
                    size: wgpu::BufferSize::new(len),
                }));
                let bind_group = bind(gpu, d, entries, &pipeline);
                commands.push(Command::Dispatch {
                    copies,
                    pipeline,
                    bind_group,
                    groups: d.groups,
                    indirect,
                    label: kernel.label,
                    entry: d.entry,
                    node,
                });
                k += 1;
            }
        }
    }
    Ok(Prepared { commands, textures: textures.textures, uniforms: uniforms.buffer, read_as_buffer })
}

/// Bytes of the buffer behind [`Binding::Placeholder`]: one vec4.
const PLACEHOLDER_BYTES: u64 = 16;

/// Finds the buffer (index into the plan's buffers) and byte size behind a binding.
struct Resolver<'a> {
    buffer_of: &'a [Option<usize>],
    derived: &'a [Vec<usize>],
    fixed_bytes: &'a [u64],
    mem: &'a MemoryPlan,
    slot_base: usize,
    placeholder: usize,
    scratch: &'a [Vec<u64>],
}

impl Resolver<'_> {
    fn get(&self, graph: &Graph, node: usize, b: Binding) -> (usize, u64) {
        match b {
            Binding::Value(id) => {
                (self.buffer_of[id.0].expect("every value has a buffer"), device_bytes(graph.value(id)))
            }
            Binding::Scratch(k) => (self.slot_base + self.mem.scratch_slot[node][k], self.scratch[node][k]),
            Binding::Derived(k) => {
                let i = self.derived[node][k];
                (i, self.fixed_bytes[i])
            }
            Binding::Placeholder => (self.placeholder, PLACEHOLDER_BYTES),
        }
    }
}

/// A bind group of `entries` at bindings 0, 1, ... (inputs, outputs, then the parameters).
/// Storage bindings span whole 16-byte units so kernels may view them as `array<vec4<f32>>`
/// (pooled buffers are larger).
fn bind(
    gpu: &Gpu,
    d: &Dispatch,
    entries: Vec<wgpu::BindingResource<'_>>,
    pipeline: &wgpu::ComputePipeline,
) -> wgpu::BindGroup {
    let all: Vec<wgpu::BindGroupEntry<'_>> = entries
        .into_iter()
        .enumerate()
        .map(|(i, resource)| wgpu::BindGroupEntry { binding: i as u32, resource })
        .collect();
    gpu.device().create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(d.entry),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &all,
    })
}

/// Every dispatch's uniform parameters in one buffer.
struct ParamBlock {
    buffer: wgpu::Buffer,
    /// (offset, length) of the k-th dispatch's parameters.
    offsets: Vec<(u64, u64)>,
}

/// Packs the parameters of every dispatch of `steps` at the adapter's uniform offset alignment
/// and uploads them.
fn upload_params(gpu: &Gpu, steps: &[(usize, bool, &Step)]) -> ParamBlock {
    let align = u64::from(gpu.limits().min_uniform_buffer_offset_alignment).max(16);
    let mut data: Vec<u8> = Vec::new();
    let mut offsets = Vec::new();
    for (_, _, s) in steps {
        if let Some(d) = s.dispatch() {
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
    ParamBlock { buffer, offsets }
}

/// What a texture bound for texel reads holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TexelKey {
    /// Whatever value the dispatch at hand binds at this slot, copied in right before it.
    Slot(usize, wgpu::TextureFormat),
    /// The constant (weights, or a derived constant) in this buffer, copied in once when the
    /// plan is compiled.
    Constant(usize, wgpu::TextureFormat),
}

impl TexelKey {
    /// The texture behind binding `b`, held in `buffer`, at `slot` of a dispatch whose float
    /// storage is `f16`.
    fn of(graph: &Graph, b: Binding, buffer: usize, slot: usize, f16: bool) -> Self {
        let format = texel_format(f16);
        match b {
            Binding::Value(id) if matches!(graph.value(id).def, ValueDef::Constant(_)) => {
                Self::Constant(buffer, format)
            }
            Binding::Derived(_) => Self::Constant(buffer, format),
            _ => Self::Slot(slot, format),
        }
    }

    fn format(self) -> wgpu::TextureFormat {
        match self {
            Self::Slot(_, f) | Self::Constant(_, f) => f,
        }
    }
}

/// The plan's operand textures: one per constant read as texels, filled at compile time, and
/// one per (binding slot, texel format) for the other values, as large as the largest value
/// bound there and refilled before each dispatch that reads it.
struct OperandTextures {
    keys: Vec<TexelKey>,
    textures: Vec<wgpu::Texture>,
}

impl OperandTextures {
    fn new(
        gpu: &Gpu,
        graph: &Graph,
        steps: &[(usize, bool, &Step)],
        buffers: &[PooledBuffer],
        resolve: &Resolver<'_>,
    ) -> Result<Self, ExecError> {
        // (key, texels, buffer) of every texel binding; constants keep their own buffer.
        let mut sizes: Vec<(TexelKey, u64, usize)> = Vec::new();
        for &(node, f16, s) in steps {
            let Some(d) = s.dispatch() else { continue };
            for (slot, &b) in d.bindings.iter().enumerate().take(d.family.texel_inputs(d.entry)) {
                let (buffer, bytes) = resolve.get(graph, node, b);
                let key = TexelKey::of(graph, b, buffer, slot, f16);
                let texels = texels_for(bytes, key.format());
                match sizes.iter_mut().find(|(k, ..)| *k == key) {
                    Some((_, n, _)) => *n = (*n).max(texels),
                    None => sizes.push((key, texels, buffer)),
                }
            }
        }
        let textures: Vec<wgpu::Texture> = sizes
            .iter()
            .map(|&(key, texels, _)| operand_texture(gpu, key.format(), texels))
            .collect::<Result<_, _>>()?;
        let mut encoder =
            gpu.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("ocelli weights") });
        for (&(key, texels, buffer), texture) in sizes.iter().zip(&textures) {
            if matches!(key, TexelKey::Constant(..)) {
                texels::record_copy(&mut encoder, buffers[buffer].buffer(), texture, texels);
            }
        }
        gpu.submit(encoder);
        Ok(Self { keys: sizes.into_iter().map(|(k, ..)| k).collect(), textures })
    }

    fn index(&self, key: TexelKey) -> usize {
        self.keys.iter().position(|&k| k == key).expect("sized for every texel binding")
    }
}
